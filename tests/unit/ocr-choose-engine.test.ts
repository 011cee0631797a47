import test from 'ava';
import { asPrinted } from '../../src/ocr/languages.ts';
import sharp from 'sharp';
import { chooseEngine, readPage } from '../../src/ocr/choose-engine.ts';
import { HanEngine } from '../../src/ocr/han-engine.ts';
import { type OcrEngine, OcrInputError } from '../../src/ocr/port.ts';
import { TesseractEngine } from '../../src/ocr/tesseract-engine.ts';

/**
 * Which engine reads a page, from the work's languages (ISO 639-3), with the real engines; and
 * the fallback when the Han engine fails. An engine whose runtime breaks mid-page cannot be
 * produced on purpose, so that one engine is a stand-in that throws; the fallback is real.
 */
const engines = (async () => ({ tesseract: await TesseractEngine.create(), han: await HanEngine.create() }))();
test.after.always(async () => {
  const { tesseract, han } = await engines;
  await Promise.all([tesseract.close(), han.close()]);
});

const names = (choice: { engine: OcrEngine; fallback?: OcrEngine }) => [choice.engine.info.name, choice.fallback?.info.name];

test('Latin-script languages go to tesseract, alone or together', async (t) => {
  const e = await engines;
  for (const languages of [['vie'], ['eng'], ['fra'], ['fre'], ['vie', 'fra'], ['VIE']]) {
    t.deepEqual(names(chooseEngine(languages, e)), ['tesseract.js', undefined], languages.join('+'));
  }
});

test('Han and Nôm go to the Han engine with tesseract as the fallback', async (t) => {
  const e = await engines;
  for (const languages of [['lzh'], ['nom'], ['zho'], ['chi'], ['lzh', 'nom']]) {
    t.deepEqual(names(chooseEngine(languages, e)), ['paddleocr-onnx', 'tesseract.js'], languages.join('+'));
  }
});

test('a page in both scripts goes to tesseract, which reads both; without a Han engine Han goes to tesseract', async (t) => {
  const e = await engines;
  t.deepEqual(names(chooseEngine(['vie', 'lzh'], e)), ['tesseract.js', undefined]);
  t.deepEqual(names(chooseEngine(['nom'], { tesseract: e.tesseract })), ['tesseract.js', undefined]);
});

test('an unknown or missing language is an input error naming it and the known codes', async (t) => {
  const e = await engines;
  t.throws(() => chooseEngine(['vie', 'kor'], e), { instanceOf: OcrInputError, message: /"kor".*known: vie, eng, fra/ });
  t.throws(() => chooseEngine([], e), { instanceOf: OcrInputError, message: /no language given/ });
});

test('when the Han engine fails the fallback reads the page and the reason is kept; a page fault is not retried', async (t) => {
  const { tesseract, han } = await engines;
  const broken: OcrEngine = {
    info: han.info,
    accepts: (r) => han.accepts(r),
    recognize: async () => {
      throw new Error('onnxruntime: session lost');
    },
    close: async () => undefined,
  };
  const blank = await sharp({ create: { width: 300, height: 400, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const read = await readPage({ image: blank, languages: ['nom'] }, { tesseract, han: broken });
  t.is(read.engine.name, 'tesseract.js');
  t.regex(read.fellBack ?? '', /paddleocr-onnx failed: onnxruntime: session lost/);
  t.deepEqual(read.page.blocks, []);

  const strip = await sharp({ create: { width: 20_000, height: 1, channels: 3, background: '#000000' } }).png().toBuffer();
  await t.throwsAsync(readPage({ image: strip, languages: ['nom'] }, { tesseract, han }), { instanceOf: OcrInputError });
});

test('Han read from Literary Chinese or Nôm books is written in the traditional forms they were printed in; Chinese is kept as read', (t) => {
  const read = [...'传书𡦂國'];
  t.is(read.map(asPrinted(['lzh'])).join(''), '傳書𡦂國');
  t.is(read.map(asPrinted(['nom', 'lzh'])).join(''), '傳書𡦂國');
  // Chinese may be a modern, simplified print; a work naming it keeps the model's forms.
  t.is(read.map(asPrinted(['zho'])).join(''), '传书𡦂國');
  t.is(read.map(asPrinted(['lzh', 'zho'])).join(''), '传书𡦂國');
});
