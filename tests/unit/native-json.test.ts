import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { jsonIsNative } from '../../src/native-json.ts';
import { pdf } from '../helpers/pdf.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'thukho-native-json-');

// pdfjs-dist's legacy build brings core-js, which swaps JSON.stringify for a much slower
// JavaScript version in the whole process; the server answers every API call with it.
test('JSON stays the engine\'s own after pdfjs is loaded and after a PDF is opened', async (t) => {
  t.true(jsonIsNative());
  const { openPdf } = await import('../../src/storage/pdf-pages.ts');
  t.true(jsonIsNative(), 'after loading pdfjs-dist');
  const path = join(tempDir(), 'one.pdf');
  writeFileSync(path, pdf([{ width: 300, height: 400, lines: [{ x: 40, y: 300, size: 14, text: 'Truyen Kieu' }] }]));
  const doc = await openPdf(path);
  t.is(doc.pageCount, 1);
  await doc.close();
  t.true(jsonIsNative(), 'after opening a PDF (pdfjs loads its worker module then)');
  t.is(JSON.stringify({ a: [1, 'ư'] }), '{"a":[1,"ư"]}');
});
