import { scriptsOf } from './languages.js';
import { type EngineInfo, type OcrEngine, OcrInputError, type OcrPage, type OcrRequest } from './port.js';

/**
 * Which engine reads a page, from the work's languages: Latin-script languages (vie, eng, fra)
 * go to tesseract; Han (lzh, zho/chi, nom) to the Han engine, which measured better on
 * woodblock prints (issue 14: 46% of characters found at 64% precision against tesseract
 * chi_tra_vert's 20% at 20%), with tesseract's chi_tra_vert as the fallback when the Han engine
 * fails or is not available. A page naming both scripts goes to tesseract with every language's
 * traineddata, the one engine here that reads Vietnamese diacritics and Han characters together.
 * An unknown code is an OcrInputError naming it.
 */
export interface Engines {
  tesseract: OcrEngine;
  /** Absent where the ONNX runtime cannot load; Han pages then go to tesseract. */
  han?: OcrEngine;
}

export interface EngineChoice {
  engine: OcrEngine;
  fallback?: OcrEngine;
}

export function chooseEngine(languages: readonly string[], engines: Engines): EngineChoice {
  const scripts = scriptsOf(languages);
  if (scripts.size === 1 && scripts.has('han') && engines.han) return { engine: engines.han, fallback: engines.tesseract };
  return { engine: engines.tesseract };
}

export interface ReadPage {
  page: OcrPage;
  /** The engine whose reading this is (the fallback's when the first engine failed). */
  engine: EngineInfo;
  /** Why the first engine's reading was not used, when the fallback read the page. */
  fellBack?: string;
}

/**
 * Reads a page with the chosen engine, and with the fallback if the first engine fails. A
 * fault of the page (OcrInputError) is not retried: the fallback would refuse it too.
 */
export async function readPage(request: OcrRequest, engines: Engines): Promise<ReadPage> {
  const { engine, fallback } = chooseEngine(request.languages, engines);
  try {
    return { page: await engine.recognize(request), engine: engine.info };
  } catch (err) {
    if (err instanceof OcrInputError || !fallback) throw err;
    const reason = `${engine.info.name} failed: ${(err as Error).message}`;
    return { page: await fallback.recognize(request), engine: fallback.info, fellBack: reason };
  }
}
