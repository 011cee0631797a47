import { createHash } from 'node:crypto';
import { MODS_NS } from '../../src/formats/mods.ts';
import { METS_NS } from '../../src/formats/mets.ts';
import { DC_NS } from '../../src/formats/dublin-core.ts';
import { PREMIS_NS } from '../../src/formats/premis.ts';
import { type Json, derivativeOf, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { recordOcrReading } from '../helpers/ocr-reading.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { type XmlElement, child, findAll, parseXml } from '../helpers/xml.ts';
import { assertValidXml } from '../helpers/xml-schema.ts';
import pino from 'pino';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The exports on a real server: a work of three page scans with folio labels, a table of
 * contents and an OCR reading, as Dublin Core, MODS and METS, each valid against its official
 * schema; METS checksums equal the SHA-512 of the bytes uploaded (and of what its URLs serve);
 * pages in reading order with their labels; and who gets which export of which work.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

const KIEU = 'kieu-export';
const METADATA = {
  id: KIEU,
  title: 'Truyện Kiều (Đoạn trường tân thanh)',
  alternativeTitle: ['金雲翹新傳', 'Kim Vân Kiều tân truyện'],
  creator: 'Nguyễn Du',
  date: 'Tự Đức năm thứ 24 (1871)',
  yearFrom: 1871,
  yearTo: 1871,
  language: ['vie', 'lzh'],
  subject: 'Truyện thơ Nôm',
  type: 'Text',
  extent: '3 tờ',
  identifier: 'NĐ-HN-0042',
  rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/',
  accessLevel: 'open',
};
const uploaded: Array<{ fileId: string; sha512: string; bytes: Buffer }> = [];

async function get(t: Ctx, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.context.server.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
const staff = (t: Ctx) => ({ authorization: `Bearer ${t.context.server.staffToken}` });
const reader = (t: Ctx) => ({ authorization: `Bearer ${t.context.server.readerToken}` });

let worker: DerivativesWorker | undefined;
test.after.always(async () => {
  await worker?.close();
});

const OTHERS = { restricted: 'xuat-restricted', confidential: 'xuat-confidential', withdrawn: 'xuat-withdrawn' } as const;

test.serial.before(async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = t.context.server;
  // The derivatives worker makes the pyramids the METS lists (as `thukho worker` would).
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  t.is((await staffCall(s, 'POST', '/api/objects', METADATA)).id, KIEU);
  for (const [i, text] of ['Trăm năm trong cõi người ta', '金雲翹 tờ một', 'Chữ tài chữ mệnh'].entries()) {
    const bytes = await scan(text);
    const file = await uploadFile(s, KIEU, bytes, `to-${i + 1}.tif`);
    uploaded.push({ fileId: file.fileId as string, sha512: (file.digests as { sha512: string }).sha512, bytes });
  }
  for (const f of uploaded) t.truthy((await derivativeOf(s, KIEU, f.fileId)).pyramid, `derivative of ${f.fileId}`);
  await staffCall(s, 'PUT', `/api/objects/${KIEU}/page-labels`, { pattern: 'tờ {f}' });
  await staffCall(s, 'PUT', `/api/objects/${KIEU}/structure`, {
    ranges: [
      { label: 'Phần mở đầu', fileId: uploaded[0]!.fileId },
      { label: 'Kim Trọng gặp Thúy Kiều', fileId: uploaded[1]!.fileId },
    ],
  });
  await recordOcrReading(s, KIEU, uploaded[0]!.fileId, uploaded[0]!.sha512, [{ text: 'Trăm năm', confidence: 93 }]);
  for (const [level, id] of [['restricted', OTHERS.restricted], ['confidential', OTHERS.confidential], ['open', OTHERS.withdrawn]] as const) {
    t.is((await staffCall(s, 'POST', '/api/objects', { id, title: `Xuất ${level}`, accessLevel: level })).id, id);
  }
  t.is((await staffCall(s, 'POST', `/api/objects/${OTHERS.withdrawn}/withdraw`, { reason: 'Trùng bản' })).status, 'withdrawn');
  // The OCR reading and the table of contents have reached the read models.
  await poll('the ALTO in the METS', 20_000, async () => {
    const r = await get(t, `/api/objects/${KIEU}/mets.xml`, staff(t));
    const text = r.body.toString('utf8');
    return r.status === 200 && text.includes('USE="ocr"') && text.includes('TYPE="logical"') && text.includes('ORDERLABEL="tờ 2a"') ? true : undefined;
  });
});

test('dc.xml: the record as oai_dc, valid, with the page and manifest links', async (t) => {
  const r = await get(t, `/api/objects/${KIEU}/dc.xml`);
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/xml; charset=utf-8');
  t.truthy(r.headers.get('last-modified'));
  const xml = r.body.toString('utf8');
  await assertValidXml(t, xml, 'oai_dc');
  const root = parseXml(xml);
  t.deepEqual(findAll(root, DC_NS, 'title').map((e) => e.text), [METADATA.title, ...METADATA.alternativeTitle]);
  const base = t.context.server.url;
  t.true(findAll(root, DC_NS, 'identifier').some((e) => e.text === `${base}/objects/${KIEU}`));
  t.true(findAll(root, DC_NS, 'relation').some((e) => e.text === `${base}/iiif/manifest/${KIEU}`));
  // The ETag answers a conditional request with 304.
  const again = await get(t, `/api/objects/${KIEU}/dc.xml`, { 'if-none-match': r.headers.get('etag') ?? '' });
  t.is(again.status, 304);
});

test('mods.xml: the record as MODS 3.8, valid, titles in both scripts', async (t) => {
  const r = await get(t, `/api/objects/${KIEU}/mods.xml`);
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/xml; charset=utf-8');
  const xml = r.body.toString('utf8');
  await assertValidXml(t, xml, 'mods');
  const titles = findAll(parseXml(xml), MODS_NS, 'titleInfo').map((e) => [e.attributes.type ?? '', e.attributes.script ?? '', child(e, 'title').text]);
  t.deepEqual(titles, [
    ['', 'Latn', METADATA.title],
    ['alternative', 'Hani', '金雲翹新傳'],
    ['alternative', 'Latn', 'Kim Vân Kiều tân truyện'],
  ]);
});

function metsFiles(root: XmlElement): Map<string, { use: string; file: XmlElement; href: string }> {
  const out = new Map<string, { use: string; file: XmlElement; href: string }>();
  for (const grp of findAll(root, METS_NS, 'fileGrp')) {
    for (const file of grp.children) {
      const href = child(file, 'FLocat').attributes['xlink:href'];
      if (href === undefined) throw new Error(`file ${file.attributes.ID} has an FLocat without xlink:href`);
      out.set(file.attributes.ID!, { use: grp.attributes.USE!, file, href });
    }
  }
  return out;
}

test('mets.xml: valid METS; masters with the SHA-512 of the bytes uploaded, served at their URLs', async (t) => {
  const r = await get(t, `/api/objects/${KIEU}/mets.xml`, staff(t));
  t.is(r.status, 200);
  t.is(r.headers.get('content-type'), 'application/xml; charset=utf-8');
  const xml = r.body.toString('utf8');
  await assertValidXml(t, xml, 'mets');
  const root = parseXml(xml);
  t.is(root.attributes.OBJID, KIEU);
  const files = metsFiles(root);
  const masters = [...files.values()].filter((f) => f.use === 'master');
  t.is(masters.length, 3);
  for (const [i, m] of masters.entries()) {
    const u = uploaded[i]!;
    const expected = createHash('sha512').update(u.bytes).digest('hex');
    t.is(m.file.attributes.CHECKSUMTYPE, 'SHA-512');
    t.is(m.file.attributes.CHECKSUM, expected);
    t.is(m.file.attributes.SIZE, String(u.bytes.length));
    t.is(m.file.attributes.MIMETYPE, 'image/tiff');
    t.is(child(m.file, 'FLocat').attributes.LOCTYPE, 'URL');
    const served = await get(t, new URL(m.href).pathname, staff(t));
    t.is(served.status, 200);
    t.is(createHash('sha512').update(served.body).digest('hex'), expected, `${m.href} serves the file the checksum names`);
  }
  // Derivatives: the pyramid each page was made into, with the SHA-256 recorded when it was made.
  const record = await staffCall(t.context.server, 'GET', `/api/objects/${KIEU}`);
  const derivatives = [...files.values()].filter((f) => f.use === 'derivative');
  t.deepEqual(
    derivatives.map((d) => [d.file.attributes.CHECKSUMTYPE, d.file.attributes.CHECKSUM, d.file.attributes.SIZE, new URL(d.href).pathname]),
    uploaded.map((u) => {
      const pyramid = ((record.files as Json[]).find((f) => f.fileId === u.fileId)!.derivative as { pyramid: { sha256: string; size: number } }).pyramid;
      return ['SHA-256', pyramid.sha256, String(pyramid.size), `/iiif/3/${u.fileId}`];
    }),
  );
  // The ALTO of the page that was read: its SHA-256 and size are those of what its URL serves.
  const altos = [...files.values()].filter((f) => f.use === 'ocr');
  t.is(altos.length, 1);
  const alto = await get(t, new URL(altos[0]!.href).pathname, staff(t));
  t.is(alto.status, 200);
  t.is(altos[0]!.file.attributes.CHECKSUM, createHash('sha256').update(alto.body).digest('hex'));
  t.is(altos[0]!.file.attributes.SIZE, String(alto.body.length));
  // Staff get the PREMIS provenance in the amdSec, valid (the wrapper schema validates it).
  const premis = findAll(root, PREMIS_NS, 'event');
  t.true(premis.length >= 4, 'registration and three ingests at least');
});

test('mets.xml: one page div per page in reading order, with its folio label and its files; the table of contents as a logical map', async (t) => {
  const r = await get(t, `/api/objects/${KIEU}/mets.xml`, staff(t));
  const root = parseXml(r.body.toString('utf8'));
  const files = metsFiles(root);
  const [physical, logical] = findAll(root, METS_NS, 'structMap');
  t.is(physical!.attributes.TYPE, 'physical');
  const pages = child(physical!, 'div').children;
  t.deepEqual(
    pages.map((p) => [p.attributes.TYPE, p.attributes.ORDER, p.attributes.ORDERLABEL, p.children.map((f) => files.get(f.attributes.FILEID!)?.use)]),
    [
      ['page', '1', 'tờ 1a', ['master', 'derivative', 'ocr']],
      ['page', '2', 'tờ 1b', ['master', 'derivative']],
      ['page', '3', 'tờ 2a', ['master', 'derivative']],
    ],
  );
  t.deepEqual(
    pages.map((p) => new URL(files.get(p.children[0]!.attributes.FILEID!)!.href).pathname),
    uploaded.map((u) => `/api/objects/${KIEU}/files/${u.fileId}/content`),
  );
  t.is(logical!.attributes.TYPE, 'logical');
  const sections = child(logical!, 'div').children;
  t.deepEqual(sections.map((s) => s.attributes.LABEL), ['Phần mở đầu', 'Kim Trọng gặp Thúy Kiều']);
  const pageOf = new Map(pages.map((p) => [p.attributes.ID, p.attributes.ORDER]));
  const links = findAll(root, METS_NS, 'smLink').map((l) => [sections.findIndex((s) => s.attributes.ID === l.attributes['xlink:from']), pageOf.get(l.attributes['xlink:to']!)]);
  t.deepEqual(links, [[0, '1'], [1, '2'], [1, '3']]);
});

test('mets.xml without staff rights: the same files and pages, but no provenance', async (t) => {
  const r = await get(t, `/api/objects/${KIEU}/mets.xml`);
  t.is(r.status, 200);
  const xml = r.body.toString('utf8');
  await assertValidXml(t, xml, 'mets');
  const root = parseXml(xml);
  t.deepEqual(findAll(root, METS_NS, 'amdSec'), []);
  t.deepEqual(findAll(root, PREMIS_NS, 'premis'), []);
  t.is([...metsFiles(root).values()].filter((f) => f.use === 'master').length, 3);
  t.is((await get(t, `/api/objects/${KIEU}/mets.xml`, { 'if-none-match': r.headers.get('etag') ?? '' })).status, 304);
});

test('access: the record is public for a restricted work, the METS is content; confidential is 404, withdrawn 410 except for staff', async (t) => {
  const outcomes: Record<string, Record<string, number>> = {};
  for (const [name, id] of Object.entries(OTHERS)) {
    for (const ext of ['dc.xml', 'mods.xml', 'mets.xml']) {
      for (const [who, headers] of [['anonymous', {}], ['reader', reader(t)], ['staff', staff(t)]] as const) {
        (outcomes[`${name} ${ext}`] ??= {})[who] = (await get(t, `/api/objects/${id}/${ext}`, headers)).status;
      }
    }
  }
  t.deepEqual(outcomes, {
    'restricted dc.xml': { anonymous: 200, reader: 200, staff: 200 },
    'restricted mods.xml': { anonymous: 200, reader: 200, staff: 200 },
    'restricted mets.xml': { anonymous: 401, reader: 200, staff: 200 },
    'confidential dc.xml': { anonymous: 404, reader: 404, staff: 200 },
    'confidential mods.xml': { anonymous: 404, reader: 404, staff: 200 },
    'confidential mets.xml': { anonymous: 404, reader: 404, staff: 200 },
    'withdrawn dc.xml': { anonymous: 410, reader: 410, staff: 200 },
    'withdrawn mods.xml': { anonymous: 410, reader: 410, staff: 200 },
    'withdrawn mets.xml': { anonymous: 410, reader: 410, staff: 200 },
  });
  // A work without files still makes a valid METS (no fileSec; one empty physical sequence).
  await assertValidXml(t, (await get(t, `/api/objects/${OTHERS.restricted}/mets.xml`, reader(t))).body.toString('utf8'), 'mets');
  const problem = await get(t, '/api/objects/khong-co/mods.xml');
  t.is(problem.status, 404);
  t.regex(problem.headers.get('content-type') ?? '', /problem\+json/);
  t.is((await get(t, '/api/objects/BAD%20ID/dc.xml')).status, 400);
});
