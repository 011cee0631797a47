import { foldHan } from '../domain/han-fold.js';
import { OcrInputError } from './port.js';

/**
 * The languages a work's record may name (ISO 639-3, with the ISO 639-2/B `chi` and `fre`
 * that catalogue records still carry), the script each is printed in, and the tesseract
 * traineddata that reads it. Han covers Literary Chinese (lzh), Chinese (zho/chi) and Chữ Nôm
 * (nom is not an ISO 639-3 code; it is how our records name Nôm text).
 */
export type Script = 'latin' | 'han';

export type Traineddata = 'vie' | 'eng' | 'fra' | 'chi_tra_vert';

interface LanguageEntry {
  script: Script;
  traineddata: Traineddata;
  /**
   * Written only before the 1950s simplification: Literary Chinese and Nôm books are printed
   * in traditional forms, so a simplified form a model reads there is the model's, not the book's.
   */
  traditionalOnly?: true;
}

const LANGUAGES: Record<string, LanguageEntry> = {
  vie: { script: 'latin', traineddata: 'vie' },
  eng: { script: 'latin', traineddata: 'eng' },
  fra: { script: 'latin', traineddata: 'fra' },
  fre: { script: 'latin', traineddata: 'fra' },
  lzh: { script: 'han', traineddata: 'chi_tra_vert', traditionalOnly: true },
  zho: { script: 'han', traineddata: 'chi_tra_vert' },
  chi: { script: 'han', traineddata: 'chi_tra_vert' },
  nom: { script: 'han', traineddata: 'chi_tra_vert', traditionalOnly: true },
};

export const KNOWN_LANGUAGES = Object.keys(LANGUAGES);

/** The entry for each code, or an OcrInputError naming every unknown code and the known ones. */
export function languageEntries(languages: readonly string[]): LanguageEntry[] {
  if (languages.length === 0) {
    throw new OcrInputError(`no language given for OCR; give one of ${KNOWN_LANGUAGES.join(', ')} (ISO 639-3)`);
  }
  const unknown = languages.filter((code) => !(code.toLowerCase() in LANGUAGES));
  if (unknown.length > 0) {
    throw new OcrInputError(
      `no OCR model for language ${unknown.map((c) => JSON.stringify(c)).join(', ')}; known: ${KNOWN_LANGUAGES.join(', ')} (ISO 639-3)`,
    );
  }
  return languages.map((code) => LANGUAGES[code.toLowerCase()] as LanguageEntry);
}

export function scriptsOf(languages: readonly string[]): Set<Script> {
  return new Set(languageEntries(languages).map((e) => e.script));
}

/**
 * How a Han character read from a page is written down: in its traditional form when every
 * language of the work was printed only in those (the Han model was trained mostly on
 * simplified text and answers with simplified forms now and then), else as read.
 */
export function asPrinted(languages: readonly string[]): (char: string) => string {
  return languageEntries(languages).every((e) => e.traditionalOnly) ? foldHan : (char) => char;
}
