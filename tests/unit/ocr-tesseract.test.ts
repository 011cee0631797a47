import test from 'ava';
import sharp from 'sharp';
import { characterErrorRate } from '../helpers/character-error-rate.ts';
import { pageText } from '../../src/ocr/line-text.ts';
import { guardNetwork } from '../helpers/network-guard.ts';

/**
 * The tesseract.js engine on pages rendered here with known text: a Vietnamese paragraph with
 * every tone mark and vowel letter at 300 dpi (12 pt DejaVu Serif), the same page upside down,
 * a blank page, a 1 × 20,000 strip, bytes that are no image, an unknown language. All of it
 * with the network refused: tesseract.js defaults to a CDN, and a fetch fails the test.
 */
const network = guardNetwork();
/** Imported after the guard is on, so that tesseract.js takes the guarded Worker. */
const modules = Promise.all([import('../../src/ocr/tesseract-engine.ts'), import('../../src/ocr/port.ts')]);

const LINES = [
  'Đêm khuya văng vẳng trống canh dồn,',
  'Trơ cái hồng nhan với nước non.',
  'Chén rượu hương đưa say lại tỉnh,',
  'Vầng trăng bóng xế khuyết chưa tròn.',
  'Ở đây những kỹ sư vẫn giữ lời hứa, ẵm con đi chợ.',
];
const TEXT = LINES.join('\n');
/** 12 pt at 300 dpi. */
const FONT_PX = 50;
const LEFT = 80;
const TOP = 120;
const LEADING = 80;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

async function renderParagraph(): Promise<Buffer> {
  const width = 1300;
  const height = TOP + LEADING * LINES.length + 40;
  const body = LINES.map((line, i) => `<text x="${LEFT}" y="${TOP + i * LEADING}" font-family="DejaVu Serif" font-size="${FONT_PX}" fill="#1a1a1a">${escape(line)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
  return sharp({ create: { width, height, channels: 3, background: { r: 250, g: 246, b: 236 } } })
    .composite([{ input: Buffer.from(svg) }])
    .withMetadata({ density: 300 })
    .png()
    .toBuffer();
}

/** One engine (one tesseract worker) for the whole file: it is what the OCR worker will do. */
const setup = (async () => {
  const [{ TesseractEngine, meanConfidence }, { OcrInputError }] = await modules;
  return { engine: await TesseractEngine.create(), meanConfidence, OcrInputError, paragraph: await renderParagraph() };
})();
test.after.always(async () => (await setup).engine.close());

/**
 * The bound is the target for degraded pages (3%); a clean page must meet it. Measured
 * here: 2.1% (vẳng read as vắng, ẵm as ỗm: tone marks, in 188 characters).
 */
const MAX_CER = 0.03;

test.serial('a Vietnamese paragraph at 300 dpi is read with every diacritic, words boxed on the page', async (t) => {
  const { engine, meanConfidence, OcrInputError, paragraph } = await setup;
  const page = await engine.recognize({ image: paragraph, languages: ['vie'] });
  const text = pageText(page);
  const cer = characterErrorRate(text, TEXT);
  t.log(`CER ${(cer * 100).toFixed(2)}% (bound ${MAX_CER * 100}%), mean confidence ${meanConfidence(page).toFixed(1)}; read:\n${text}`);
  t.true(cer <= MAX_CER, `read:\n${text}`);
  t.is(page.rotation, 0);
  const meta = await sharp(paragraph).metadata();
  t.deepEqual([page.width, page.height], [meta.width, meta.height]);
  const first = page.blocks[0]?.lines[0]?.words[0];
  t.is(first?.text, 'Đêm');
  // The first word starts where it was drawn: x at LEFT, its baseline at TOP inside the box.
  t.true(Math.abs((first?.x ?? -1) - LEFT) <= 6, `x ${first?.x}`);
  t.true((first?.y ?? 0) < TOP && (first?.y ?? 0) + (first?.h ?? 0) >= TOP - 2, `y ${first?.y} h ${first?.h}`);
  t.is(engine.info.name, 'tesseract.js');
  t.regex(engine.info.models.find((m) => m.name.startsWith('vie.'))?.sha256 ?? '', /^[0-9a-f]{64}$/);
});

test.serial('a page upside down is detected, read and its boxes put back on the page as given', async (t) => {
  const { engine, meanConfidence, OcrInputError, paragraph } = await setup;
  const upright = await engine.recognize({ image: paragraph, languages: ['vie'] });
  const turned = await engine.recognize({ image: await sharp(paragraph).rotate(180).png().toBuffer(), languages: ['vie'] });
  t.is(turned.rotation, 180);
  const cer = characterErrorRate(pageText(turned), TEXT);
  t.log(`upside down: CER ${(cer * 100).toFixed(2)}%`);
  t.true(cer <= MAX_CER, pageText(turned));
  const a = upright.blocks[0]?.lines[0]?.words[0];
  const b = turned.blocks[0]?.lines[0]?.words[0];
  if (!a || !b) return t.fail('no first word');
  // On the turned image, the first word sits where the 180° turn puts the upright one.
  t.true(Math.abs(b.x - (upright.width - a.x - a.w)) <= 4, `x ${b.x} vs ${upright.width - a.x - a.w}`);
  t.true(Math.abs(b.y - (upright.height - a.y - a.h)) <= 4, `y ${b.y} vs ${upright.height - a.y - a.h}`);
});

test.serial('a blank page is an empty result, not an error', async (t) => {
  const { engine, meanConfidence, OcrInputError, paragraph } = await setup;
  const blank = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const page = await engine.recognize({ image: blank, languages: ['vie'] });
  t.deepEqual(page.blocks, []);
  t.is(pageText(page), '');
});

test.serial('a 1 × 20,000 strip is refused as input, and the engine reads the next page', async (t) => {
  const { engine, meanConfidence, OcrInputError, paragraph } = await setup;
  const strip = await sharp({ create: { width: 1, height: 20_000, channels: 3, background: '#000000' } }).png().toBuffer();
  const error = await t.throwsAsync(engine.recognize({ image: strip, languages: ['vie'] }), { instanceOf: OcrInputError });
  t.regex(error?.message ?? '', /1 × 20000 px/);
  const page = await engine.recognize({ image: paragraph, languages: ['vie'] });
  t.true(characterErrorRate(pageText(page), TEXT) <= MAX_CER);
});

test.serial('bytes that are no image and an unknown language are input errors that say why', async (t) => {
  const { engine, meanConfidence, OcrInputError, paragraph } = await setup;
  await t.throwsAsync(engine.recognize({ image: Buffer.from('%PDF-1.7 not a page image'), languages: ['vie'] }), {
    instanceOf: OcrInputError,
    message: /cannot be decoded/,
  });
  await t.throwsAsync(engine.recognize({ image: paragraph, languages: ['vie', 'xyz'] }), { instanceOf: OcrInputError, message: /"xyz".*known: vie/ });
  t.false(engine.accepts({ languages: ['xyz'] }));
  t.true(engine.accepts({ languages: ['vie', 'fra'] }));
});

test.serial('no network access was attempted', (t) => {
  t.deepEqual(network.attempts, []);
});
