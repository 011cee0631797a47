import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import sharp from 'sharp';
import { characterErrorRate } from '../helpers/character-error-rate.ts';
import { guardNetwork } from '../helpers/network-guard.ts';
import { type InkBox, renderWords } from '../helpers/rendered-text.ts';
import { findAll, parseXml } from '../helpers/xml.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The OCR worker end to end, with the real engines: a Vietnamese page rendered here (every
 * word's ink known to the pixel) is uploaded over HTTP, the real derivatives worker makes its
 * pyramid, the dispatcher asks for its OCR, and the real OCR worker reads it. Its text, its
 * word boxes on the canvas, its ALTO, Content Search and the site's search are checked
 * against what was drawn. Then the bad input: a bad payload, a language no model reads, a
 * blank page, a damaged derivative; the worker survives each and reads the next page.
 * The network is refused beyond loopback (this test's own server and redis), in this thread
 * and in tesseract.js's worker thread: a fetch from a CDN fails the test.
 */
const network = guardNetwork({ allowLoopback: true });
/** Imported after the guard is on, so that tesseract.js takes the guarded Worker. */
const modules = Promise.all([
  import('../helpers/server.ts'),
  import('../helpers/api.ts'),
  import('../../workers/derivatives.ts'),
  import('../../workers/ocr.ts'),
  import('../../src/storage/ocr-outputs.ts'),
  import('../../src/iiif/derivative-store.ts'),
  import('../../src/storage/ocfl.ts'),
  import('../../src/application/machine-facts.ts'),
  import('../../src/application/object-commands.ts'),
]);
type Modules = Awaited<typeof modules>;
type Server = Awaited<ReturnType<Modules[0]['startTestServer']>>;
type Json = Record<string, unknown>;

const test = anyTest as TestFn<{
  server: Server;
  m: Modules;
  derivatives: Awaited<ReturnType<Modules[2]['startDerivativesWorker']>>;
  ocr: Awaited<ReturnType<Modules[3]['startOcrWorker']>>;
  /** What the OCR worker logged, one JSON object a line. */
  log: Json[];
}>;

const LINES = [
  'Đêm khuya văng vẳng trống canh dồn,',
  'Trơ cái hồng nhan với nước non.',
  'Chén rượu hương đưa say lại tỉnh,',
  'Vầng trăng bóng xế khuyết chưa tròn.',
  'Ở đây những kỹ sư vẫn giữ lời hứa, ẵm con đi chợ.',
];
/**
 * 12 pt at 300 dpi, on a page 4,800 px wide (a double page at 300 dpi): wider than the 4,000 px
 * the engines are given, so the boxes the worker records were read on a smaller image and
 * scaled back, and must still lie on the words as drawn on the canvas.
 */
const PAGE = { width: 4800, height: 700, fontPx: 50, left: 1200, top: 140, leading: 90 };
/** The issue's target for degraded pages; the unit test of the engine measured 2.1% on this paragraph unscaled. */
const MAX_CER = 0.03;

test.serial.before(async (t) => {
  const m = await modules;
  const server = await m[0].startTestServer();
  const log: Json[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) log.push(JSON.parse(line) as Json);
      done();
    },
  });
  const derivatives = await m[2].startDerivativesWorker({ store: server.store, redisUrl: server.config.redisUrl!, logger: pino({ level: 'silent' }), config: server.config });
  // One engine set: the machine's two cores are shared with other tests.
  const ocr = await m[3].startOcrWorker({ store: server.store, redisUrl: server.config.redisUrl!, logger: pino({ level: 'info' }, sink), config: server.config, concurrency: 1 });
  t.context = { server, m, derivatives, ocr, log };
});

test.after.always(async (t) => {
  await t.context.ocr?.close();
  await t.context.derivatives?.close();
  await t.context.server?.close();
});

/** The page's OCR outcome on the work's preservation stream, once there is one. */
function ocrOutcome(t: { context: { server: Server; m: Modules } }, objectId: string, fileId: string, page = 1, ms = 600_000) {
  const { server, m } = t.context;
  return m[1].poll(`the OCR outcome of ${fileId} page ${page}`, ms, async () => {
    const facts: Array<{ type: string; data: Json; occurredAt: string }> = [];
    for await (const e of server.store.readStream(`preservation-${objectId}`)) facts.push({ type: e.type, data: e.data as Json, occurredAt: e.metadata.occurredAt });
    const outcome = facts.find((f) => (f.type === 'OcrCompleted' || f.type === 'OcrFailed') && f.data.fileId === fileId && (f.data.page ?? 1) === page);
    return outcome ? { outcome, facts } : undefined;
  }, 250);
}

async function newWork(t: { context: { server: Server; m: Modules } }, body: Json): Promise<string> {
  return (await t.context.m[1].staffCall(t.context.server, 'POST', '/api/objects', { accessLevel: 'open', ...body })).id as string;
}

async function upload(t: { context: { server: Server; m: Modules } }, objectId: string, png: Buffer, name: string): Promise<string> {
  return (await t.context.m[1].uploadFile(t.context.server, objectId, png, name)).fileId as string;
}

/** The share of the smaller box that the two boxes have in common. */
function overlap(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / Math.min(a.w * a.h, b.w * b.h);
}

/** The first page read, for the tests that offer it again. */
const firstPage: Array<{ objectId: string; fileId: string; masterSha512: string }> = [];
/** The first page's stored outputs, which later failures must leave alone. */
const earlierOutputs: Array<['text' | 'hocr' | 'alto', string]> = [];

const fold = (s: string) => s.normalize('NFC').replace(/[.,;:!?]+$/u, '');

test.serial('a rendered Vietnamese page is read: text, word boxes on the drawn words, ALTO, Content Search and search', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { server: s, m } = t.context;
  const page = await renderWords(LINES, PAGE);
  const objectId = await newWork(t, { title: 'Thơ Hồ Xuân Hương, bản in thử', language: ['vie'] });
  const fileId = await upload(t, objectId, page.png, 'tho_hxh.png');
  const { outcome, facts } = await ocrOutcome(t, objectId, fileId);
  t.is(outcome.type, 'OcrCompleted', JSON.stringify(outcome.data));
  const derived = facts.find((f) => f.type === 'DerivativeCreated')!;
  const completed = outcome.data as { words: number; languages: string[]; engine: { name: string }; outputs: Record<'text' | 'hocr' | 'alto', { sha256: string; size: number }>; textSha256: string; page?: number };
  const text = facts.find((f) => f.type === 'PageTextRecorded')!;
  const recorded = text.data as { text: string; source: string; language: string[]; engine: string; words: Array<{ start: number; end: number; x: number; y: number; w: number; h: number }>; page?: number };
  const timing = t.context.log.find((l) => l.msg === 'page read' && l.fileId === fileId);
  t.log(`read in ${((timing?.ms as number) / 1000).toFixed(1)} s (engine sets made on first use included); derivative to OCR in the log: ${((Date.parse(outcome.occurredAt) - Date.parse(derived.occurredAt)) / 1000).toFixed(1)} s`);

  // One append, OcrCompleted then its PageTextRecorded; page 1 has no page field.
  const i = facts.indexOf(outcome);
  t.is(facts[i + 1], text);
  t.is(completed.page, undefined);
  t.is(recorded.page, undefined);
  t.is(recorded.source, 'ocr');
  t.deepEqual(recorded.language, ['vie']);
  t.deepEqual(completed.languages, ['vie']);
  t.is(completed.engine.name, 'tesseract.js');
  t.regex(recorded.engine, /^tesseract\.js \d/);
  t.is(completed.words, recorded.words.length);
  t.is(completed.textSha256, createHash('sha256').update(recorded.text).digest('hex'));

  const cer = characterErrorRate(recorded.text, page.text);
  t.log(`CER ${(cer * 100).toFixed(2)}% (bound ${MAX_CER * 100}%); read:\n${recorded.text}`);
  t.true(cer <= MAX_CER, `read:\n${recorded.text}`);

  // Every word read as printed lies on its ink on the canvas (full resolution, not the
  // 4,000 px image the engine read), matched in reading order.
  const read = recorded.words.map((w) => ({ ...w, text: recorded.text.slice(w.start, w.end) }));
  const matched: Array<[InkBox, (typeof read)[number]]> = [];
  let from = 0;
  for (const printed of page.words) {
    const k = read.findIndex((w, j) => j >= from && fold(w.text) === fold(printed.text));
    if (k < 0) continue;
    matched.push([printed, read[k]!]);
    from = k + 1;
  }
  t.true(matched.length >= page.words.length * 0.9, `${matched.length} of ${page.words.length} words read as printed`);
  for (const [printed, got] of matched) {
    t.true(overlap(printed, got) >= 0.8, `"${printed.text}" drawn at ${JSON.stringify(printed)}, recorded at ${JSON.stringify(got)}`);
    t.true(Math.abs(printed.x - got.x) <= 8 && Math.abs(printed.x + printed.w - (got.x + got.w)) <= 8, `"${printed.text}": ${JSON.stringify(printed)} vs ${JSON.stringify(got)}`);
  }

  // The three outputs are stored under their digests; ALTO is well-formed, on the canvas, one String per word.
  const outputs = new m[4].OcrOutputStore(s.config.derivativesDir);
  t.is((await outputs.read('text', completed.outputs.text.sha256)).toString('utf8'), recorded.text);
  const altoBytes = await outputs.read('alto', completed.outputs.alto.sha256);
  t.is(altoBytes.length, completed.outputs.alto.size);
  try {
    execFileSync('xmllint', ['--noout', outputs.path('alto', completed.outputs.alto.sha256)], { stdio: 'pipe' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') t.fail(`xmllint: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    else t.log('xmllint is not installed; well-formedness checked by tests/helpers/xml.ts only');
  }
  const alto = parseXml(altoBytes.toString('utf8'));
  const altoNs = 'http://www.loc.gov/standards/alto/ns-v4#';
  const altoPage = findAll(alto, altoNs, 'Page')[0]!;
  t.deepEqual([altoPage.attributes.WIDTH, altoPage.attributes.HEIGHT], [String(PAGE.width), String(PAGE.height)]);
  const strings = findAll(alto, altoNs, 'String');
  t.is(strings.length, recorded.words.length);
  t.deepEqual(strings.map((e) => [Number(e.attributes.HPOS), Number(e.attributes.VPOS)]), recorded.words.map((w) => [w.x, w.y]));
  parseXml((await outputs.read('hocr', completed.outputs.hocr.sha256)).toString('utf8'));
  for (const kind of ['text', 'hocr', 'alto'] as const) earlierOutputs.push([kind, completed.outputs[kind].sha256]);
  firstPage.push({ objectId, fileId, masterSha512: createHash('sha512').update(page.png).digest('hex') });

  // Content Search: a word read as printed is found where it was drawn.
  const [target] = matched.filter(([p]) => fold(p.text).length >= 4 && page.words.filter((w) => fold(w.text) === fold(p.text)).length === 1).map(([p]) => p);
  if (!target) return t.fail('no word of four letters or more was read as printed');
  const q = fold(target.text);
  const hits = await m[1].poll('content search hits', 60_000, async () => {
    const r = await fetch(`${s.url}/iiif/search/${objectId}?q=${encodeURIComponent(q)}`);
    const body = r.status === 200 ? ((await r.json()) as { items: Array<{ target: string; body: { value: string } }> }) : undefined;
    return body && body.items.length > 0 ? body.items : undefined;
  });
  const xywh = /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(hits[0]!.target);
  if (!xywh) return t.fail(`no xywh in ${hits[0]!.target}`);
  const [x, y, w, h] = xywh.slice(1).map(Number) as [number, number, number, number];
  t.true(hits[0]!.target.startsWith(`${s.url}/iiif/manifest/${objectId}/canvas/${fileId}#`), hits[0]!.target);
  t.true(overlap(target, { x, y, w, h }) >= 0.8, `"${q}" drawn at ${JSON.stringify(target)}, hit at ${x},${y},${w},${h}`);

  // The site's search finds the work by that word, without its diacritics too.
  const plain = q.normalize('NFD').replace(/\p{M}/gu, '').replace(/đ/g, 'd').replace(/Đ/g, 'D');
  for (const query of [q, plain]) {
    const found = await m[1].poll(`search for ${query}`, 60_000, async () => {
      const r = (await (await fetch(`${s.url}/api/search?q=${encodeURIComponent(query)}`)).json()) as { hits: Array<{ work: { id: string } }> };
      return r.hits.some((hit) => hit.work.id === objectId) ? true : undefined;
    });
    t.true(found, query);
  }
  t.deepEqual(network.attempts, [], 'no network access beyond loopback');
});

test.serial('a page offered again is not read twice; `again` reads it anew; a born-digital text wins over OCR', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { server: s, ocr, m } = t.context;
  const read = firstPage[0];
  if (!read) return t.fail('the first test did not read its page');
  const types = async () => {
    const out: string[] = [];
    for await (const e of s.store.readStream(`preservation-${read.objectId}`)) out.push(e.type);
    return out;
  };
  const run = async (jobId: string, again?: boolean) => {
    const job = await ocr.queue.add('read', { ...read, page: 1, cause: 'test', ...(again ? { again } : {}) }, { jobId, attempts: 1 });
    await m[1].poll(`job ${jobId}`, 600_000, async () => ((await job.getState()) === 'completed' ? true : undefined), 100);
    return (await ocr.queue.getJob(jobId))!.returnvalue as { outcome: string; reason?: string };
  };
  const before = await types();
  t.like(await run('offered-again'), { outcome: 'skipped', reason: 'the page was read from this master already' });
  t.deepEqual(await types(), before);

  t.like(await run('read-again', true), { outcome: 'read' });
  const after = await types();
  t.deepEqual(after.slice(before.length), ['OcrCompleted', 'PageTextRecorded'], 'the new reading is appended; the old one stays in the history');
  t.is(after.filter((type) => type === 'OcrCompleted').length, 2);

  await m[7].recordFact(s.store, read.objectId, { type: 'PageTextRecorded', data: { objectId: read.objectId, fileId: read.fileId, text: 'Văn bản gốc', source: 'born-digital' } }, { actor: { id: 'test', role: 'admin' } });
  t.like(await run('born-digital', true), { outcome: 'skipped', reason: 'the page has a born-digital text' });
  t.is((await types()).length, after.length + 1);
});

test.serial('a page of a withdrawn work is not read', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { server: s, ocr, m } = t.context;
  await ocr.worker.pause();
  const objectId = await newWork(t, { title: 'Sách trả lại', language: ['vie'] });
  const page = await renderWords(['Trả lại chủ cũ'], { width: 900, height: 300 });
  const fileId = await upload(t, objectId, page.png, 'tra_lai.png');
  await m[1].derivativeOf(s, objectId, fileId);
  await m[8].executeObjectCommand(s.store, { type: 'WithdrawObject', objectId, reason: 'Trả lại chủ cũ' }, { actor: { id: 'test', role: 'admin' } });
  ocr.worker.resume();
  const job = await ocr.queue.add('read', { objectId, fileId, page: 1, masterSha512: createHash('sha512').update(page.png).digest('hex'), cause: 'test' }, { jobId: 'withdrawn', attempts: 1 });
  await m[1].poll('the job on a withdrawn work', 600_000, async () => ((await job.getState()) === 'completed' ? true : undefined), 100);
  t.like((await ocr.queue.getJob('withdrawn'))!.returnvalue, { outcome: 'skipped', reason: 'the work is withdrawn' });
  const types: string[] = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) types.push(e.type);
  t.deepEqual(types, ['DerivativeCreated']);
});

test.serial('bad input: a bad payload, a language no model reads and a 1 × 20,000 strip fail at once with the reason; the worker then reads a blank page as an empty success', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { ocr } = t.context;
  // A payload no producer would make: failed, not retried, and the worker carries on.
  const bad = await ocr.queue.add('read', { objectId: 'khong-co', page: 0 }, { jobId: 'bad-payload', attempts: 3 });
  const failed = await t.context.m[1].poll('the bad job to fail', 60_000, async () => ((await bad.getState()) === 'failed' ? await ocr.queue.getJob('bad-payload') : undefined));
  t.regex(failed?.failedReason ?? '', /bad OCR job payload/);
  t.is(failed?.attemptsMade, 1);

  const unknown = await newWork(t, { title: 'Sách tiếng lạ', language: ['xyz'] });
  const unknownFile = await upload(t, unknown, (await renderWords(['Trang một'], { width: 800, height: 300 })).png, 'la.png');
  const { outcome } = await ocrOutcome(t, unknown, unknownFile);
  t.is(outcome.type, 'OcrFailed');
  t.regex(outcome.data.reason as string, /"xyz"/);
  t.is(outcome.data.attempts, 1);
  t.deepEqual(outcome.data.languages, ['xyz']);
  const job = await ocr.queue.getJobs(['failed']);
  t.true(job.some((j) => j.data.fileId === unknownFile && j.attemptsMade === 1), 'an unknown language is not retried');

  // A 1 × 20,000 strip (a rule, a scanner's stray line) is no page of text.
  const strip = await newWork(t, { title: 'Dải giấy', language: ['vie'] });
  const stripPng = await sharp({ create: { width: 1, height: 20_000, channels: 3, background: { r: 250, g: 246, b: 236 } } }).png().toBuffer();
  const stripFile = await upload(t, strip, stripPng, 'dai.png');
  const stripped = await ocrOutcome(t, strip, stripFile);
  t.is(stripped.outcome.type, 'OcrFailed', JSON.stringify(stripped.outcome.data));
  t.regex(stripped.outcome.data.reason as string, /1 × 20000 px/);

  // No language on record: the configured default (vie) is used. A blank page is read: no words.
  const blank = await newWork(t, { title: 'Tờ trắng' });
  const blankPng = await renderWords([], { width: 1200, height: 1600 });
  const blankFile = await upload(t, blank, blankPng.png, 'trang.png');
  const read = await ocrOutcome(t, blank, blankFile);
  t.is(read.outcome.type, 'OcrCompleted', JSON.stringify(read.outcome.data));
  t.is(read.outcome.data.words, 0);
  t.is(read.outcome.data.meanConfidence, 0);
  t.deepEqual(read.outcome.data.languages, ['vie']);
  const text = read.facts.find((f) => f.type === 'PageTextRecorded');
  t.like(text?.data, { text: '', source: 'ocr', words: [] });
  t.true(await ocr.worker.isRunning());
  t.deepEqual(network.attempts, []);
});

test.serial('a two-page TIFF: each page is read from its own derivative and recorded as its page', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { server: s } = t.context;
  const size = { width: 1400, height: 400 };
  const pages = [await renderWords(['Sổ điền xã Mộ Trạch'], size), await renderWords(['Trang hai chép thuế ruộng'], size)];
  const raw = await Promise.all(pages.map((p) => sharp(p.png).removeAlpha().raw().toBuffer()));
  const tiff = await sharp(Buffer.concat(raw), { raw: { width: size.width, height: size.height * 2, channels: 3, pageHeight: size.height } }).tiff({ compression: 'lzw' }).toBuffer();
  const objectId = await newWork(t, { title: 'Sổ điền hai trang', language: ['vie'] });
  const fileId = await upload(t, objectId, tiff, 'so_dien.tif');
  const first = await ocrOutcome(t, objectId, fileId, 1);
  const second = await ocrOutcome(t, objectId, fileId, 2);
  t.is(first.outcome.type, 'OcrCompleted');
  t.is(second.outcome.type, 'OcrCompleted');
  t.is(first.outcome.data.page, undefined);
  t.is(second.outcome.data.page, 2);
  const texts = second.facts.filter((f) => f.type === 'PageTextRecorded').map((f) => [f.data.page, f.data.text as string] as const);
  t.is(texts.length, 2);
  for (const [i, p] of pages.entries()) {
    const [, text] = texts.find(([page]) => (page ?? 1) === i + 1)!;
    const cer = characterErrorRate(text, p.text);
    t.log(`page ${i + 1}: CER ${(cer * 100).toFixed(1)}%: ${text}`);
    t.true(cer <= 0.1, `page ${i + 1} read as: ${text}`);
  }
  // Page 2's text is found on page 2's canvas.
  const hits = await t.context.m[1].poll('content search hits on page 2', 60_000, async () => {
    const r = await fetch(`${s.url}/iiif/search/${objectId}?q=${encodeURIComponent('thuế ruộng')}`);
    const body = r.status === 200 ? ((await r.json()) as { items: Array<{ target: string }> }) : undefined;
    return body && body.items.length > 0 ? body.items : undefined;
  });
  t.true(hits[0]!.target.startsWith(`${s.url}/iiif/manifest/${objectId}/canvas/${fileId}~p2#xywh=`), hits[0]!.target);
  t.deepEqual(network.attempts, []);
});

test.serial('a Han work is read by the Han engine in vertical columns, right to left, characters boxed in their column', async (t) => {
  t.timeout(scaledTimeout(900_000));
  // Four columns of five characters (Hanazono Mincho, Debian fonts-hanazono); the first drawn rightmost.
  const columns = ['春眠不覺曉', '處處聞啼鳥', '夜來風雨聲', '花落知多少'];
  const width = 600;
  const columnLeft = (i: number) => width - 120 - i * 120;
  const glyphs = columns.flatMap((column, i) => [...column].map((ch, j) => `<text x="${columnLeft(i)}" y="${120 + j * 110}" font-family="HanaMinA" font-size="80" fill="#111">${ch}</text>`));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="700">${glyphs.join('')}</svg>`;
  const png = await sharp({ create: { width, height: 700, channels: 3, background: { r: 245, g: 238, b: 220 } } }).composite([{ input: Buffer.from(svg) }]).png().toBuffer();
  const objectId = await newWork(t, { title: '唐詩 春曉', language: ['lzh'] });
  const fileId = await upload(t, objectId, png, 'xuan_hieu.png');
  const { outcome, facts } = await ocrOutcome(t, objectId, fileId);
  t.is(outcome.type, 'OcrCompleted', JSON.stringify(outcome.data));
  t.is((outcome.data.engine as { name: string }).name, 'paddleocr-onnx');
  const recorded = facts.find((f) => f.type === 'PageTextRecorded')!.data as { text: string; words: Array<{ start: number; end: number; x: number; w: number }> };
  const cer = characterErrorRate(recorded.text.replace(/\s/g, ''), columns.join(''));
  t.log(`Han: CER ${(cer * 100).toFixed(1)}%, read ${recorded.text.replace(/\n/g, ' / ')}`);
  // The engine's unit test measured 3 in 20 wrong on this page; at most one in four.
  t.true(cer <= 0.25, recorded.text);
  // Reading order: the rightmost column first; each character's box centred in the column drawn there.
  const lines = recorded.text.split('\n');
  t.is(lines.length, columns.length, recorded.text);
  for (const word of recorded.words) {
    const line = recorded.text.slice(0, word.start).split('\n').length - 1;
    const cx = word.x + word.w / 2;
    t.true(cx > columnLeft(line) && cx < columnLeft(line) + 80, `${recorded.text.slice(word.start, word.end)} of column ${line} centred at x ${cx}`);
  }
  t.deepEqual(network.attempts, []);
});

test.serial('a damaged derivative: OcrFailed with the reason, and nothing stored is lost', async (t) => {
  t.timeout(scaledTimeout(900_000));
  const { server: s, m, ocr } = t.context;
  // Held while the derivative is damaged, so the worker cannot read the page before.
  await ocr.worker.pause();
  const objectId = await newWork(t, { title: 'Bản hư', language: ['vie'] });
  const page = await renderWords(['Chén rượu hương đưa'], { width: 900, height: 300 });
  const fileId = await upload(t, objectId, page.png, 'hu.png');
  await m[1].derivativeOf(s, objectId, fileId);
  const masterSha512 = createHash('sha512').update(page.png).digest('hex');
  const store = new m[5].DerivativeStore(s.config.derivativesDir);
  const pyramid = store.pyramidPath(masterSha512, 1);
  const good = await readFile(pyramid);
  // A disk error in the middle of the file: the header still says TIFF.
  const damaged = Buffer.from(good);
  damaged.fill(0x55, 512, Math.min(damaged.length, 4096));
  await writeFile(pyramid, damaged);
  ocr.worker.resume();

  const { outcome, facts } = await ocrOutcome(t, objectId, fileId);
  t.is(outcome.type, 'OcrFailed');
  t.regex(outcome.data.reason as string, /derivative of page 1 is damaged/);
  t.notRegex(outcome.data.reason as string, new RegExp(s.config.derivativesDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no paths in events');
  t.false(facts.some((f) => f.type === 'PageTextRecorded'));
  // The master is untouched, and the first page's outputs are still there, whole.
  let storage: { ocflObjectId: string; path: string } | undefined;
  for await (const e of s.store.readStream(`object-${objectId}`)) if (e.type === 'FileIngested') storage = (e.data as { storage: typeof storage }).storage;
  const ocfl = await m[6].OcflStorageRoot.open(s.config.ocflRoot);
  const master = await readFile(ocfl.contentPathOnDisk(storage!.ocflObjectId, storage!.path));
  t.is(createHash('sha512').update(master).digest('hex'), masterSha512);
  const outputs = new m[4].OcrOutputStore(s.config.derivativesDir);
  for (const [kind, sha256] of earlierOutputs) t.truthy(await outputs.read(kind, sha256), `${kind} ${sha256}`);
  t.true(earlierOutputs.length === 3 || earlierOutputs.length === 0, 'the first test stored three outputs, when it ran');

  // The derivative gone from disk is no fault of the page: retried, and recorded when the attempts run out.
  await rm(pyramid);
  const job = await ocr.queue.add('read', { objectId, fileId, page: 1, masterSha512, cause: 'test' }, { jobId: 'pyramid-gone', attempts: 2, backoff: { type: 'fixed', delay: 200 } });
  await m[1].poll('the retried job to fail', 600_000, async () => ((await job.getState()) === 'failed' ? true : undefined), 100);
  t.is((await ocr.queue.getJob('pyramid-gone'))?.attemptsMade, 2);
  const failures: Json[] = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) if (e.type === 'OcrFailed') failures.push(e.data as Json);
  t.is(failures.length, 2, 'the damaged derivative, then the missing one after its last attempt');
  t.is(failures[1]!.attempts, 2);
  t.regex(failures[1]!.reason as string, /derivative of page 1 cannot be read/);
  t.false((failures[1]!.reason as string).includes(s.config.derivativesDir), `no paths in events: ${failures[1]!.reason}`);
  t.true(await ocr.worker.isRunning());
  const seconds = t.context.log.filter((l) => l.msg === 'page read').map((l) => `${l.fileId}${l.page === 1 ? '' : ` p${l.page}`}: ${((l.ms as number) / 1000).toFixed(1)} s`);
  t.log(`pages read by this worker (one engine set): ${seconds.join(', ')}`);
  t.deepEqual(network.attempts, []);
});
