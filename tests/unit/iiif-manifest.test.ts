import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import type { Viewer } from '../../src/domain/access-policy.ts';
import type { DerivativeInfo, EventData, EventType, IngestedFile } from '../../src/domain/events.ts';
import type { Metadata } from '../../src/domain/metadata.ts';
import type { StoredFile } from '../../src/domain/object.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import {
  type ImageFile,
  type PresentableObject,
  buildManifest,
  pageCount,
  rightsUri,
  textMap,
  thumbnailFor,
  firstPageOf,
} from '../../src/iiif/manifest.ts';
import {
  BASE_PLACEHOLDER,
  INSTITUTION_PLACEHOLDER,
  collectionDocument,
  countCollectionItems,
  findCollectionHeader,
  findManifest,
  manifestReadModel,
  renderStoredJson,
} from '../../src/projections/manifest-read-model.ts';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, prepareProjection } from '../../src/projections/runtime.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { recordedEvent } from '../helpers/events.ts';

/**
 * IIIF Presentation 3 for thukho: the pure manifest and collection builders, the manifests
 * projection over recorded events (in an in-memory read model), and the validator that every
 * produced document must pass.
 */
const BASE = 'https://thukho.example.vn';
const INSTITUTION = 'Thư viện tỉnh Nam Định';
const PUBLIC: Viewer = { role: 'public' };
const READER: Viewer = { role: 'reader' };
const STAFF: Viewer = { role: 'curator' };

type Json = Record<string, unknown>;
type Canvas = { id: string; width: number; height: number; label: Json; thumbnail: Array<{ id: string; width: number; height: number }> };

// ---------------------------------------------------------------------------------------
// Fixtures

const hex = (seed: string, bytes: 'sha512' | 'sha256') => createHash(bytes).update(seed).digest('hex');

function ingested(fileId: string, width: number, height: number): IngestedFile {
  return {
    fileId,
    name: `${fileId}.tif`,
    role: 'master',
    size: width * height,
    mediaType: 'image/tiff',
    digests: { sha512: hex(fileId, 'sha512'), sha256: hex(fileId, 'sha256') },
    image: { width, height },
    storage: { ocflObjectId: 'obj', version: 'v1', path: `${fileId}/${fileId}.tif` },
  };
}

function derivative(fileId: string, width: number, height: number, sizes: Array<[number, number]>): DerivativeInfo {
  return {
    masterSha512: hex(fileId, 'sha512'),
    width,
    height,
    pyramid: { sha256: hex(`${fileId}-pyramid`, 'sha256'), size: 1000, levels: 4 },
    tileSize: 256,
    scaleFactors: [1, 2, 4, 8],
    tiles: 40,
    sizes: sizes.map(([w, h]) => ({ width: w, height: h })),
    software: 'test',
  };
}

const hanNom: Metadata = {
  title: 'Đại Nam thực lục',
  alternativeTitle: ['大南實錄', 'Đại Nam thực lục chính biên'],
  creator: 'Quốc sử quán triều Nguyễn',
  date: 'Thiệu Trị 4 (1844)',
  yearFrom: 1844,
  yearTo: 1844,
  language: ['lzh'],
  description: 'Bộ chính sử triều Nguyễn, khắc in tại Quốc sử quán.',
  identifier: 'HN.0001',
  rights: 'https://rightsstatements.org/page/NoC-NC/1.0/?language=vi',
};

function objectState(metadata: Metadata, files: StoredFile[], extra: Partial<PresentableObject> = {}): PresentableObject {
  return { status: 'active', objectId: 'hn-0001', metadata, accessLevel: 'open', files, ...extra };
}

function stored(fileId: string, sequence: number, width: number, height: number, d?: DerivativeInfo): ImageFile {
  return { ...ingested(fileId, width, height), image: { width, height }, sequence, ...(d ? { derivative: d } : {}) };
}

const canvases = (m: Json) => m.items as Canvas[];

// A tiny event log: streams with revisions, one global position, RecordedEvents as the store gives them.
class Log {
  private position = 0n;
  private readonly revisions = new Map<string, bigint>();

  event<T extends EventType>(streamId: string, type: T, data: EventData<T>): RecordedEvent {
    const revision = (this.revisions.get(streamId) ?? -1n) + 1n;
    this.revisions.set(streamId, revision);
    this.position += 1n;
    return recordedEvent(streamId, revision, this.position, type, data);
  }

  register(objectId: string, metadata: Metadata, accessLevel: 'open' | 'restricted' | 'confidential' = 'open'): RecordedEvent {
    return this.event(`object-${objectId}`, 'ObjectRegistered', { objectId, metadata, accessLevel });
  }

  ingest(objectId: string, sequence: number, file: IngestedFile): RecordedEvent {
    return this.event(`object-${objectId}`, 'FileIngested', { ...file, objectId, sequence });
  }

  collection(collectionId: string, title: string, parentId?: string): RecordedEvent {
    return this.event(`collection-${collectionId}`, 'CollectionCreated', { collectionId, title, ...(parentId ? { parentId } : {}) });
  }
}

/** The projection over an in-memory read model, fed through the runtime's applyBatch like a runner would. */
function harness() {
  const db = openReadModelDb(':memory:');
  prepareProjection(db, manifestReadModel);
  let checkpoint: bigint | null = null;
  return {
    db,
    log: new Log(),
    apply(...events: RecordedEvent[]) {
      const outcome = applyBatch(db, manifestReadModel, checkpoint, events);
      if (outcome.kind !== 'applied') throw new Error('checkpoint moved');
      checkpoint = outcome.position;
    },
  };
}

/** A registered Han-Nôm book with pages of the given sizes, applied in one batch. */
function book(h: ReturnType<typeof harness>, objectId: string, sizes: Array<[number, number]>, metadata: Metadata = hanNom, level: 'open' | 'restricted' | 'confidential' = 'open') {
  const events = [h.log.register(objectId, metadata, level)];
  sizes.forEach(([w, hgt], i) => events.push(h.log.ingest(objectId, i, ingested(`${objectId}-p${i + 1}`, w, hgt))));
  h.apply(...events);
}

function served(db: ReadModelDb, objectId: string, viewer: Viewer = STAFF): Json {
  const found = findManifest(db, objectId, viewer, 'record');
  if (found.status !== 'ok') throw new Error(`manifest ${objectId}: ${found.status}`);
  return JSON.parse(renderStoredJson(found.json, { base: BASE, institution: INSTITUTION })) as Json;
}

// ---------------------------------------------------------------------------------------
// The manifest builder

test('a two-page Han-Nôm book: canvases in sequence order, sized as the images, read right to left', (t) => {
  // Files listed out of order: sequence, not array position, decides the reading order.
  const state = objectState(hanNom, [stored('p2', 1, 1800, 2600), stored('p1', 0, 2000, 3000)]);
  const m = buildManifest({ base: BASE, objectId: 'hn-0001', state, institution: INSTITUTION });

  t.deepEqual(validatePresentation3(m), []);
  t.is(m['@context'], 'http://iiif.io/api/presentation/3/context.json');
  t.is(m.id, `${BASE}/iiif/manifest/hn-0001`);
  t.is(m.type, 'Manifest');
  const [first, second] = canvases(m);
  t.is(first?.id, `${BASE}/iiif/manifest/hn-0001/canvas/p1`);
  t.is(second?.id, `${BASE}/iiif/manifest/hn-0001/canvas/p2`);
  t.like(first, { width: 2000, height: 3000, label: { vi: ['Trang 1'], en: ['Page 1'] } });
  t.like(second, { width: 1800, height: 2600, label: { vi: ['Trang 2'], en: ['Page 2'] } });
  t.is(m.viewingDirection, 'right-to-left');
  t.deepEqual(m.behavior, ['paged']);

  const page = (first as unknown as { items: Array<{ items: Json[] }> }).items[0]?.items[0];
  t.like(page, {
    motivation: 'painting',
    target: first?.id,
    body: {
      id: `${BASE}/iiif/3/p1/full/max/0/default.jpg`,
      type: 'Image',
      format: 'image/jpeg',
      width: 2000,
      height: 3000,
      service: [{ id: `${BASE}/iiif/3/p1`, type: 'ImageService3', profile: 'level2' }],
    },
  });
  // Only the root carries @context.
  t.false(JSON.stringify(m.items).includes('@context'));
});

test('a PDF: its drawn pages are canvases sized by their derivatives; an open work offers the original PDF as the manifest\'s rendering, a restricted one does not', (t) => {
  const { image: _none, ...base } = ingested('book', 1, 1);
  const book: StoredFile = {
    ...base,
    name: 'Đại Nam thực lục.pdf',
    mediaType: 'application/pdf',
    pdf: { version: '1.7', pages: 2 },
    sequence: 0,
    derivative: derivative('book', 2480, 3508, [[155, 220]]),
    laterPages: [{ page: 2, derivative: { ...derivative('book', 2480, 3500, [[155, 219]]), page: 2 } }],
  };
  const open = buildManifest({ base: BASE, objectId: 'hn-0001', state: objectState(hanNom, [book]), institution: INSTITUTION });
  t.deepEqual(validatePresentation3(open), []);
  t.deepEqual(canvases(open).map((c) => [c.id, c.width, c.height]), [
    [`${BASE}/iiif/manifest/hn-0001/canvas/book`, 2480, 3508],
    [`${BASE}/iiif/manifest/hn-0001/canvas/book~p2`, 2480, 3500],
  ]);
  t.deepEqual(open.rendering, [
    {
      id: `${BASE}/api/objects/hn-0001/files/book/content`,
      type: 'Text',
      format: 'application/pdf',
      label: { vi: ['Tải tệp PDF gốc (Đại Nam thực lục.pdf)'], en: ['Download the original PDF (Đại Nam thực lục.pdf)'] },
    },
  ]);
  const restricted = buildManifest({ base: BASE, objectId: 'hn-0001', state: objectState(hanNom, [book], { accessLevel: 'restricted' }), institution: INSTITUTION });
  t.is(restricted.rendering, undefined);
  t.is(canvases(restricted).length, 2);
});

test('labels and metadata: Vietnamese under vi, Han characters tagged lzh (Hán văn) or vi-Hani (Nôm), bilingual field labels', (t) => {
  const m = buildManifest({ base: BASE, objectId: 'hn-0001', state: objectState(hanNom, [stored('p1', 0, 100, 100)]), institution: INSTITUTION });
  t.deepEqual(m.label, { vi: ['Đại Nam thực lục'] });
  t.deepEqual(m.summary, { vi: ['Bộ chính sử triều Nguyễn, khắc in tại Quốc sử quán.'] });
  const metadata = m.metadata as Array<{ label: Json; value: Json }>;
  const field = (en: string) => metadata.find((e) => (e.label.en as string[])[0] === en);
  // Two scripts, two languages: one pair each, so that every viewer shows both (textMaps says why).
  t.deepEqual(metadata.filter((e) => (e.label.en as string[])[0] === 'Alternative title').map((e) => e.value), [{ lzh: ['大南實錄'] }, { vi: ['Đại Nam thực lục chính biên'] }]);
  t.deepEqual(field('Creator'), { label: { vi: ['Tác giả'], en: ['Creator'] }, value: { vi: ['Quốc sử quán triều Nguyễn'] } });
  t.deepEqual(field('Date')?.label, { vi: ['Niên đại'], en: ['Date'] });
  t.deepEqual(field('Language')?.value, { vi: ['Hán văn'], en: ['Literary Chinese'] });
  t.deepEqual(field('Identifier')?.value, { none: ['HN.0001'] });
  t.deepEqual(m.requiredStatement, { label: { vi: ['Nơi lưu giữ'], en: ['Held by'] }, value: { vi: [INSTITUTION] } });
  t.is(m.navDate, '1844-01-01T00:00:00Z');
  t.like((m.provider as Json[])[0], { id: `${BASE}/`, type: 'Agent', label: { vi: [INSTITUTION] } });
  t.deepEqual(m.homepage, [{ id: `${BASE}/objects/hn-0001`, type: 'Text', format: 'text/html', label: { vi: ['Đại Nam thực lục'] } }]);
  t.like((m.seeAlso as Json[])[0], { id: `${BASE}/api/objects/hn-0001`, type: 'Dataset', format: 'application/json' });
  t.deepEqual(m.partOf, [{ id: `${BASE}/iiif/collection/top`, type: 'Collection', label: { vi: ['Tất cả bộ sưu tập'], en: ['All collections'] } }]);

  // A title in Han characters is not Vietnamese; text that looks like HTML is shown as typed.
  const han = buildManifest({ base: BASE, objectId: 'x', state: objectState({ title: '嗣德聖製字學解義歌', creator: '<Không rõ>' }, [stored('p1', 0, 10, 10)]), institution: INSTITUTION });
  t.deepEqual(han.label, { lzh: ['嗣德聖製字學解義歌'] });
  t.deepEqual(textMap('<Không rõ>'), { vi: ['<span>&lt;Không rõ&gt;</span>'] });
  t.deepEqual(validatePresentation3(han), []);
});

test('viewingDirection and behavior: the cataloguer first, then language and page count', (t) => {
  const build = (metadata: Metadata, pages: number) =>
    buildManifest({
      base: BASE,
      objectId: 'o',
      state: objectState(metadata, Array.from({ length: pages }, (_, i) => stored(`f${i}`, i, 100, 150))),
      institution: INSTITUTION,
    });
  const french = build({ title: 'Annuaire de l’Indochine', language: ['fra'] }, 3);
  t.false('viewingDirection' in french);
  t.deepEqual(french.behavior, ['paged']);
  const leaf = build({ title: 'Sắc phong', language: ['lzh'] }, 1);
  t.is(leaf.viewingDirection, 'right-to-left');
  t.deepEqual(leaf.behavior, ['individuals']);
  const chosen = build({ title: 'Bản đồ', language: ['lzh'], viewingDirection: 'top-to-bottom', behavior: 'continuous' }, 4);
  t.is(chosen.viewingDirection, 'top-to-bottom');
  t.deepEqual(chosen.behavior, ['continuous']);
  for (const m of [french, leaf, chosen]) t.deepEqual(validatePresentation3(m), []);
});

test('rights: only RightsStatements.org (as http /vocab/) and Creative Commons URIs', (t) => {
  t.is(rightsUri('https://rightsstatements.org/page/NoC-NC/1.0/?language=vi'), 'http://rightsstatements.org/vocab/NoC-NC/1.0/');
  t.is(rightsUri('http://rightsstatements.org/vocab/InC/1.0/'), 'http://rightsstatements.org/vocab/InC/1.0/');
  t.is(rightsUri('https://creativecommons.org/licenses/by-sa/4.0/'), 'https://creativecommons.org/licenses/by-sa/4.0/');
  t.is(rightsUri('http://creativecommons.org/publicdomain/mark/1.0'), 'http://creativecommons.org/publicdomain/mark/1.0/');
  t.is(rightsUri('http://rightsstatements.org/vocab/InC-XX/1.0/'), undefined);
  t.is(rightsUri('https://thuvien.example.vn/ban-quyen'), undefined);
  t.is(rightsUri(undefined), undefined);

  const build = (rights: string) =>
    buildManifest({ base: BASE, objectId: 'o', state: objectState({ title: 'T', rights }, [stored('f', 0, 10, 10)]), institution: INSTITUTION });
  t.is(build(hanNom.rights as string).rights, 'http://rightsstatements.org/vocab/NoC-NC/1.0/');
  const local = build('https://thuvien.example.vn/ban-quyen');
  t.false('rights' in local);
  // Still shown to people, in metadata.
  t.true(JSON.stringify(local.metadata).includes('https://thuvien.example.vn/ban-quyen'));
  t.deepEqual(validatePresentation3(local), []);
});

test('thumbnails: the smallest pre-cut size at least 150 wide, else fitted into 200×200', (t) => {
  const withDerivative = stored('p1', 0, 2000, 3000, derivative('p1', 2000, 3000, [[63, 94], [125, 188], [250, 375], [500, 750]]));
  t.like(thumbnailFor(BASE, firstPageOf(withDerivative)), { id: `${BASE}/iiif/3/p1/full/250,375/0/default.jpg`, width: 250, height: 375 });
  t.like(thumbnailFor(BASE, firstPageOf(stored('p2', 0, 2000, 3000))), { id: `${BASE}/iiif/3/p2/full/133,200/0/default.jpg`, width: 133, height: 200 });
  t.like(thumbnailFor(BASE, firstPageOf(stored('wide', 0, 5000, 10))), { width: 200, height: 1 });
  // Never upscaled (Image API 3 needs "^" for that); the whole image is "max".
  t.like(thumbnailFor(BASE, firstPageOf(stored('tiny', 0, 120, 90))), { id: `${BASE}/iiif/3/tiny/full/max/0/default.jpg`, width: 120, height: 90 });
  t.deepEqual(thumbnailFor(BASE, firstPageOf(withDerivative)).service, [{ id: `${BASE}/iiif/3/p1`, type: 'ImageService3', profile: 'level2' }]);

  const m = buildManifest({ base: BASE, objectId: 'o', state: objectState(hanNom, [withDerivative, stored('p2', 1, 2000, 3000)]), institution: INSTITUTION });
  t.like((m.thumbnail as Json[])[0], { id: `${BASE}/iiif/3/p1/full/250,375/0/default.jpg` });
  t.like(canvases(m)[1]?.thumbnail[0], { id: `${BASE}/iiif/3/p2/full/133,200/0/default.jpg` });
});

// ---------------------------------------------------------------------------------------
// The manifests projection

test('projection: a registered book with pages is served with the real base and institution', (t) => {
  const h = harness();
  book(h, 'hn-0001', [[2000, 3000], [1800, 2600]]);
  const found = findManifest(h.db, 'hn-0001', PUBLIC, 'record');
  if (found.status !== 'ok') return t.fail(found.status);
  t.true(found.json.includes(BASE_PLACEHOLDER));
  t.true(found.json.includes(INSTITUTION_PLACEHOLDER));
  t.is(found.revision, 2);
  t.true(found.access.publicCache, 'open and active: a shared cache may keep it');
  const m = served(h.db, 'hn-0001', PUBLIC);
  t.deepEqual(validatePresentation3(m), []);
  t.is(m.id, `${BASE}/iiif/manifest/hn-0001`);
  t.deepEqual(canvases(m).map((c) => [c.width, c.height]), [[2000, 3000], [1800, 2600]]);
  t.deepEqual((m.requiredStatement as Json).value, { vi: [INSTITUTION] });
  t.false(JSON.stringify(m).includes('urn:thukho'));
});

test('projection: FilesReordered changes the canvas order, DerivativeCreated the thumbnail', (t) => {
  const h = harness();
  book(h, 'hn-0001', [[2000, 3000], [1800, 2600], [1000, 1000]]);
  const before = findManifest(h.db, 'hn-0001', STAFF, 'record');
  h.apply(h.log.event('object-hn-0001', 'FilesReordered', { objectId: 'hn-0001', order: ['hn-0001-p3', 'hn-0001-p1', 'hn-0001-p2'] }));
  let m = served(h.db, 'hn-0001');
  t.deepEqual(canvases(m).map((c) => c.id.split('/').pop()), ['hn-0001-p3', 'hn-0001-p1', 'hn-0001-p2']);
  t.deepEqual(canvases(m)[0]?.label, { vi: ['Trang 1'], en: ['Page 1'] });
  const after = findManifest(h.db, 'hn-0001', STAFF, 'record');
  t.true(before.status === 'ok' && after.status === 'ok' && before.etag !== after.etag);

  h.apply(h.log.event('object-hn-0001', 'DerivativeCreated', { ...derivative('hn-0001-p3', 1000, 1000, [[125, 125], [250, 250]]), objectId: 'hn-0001', fileId: 'hn-0001-p3' }));
  m = served(h.db, 'hn-0001');
  t.like((m.thumbnail as Json[])[0], { id: `${BASE}/iiif/3/hn-0001-p3/full/250,250/0/default.jpg` });
  t.deepEqual(validatePresentation3(m), []);
});

test('projection: MetadataEdited updates the stored manifest; access changes add or drop the downloads', (t) => {
  const h = harness();
  book(h, 'hn-0001', [[2000, 3000]]);
  const first = findManifest(h.db, 'hn-0001', STAFF, 'record');
  h.apply(h.log.event('object-hn-0001', 'MetadataEdited', { objectId: 'hn-0001', changes: { title: 'Đại Nam thực lục tiền biên', description: null } }));
  const edited = findManifest(h.db, 'hn-0001', STAFF, 'record');
  if (first.status !== 'ok' || edited.status !== 'ok') return t.fail();
  t.not(edited.etag, first.etag);
  t.is(edited.revision, 2);
  const m = served(h.db, 'hn-0001');
  t.deepEqual(m.label, { vi: ['Đại Nam thực lục tiền biên'] });
  t.false('summary' in m);

  h.apply(h.log.event('object-hn-0001', 'AccessPolicyChanged', { objectId: 'hn-0001', from: 'open', to: 'restricted' }));
  const restricted = findManifest(h.db, 'hn-0001', READER, 'record');
  if (restricted.status !== 'ok') return t.fail(restricted.status);
  t.true((m.items as Json[]).every((c) => JSON.stringify(c.rendering).includes('/full/max/0/default.jpg')), 'open: each page offers its image');
  t.not(restricted.etag, edited.etag, 'restricted: the downloads are gone, so the document changed');
  t.is(restricted.revision, 3);
  t.false(restricted.access.publicCache, 'restricted: no shared cache');
  t.true((served(h.db, 'hn-0001').items as Json[]).every((c) => c.rendering === undefined));

  h.apply(h.log.event('object-hn-0001', 'AccessPolicyChanged', { objectId: 'hn-0001', from: 'restricted', to: 'confidential' }));
  const confidential = findManifest(h.db, 'hn-0001', STAFF, 'record');
  if (confidential.status !== 'ok') return t.fail(confidential.status);
  t.is(confidential.etag, restricted.etag, 'restricted → confidential leaves the document as it was, and its ETag');
});

test('projection: events delivered twice are applied once', (t) => {
  const h = harness();
  const events = [h.log.register('o1', { title: 'Hương ước làng Hành Thiện' }), h.log.ingest('o1', 0, ingested('o1-p1', 800, 1200))];
  manifestReadModel.apply(h.db, events);
  const once = findManifest(h.db, 'o1', STAFF, 'record');
  manifestReadModel.apply(h.db, events);
  t.deepEqual(findManifest(h.db, 'o1', STAFF, 'record'), once);
  t.is(canvases(served(h.db, 'o1')).length, 1);
});

test('projection: withdrawn is gone but kept for staff, confidential absent for non-staff, a restricted manifest is a public record', (t) => {
  const h = harness();
  book(h, 'gone', [[100, 100]]);
  h.apply(h.log.event('object-gone', 'ObjectWithdrawn', { objectId: 'gone', reason: 'Trùng với HN.0002' }));
  t.is(findManifest(h.db, 'gone', STAFF, 'record').status, 'ok', 'staff still see a withdrawn work');
  t.deepEqual(findManifest(h.db, 'gone', PUBLIC, 'record'), { status: 'refused', refusal: 'gone', withdrawnReason: 'Trùng với HN.0002' });
  t.deepEqual(findManifest(h.db, 'gone', READER, 'content'), { status: 'refused', refusal: 'gone', withdrawnReason: 'Trùng với HN.0002' });

  book(h, 'secret', [[100, 100]], { title: 'Hồ sơ mật' }, 'confidential');
  t.deepEqual(findManifest(h.db, 'secret', PUBLIC, 'record'), { status: 'refused', refusal: 'absent' });
  t.deepEqual(findManifest(h.db, 'secret', READER, 'content'), { status: 'refused', refusal: 'absent' });
  t.is(findManifest(h.db, 'secret', STAFF, 'content').status, 'ok');

  book(h, 'reading-room', [[100, 100]], { title: 'Địa bạ' }, 'restricted');
  t.is(findManifest(h.db, 'reading-room', PUBLIC, 'record').status, 'ok', 'the manifest is the record: public');
  t.deepEqual(findManifest(h.db, 'reading-room', PUBLIC, 'content'), { status: 'refused', refusal: 'sign-in' });
  t.is(findManifest(h.db, 'reading-room', { role: 'public', inReadingRoom: true }, 'content').status, 'ok');
  t.is(findManifest(h.db, 'reading-room', READER, 'content').status, 'ok');

  t.deepEqual(findManifest(h.db, 'nothing-here', STAFF, 'record'), { status: 'refused', refusal: 'absent' });
  h.apply(h.log.register('no-pages', { title: 'Chưa quét' }));
  t.deepEqual(findManifest(h.db, 'no-pages', STAFF, 'record'), { status: 'empty', access: { outcome: 'allow', publicCache: true, download: true } });
});

test('projection: a collection title change rebuilds its objects\' partOf', (t) => {
  const h = harness();
  h.apply(h.log.collection('sac-phong', 'Sắc phong'));
  book(h, 'sp-1', [[100, 100]], { title: 'Sắc phong cho thần làng', collectionId: 'sac-phong' });
  book(h, 'other', [[100, 100]], { title: 'Gia phả' });
  const otherBefore = findManifest(h.db, 'other', STAFF, 'record');
  t.deepEqual(served(h.db, 'sp-1').partOf, [{ id: `${BASE}/iiif/collection/sac-phong`, type: 'Collection', label: { vi: ['Sắc phong'] } }]);

  h.apply(h.log.event('collection-sac-phong', 'CollectionEdited', { collectionId: 'sac-phong', title: 'Sắc phong triều Nguyễn' }));
  const m = served(h.db, 'sp-1');
  t.deepEqual(m.partOf, [{ id: `${BASE}/iiif/collection/sac-phong`, type: 'Collection', label: { vi: ['Sắc phong triều Nguyễn'] } }]);
  t.true(JSON.stringify(m.metadata).includes('Sắc phong triều Nguyễn'));
  t.deepEqual(findManifest(h.db, 'other', STAFF, 'record'), otherBefore, 'objects of other collections are untouched');

  // An object moved out of the collection belongs to the top collection.
  h.apply(h.log.event('object-sp-1', 'MetadataEdited', { objectId: 'sp-1', changes: { collectionId: null } }));
  t.like((served(h.db, 'sp-1').partOf as Json[])[0], { id: `${BASE}/iiif/collection/top` });
});

// ---------------------------------------------------------------------------------------
// Collections

function collectionDoc(db: ReadModelDb, id: string, viewer: Viewer, pageSize: number, page?: number): Json {
  const found = collectionDocument(db, id, viewer, page, pageSize);
  if (found.status !== 'ok') throw new Error(`collection ${id}: ${found.status}`);
  return JSON.parse(renderStoredJson(found.json, { base: BASE, institution: INSTITUTION })) as Json;
}

const itemIds = (doc: Json) => (doc.items as Array<{ id: string }>).map((i) => i.id.replace(`${BASE}/iiif/`, ''));

test('collections: top lists root collections and loose objects; a collection its children and visible objects', (t) => {
  const h = harness();
  h.apply(h.log.collection('han-nom', 'Sách Hán Nôm'), h.log.collection('sac-phong', 'Sắc phong', 'han-nom'), h.log.collection('bao-chi', 'Báo chí thời Pháp'));
  book(h, 'loose', [[100, 100]], { title: 'Tờ rời' });
  book(h, 'hn-1', [[100, 150]], { title: 'Truyện Kiều', collectionId: 'han-nom' });
  book(h, 'hn-2', [[100, 150]], { title: 'Hồ sơ mật', collectionId: 'han-nom' }, 'confidential');
  book(h, 'hn-3', [[100, 150]], { title: 'Địa bạ', collectionId: 'han-nom' }, 'restricted');
  h.apply(h.log.register('hn-4', { title: 'Chưa có ảnh', collectionId: 'han-nom' }));
  book(h, 'hn-5', [[100, 150]], { title: 'Đã rút', collectionId: 'han-nom' });
  h.apply(h.log.event('object-hn-5', 'ObjectWithdrawn', { objectId: 'hn-5', reason: 'Trùng' }));

  const top = collectionDoc(h.db, 'top', PUBLIC, 1000);
  t.deepEqual(validatePresentation3(top), []);
  t.deepEqual(itemIds(top), ['collection/han-nom', 'collection/bao-chi', 'manifest/loose']);
  t.deepEqual(top.label, { vi: ['Tất cả bộ sưu tập'], en: ['All collections'] });
  t.deepEqual(top.summary, { vi: [`Tài liệu số hoá của ${INSTITUTION}`], en: [`Digitised documents of ${INSTITUTION}`] });
  t.false('partOf' in top);

  const hanNomPublic = collectionDoc(h.db, 'han-nom', PUBLIC, 1000);
  t.deepEqual(validatePresentation3(hanNomPublic), []);
  // A restricted work's manifest is a public record, listed for everyone; its thumbnail is not.
  t.deepEqual(itemIds(hanNomPublic), ['collection/sac-phong', 'manifest/hn-1', 'manifest/hn-3']);
  t.like((hanNomPublic.items as Json[])[1], { type: 'Manifest', label: { vi: ['Truyện Kiều'] }, thumbnail: [{ id: `${BASE}/iiif/3/hn-1-p1/full/max/0/default.jpg`, width: 100, height: 150 }] });
  t.false('thumbnail' in ((hanNomPublic.items as Json[])[2] ?? {}));
  t.true('thumbnail' in ((collectionDoc(h.db, 'han-nom', READER, 1000).items as Json[])[2] ?? {}));
  t.deepEqual(hanNomPublic.partOf, [{ id: `${BASE}/iiif/collection/top`, type: 'Collection', label: { vi: ['Tất cả bộ sưu tập'], en: ['All collections'] } }]);
  t.deepEqual(itemIds(collectionDoc(h.db, 'han-nom', READER, 1000)), ['collection/sac-phong', 'manifest/hn-1', 'manifest/hn-3']);
  t.deepEqual(itemIds(collectionDoc(h.db, 'han-nom', STAFF, 1000)), ['collection/sac-phong', 'manifest/hn-1', 'manifest/hn-2', 'manifest/hn-3']);

  const child = collectionDoc(h.db, 'sac-phong', PUBLIC, 1000);
  t.like((child.partOf as Json[])[0], { id: `${BASE}/iiif/collection/han-nom`, label: { vi: ['Sách Hán Nôm'] } });
  t.deepEqual(child.items, []);
  t.deepEqual(validatePresentation3(child), []);
  t.is(findCollectionHeader(h.db, 'no-such-collection'), undefined);
});

test('collections: more items than a page answer with one Collection per page', (t) => {
  const h = harness();
  h.apply(h.log.collection('dia-ba', 'Địa bạ'));
  for (let i = 1; i <= 7; i++) book(h, `db-${i}`, [[100, 100]], { title: `Địa bạ xã ${i}`, collectionId: 'dia-ba' });
  t.is(countCollectionItems(h.db, 'dia-ba', PUBLIC), 7);
  t.is(pageCount(7, 3), 3);

  const whole = collectionDoc(h.db, 'dia-ba', PUBLIC, 3);
  t.deepEqual(validatePresentation3(whole), []);
  t.deepEqual(whole.items, [1, 2, 3].map((n) => ({
    id: `${BASE}/iiif/collection/dia-ba/page/${n}`,
    type: 'Collection',
    label: { vi: [`Trang ${n} (${n * 3 - 2}–${Math.min(7, n * 3)})`], en: [`Page ${n} (${n * 3 - 2}–${Math.min(7, n * 3)})`] },
  })));

  const pages = [1, 2, 3].map((n) => collectionDoc(h.db, 'dia-ba', PUBLIC, 3, n));
  for (const p of pages) {
    t.deepEqual(validatePresentation3(p), []);
    t.deepEqual(p.partOf, [{ id: `${BASE}/iiif/collection/dia-ba`, type: 'Collection', label: { vi: ['Địa bạ'] } }]);
  }
  t.is(pages[1]?.id, `${BASE}/iiif/collection/dia-ba/page/2`);
  t.deepEqual(pages[1]?.label, { vi: ['Địa bạ — Trang 2 (4–6)'], en: ['Địa bạ — Page 2 (4–6)'] });
  t.deepEqual(pages.flatMap(itemIds), [1, 2, 3, 4, 5, 6, 7].map((i) => `manifest/db-${i}`));
});

test('renderStoredJson keeps the JSON valid whatever the base URL holds', (t) => {
  const text = JSON.stringify({ id: `${BASE_PLACEHOLDER}/x`, by: INSTITUTION_PLACEHOLDER });
  const out = renderStoredJson(text, { base: 'http://a"b\\c', institution: 'Thư viện "Tỉnh" $& $1' });
  t.deepEqual(JSON.parse(out), { id: 'http://a"b\\c/x', by: 'Thư viện "Tỉnh" $& $1' });
});

// ---------------------------------------------------------------------------------------
// The validator itself

test('validatePresentation3 catches broken documents', (t) => {
  const good = buildManifest({ base: BASE, objectId: 'o', state: objectState(hanNom, [stored('p1', 0, 100, 150), stored('p2', 1, 100, 150)]), institution: INSTITUTION });
  t.deepEqual(validatePresentation3(good), []);
  const broken = (change: (m: Json & { items: Array<Json & { items: Array<{ items: Json[] }> }> }) => void): string[] => {
    const copy = structuredClone(good) as Json & { items: Array<Json & { items: Array<{ items: Json[] }> }> };
    change(copy);
    return validatePresentation3(copy);
  };
  const expectError = (errors: string[], pattern: RegExp) => t.true(errors.some((e) => pattern.test(e)), `expected ${pattern} in ${JSON.stringify(errors)}`);

  expectError(broken((m) => delete m.label), /Manifest must have a label/);
  expectError(broken((m) => { m.label = 'Đại Nam thực lục'; }), /\$\.label: must be a language map/);
  expectError(broken((m) => { m.summary = { vi: 'không phải mảng' }; }), /summary\.vi: .*arrays of strings/);
  expectError(broken((m) => { m.items = []; }), /at least one Canvas/);
  expectError(broken((m) => { delete m.items[0]?.height; }), /width must have height/);
  expectError(broken((m) => { m.id = '/iiif/manifest/o'; }), /absolute URI/);
  expectError(broken((m) => { m.rights = 'https://rightsstatements.org/vocab/InC/1.0/'; }), /rights/);
  expectError(broken((m) => { m['@context'] = ['http://iiif.io/api/presentation/3/context.json', 'http://example.org/ext.json']; }), /must be the \(last\) @context/);
  expectError(broken((m) => { delete m['@context']; }), /@context is required/);
  expectError(broken((m) => { (m.items[0] as Json)['@context'] = 'http://iiif.io/api/presentation/3/context.json'; }), /root resource only/);
  expectError(broken((m) => { const a = m.items[0]?.items[0]?.items[0]; if (a) a.motivation = 'commenting'; }), /motivation "painting"/);
  expectError(broken((m) => { const a = m.items[0]?.items[0]?.items[0]; if (a) a.target = `${BASE}/iiif/manifest/o/canvas/p2`; }), /must target the Canvas/);
  expectError(broken((m) => { m.behavior = ['paged', 'individuals']; }), /disjoint/);
  expectError(broken((m) => { (m.items[0] as Json).behavior = ['paged']; }), /"paged" is not valid on Canvas/);
  expectError(broken((m) => { m.viewingDirection = 'right-to-left-ish'; }), /not a viewing direction/);
  expectError(broken((m) => { (m.items[0] as Json).viewingDirection = 'right-to-left'; }), /viewingDirection: not allowed on Canvas/);
  expectError(broken((m) => { m.requiredStatement = { label: { vi: ['Nơi lưu giữ'] } }; }), /requiredStatement: value is required/);
  expectError(broken((m) => { m.metadata = [{ label: 'Nhan đề', value: { vi: ['x'] } }]; }), /metadata\[0\]\.label: must be a language map/);
  expectError(validatePresentation3({ '@context': 'http://iiif.io/api/presentation/3/context.json', id: `${BASE}/c`, type: 'Collection', label: { vi: ['c'] }, items: [{ id: `${BASE}/m`, type: 'Manifest' }] }), /referenced Manifest must have a label/);
});

test('page labels name the canvases; the table of contents becomes structures of Ranges over the canvases', (t) => {
  const state = objectState(hanNom, [stored('p1', 0, 2000, 3000), stored('p2', 1, 2000, 3000), stored('p3', 2, 2000, 3000)], {
    pageLabels: { p1: 'tờ 1a', p3: '第三' },
    structure: [{ label: 'Bìa', fileId: 'p1' }, { label: 'Hồi thứ nhất', fileId: 'p2' }],
  });
  const m = buildManifest({ base: BASE, objectId: 'hn-0001', state, institution: INSTITUTION });
  t.deepEqual(validatePresentation3(m), []);
  t.deepEqual(canvases(m).map((c) => c.label), [{ vi: ['tờ 1a'] }, { vi: ['Trang 2'], en: ['Page 2'] }, { lzh: ['第三'] }]);
  const canvas = (id: string) => ({ id: `${BASE}/iiif/manifest/hn-0001/canvas/${id}`, type: 'Canvas' });
  t.deepEqual(m.structures, [
    { id: `${BASE}/iiif/manifest/hn-0001/range/1`, type: 'Range', label: { vi: ['Bìa'] }, items: [canvas('p1')] },
    { id: `${BASE}/iiif/manifest/hn-0001/range/2`, type: 'Range', label: { vi: ['Hồi thứ nhất'] }, items: [canvas('p2'), canvas('p3')] },
  ]);
  t.is(Object.keys(m).at(-1), 'structures');
  // Without a table of contents there is no structures key at all.
  t.false('structures' in buildManifest({ base: BASE, objectId: 'hn-0001', state: objectState(hanNom, [stored('p1', 0, 10, 10)]), institution: INSTITUTION }));
  // The validator refuses a Range that points outside the manifest, or an empty one.
  const broken = { ...m, structures: [{ id: `${BASE}/r`, type: 'Range', label: { vi: ['x'] }, items: [{ id: `${BASE}/elsewhere`, type: 'Canvas' }] }, { id: `${BASE}/r2`, type: 'Range', label: { vi: ['y'] }, items: [] }] };
  const errors = validatePresentation3(broken);
  t.true(errors.some((e) => /not a Canvas of this Manifest/.test(e)), JSON.stringify(errors));
  t.true(errors.some((e) => /at least one item/.test(e)), JSON.stringify(errors));
});

test('projection: PageLabelsSet and StructureSet rebuild the stored manifest', (t) => {
  const h = harness();
  book(h, 'hn-lbl', [[100, 150], [100, 150]]);
  const before = served(h.db, 'hn-lbl');
  t.false('structures' in before);
  h.apply(
    h.log.event('object-hn-lbl', 'PageLabelsSet', { objectId: 'hn-lbl', labels: [{ fileId: 'hn-lbl-p1', label: 'tờ 1a' }, { fileId: 'hn-lbl-p2', label: 'tờ 1b' }], pattern: 'tờ {f}' }),
    h.log.event('object-hn-lbl', 'StructureSet', { objectId: 'hn-lbl', ranges: [{ label: 'Quyển thượng', fileId: 'hn-lbl-p2' }] }),
  );
  const after = served(h.db, 'hn-lbl');
  t.deepEqual(validatePresentation3(after), []);
  t.deepEqual(canvases(after).map((c) => c.label), [{ vi: ['tờ 1a'] }, { vi: ['tờ 1b'] }]);
  t.deepEqual((after.structures as Json[]).map((r) => (r.items as Json[]).map((c) => c.id)), [[`${BASE}/iiif/manifest/hn-lbl/canvas/hn-lbl-p2`]]);
});

// ---------------------------------------------------------------------------------------
// Titles in two scripts (issue 19): golden manifest

/** A Nôm work (language vie) whose alternative titles are in Han script and in Vietnamese. */
const kieu: Metadata = {
  title: 'Kim Vân Kiều tân truyện',
  alternativeTitle: ['金雲翹新傳', 'Truyện Kiều'],
  creator: 'Nguyễn Du',
  language: ['vie'],
};

test('golden: Kim Vân Kiều tân truyện — each script under its own tag, one metadata pair per language, as tests/golden/iiif/kim-van-kieu.manifest.json', async (t) => {
  const state = objectState(kieu, [stored('p1', 0, 2000, 3000), stored('p2', 1, 2000, 3000)], { objectId: 'kim-van-kieu' });
  const m = buildManifest({ base: BASE, objectId: 'kim-van-kieu', state, institution: INSTITUTION });
  t.deepEqual(validatePresentation3(m), []);
  const golden = JSON.parse(await readFile(new URL('../golden/iiif/kim-van-kieu.manifest.json', import.meta.url), 'utf8')) as Json;
  t.deepEqual(m, golden);
  // What the golden file says, spelled out: the Nôm title is vi-Hani, the Vietnamese one vi,
  // each the only key of its map (shown by every viewer in every interface language).
  const alt = (m.metadata as Array<{ label: Json; value: Json }>).filter((e) => (e.label.vi as string[])[0] === 'Nhan đề khác');
  t.deepEqual(alt.map((e) => e.value), [{ 'vi-Hani': ['金雲翹新傳'] }, { vi: ['Truyện Kiều'] }]);
  t.deepEqual(m.label, { vi: ['Kim Vân Kiều tân truyện'] });
  // The same titles in a work catalogued as Hán văn: the Han title is lzh.
  const lzh = buildManifest({ base: BASE, objectId: 'x', state: objectState({ ...kieu, language: ['lzh'] }, [stored('p1', 0, 10, 10)]), institution: INSTITUTION });
  t.deepEqual((lzh.metadata as Array<{ value: Json }>).slice(1, 3).map((e) => e.value), [{ lzh: ['金雲翹新傳'] }, { vi: ['Truyện Kiều'] }]);
  // One value in both scripts belongs to neither language alone.
  t.deepEqual(textMap('Truyện Kiều 傳翹', ['vie']), { none: ['Truyện Kiều 傳翹'] });
  t.deepEqual(textMap(['金雲翹新傳', 'Truyện Kiều'], ['vie']), { none: ['金雲翹新傳', 'Truyện Kiều'] });
});
