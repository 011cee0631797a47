import { createHash } from 'node:crypto';
import { recordFacts } from '../../src/application/machine-facts.ts';
import { writeAlto } from '../../src/ocr/alto.ts';
import { writeHocr } from '../../src/ocr/hocr.ts';
import { pageText } from '../../src/ocr/line-text.ts';
import type { OcrPage } from '../../src/ocr/port.ts';
import { OcrOutputStore } from '../../src/storage/ocr-outputs.ts';
import type { TestServer } from './server.ts';

/**
 * An OCR reading of one page, its outputs stored and its facts recorded as the OCR worker does
 * it, without running an engine: the words stand side by side on one line of a 400 × 300 page.
 */
export async function recordOcrReading(
  s: Pick<TestServer, 'store' | 'config'>,
  objectId: string,
  fileId: string,
  sha512: string,
  words: ReadonlyArray<{ text: string; confidence: number }>,
): Promise<void> {
  const width = Math.floor(300 / words.length);
  const page: OcrPage = {
    width: 400,
    height: 300,
    blocks: [{ x: 20, y: 120, w: 300, h: 40, lines: [{ x: 20, y: 120, w: 300, h: 40, words: words.map((w, i) => ({ x: 20 + i * width, y: 120, w: width - 10, h: 40, ...w })) }] }],
  };
  const store = new OcrOutputStore(s.config.derivativesDir);
  const engine = { name: 'tesseract.js', version: '5.1.0', models: [{ name: 'vie', sha256: createHash('sha256').update('vie').digest('hex') }] };
  const text = pageText(page);
  const outputs = {
    text: await store.put('text', text),
    hocr: await store.put('hocr', writeHocr(page, { engine, imageName: `${fileId}.tif` })),
    alto: await store.put('alto', writeAlto(page, { engine, imageName: `${fileId}.tif` })),
  };
  const meanConfidence = words.reduce((sum, w) => sum + w.confidence, 0) / words.length;
  await recordFacts(
    s.store,
    objectId,
    [
      { type: 'OcrCompleted', data: { objectId, fileId, masterSha512: sha512, engine, languages: ['vie'], meanConfidence, words: words.length, textSha256: outputs.text.sha256, outputs } },
      { type: 'PageTextRecorded', data: { objectId, fileId, text, source: 'ocr', engine: 'tesseract.js', language: ['vie'] } },
    ],
    { actor: { id: 'worker:ocr', role: 'admin' } },
  );
}
