import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { recordFacts } from '../../src/application/machine-facts.ts';
import { writeAlto } from '../../src/ocr/alto.ts';
import { writeHocr } from '../../src/ocr/hocr.ts';
import { pageText } from '../../src/ocr/line-text.ts';
import type { OcrPage } from '../../src/ocr/port.ts';
import { findOcrReading, pageTextReadModel } from '../../src/projections/page-text-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { rebuildProjection } from '../../src/projections/runtime.ts';
import { OcrOutputStore } from '../../src/storage/ocr-outputs.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { flipByte } from '../helpers/damage.ts';
import { page as scan } from '../helpers/images.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';
import { findAll, parseXml } from '../helpers/xml.ts';

/**
 * A page's OCR results over HTTP on a real server: readings recorded as the OCR worker
 * records them (outputs stored by digest, then OcrCompleted with PageTextRecorded in one
 * append), then the ALTO, hOCR and plain text routes: media types, the digest as ETag, 304,
 * the one access policy (open, restricted, confidential), 404 and 400 with reasons, a damaged
 * file refused with a 503 and logged; the manifest's ALTO seeAlso, a second reading that
 * becomes current while the manifest stays as it was, and the read model rebuilt from the log.
 */
const logLines: string[] = [];
const test = anyTest as TestFn<{ server: TestServer }>;
test.serial.before(async (t) => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  t.context.server = await startTestServer({}, pino({ level: 'info' }, sink));
});
test.after.always(async (t) => {
  await t.context.server?.close();
});
type Ctx = { context: { server: TestServer } };

const ids = { open: 'dia-ba-ocr', locked: 'so-ocr-han-che', secret: 'ho-so-ocr-mat' };
const fileOf: Record<string, string> = {};

/** A page as an engine reads it: two words on one line, in canvas pixels. */
function readPage(words: [string, string]): OcrPage {
  return {
    width: 400,
    height: 300,
    blocks: [
      {
        x: 20, y: 120, w: 300, h: 40,
        lines: [{ x: 20, y: 120, w: 300, h: 40, words: [
          { x: 20, y: 120, w: 120, h: 40, text: words[0], confidence: 93 },
          { x: 160, y: 120, w: 160, h: 40, text: words[1], confidence: 88 },
        ] }],
      },
    ],
  };
}

interface Reading {
  alto: string;
  hocr: string;
  text: string;
  sha: { alto: string; hocr: string; text: string };
}

/** Stores the outputs, then records the reading as the worker does: OcrCompleted and its page text, one append. */
async function recordReading(t: Ctx, objectId: string, fileId: string, words: [string, string], engineVersion: string): Promise<Reading> {
  const s = t.context.server;
  const store = new OcrOutputStore(s.config.derivativesDir);
  const page = readPage(words);
  const engine = { name: 'tesseract.js', version: engineVersion, models: [{ name: 'vie', sha256: createHash('sha256').update(engineVersion).digest('hex') }] };
  const alto = writeAlto(page, { engine, imageName: `${fileId}.tif` });
  const hocr = writeHocr(page, { engine, imageName: `${fileId}.tif` });
  const text = pageText(page);
  const outputs = { text: await store.put('text', text), hocr: await store.put('hocr', hocr), alto: await store.put('alto', alto) };
  const master = (await staffCall(s, 'GET', `/api/objects/${objectId}`)).files as Array<{ fileId: string; digests: { sha512: string } }>;
  const masterSha512 = master.find((f) => f.fileId === fileId)!.digests.sha512;
  await recordFacts(
    s.store,
    objectId,
    [
      {
        type: 'OcrCompleted',
        data: {
          objectId, fileId, masterSha512, engine, languages: ['vie'], meanConfidence: 90.5, words: 2,
          textSha256: outputs.text.sha256, outputs,
        },
      },
      { type: 'PageTextRecorded', data: { objectId, fileId, text, source: 'ocr', engine: 'tesseract.js', language: ['vie'] } },
    ],
    { actor: { id: 'worker:ocr', role: 'admin' } },
  );
  return { alto, hocr, text, sha: { alto: outputs.alto.sha256, hocr: outputs.hocr.sha256, text: outputs.text.sha256 } };
}

async function get(t: Ctx, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${t.context.server.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const altoPath = (objectId: string, imageId = fileOf[objectId]!) => `/iiif/ocr/${objectId}/${imageId}/alto.xml`;

/** Until the route serves the reading whose ALTO digest is `sha` (the read model has applied it). */
function servedReading(t: Ctx, objectId: string, sha: string, headers: Record<string, string> = {}) {
  return poll(`the reading ${sha.slice(0, 8)} of ${objectId}`, 20_000, async () => {
    const r = await get(t, altoPath(objectId), headers);
    return r.status === 200 && r.headers.get('etag') === `"${sha}"` ? r : undefined;
  }, 50);
}

const first: Record<string, Reading> = {};

test.serial('set-up: an open, a restricted and a confidential work, a page each with an OCR reading; a second page without one', async (t) => {
  const s = t.context.server;
  const works: Array<[string, Json]> = [
    [ids.open, { title: 'Địa bạ xã Đông Lỗ', language: ['vie'] }],
    [ids.locked, { title: 'Sổ hạn chế', language: ['vie'], accessLevel: 'restricted' }],
    [ids.secret, { title: 'Hồ sơ mật', language: ['vie'], accessLevel: 'confidential' }],
  ];
  for (const [id, body] of works) {
    t.is((await staffCall(s, 'POST', '/api/objects', { id, ...body })).id, id);
    fileOf[id] = (await uploadFile(s, id, await scan(`Trang của ${id}`), `${id}_1.tif`)).fileId as string;
    first[id] = await recordReading(t, id, fileOf[id]!, ['Địa', 'bạ'], '5.1.0');
  }
  fileOf.second = (await uploadFile(s, ids.open, await scan('trang 2'), `${ids.open}_2.tif`)).fileId as string;
  await servedReading(t, ids.open, first[ids.open]!.sha.alto);
  t.pass();
});

test.serial('ALTO, hOCR and text of the current reading: their media types, the stored bytes, the digest as ETag, 304 when the client has it', async (t) => {
  const reading = first[ids.open]!;
  const base = `/iiif/ocr/${ids.open}/${fileOf[ids.open]}`;
  const cases = [
    ['alto.xml', 'application/xml; charset=utf-8', reading.alto, reading.sha.alto],
    ['hocr.html', 'application/xhtml+xml; charset=utf-8', reading.hocr, reading.sha.hocr],
    ['text.txt', 'text/plain; charset=utf-8', reading.text, reading.sha.text],
  ] as const;
  for (const [file, type, body, sha] of cases) {
    const r = await get(t, `${base}/${file}`);
    t.is(r.status, 200, file);
    t.is(r.headers.get('content-type'), type, file);
    t.is(r.text, body, file);
    t.is(r.headers.get('etag'), `"${sha}"`, file);
    t.is(r.headers.get('cache-control'), 'public, no-cache', `${file}: shared caches keep it, and ask before each use`);
    t.is(r.headers.get('access-control-allow-origin'), '*', `${file}: IIIF clients fetch it cross-origin`);
    const again = await get(t, `${base}/${file}`, { 'if-none-match': `"${sha}"` });
    t.is(again.status, 304, file);
    t.is(again.text, '');
  }
  const hocr = await get(t, `${base}/hocr.html`);
  t.regex(hocr.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/, 'the hOCR document may run and load nothing');
  const words = findAll(parseXml(reading.alto), 'http://www.loc.gov/standards/alto/ns-v4#', 'String').map((e) => e.attributes.CONTENT);
  t.deepEqual(words, ['Địa', 'bạ']);
  t.is(reading.text, 'Địa bạ');
});

test.serial('access: restricted asks the public to sign in and serves readers; confidential is absent for all but staff', async (t) => {
  const s = t.context.server;
  const locked = await get(t, altoPath(ids.locked));
  t.is(locked.status, 401);
  t.regex(locked.headers.get('www-authenticate') ?? '', /^Bearer/);
  t.false(locked.text.includes('Địa'), 'no OCR text in the refusal');
  const asReader = await get(t, altoPath(ids.locked), bearer(s.readerToken));
  t.is(asReader.status, 200);
  t.is(asReader.text, first[ids.locked]!.alto);
  t.is(asReader.headers.get('cache-control'), 'private, no-cache', 'a restricted work\'s file is not for shared caches');
  t.regex(asReader.headers.get('vary') ?? '', /Authorization/);

  for (const headers of [{}, bearer(s.readerToken)]) {
    const secret = await get(t, altoPath(ids.secret), headers);
    t.is(secret.status, 404);
    t.is((JSON.parse(secret.text) as Json).type, '/problems/not-found');
    t.false(secret.text.includes('Địa'));
  }
  const asStaff = await get(t, `/iiif/ocr/${ids.secret}/${fileOf[ids.secret]}/text.txt`, bearer(s.staffToken));
  t.is(asStaff.status, 200);
  t.is(asStaff.text, first[ids.secret]!.text);
});

test.serial('a page without a reading, a page of another work, an unknown file: 404 with the reason in both languages; bad ids: 400', async (t) => {
  const noReading = await get(t, altoPath(ids.open, fileOf.second));
  t.is(noReading.status, 404);
  const problem = JSON.parse(noReading.text) as { type: string; messages: { vi: string; en: string }; imageId: string };
  t.is(problem.type, '/problems/no-ocr');
  t.is(problem.imageId, fileOf.second!);
  t.regex(problem.messages.vi, /chưa được nhận dạng chữ/);
  t.regex(problem.messages.en, /has not been read by OCR yet/);

  const otherWork = await get(t, altoPath(ids.open, fileOf[ids.locked]));
  t.is(otherWork.status, 404, 'a page is found only under its own work (no reading of a restricted work through an open one)');
  t.false(otherWork.text.includes('Địa'));
  t.is((await get(t, altoPath(ids.open, `${fileOf[ids.open]}~p2`))).status, 404, 'a page the master does not have');
  t.is((await get(t, altoPath('khong-co-tai-lieu'))).status, 404);

  const unknownFile = await get(t, `/iiif/ocr/${ids.open}/${fileOf[ids.open]}/page.pdf`);
  t.is(unknownFile.status, 404);
  t.regex((JSON.parse(unknownFile.text) as { messages: { en: string } }).messages.en, /alto\.xml, hocr\.html, text\.txt/);

  for (const [path, code] of [
    [`/iiif/ocr/BAD!/${fileOf[ids.open]}/alto.xml`, '/problems/invalid-id'],
    [`/iiif/ocr/${ids.open}/${fileOf[ids.open]}~p1/alto.xml`, '/problems/invalid-id'],
    [`/iiif/ocr/${ids.open}/${fileOf[ids.open]}~p0/alto.xml`, '/problems/invalid-id'],
    [`/iiif/ocr/${ids.open}/${'x'.repeat(300)}/alto.xml`, '/problems/invalid-id'],
  ] as const) {
    const r = await get(t, path);
    t.is(r.status, 400, path);
    const body = JSON.parse(r.text) as { type: string; messages: { vi: string; en: string } };
    t.is(body.type, code, path);
    t.truthy(body.messages.vi && body.messages.en);
  }
});

test.serial('the manifest: the canvas with a reading links its ALTO (seeAlso), the other canvas does not; still valid Presentation 3', async (t) => {
  const base = t.context.server.url;
  const m = await poll('the manifest with the ALTO link', 20_000, async () => {
    const r = await get(t, `/iiif/manifest/${ids.open}`);
    const doc = r.status === 200 ? (JSON.parse(r.text) as Json) : undefined;
    return doc && (doc.items as Json[])[0]?.seeAlso ? doc : undefined;
  });
  t.deepEqual(validatePresentation3(m), []);
  const canvases = m.items as Json[];
  t.deepEqual(canvases[0]?.seeAlso, [
    {
      id: `${base}/iiif/ocr/${ids.open}/${fileOf[ids.open]}/alto.xml`,
      type: 'Dataset',
      format: 'application/xml',
      profile: 'http://www.loc.gov/standards/alto/ns-v4#',
      label: { vi: ['Văn bản nhận dạng của trang (ALTO XML)'], en: ['OCR text of this page (ALTO XML)'] },
    },
  ]);
  t.is(canvases[1]?.seeAlso, undefined);
  // The link is followed as a viewer would: it answers with the ALTO.
  const linked = await fetch((canvases[0]?.seeAlso as Json[])[0]!.id as string);
  t.is(linked.status, 200);
  t.is(await linked.text(), first[ids.open]!.alto);
});

test.serial('a second reading (new models) becomes current: the files and ETags change, the manifest stays; the first reading stays in the log and the store', async (t) => {
  const s = t.context.server;
  const manifestBefore = await get(t, `/iiif/manifest/${ids.open}`);
  const second = await recordReading(t, ids.open, fileOf[ids.open]!, ['Đông', 'Lỗ'], '6.0.0');
  t.not(second.sha.alto, first[ids.open]!.sha.alto);
  const served = await servedReading(t, ids.open, second.sha.alto);
  t.is(served.text, second.alto);
  t.is((await get(t, `/iiif/ocr/${ids.open}/${fileOf[ids.open]}/text.txt`)).text, 'Đông Lỗ');
  // A client holding the first reading's ETag gets the new file, not a 304.
  const stale = await get(t, altoPath(ids.open), { 'if-none-match': `"${first[ids.open]!.sha.alto}"` });
  t.is(stale.status, 200);
  t.is(stale.text, second.alto);

  const manifestAfter = await get(t, `/iiif/manifest/${ids.open}`);
  t.is(manifestAfter.headers.get('etag'), manifestBefore.headers.get('etag'), 'the link names the page, not the reading');

  // History: both OcrCompleted in the log, the first reading's files still stored and whole.
  const readings: string[] = [];
  for await (const e of s.store.readStream(`preservation-${ids.open}`)) {
    if (e.type === 'OcrCompleted') readings.push((e.data as { outputs: { alto: { sha256: string } } }).outputs.alto.sha256);
  }
  t.deepEqual(readings, [first[ids.open]!.sha.alto, second.sha.alto]);
  const kept = await new OcrOutputStore(s.config.derivativesDir).read('alto', first[ids.open]!.sha.alto);
  t.is(kept.toString('utf8'), first[ids.open]!.alto);
  first[ids.open] = second;
});

test.serial('the current readings rebuilt from the log (thukho rebuild page-text) are the ones the server serves', async (t) => {
  const s = t.context.server;
  const fresh = openReadModelDb(':memory:');
  await rebuildProjection(s.store, fresh, pageTextReadModel);
  for (const id of [ids.open, ids.locked, ids.secret]) {
    const rebuilt = findOcrReading(fresh, id, fileOf[id]!);
    t.deepEqual(rebuilt, findOcrReading(s.readDb, id, fileOf[id]!), id);
    t.is(rebuilt?.outputs.alto.sha256, first[id]!.sha.alto, id);
  }
  t.is(findOcrReading(fresh, ids.open, fileOf.second!), undefined);
  fresh.close();
});

test.serial('a damaged stored file is refused with 503, Retry-After and a reason, never a 500 nor the bad bytes; the staff find it in the log', async (t) => {
  const s = t.context.server;
  const store = new OcrOutputStore(s.config.derivativesDir);
  const sha = first[ids.open]!.sha.alto;
  await flipByte(store.path('alto', sha), 60);
  const r = await get(t, altoPath(ids.open));
  t.is(r.status, 503);
  t.is(r.headers.get('retry-after'), '3600');
  t.is(r.headers.get('etag'), null, 'the digest is not the tag of what was (not) sent');
  t.is(r.headers.get('cache-control'), 'no-store');
  const body = JSON.parse(r.text) as { type: string; messages: { vi: string; en: string } };
  t.is(body.type, '/problems/ocr-output-unavailable');
  t.regex(body.messages.vi, /bị hỏng/);
  t.regex(body.messages.en, /damaged/);
  const logged = logLines.map((l) => JSON.parse(l) as Json).find((l) => l.msg === 'stored OCR output damaged or missing: not served');
  t.like(logged, { level: 50, objectId: ids.open, imageId: fileOf[ids.open], kind: 'alto', sha256: sha });
  // The other files of the reading are whole and still served; a missing file is refused the same way.
  t.is((await get(t, `/iiif/ocr/${ids.open}/${fileOf[ids.open]}/text.txt`)).status, 200);
  const { rm } = await import('node:fs/promises');
  await rm(store.path('hocr', first[ids.open]!.sha.hocr));
  t.is((await get(t, `/iiif/ocr/${ids.open}/${fileOf[ids.open]}/hocr.html`)).status, 503);
});
