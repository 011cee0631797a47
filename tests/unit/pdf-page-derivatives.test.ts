import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import sharp from 'sharp';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { loadConfig } from '../../src/config.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { openPdf } from '../../src/storage/pdf-pages.ts';
import { derivePdfPages, PdfUnusableError } from '../../workers/pdf-page-derivatives.ts';
import { pdf, type PdfPageSpec } from '../helpers/pdf.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The PDF half of the derivatives worker on a real SQLite log and a real derivative store:
 * how pages are recorded (in batches, in page order, text right after its page), what a
 * retry does, and where word boxes land when the derivative was drawn at another resolution.
 */
const tempDir = tempDirs(test, 'thukho-pdf-worker-');
const SHA = 'c'.repeat(128);
const ACTOR = { actor: { id: 'test', role: 'admin' } };

/** A store whose appends are counted: how many events each append carried. */
async function setUp(env: Record<string, string> = {}) {
  const dir = tempDir();
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const appends: number[] = [];
  const append = store.append.bind(store);
  store.append = (async (...args: Parameters<EventStore['append']>) => {
    appends.push(args[1].length);
    return append(...args);
  }) as EventStore['append'];
  await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o1', metadata: { title: 'Sách' }, accessLevel: 'open' }, ACTOR);
  appends.length = 0;
  const config = loadConfig({ THUKHO_DATA_DIR: dir, ...env });
  const derivatives = new DerivativeStore(join(dir, 'derivatives'));
  const ctx = { store, derivatives, config, logger: pino({ level: 'silent' }), facts: ACTOR };
  const master = (bytes: Buffer) => {
    const path = join(dir, 'master.pdf');
    writeFileSync(path, bytes);
    return path;
  };
  const facts = async () => {
    const found: Array<{ type: string; page: number | undefined; data: Record<string, unknown> }> = [];
    for await (const e of store.readStream('preservation-o1')) {
      const data = e.data as Record<string, unknown>;
      found.push({ type: e.type, page: data.page as number | undefined, data });
    }
    return found;
  };
  return { store, appends, config, derivatives, ctx, master, facts, close: () => store.close() };
}

const page = (n: number): PdfPageSpec => ({ width: 300, height: 200, lines: [{ x: 20, y: 100, size: 14, text: `Trang ${n}` }] });
const job = { objectId: 'o1', fileId: 'f1', masterSha512: SHA, attempts: 1 };

test('40 pages: recorded 16 pages an append, in page order, each page\'s text right after its derivative; a retry records nothing again', async (t) => {
  // 36 dpi: 150 × 100 px pages, quick to build.
  const s = await setUp({ THUKHO_PDF_DPI: '36' });
  try {
    const master = s.master(pdf(Array.from({ length: 40 }, (_, i) => page(i + 1))));
    const result = await derivePdfPages(s.ctx, job, master);
    t.like(result, { pages: 40, made: 40, failed: 0, texts: 40, recorded: 80 });
    t.deepEqual(s.appends, [32, 32, 16], 'each append: 16 pages, a DerivativeCreated and a PageTextRecorded each');
    const facts = await s.facts();
    const expected = Array.from({ length: 40 }, (_, i) => i + 1).flatMap((n) => [
      ['DerivativeCreated', n === 1 ? undefined : n],
      ['PageTextRecorded', n === 1 ? undefined : n],
    ]);
    t.deepEqual(facts.map((f) => [f.type, f.page]), expected);
    t.deepEqual(facts.filter((f) => f.type === 'PageTextRecorded').map((f) => f.data.text), Array.from({ length: 40 }, (_, i) => `Trang ${i + 1}`));
    t.deepEqual([facts[0]!.data.width, facts[0]!.data.height], [150, 100]);
    // Black text on white: the derivatives keep one grey channel, as a grey scan's do.
    t.is((await sharp(s.derivatives.pyramidPath(SHA, 2)).metadata()).channels, 1);

    s.appends.length = 0;
    t.like(await derivePdfPages(s.ctx, { ...job, attempts: 2 }, master), { made: 40, recorded: 0 });
    t.deepEqual(s.appends, [], 'everything was on record already');
  } finally {
    await s.close();
  }
});

test('a page without a text layer gets its derivative and no page text (OCR reads it)', async (t) => {
  const s = await setUp({ THUKHO_PDF_DPI: '36' });
  try {
    const result = await derivePdfPages(s.ctx, job, s.master(pdf([page(1), { width: 300, height: 200, lines: [] }, page(3)])));
    t.like(result, { made: 3, texts: 2 });
    t.deepEqual((await s.facts()).map((f) => [f.type, f.page]), [
      ['DerivativeCreated', undefined],
      ['PageTextRecorded', undefined],
      ['DerivativeCreated', 2],
      ['DerivativeCreated', 3],
      ['PageTextRecorded', 3],
    ]);
  } finally {
    await s.close();
  }
});

test('a derivative drawn earlier at another resolution keeps its size; the text\'s word boxes are scaled onto it', async (t) => {
  const s = await setUp({ THUKHO_PDF_DPI: '144' });
  try {
    const master = s.master(pdf([page(1)]));
    const doc = await openPdf(master);
    const low = { dpi: 72, maxPixels: s.config.maxPixels };
    const lowText = await doc.pageText(1, low);
    // A crash after the build and before the append, under THUKHO_PDF_DPI=72.
    await s.derivatives.buildFromRendered(async () => (await doc.renderPage(1, low)).png, SHA, { tileSize: 256, maxPixels: s.config.maxPixels, page: 1, renderedBy: 'test' });
    await doc.close();
    await derivePdfPages(s.ctx, job, master);
    const [created, text] = await s.facts();
    t.deepEqual([created!.data.width, created!.data.height], [300, 200], 'the 72 dpi derivative');
    const words = text!.data.words as Array<{ x: number; y: number; w: number; h: number }>;
    t.is(words.length, lowText.words.length);
    words.forEach((w, i) => {
      const want = lowText.words[i]!;
      for (const k of ['x', 'y', 'w', 'h'] as const) t.true(Math.abs(w[k] - want[k]) <= 1, `word ${i} ${k}: ${w[k]} vs ${want[k]} at 72 dpi`);
    });
  } finally {
    await s.close();
  }
});

test('a PDF that cannot be opened, or has no pages, is unusable as a whole, with the reason', async (t) => {
  const s = await setUp();
  try {
    const locked = await t.throwsAsync(derivePdfPages(s.ctx, job, s.master(pdf([page(1)], { encrypt: { userPassword: 'x', ownerPassword: 'y' } }))), { instanceOf: PdfUnusableError });
    t.regex(locked.reason, /encrypted with a user password/);
    const empty = await t.throwsAsync(derivePdfPages(s.ctx, job, s.master(pdf([]))), { instanceOf: PdfUnusableError });
    t.regex(empty.reason, /^The PDF has no pages/);
    const garbage = await t.throwsAsync(derivePdfPages(s.ctx, job, s.master(Buffer.from('%PDF-1.7\nnot a PDF\n%%EOF\n'))), { instanceOf: PdfUnusableError });
    t.regex(garbage.reason, /truncated or damaged/);
    t.deepEqual(s.appends, [], 'the worker records these, not this part');
  } finally {
    await s.close();
  }
});
