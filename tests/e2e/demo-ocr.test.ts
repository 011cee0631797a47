import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { guardNetwork } from '../helpers/network-guard.ts';
import { findAll, parseXml } from '../helpers/xml.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The demo's pages read by the real OCR worker, as `thukho demo` has them read: a Quốc ngữ
 * work (Lục Vân Tiên) and a Han one (Đại Nam thực lục, vertical columns right to left) are
 * seeded through the ingest path, the real derivatives worker makes their pyramids, the
 * dispatcher queues their OCR and the real OCR worker reads every page. Then the manifest's
 * links to ALTO and annotations, the ALTO itself, and Content Search, whose boxes must lie on
 * the words where the demo's renderer drew them (its layout, not the OCR, is the reference).
 * The network is refused beyond loopback: the engines read their models from local files.
 */
const network = guardNetwork({ allowLoopback: true });
/** Imported after the guard is on, so that tesseract.js takes the guarded Worker. */
const modules = Promise.all([
  import('../helpers/server.ts'),
  import('../helpers/api.ts'),
  import('../helpers/demo.ts'),
  import('../../workers/ocr.ts'),
  import('../../src/cli/demo-collection.ts'),
  import('../../src/cli/demo-pages.ts'),
]);
type Modules = Awaited<typeof modules>;
type Json = Record<string, unknown>;
type DemoPage = Awaited<ReturnType<Modules[5]['renderDemoWorkPage']>>;

const test = anyTest as TestFn<{
  server: Awaited<ReturnType<Modules[0]['startTestServer']>>;
  m: Modules;
  derivatives?: Awaited<ReturnType<Modules[2]['seedDemoCollection']>>['worker'];
  ocr: Awaited<ReturnType<Modules[3]['startOcrWorker']>>;
  /** Each work's file ids and the layout of each of its pages as rendered, in page order. */
  works: Record<string, Array<{ fileId: string; layout: DemoPage }>>;
}>;

const QUOC_NGU = 'luc-van-tien-1889';
const HAN = 'dai-nam-thuc-luc';
/** How far a hit's edge may be from the drawn ink's, in canvas px. */
const TOLERANCE = 8;

test.serial.before(async (t) => {
  t.timeout(scaledTimeout(1_800_000));
  const m = await modules;
  const server = await m[0].startTestServer();
  // One engine set: the machine's two cores are shared with other tests.
  const ocr = await m[3].startOcrWorker({ store: server.store, redisUrl: server.config.redisUrl!, logger: pino({ level: 'silent' }), config: server.config, concurrency: 1 });
  t.context = { server, m, ocr, works: {} };
  const seeded = await m[2].seedDemoCollection(server, [QUOC_NGU, HAN], { seedOnly: true });
  t.context.derivatives = seeded.worker;
  for (const id of [QUOC_NGU, HAN]) {
    const object = m[4].DEMO_OBJECTS.find((o) => o.id === id)!;
    const files = seeded.files[id]!;
    t.context.works[id] = await Promise.all(files.map(async (fileId, i) => ({ fileId, layout: await m[5].renderDemoWorkPage(m[4].demoWork(object), i + 1) })));
    for (const fileId of files) {
      const outcome = await m[1].poll(`the OCR of ${id}'s page ${fileId}`, 1_500_000, async () => {
        for await (const e of server.store.readStream(`preservation-${id}`)) {
          const data = e.data as Json;
          if ((e.type === 'OcrCompleted' || e.type === 'OcrFailed') && data.fileId === fileId) return { type: e.type, data };
        }
        return undefined;
      }, 500);
      if (outcome.type !== 'OcrCompleted') throw new Error(`OCR of ${id} ${fileId} failed: ${JSON.stringify(outcome.data)}`);
    }
  }
});

test.after.always(async (t) => {
  await t.context.ocr?.close();
  await t.context.derivatives?.close();
  await t.context.server?.close();
});

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The share of the smaller box that the two boxes have in common. */
function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / Math.min(a.w * a.h, b.w * b.h);
}

/** Content Search's hits for `q`: each on which page of the work, and where. */
async function search(t: { context: { server: { url: string }; works: Record<string, Array<{ fileId: string }>> } }, objectId: string, q: string) {
  const res = await fetch(`${t.context.server.url}/iiif/search/${objectId}?q=${encodeURIComponent(q)}`);
  if (res.status !== 200) throw new Error(`search ${q}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { items: Array<{ target: string; body: { value: string } }> };
  return body.items.map((item) => {
    const match = /\/canvas\/([^#]+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(item.target);
    if (!match) throw new Error(`a hit without a canvas box: ${item.target}`);
    const [fileId, x, y, w, h] = [match[1]!, ...match.slice(2).map(Number)] as [string, number, number, number, number];
    return { page: t.context.works[objectId]!.findIndex((p) => p.fileId === fileId), box: { x, y, w, h }, value: item.body.value };
  });
}

test.serial('a Quốc ngữ demo work: seeAlso to ALTO and annotations on every canvas, ALTO served, hits on the words as rendered', async (t) => {
  const { server: s, works, m } = t.context;
  const pages = works[QUOC_NGU]!;
  t.is(pages.length, m[4].DEMO_PAGES);
  for (const p of pages) t.is(p.layout.script, 'quoc-ngu');
  const manifest = (await (await fetch(`${s.url}/iiif/manifest/${QUOC_NGU}`)).json()) as { items: Array<{ id: string; seeAlso?: Array<{ id: string; format?: string; profile?: string }>; annotations?: Array<{ id: string; type: string }> }> };
  t.is(manifest.items.length, pages.length);
  for (const [i, canvas] of manifest.items.entries()) {
    t.true(canvas.id.endsWith(`/canvas/${pages[i]!.fileId}`), canvas.id);
    const alto = canvas.seeAlso?.find((l) => l.id.endsWith('/alto.xml'));
    if (!alto) return t.fail(`canvas ${i + 1} has no ALTO in seeAlso: ${JSON.stringify(canvas.seeAlso)}`);
    t.is(alto.id, `${s.url}/iiif/ocr/${QUOC_NGU}/${pages[i]!.fileId}/alto.xml`);
    const res = await fetch(alto.id);
    t.is(res.status, 200, alto.id);
    const xml = parseXml(await res.text());
    const ns = 'http://www.loc.gov/standards/alto/ns-v4#';
    const altoPage = findAll(xml, ns, 'Page')[0]!;
    t.deepEqual([altoPage.attributes.WIDTH, altoPage.attributes.HEIGHT], [String(pages[i]!.layout.width), String(pages[i]!.layout.height)]);
    t.true(findAll(xml, ns, 'String').length >= pages[i]!.layout.words.length * 0.8, `page ${i + 1}: ALTO words`);

    const annotations = canvas.annotations?.[0];
    t.is(annotations?.type, 'AnnotationPage');
    const page = (await (await fetch(annotations!.id)).json()) as { items: Array<{ body: { value: string } }> };
    t.true(page.items.length > 0, `page ${i + 1}: line annotations`);
  }

  // Every word searched for is found on each page it was drawn on, and each hit lies on its ink.
  for (const q of ['truyện', 'Trình', 'nhân']) {
    const drawn = pages.flatMap((p, page) => p.layout.words.filter((w) => w.text === q).map((w) => ({ page, box: w })));
    t.true(drawn.length > 0, `"${q}" is on the demo pages`);
    const hits = await search(t, QUOC_NGU, q);
    t.is(hits.length, drawn.length, `"${q}" drawn ${drawn.length} times: ${JSON.stringify(hits)}`);
    for (const hit of hits) {
      const on = drawn.find((d) => d.page === hit.page && overlap(d.box, hit.box) >= 0.8);
      if (!on) {
        t.fail(`"${q}" hit on page ${hit.page + 1} at ${JSON.stringify(hit.box)}, drawn at ${JSON.stringify(drawn)}`);
        continue;
      }
      const { box } = on;
      t.true(
        [box.x - hit.box.x, box.y - hit.box.y, box.x + box.w - hit.box.x - hit.box.w, box.y + box.h - hit.box.y - hit.box.h].every((d) => Math.abs(d) <= TOLERANCE),
        `"${q}" on page ${hit.page + 1}: drawn ${JSON.stringify(box)}, hit ${JSON.stringify(hit.box)}`,
      );
    }
  }
  t.deepEqual(network.attempts, [], 'no network access beyond loopback');
});

test.serial('a Han demo work: a character search hits the column it was drawn in', async (t) => {
  const { works } = t.context;
  const pages = works[HAN]!;
  for (const p of pages) t.is(p.layout.script, 'han');
  const page = pages[1]!.layout;
  // Characters of page 2's body (the title is column 0, the folio the last), one from each of five columns; none repeats in the text.
  const chosen = page.words.filter((w) => w.line >= 1 && w.line <= 6).filter((_, i) => i % 9 === 3);
  t.is(chosen.length, 5);
  let found = 0;
  for (const drawn of chosen) {
    const column = page.words.filter((w) => w.line === drawn.line);
    const top = Math.min(...column.map((w) => w.y));
    const bottom = Math.max(...column.map((w) => w.y + w.h));
    const pitch = column[1]!.y - column[0]!.y;
    const hits = await search(t, HAN, drawn.text);
    // The engine may misread a character (a few in twenty on such pages); a hit must never be elsewhere.
    for (const hit of hits) {
      t.is(hit.page, 1, `"${drawn.text}" drawn on page 2, hit on page ${hit.page + 1}`);
      const box = hit.box;
      const centre = { x: box.x + box.w / 2, y: box.y + box.h / 2 };
      t.log(`"${drawn.text}" (column ${drawn.line}) drawn at ${JSON.stringify(drawn)}, hit at ${JSON.stringify(box)}`);
      // In its column across (the column's ink), within the column's run down.
      t.true(centre.x > drawn.x && centre.x < drawn.x + drawn.w, `"${drawn.text}" across: drawn ${JSON.stringify(drawn)}, hit ${JSON.stringify(box)}`);
      t.true(box.y >= top - TOLERANCE * 4 && box.y + box.h <= bottom + TOLERANCE * 4, `"${drawn.text}" down: column ${top}..${bottom}, hit ${JSON.stringify(box)}`);
      // The engine boxes a column, not its characters: it splits the column evenly among the
      // characters it read, so a character lies within a character's pitch of where it was drawn.
      t.true(Math.abs(centre.y - (drawn.y + drawn.h / 2)) < pitch, `"${drawn.text}" down: drawn ${JSON.stringify(drawn)}, hit ${JSON.stringify(box)}`);
    }
    if (hits.length > 0) found++;
  }
  t.log(`${found} of ${chosen.length} characters searched for were found, each in its column`);
  t.true(found >= chosen.length - 1, `${found} of ${chosen.length} characters found`);
  t.deepEqual(network.attempts, [], 'no network access beyond loopback');
});
