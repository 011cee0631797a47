import { readFile, rm } from 'node:fs/promises';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { pdf, type PdfPageSpec } from '../helpers/pdf.ts';
import { firstTilePainted, launchChromium, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { testWithServer } from '../helpers/server.ts';

/**
 * PDFs through the real HTTP API and the real derivatives worker: each page drawn, a canvas
 * in order with its own tiles, a born-digital page's own text recorded and found (search,
 * Content Search), the original offered whole; and PDFs that cannot all become pages.
 * The server makes at most 5 pages of one PDF, so that a 2,000-page one is quick to test.
 */
const MAX_PAGES = 5;
const test = testWithServer({ THUKHO_PDF_MAX_PAGES: String(MAX_PAGES) });

let worker: DerivativesWorker | undefined;
/** The two-page work of the first test, opened in the reading room by the second. */
let twoPages: { objectId: string; fileId: string; sha512: string } | undefined;
test.serial.before((t) => {
  const s = t.context.server;
  return startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config }).then((w) => {
    worker = w;
  });
});
test.after.always(async () => {
  await worker?.close();
});

// Points: a page 420 × 300 pt is 1750 × 1250 px at 300 dpi.
const PAGE_W = 420;
const PAGE_H = 300;
const PX_W = 1750;
const PX_H = 1250;

/** Page 1's text near the top, page 2's near the bottom: each page's ink is where the other's paper is blank. */
const PAGE_1: PdfPageSpec = { width: PAGE_W, height: PAGE_H, lines: [{ x: 30, y: 250, size: 22, text: 'Địa bạ xã Mộ Trạch' }] };
const PAGE_2: PdfPageSpec = { width: PAGE_W, height: PAGE_H, lines: [{ x: 30, y: 40, size: 22, text: 'Năm Gia Long thứ tư' }] };

interface WordBox {
  start: number;
  end: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

async function facts(s: { store: { readStream(id: string): AsyncIterable<{ type: string; data: unknown; revision: bigint }> } }, objectId: string) {
  const found: Array<{ type: string; data: Json; revision: bigint }> = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) found.push({ type: e.type, data: e.data as Json, revision: e.revision });
  return found;
}

/** The darkest grey of a region of a page image, fetched over the Image API. */
async function darkest(url: string, imageId: string, region: string): Promise<number> {
  const res = await fetch(`${url}/iiif/3/${imageId}/${region}/max/0/default.jpg`);
  if (res.status !== 200) throw new Error(`${imageId} ${region}: ${res.status}`);
  return (await sharp(Buffer.from(await res.arrayBuffer())).greyscale().stats()).channels[0]!.min;
}

const region = (b: { x: number; y: number; w: number; h: number }) => `${b.x},${b.y},${b.w},${b.h}`;

test.serial('a two-page PDF with a Vietnamese text layer: two canvases in order, each page\'s ink in its tiles, its text recorded born-digital and found, the original offered', async (t) => {
  const s = t.context.server;
  const bytes = pdf([PAGE_1, PAGE_2]);
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Địa bạ Mộ Trạch (PDF)', language: ['vie'], accessLevel: 'open' })).id as string;
  const file = await uploadFile(s, objectId, bytes, 'dia_ba.pdf');
  const fileId = file.fileId as string;
  t.like(file, { mediaType: 'application/pdf', pdf: { pages: 2 } });
  twoPages = { objectId, fileId, sha512: (file.digests as { sha512: string }).sha512 };

  const manifest = await poll('a manifest with both pages', 120_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${objectId}`);
    if (res.status !== 200) return undefined;
    const m = (await res.json()) as Json;
    return (m.items as Json[]).length === 2 && (m.items as Json[]).every((c) => c.annotations) ? m : undefined;
  });
  t.deepEqual(validatePresentation3(manifest), []);
  const canvases = manifest.items as Json[];
  t.deepEqual(
    canvases.map((c) => c.id),
    [`${s.url}/iiif/manifest/${objectId}/canvas/${fileId}`, `${s.url}/iiif/manifest/${objectId}/canvas/${fileId}~p2`],
  );
  t.deepEqual(canvases.map((c) => [c.width, c.height]), [[PX_W, PX_H], [PX_W, PX_H]], '300 dpi');
  t.deepEqual(manifest.rendering, [
    {
      id: `${s.url}/api/objects/${objectId}/files/${fileId}/content`,
      type: 'Text',
      format: 'application/pdf',
      label: { vi: ['Tải tệp PDF gốc (dia_ba.pdf)'], en: ['Download the original PDF (dia_ba.pdf)'] },
    },
  ]);

  // The facts: each page's DerivativeCreated, then its text, in one append, page 1 without `page`.
  const recorded = await facts(s, objectId);
  t.deepEqual(recorded.map((f) => [f.type, f.data.page]), [
    ['DerivativeCreated', undefined],
    ['PageTextRecorded', undefined],
    ['DerivativeCreated', 2],
    ['PageTextRecorded', 2],
  ]);
  const texts = recorded.filter((f) => f.type === 'PageTextRecorded').map((f) => f.data);
  t.deepEqual(texts.map((x) => x.text), ['Địa bạ xã Mộ Trạch', 'Năm Gia Long thứ tư']);
  t.true(texts.every((x) => x.source === 'born-digital' && /^pdf\.js \d+\.\d+/.test(x.engine as string)));
  t.regex(recorded[0]!.data.software as string, /^pdf\.js .* \/ sharp /);

  // Every word box lies on ink of its own page, and the same place on the other page is blank paper.
  const imageIds = [fileId, `${fileId}~p2`];
  for (const [i, text] of texts.entries()) {
    const words = text.words as WordBox[];
    t.deepEqual(words.map((w) => (text.text as string).slice(w.start, w.end)), (text.text as string).split(' '));
    for (const w of words) {
      t.true(w.x + w.w <= PX_W && w.y + w.h <= PX_H);
      t.true((await darkest(s.url, imageIds[i]!, region(w))) < 100, `page ${i + 1}: ink under "${(text.text as string).slice(w.start, w.end)}"`);
      t.true((await darkest(s.url, imageIds[1 - i]!, region(w))) > 200, `page ${2 - i}: blank where page ${i + 1} has a word`);
    }
  }
  // The pre-cut tiles too: page 1's top-left tile (a quarter of the page's width, at half
  // size) holds its line, page 2's is blank paper (its line is near the bottom).
  const tileMin = async (imageId: string) => {
    const res = await fetch(`${s.url}/iiif/3/${imageId}/0,0,512,512/256,256/0/default.jpg`);
    t.is(res.status, 200);
    return (await sharp(Buffer.from(await res.arrayBuffer())).greyscale().stats()).channels[0]!.min;
  };
  t.true((await tileMin(fileId)) < 120);
  t.true((await tileMin(`${fileId}~p2`)) > 200);

  // Search (folded: no diacritics typed) finds each page's own words on that page.
  const pageHit = (q: string) =>
    poll(`a search hit for ${q}`, 60_000, async () => {
      const r = (await (await fetch(`${s.url}/api/search?q=${encodeURIComponent(q)}`)).json()) as { hits: Array<{ work: { id: string }; pageHits: Json[] }> };
      return r.hits.find((h) => h.work.id === objectId)?.pageHits[0];
    });
  t.like(await pageHit('mo trach'), { pageId: fileId, label: '1' });
  t.like(await pageHit('gia long'), { pageId: `${fileId}~p2`, label: '2', canvasId: `${s.url}/iiif/manifest/${objectId}/canvas/${fileId}~p2` });

  // Content Search 2: the hit targets page 2's canvas, on the words' boxes.
  const cs = await poll('a content search hit', 60_000, async () => {
    const r = (await (await fetch(`${s.url}/iiif/search/${objectId}?q=${encodeURIComponent('gia long')}`)).json()) as { items: Array<{ target: string }> };
    return r.items.length > 0 ? r.items : undefined;
  });
  t.is(cs.length, 1);
  const m = new RegExp(`/canvas/${fileId}~p2#xywh=(\\d+),(\\d+),(\\d+),(\\d+)$`).exec(cs[0]!.target);
  if (!m) return t.fail(`not on page 2: ${cs[0]!.target}`);
  const [x, y, w, h] = m.slice(1).map(Number) as [number, number, number, number];
  const page2Words = (texts[1]!.words as WordBox[]).filter((b) => ['Gia', 'Long'].includes((texts[1]!.text as string).slice(b.start, b.end)));
  t.deepEqual([x, y, x + w, y + h], [
    Math.min(...page2Words.map((b) => b.x)),
    Math.min(...page2Words.map((b) => b.y)),
    Math.max(...page2Words.map((b) => b.x + b.w)),
    Math.max(...page2Words.map((b) => b.y + b.h)),
  ]);

  // The original, byte for byte, by anyone (an open work).
  const original = await fetch((manifest.rendering as Json[])[0]!.id as string);
  t.is(original.status, 200);
  t.is(original.headers.get('content-type'), 'application/pdf');
  t.deepEqual(Buffer.from(await original.arrayBuffer()), bytes);

  // The object page shows the pages (the reading room) and offers the PDF; no "not digitised".
  const html = await (await fetch(`${s.url}/objects/${objectId}`)).text();
  t.true(html.includes('id="thukho-viewer"'));
  t.false(html.includes('data-code="no-images"'));
  t.false(html.includes('data-code="pages-pending"'));
  t.true(html.includes(`href="/api/objects/${objectId}/files/${fileId}/content"`));
  t.regex(html, /data-role="original-download"[^>]*>Tải tệp PDF gốc \(dia_ba\.pdf\)/);
});

test.serial('the reading room in Chromium opens the PDF\'s two pages and paints page 1 from its tiles', async (t) => {
  if (!twoPages) return t.fail('the two-page PDF was not made');
  const { objectId, fileId } = twoPages;
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
    const page = await context.newPage();
    const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
    const tiles: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/iiif/3/')) tiles.push(r.url());
    });
    await page.goto(`${t.context.server.url}/objects/${objectId}`, { waitUntil: 'domcontentloaded' });
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    t.is(await page.getAttribute('#thukho-viewer', 'data-page-count'), '2');
    t.is(await page.locator('nav[data-role="thumbnails"] button[data-page]').count(), 2);
    t.true(tiles.some((u) => u.includes(`/iiif/3/${fileId}/`)), 'page 1 is drawn from its own image service');
    t.deepEqual(unexpected(), []);
  } finally {
    await browser?.close();
  }
});

test.serial('a PDF page whose derivative is lost is never drawn from the master per request: 503 with Retry-After, the page made again, then served', async (t) => {
  if (!twoPages) return t.fail('the two-page PDF was not made');
  const s = t.context.server;
  const { fileId, sha512 } = twoPages;
  await rm(new DerivativeStore(s.config.derivativesDir).dir(sha512, 2), { recursive: true, force: true });
  // A region no one asked for yet: not a pre-cut tile, not in a cache.
  const url = `${s.url}/iiif/3/${fileId}~p2/20,20,700,300/max/0/default.jpg`;
  const gone = await fetch(url);
  t.is(gone.status, 503);
  t.truthy(gone.headers.get('retry-after'));
  const back = await poll('page 2 made again and served', 120_000, async () => {
    const res = await fetch(url);
    return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
  }, 500);
  t.like(await sharp(back).metadata(), { width: 700, height: 300 });
});

test.serial('a restricted PDF: no original offered in its (public) manifest or to anonymous readers; signed-in readers may download it', async (t) => {
  const s = t.context.server;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Sổ hạn chế (PDF)', accessLevel: 'restricted' })).id as string;
  const fileId = (await uploadFile(s, objectId, pdf([{ ...PAGE_1, lines: [{ x: 30, y: 250, size: 22, text: 'Sổ hạn chế' }] }]), 'han_che.pdf')).fileId as string;
  const manifest = await poll('the restricted manifest', 120_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${objectId}`, { headers: { authorization: `Bearer ${s.readerToken}` } });
    return res.status === 200 ? ((await res.json()) as Json) : undefined;
  });
  t.is((manifest.items as Json[]).length, 1);
  t.is(manifest.rendering, undefined);
  t.is((await fetch(`${s.url}/api/objects/${objectId}/files/${fileId}/content`)).status, 401, 'anonymous readers are asked to sign in');
  t.false((await (await fetch(`${s.url}/objects/${objectId}`)).text()).includes('original-download'));
  const download = await fetch(`${s.url}/api/objects/${objectId}/files/${fileId}/content`, { headers: { authorization: `Bearer ${s.readerToken}` } });
  t.is(download.status, 200);
  t.is(download.headers.get('cache-control'), 'private, no-cache');
  await download.arrayBuffer();
  const html = await (await fetch(`${s.url}/objects/${objectId}`, { headers: { authorization: `Bearer ${s.readerToken}` } })).text();
  t.true(html.includes('original-download'));
});

test.serial('a PDF locked with a user password is refused at ingest with a reason (422), nothing kept; one with only an owner password becomes pages', async (t) => {
  const s = t.context.server;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Tệp mã hoá', accessLevel: 'open' })).id as string;
  const locked = pdf([PAGE_1], { encrypt: { userPassword: 'bí mật', ownerPassword: 'chủ' } });
  const res = await fetch(`${s.url}/api/objects/${objectId}/files?name=khoa.pdf`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(locked),
  });
  t.is(res.status, 422);
  const problem = (await res.json()) as Json;
  t.is(problem.type, '/problems/encrypted-pdf');
  t.regex(JSON.stringify(problem), /mật khẩu người dùng/);
  t.regex(JSON.stringify(problem), /unencrypted copy/);
  t.deepEqual((await staffCall(s, 'GET', `/api/objects/${objectId}`)).files, []);

  const ownerOnly = await uploadFile(s, objectId, pdf([PAGE_2], { encrypt: { userPassword: '', ownerPassword: 'chủ' } }), 'quyen.pdf');
  const made = await poll('the owner-password PDF\'s page', 120_000, async () => {
    const found = await facts(s, objectId);
    return found.length >= 2 ? found : undefined;
  });
  t.deepEqual(made.map((f) => [f.type, f.data.fileId]), [['DerivativeCreated', ownerOnly.fileId], ['PageTextRecorded', ownerOnly.fileId]]);
  t.is(made[1]!.data.text, 'Năm Gia Long thứ tư');
});

/** The PDF with one string swapped for another of the same length, so the xref stays true. */
function patched(bytes: Buffer, from: string, to: string): Buffer {
  const text = bytes.toString('latin1');
  if (from.length !== to.length || !text.includes(from)) throw new Error(`cannot patch ${from}`);
  return Buffer.from(text.replace(from, to), 'latin1');
}

test.serial('bad PDFs: page 3 broken, no pages, 2,000 pages: a DerivativeFailed with the reason for what cannot be made, the rest made, masters kept, the worker still working', async (t) => {
  const s = t.context.server;
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  const page = (n: number): PdfPageSpec => ({ width: 300, height: 200, lines: [{ x: 20, y: 100, size: 14, text: `Trang ${n} sổ hỏng` }] });

  // Page 3's entry in the page tree points back at the tree itself: pdf.js cannot read page
  // 3, and its count of pages ends there; ingest counted five page objects.
  const broken = patched(pdf([1, 2, 3, 4, 5].map(page)), '/Kids [4 0 R 6 0 R 8 0 R 10 0 R 12 0 R]', '/Kids [4 0 R 6 0 R 2 0 R 10 0 R 12 0 R]');
  const brokenWork = (await staffCall(s, 'POST', '/api/objects', { title: 'Sổ hỏng trang 3', accessLevel: 'open' })).id as string;
  const brokenFile = await uploadFile(s, brokenWork, broken, 'hong_trang_3.pdf');
  t.like(brokenFile, { pdf: { pages: 5 } });
  const brokenFacts = await poll('the five pages accounted for', 120_000, async () => {
    const found = (await facts(s, brokenWork)).filter((f) => f.type.startsWith('Derivative'));
    return found.length >= 4 ? found : undefined;
  });
  t.deepEqual(brokenFacts.map((f) => [f.type, f.data.page]), [
    ['DerivativeCreated', undefined],
    ['DerivativeCreated', 2],
    ['DerivativeFailed', 3],
    ['DerivativeFailed', 4],
  ]);
  t.regex(brokenFacts[2]!.data.reason as string, /^page 3 of 3: Cannot read page 3 of the PDF \(Pages tree contains circular reference\.\)\.$/);
  t.is(
    brokenFacts[3]!.data.reason,
    'pages 4–5 of 5 (as counted at ingest) were not made: they come after page 3, whose entry in the page tree is broken, and pdf.js cannot reach them.',
  );
  t.notRegex(brokenFacts[2]!.data.reason as string, /\/tmp|\/work/, 'no server paths in the reason');
  const brokenManifest = await poll('two canvases', 60_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${brokenWork}`);
    const m = res.status === 200 ? ((await res.json()) as Json) : undefined;
    return m && (m.items as Json[]).length === 2 ? m : undefined;
  });
  const brokenId = brokenFile.fileId as string;
  t.deepEqual((brokenManifest.items as Json[]).map((c) => (c.id as string).split('/canvas/')[1]), [brokenId, `${brokenId}~p2`]);
  t.is((await fetch(`${s.url}/iiif/3/${brokenId}~p3/info.json`)).status, 404);
  const brokenStorage = brokenFile.storage as { ocflObjectId: string; path: string };
  t.deepEqual(await readFile(ocfl.contentPathOnDisk(brokenStorage.ocflObjectId, brokenStorage.path)), broken, 'the master is kept as it came');

  // No pages at all: one failure for the file, with the reason; the object page says nothing is shown.
  const emptyWork = (await staffCall(s, 'POST', '/api/objects', { title: 'Tệp không trang', accessLevel: 'open' })).id as string;
  const emptyBytes = pdf([]);
  const emptyFile = await uploadFile(s, emptyWork, emptyBytes, 'khong_trang.pdf');
  const emptyFacts = await poll('the empty PDF\'s failure', 60_000, async () => {
    const found = await facts(s, emptyWork);
    return found.length > 0 ? found : undefined;
  });
  t.deepEqual(emptyFacts.map((f) => [f.type, f.data.page]), [['DerivativeFailed', undefined]]);
  t.regex(emptyFacts[0]!.data.reason as string, /^The PDF has no pages/);
  const emptyPage = await poll('the object page after the failure', 30_000, async () => {
    const html = await (await fetch(`${s.url}/objects/${emptyWork}`)).text();
    return html.includes('data-code="no-images"') ? html : undefined;
  });
  t.false(emptyPage.includes('pages-pending'));
  t.true(emptyPage.includes(`/api/objects/${emptyWork}/files/${emptyFile.fileId as string}/content`), 'the original is still offered');

  // 2,000 pages on a server that makes 5 of one PDF: pages 1–5, and one failure naming the rest.
  const big = pdf(Array.from({ length: 2000 }, (_, i) => page(i + 1)));
  const bigWork = (await staffCall(s, 'POST', '/api/objects', { title: 'Hai nghìn trang', accessLevel: 'open' })).id as string;
  const bigFile = await uploadFile(s, bigWork, big, 'hai_nghin_trang.pdf');
  t.like(bigFile, { pdf: { pages: 2000 } });
  const bigFacts = await poll('the 2,000-page PDF accounted for', 120_000, async () => {
    const found = (await facts(s, bigWork)).filter((f) => f.type.startsWith('Derivative'));
    return found.some((f) => f.type === 'DerivativeFailed') ? found : undefined;
  });
  t.deepEqual(bigFacts.map((f) => [f.type, f.data.page]), [
    ['DerivativeCreated', undefined],
    ...[2, 3, 4, 5].map((n) => ['DerivativeCreated', n]),
    ['DerivativeFailed', MAX_PAGES + 1],
  ]);
  t.is(bigFacts[5]!.data.reason, `pages 6–2000 of 2000 were not made: this server makes at most ${MAX_PAGES} pages of one PDF (THUKHO_PDF_MAX_PAGES).`);

  // After all that, the worker still takes the next PDF.
  const nextWork = (await staffCall(s, 'POST', '/api/objects', { title: 'Tệp tiếp theo', accessLevel: 'open' })).id as string;
  await uploadFile(s, nextWork, pdf([{ ...PAGE_1, lines: [{ x: 30, y: 250, size: 22, text: 'Vẫn làm tiếp' }] }]), 'tiep.pdf');
  const next = await poll('the next PDF\'s page', 120_000, async () => {
    const found = await facts(s, nextWork);
    return found.length >= 2 ? found : undefined;
  });
  t.deepEqual(next.map((f) => f.type), ['DerivativeCreated', 'PageTextRecorded']);
});

test.serial('while a PDF waits for its pages, its object page says they are being prepared (not "not digitised") and offers the original; then shows them', async (t) => {
  const s = t.context.server;
  await worker?.close();
  worker = undefined;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Đang chuẩn bị', accessLevel: 'open' })).id as string;
  const fileId = (await uploadFile(s, objectId, pdf([{ ...PAGE_1, lines: [{ x: 30, y: 250, size: 22, text: 'Chờ vẽ trang' }] }]), 'cho.pdf')).fileId as string;
  const waiting = await (await fetch(`${s.url}/objects/${objectId}`)).text();
  t.true(waiting.includes('data-code="pages-pending"'));
  t.regex(waiting, /Các trang của tệp PDF đang được chuẩn bị để xem/);
  t.false(waiting.includes('data-code="no-images"'));
  t.false(waiting.includes('id="thukho-viewer"'));
  t.true(waiting.includes(`href="/api/objects/${objectId}/files/${fileId}/content"`));
  t.is((await fetch(`${s.url}/iiif/3/${fileId}/info.json`)).status, 404, 'no page image before it is drawn');

  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const shown = await poll('the object page with the viewer', 120_000, async () => {
    const html = await (await fetch(`${s.url}/objects/${objectId}`)).text();
    return html.includes('id="thukho-viewer"') ? html : undefined;
  }, 300);
  t.false(shown.includes('pages-pending'));
});
