import { pino } from 'pino';
import sharp from 'sharp';
import { recordFact } from '../../src/application/machine-facts.ts';
import { pageTextReadModel, workPageTexts } from '../../src/projections/page-text-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { rebuildProjection } from '../../src/projections/runtime.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, derivativeOf, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { launchChromium, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { page as scan } from '../helpers/images.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * Page text over IIIF on a real server: a page rendered with words at known places, its text
 * recorded with those word boxes (as OCR would), then the manifest's links, the canvas's
 * AnnotationPage and Content Search 2, whose hit box is checked against the recorded box and
 * against the ink of the rendered page through our own Image API. Access as everywhere:
 * restricted text for readers, confidential works absent for the public. Bad input: 4xx with
 * a reason. The reading room's search panel, in Chromium, lists and draws our hits.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

let worker: DerivativesWorker | undefined;
test.after.always(async () => {
  await worker?.close();
});

const ids = { open: 'dia-ba-dong-lo', locked: 'so-han-che', secret: 'ho-so-mat' };
const fileOf: Record<string, string> = {};

const PAPER = { r: 236, g: 228, b: 210 };
const FONT = 48;
/** Each word drawn at its own place: x of its left edge, y of its baseline. */
const LINES = [
  { y: 120, words: [['Địa', 60], ['bạ', 180], ['xã', 270], ['Đông', 360], ['Lỗ', 520]] },
  { y: 240, words: [['huyện', 60], ['Bắc', 260], ['Giang', 380]] },
] as const;
const TEXT = LINES.map((l) => l.words.map(([w]) => w).join(' ')).join('\n');

/** The words' boxes as recorded: from the baseline up by the font's ascent, across by a generous advance. */
function wordBoxes(): Array<{ start: number; end: number; x: number; y: number; w: number; h: number }> {
  const boxes = [];
  let offset = 0;
  for (const line of LINES) {
    for (const [word, x] of line.words) {
      const start = TEXT.indexOf(word, offset);
      boxes.push({ start, end: start + word.length, x, y: line.y - FONT, w: Math.round(word.length * FONT * 0.62), h: Math.round(FONT * 1.25) });
      offset = start + word.length;
    }
  }
  return boxes;
}

async function renderedPage(): Promise<Buffer> {
  const texts = LINES.flatMap((l) => l.words.map(([w, x]) => `<text x="${x}" y="${l.y}" font-size="${FONT}" font-family="serif" fill="#111">${w}</text>`));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="320">${texts.join('')}</svg>`;
  return sharp({ create: { width: 900, height: 320, channels: 3, background: PAPER } })
    .composite([{ input: Buffer.from(svg) }])
    .tiff({ compression: 'lzw' })
    .toBuffer();
}

async function get(t: Ctx, path: string, token?: string): Promise<{ status: number; body: Json; type: string | null }> {
  const res = await fetch(`${t.context.server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
}

async function recordText(t: Ctx, objectId: string, fileId: string, text: string, words?: ReturnType<typeof wordBoxes>) {
  await recordFact(
    t.context.server.store,
    objectId,
    { type: 'PageTextRecorded', data: { objectId, fileId, text, source: 'ocr', engine: 'test', language: ['vie'], ...(words ? { words } : {}) } },
    { actor: { id: 'worker:ocr', role: 'admin' } },
  );
}

/** Until the search answers with hits for `q` (the projections have applied the text). */
function hitsFor(t: Ctx, objectId: string, q: string, token?: string): Promise<Json> {
  return poll(`content search hits in ${objectId}`, 20_000, async () => {
    const r = await get(t, `/iiif/search/${objectId}?q=${encodeURIComponent(q)}`, token);
    return r.status === 200 && (r.body.items as unknown[]).length > 0 ? r.body : undefined;
  }, 50);
}

test.serial('set-up: three works, a rendered page each, text with word boxes', async (t) => {
  const s = t.context.server;
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const works: Array<[string, Json]> = [
    [ids.open, { title: 'Địa bạ xã Đông Lỗ', language: ['vie'] }],
    [ids.locked, { title: 'Sổ hạn chế', language: ['vie'], accessLevel: 'restricted' }],
    [ids.secret, { title: 'Hồ sơ mật', language: ['vie'], accessLevel: 'confidential' }],
  ];
  for (const [id, body] of works) {
    t.is((await staffCall(s, 'POST', '/api/objects', { id, ...body })).id, id);
    await uploadFile(s, id, await renderedPage(), `${id}_1.tif`);
    const object = await staffCall(s, 'GET', `/api/objects/${id}`);
    fileOf[id] = (object.files as Array<{ fileId: string }>)[0]!.fileId;
    await recordText(t, id, fileOf[id]!, TEXT, wordBoxes());
  }
  // A second page of the open work, with text typed in (no boxes).
  await uploadFile(s, ids.open, await scan('trang 2'), `${ids.open}_2.tif`);
  const object = await staffCall(s, 'GET', `/api/objects/${ids.open}`);
  fileOf.second = (object.files as Array<{ fileId: string }>)[1]!.fileId;
  await recordText(t, ids.open, fileOf.second, 'Bắc Giang, năm Gia Long thứ tư');
  await hitsFor(t, ids.open, 'tu');
  t.pass();
});

test.serial('the manifest links each page\'s text and declares Content Search 2; it still passes the Presentation 3 checks', async (t) => {
  const m = await poll('the manifest with text links', 20_000, async () => {
    const r = await get(t, `/iiif/manifest/${ids.open}`);
    return r.status === 200 && (r.body.items as Json[]).every((c) => c.annotations) ? r.body : undefined;
  });
  t.deepEqual(validatePresentation3(m), []);
  const base = t.context.server.url;
  t.deepEqual(m.service, [{ id: `${base}/iiif/search/${ids.open}`, type: 'SearchService2' }]);
  const canvases = m.items as Json[];
  t.deepEqual(canvases[0]?.annotations, [{ id: `${base}/iiif/text/${ids.open}/${fileOf[ids.open]}`, type: 'AnnotationPage' }]);

  const page = await get(t, `/iiif/text/${ids.open}/${fileOf[ids.open]}`);
  t.is(page.status, 200);
  t.true(page.type?.startsWith('application/ld+json'));
  const lines = page.body.items as Array<{ motivation: string; textGranularity: string; body: { value: string; language: string }; target: string }>;
  t.deepEqual(lines.map((l) => [l.motivation, l.textGranularity, l.body.value, l.body.language]), [
    ['supplementing', 'line', 'Địa bạ xã Đông Lỗ', 'vi'],
    ['supplementing', 'line', 'huyện Bắc Giang', 'vi'],
  ]);
  t.true(lines.every((l) => l.target.startsWith(`${canvases[0]?.id}#xywh=`)));
});

test.serial('search: "bac giang" hits Bắc Giang where the words are drawn on the page', async (t) => {
  const s = t.context.server;
  const body = await hitsFor(t, ids.open, 'bac giang');
  const items = body.items as Array<{ id: string; body: { value: string }; target: string }>;
  t.deepEqual(items.map((i) => i.body.value), ['Bắc Giang', 'Bắc Giang']);
  const [onPage, typed] = items as [(typeof items)[number], (typeof items)[number]];
  t.true(typed.target.endsWith(`/canvas/${fileOf.second}`), 'text without boxes: the whole canvas');

  const m = /#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(onPage.target);
  if (!m) return t.fail(`no xywh in ${onPage.target}`);
  const [x, y, w, h] = m.slice(1).map(Number) as [number, number, number, number];
  // The recorded boxes of the two words, and the hit lying on them (their union).
  const boxes = wordBoxes().filter((b) => ['Bắc', 'Giang'].includes(TEXT.slice(b.start, b.end)));
  t.is(x, Math.min(...boxes.map((b) => b.x)));
  t.is(y, Math.min(...boxes.map((b) => b.y)));
  t.is(x + w, Math.max(...boxes.map((b) => b.x + b.w)));
  t.is(y + h, Math.max(...boxes.map((b) => b.y + b.h)));

  // And on the page itself: ink inside the hit's region, none in blank paper beside it.
  await derivativeOf(s, ids.open, fileOf[ids.open]!);
  const darkest = async (region: string) => {
    const res = await fetch(`${s.url}/iiif/3/${fileOf[ids.open]}/${region}/max/0/default.jpg`);
    t.is(res.status, 200, region);
    const stats = await sharp(Buffer.from(await res.arrayBuffer())).greyscale().stats();
    return stats.channels[0]!.min;
  };
  t.true((await darkest(`${x},${y},${w},${h}`)) < 100, 'the hit covers drawn letters');
  t.true((await darkest('700,260,150,50')) > 180, 'blank paper has no ink');

  const context = (body.annotations as Array<{ items: Array<{ motivation: string; target: { source: string; selector: Array<Json> } }> }>)[0]!.items;
  t.is(context[0]?.motivation, 'contextualizing');
  t.is(context[0]?.target.source, onPage.id);
  t.like(context[0]?.target.selector[0], { type: 'TextQuoteSelector', prefix: 'Địa bạ xã Đông Lỗ huyện ', exact: 'Bắc Giang' });
});

test.serial('the reading room searches inside the work through our endpoint: hits listed with snippets and drawn on the page', async (t) => {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
    const page = await context.newPage();
    const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
    await page.goto(`${t.context.server.url}/objects/${ids.open}`, { waitUntil: 'domcontentloaded' });
    t.is(await viewerSettled(page), 'ready');
    const button = page.locator('[data-action="search"]');
    t.false(await button.isHidden(), 'our manifest declares SearchService2, so search is offered');
    await button.click();
    await page.fill('form[data-role="search-form"] input[name="q"]', 'bac giang');
    await page.press('form[data-role="search-form"] input[name="q"]', 'Enter');
    const results = page.locator('ol[data-role="search-results"] button[data-page]');
    await poll('search results', 15_000, async () => ((await results.count()) === 2 ? true : undefined));
    t.true(((await results.first().textContent()) ?? '').includes('Địa bạ xã Đông Lỗ huyện'));
    t.is(await page.locator('ol[data-role="search-results"] mark').first().textContent(), 'Bắc Giang');
    await results.first().click();
    const hits = page.locator('[data-role="osd"] .tv-hit');
    await poll('hit overlays', 15_000, async () => ((await hits.count()) >= 1 ? true : undefined));
    const box = await hits.first().boundingBox();
    t.true(box !== null && box.width > 4 && box.height > 4, JSON.stringify(box));
    t.deepEqual(unexpected(), []);
    await context.close();
  } finally {
    await browser.close();
  }
});

test.serial('access: restricted text for readers only, confidential works do not exist for the public', async (t) => {
  const s = t.context.server;
  const lockedFile = fileOf[ids.locked]!;
  const secretFile = fileOf[ids.secret]!;
  t.is((await get(t, `/iiif/search/${ids.locked}?q=giang`)).status, 401);
  t.is((await get(t, `/iiif/text/${ids.locked}/${lockedFile}`)).status, 401);
  t.is((await hitsFor(t, ids.locked, 'giang', s.readerToken)).type, 'AnnotationPage');
  t.is((await get(t, `/iiif/text/${ids.locked}/${lockedFile}`, s.readerToken)).status, 200);

  for (const token of [undefined, s.readerToken]) {
    const search = await get(t, `/iiif/search/${ids.secret}?q=giang`, token);
    t.is(search.status, 404);
    t.is(search.body.type, '/problems/not-found');
    t.is((await get(t, `/iiif/text/${ids.secret}/${secretFile}`, token)).status, 404);
  }
  t.is((await hitsFor(t, ids.secret, 'giang', s.staffToken)).type, 'AnnotationPage');
});

test.serial('rebuild: the page-text read model made again from the log holds what the live one holds', async (t) => {
  const s = t.context.server;
  const fresh = openReadModelDb(':memory:');
  const { events } = await rebuildProjection(s.store, fresh, pageTextReadModel);
  t.true(events >= 4);
  for (const id of Object.values(ids)) {
    const rebuilt = workPageTexts(fresh, id);
    t.true(rebuilt.size > 0, id);
    t.deepEqual(rebuilt, workPageTexts(s.readDb, id), id);
  }
  fresh.close();
});

test.serial('bad input: a 4xx with a reason, never a 500', async (t) => {
  const cases: Array<[string, number, string]> = [
    [`/iiif/search/${ids.open}`, 400, 'missing-query'],
    [`/iiif/search/${ids.open}?q=%20%20`, 400, 'missing-query'],
    [`/iiif/search/${ids.open}?q=${'a'.repeat(2000)}`, 400, 'query-too-long'],
    [`/iiif/search/${ids.open}?q=%21%21%21`, 400, 'no-words'],
    [`/iiif/search/${ids.open}?q=giang&q=bac`, 400, 'repeated-parameter'],
    [`/iiif/search/${ids.open}?q=giang&page=0`, 400, 'invalid-page'],
    [`/iiif/search/${ids.open}?q=giang&page=9`, 404, 'no-such-page'],
    [`/iiif/search/khong-co?q=giang`, 404, 'not-found'],
    [`/iiif/search/BAD%20ID?q=giang`, 400, 'invalid-id'],
    [`/iiif/text/${ids.open}/khong-co`, 404, 'no-text'],
    [`/iiif/text/khong-co/${fileOf[ids.open]}`, 404, 'not-found'],
  ];
  for (const [path, status, code] of cases) {
    const r = await get(t, path);
    t.is(r.status, status, path);
    t.is(r.body.type, `/problems/${code}`, path);
    t.true(typeof r.body.detail === 'string' && (r.body.detail as string).length > 0, path);
  }
  const ignored = await get(t, `/iiif/search/${ids.open}?q=giang&user=x&date=2020`);
  t.deepEqual(ignored.body.ignored, ['user', 'date']);
});
