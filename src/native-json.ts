/**
 * The engine's own JSON.stringify and JSON.parse, as they were before anything replaced them.
 *
 * pdfjs-dist's legacy build carries core-js, which on Node 20 (no JSON.rawJSON) replaces
 * JSON.stringify with a JavaScript version about 15× slower, for the whole process: every
 * API answer a server that can read PDFs gives would pay for it (a 1 MB object list took
 * ~100 ms to serialise instead of ~5). pdfjs itself needs neither rawJSON nor the polyfill.
 * This module must be evaluated before pdfjs-dist is (import it first in the module that
 * imports pdfjs-dist), and `keepNativeJson` called after pdfjs has loaded — also after a
 * document is opened, since that loads pdfjs's worker module, which polyfills again.
 */
const NATIVE = { stringify: JSON.stringify, parse: JSON.parse };

export function keepNativeJson(): void {
  if (JSON.stringify !== NATIVE.stringify) JSON.stringify = NATIVE.stringify;
  if (JSON.parse !== NATIVE.parse) JSON.parse = NATIVE.parse;
}

/** Whether JSON is the engine's own (for tests). */
export function jsonIsNative(): boolean {
  return JSON.stringify === NATIVE.stringify && JSON.parse === NATIVE.parse;
}
