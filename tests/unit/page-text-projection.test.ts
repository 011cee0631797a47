import { createHash } from 'node:crypto';
import test from 'ava';
import type { EventData, EventType } from '../../src/domain/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { BASE_PLACEHOLDER, canvasImageIds, findManifest, manifestReadModel, renderStoredJson } from '../../src/projections/manifest-read-model.ts';
import { findOcrReading, findPageText, pageTextReadModel, workPageTexts } from '../../src/projections/page-text-read-model.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, prepareProjection } from '../../src/projections/runtime.ts';
import { recordedEvent } from '../helpers/events.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';

/**
 * The page-text read model and the manifests' links to page text, over recorded events in an
 * in-memory read model: the latest record of a page wins, a re-delivered older one changes
 * nothing, a blank page has no link, and the manifest declares Content Search once a page
 * has text.
 */
const BASE = 'https://thukho.example';
type Json = Record<string, unknown>;

class Log {
  private position = 0n;
  private readonly revisions = new Map<string, bigint>();
  readonly all: RecordedEvent[] = [];

  event<T extends EventType>(streamId: string, type: T, data: EventData<T>): RecordedEvent {
    const revision = (this.revisions.get(streamId) ?? -1n) + 1n;
    this.revisions.set(streamId, revision);
    this.position += 1n;
    const e = recordedEvent(streamId, revision, this.position, type, data);
    this.all.push(e);
    return e;
  }

  work(objectId: string, files: string[]): RecordedEvent[] {
    const hex = (seed: string, a: 'sha512' | 'sha256') => createHash(a).update(seed).digest('hex');
    return [
      this.event(`object-${objectId}`, 'ObjectRegistered', { objectId, metadata: { title: 'Địa bạ xã Đông Lỗ' }, accessLevel: 'open' }),
      ...files.map((fileId, sequence) =>
        this.event(`object-${objectId}`, 'FileIngested', {
          objectId,
          sequence,
          fileId,
          name: `${fileId}.tif`,
          role: 'master',
          size: 1000,
          mediaType: 'image/tiff',
          digests: { sha512: hex(fileId, 'sha512'), sha256: hex(fileId, 'sha256') },
          image: { width: 1000, height: 1400 },
          storage: { ocflObjectId: objectId, version: 'v1', path: `${fileId}/${fileId}.tif` },
        }),
      ),
    ];
  }

  /** The derivative of a later page of a multi-page master: that page becomes a canvas. */
  laterPage(objectId: string, fileId: string, page: number): RecordedEvent {
    const hex = (seed: string, a: 'sha512' | 'sha256') => createHash(a).update(seed).digest('hex');
    return this.event(`preservation-${objectId}`, 'DerivativeCreated', {
      objectId,
      fileId,
      page,
      masterSha512: hex(fileId, 'sha512'),
      width: 900,
      height: 1300,
      pyramid: { sha256: hex(`${fileId}/${page}`, 'sha256'), size: 1000, levels: 3 },
      tileSize: 256,
      scaleFactors: [1, 2, 4],
      tiles: 30,
      sizes: [{ width: 225, height: 325 }],
      software: 'test',
    });
  }

  /** An OCR reading of a page: outputs named by digests made from `seed`. */
  ocr(objectId: string, fileId: string, seed: string, page?: number): RecordedEvent {
    const sha = (what: string) => createHash('sha256').update(`${seed}/${what}`).digest('hex');
    return this.event(`preservation-${objectId}`, 'OcrCompleted', {
      objectId,
      fileId,
      ...(page ? { page } : {}),
      masterSha512: createHash('sha512').update(fileId).digest('hex'),
      engine: { name: `engine-${seed}`, version: '1.0', models: [{ name: 'vie', sha256: sha('model') }] },
      languages: ['vie'],
      meanConfidence: 91,
      words: 4,
      textSha256: sha('text'),
      outputs: { text: { sha256: sha('text'), size: 10 }, hocr: { sha256: sha('hocr'), size: 20 }, alto: { sha256: sha('alto'), size: 30 } },
    });
  }

  text(objectId: string, fileId: string, text: string, page?: number): RecordedEvent {
    return this.event(`preservation-${objectId}`, 'PageTextRecorded', {
      objectId,
      fileId,
      ...(page ? { page } : {}),
      text,
      source: 'ocr',
      language: ['vie'],
      words: text ? [{ start: 0, end: Math.min(3, text.length), x: 10, y: 20, w: 30, h: 40 }] : [],
    });
  }
}

function harness(projection: Projection) {
  const db = openReadModelDb(':memory:');
  prepareProjection(db, projection);
  let checkpoint: bigint | null = null;
  return {
    db,
    apply(...events: RecordedEvent[]) {
      const outcome = applyBatch(db, projection, checkpoint, events);
      if (outcome.kind !== 'applied') throw new Error('checkpoint moved');
      checkpoint = outcome.position;
    },
  };
}

function manifest(db: ReturnType<typeof harness>['db'], objectId: string): Json {
  const found = findManifest(db, objectId, { role: 'public' }, 'record');
  if (found.status !== 'ok') throw new Error(found.status);
  return JSON.parse(renderStoredJson(found.json, { base: BASE, institution: 'Thư viện' })) as Json;
}

test('page-text read model: the latest record of each page, with words and languages; an older one again changes nothing', (t) => {
  const log = new Log();
  const h = harness(pageTextReadModel);
  const first = log.text('w', 'f1', 'Bắc Giang');
  const second = log.text('w', 'f1', 'Bắc Ninh');
  h.apply(...log.work('w', ['f1', 'f2']), first, second, log.text('w', 'f2', 'Hà Nội'));
  t.deepEqual(findPageText(h.db, 'w', 'f1'), { imageId: 'f1', text: 'Bắc Ninh', language: ['vie'], words: [{ start: 0, end: 3, x: 10, y: 20, w: 30, h: 40 }] });
  // A re-delivery (at-least-once) straight into apply: the older record does not come back.
  pageTextReadModel.apply(h.db, [first]);
  t.is(findPageText(h.db, 'w', 'f1')?.text, 'Bắc Ninh');
  t.deepEqual([...workPageTexts(h.db, 'w').keys()].sort(), ['f1', 'f2']);
  t.is(findPageText(h.db, 'w', 'f3'), undefined);
  t.is(findPageText(h.db, 'other', 'f1'), undefined);
});

test('manifests: canvases with text link their AnnotationPage, the work declares SearchService2; blank pages do not link', (t) => {
  const log = new Log();
  const h = harness(manifestReadModel);
  h.apply(...log.work('w', ['f1', 'f2', 'f3']));
  const before = manifest(h.db, 'w');
  t.false('service' in before);
  t.true((before.items as Json[]).every((c) => c.annotations === undefined));

  h.apply(log.text('w', 'f2', 'Bắc Giang'), log.text('w', 'f3', '  '));
  const m = manifest(h.db, 'w');
  t.deepEqual(validatePresentation3(m), []);
  t.deepEqual(m.service, [{ id: `${BASE}/iiif/search/w`, type: 'SearchService2' }]);
  t.deepEqual(
    (m.items as Json[]).map((c) => c.annotations),
    [undefined, [{ id: `${BASE}/iiif/text/w/f2`, type: 'AnnotationPage' }], undefined],
  );
  t.deepEqual(canvasImageIds(h.db, 'w'), ['f1', 'f2', 'f3']);

  // The page read again and found blank: the link and the search service go.
  h.apply(log.text('w', 'f2', ''));
  const blank = manifest(h.db, 'w');
  t.false('service' in blank);
  t.true((blank.items as Json[]).every((c) => c.annotations === undefined));
});

test('manifests: a re-delivered older text record does not bring a link back, nor drop one', (t) => {
  const log = new Log();
  const h = harness(manifestReadModel);
  const hasText = log.text('w', 'f1', 'Bắc Giang');
  h.apply(...log.work('w', ['f1']), hasText);
  const blank = log.text('w', 'f1', '');
  h.apply(blank);
  const etag = findManifest(h.db, 'w', { role: 'public' }, 'record');
  manifestReadModel.apply(h.db, [hasText]);
  t.deepEqual(findManifest(h.db, 'w', { role: 'public' }, 'record'), etag);
  t.false('service' in manifest(h.db, 'w'));
  t.false(JSON.stringify(manifest(h.db, 'w')).includes(BASE_PLACEHOLDER));
});

test('a later page of a multi-page master: its text is kept under its page image id and linked from its own canvas', (t) => {
  const log = new Log();
  const manifests = harness(manifestReadModel);
  const texts = harness(pageTextReadModel);
  const events = [...log.work('w', ['f1']), log.laterPage('w', 'f1', 2), log.text('w', 'f1', 'Bắc Giang', 2), log.text('w', 'f1', 'Hà Nội')];
  manifests.apply(...events);
  texts.apply(...events);
  t.deepEqual(canvasImageIds(manifests.db, 'w'), ['f1', 'f1~p2']);
  t.is(findPageText(texts.db, 'w', 'f1~p2')?.text, 'Bắc Giang');
  t.is(findPageText(texts.db, 'w', 'f1')?.text, 'Hà Nội');
  const m = manifest(manifests.db, 'w');
  t.deepEqual(validatePresentation3(m), []);
  t.deepEqual(
    (m.items as Json[]).map((c) => c.annotations),
    [[{ id: `${BASE}/iiif/text/w/f1`, type: 'AnnotationPage' }], [{ id: `${BASE}/iiif/text/w/f1~p2`, type: 'AnnotationPage' }]],
  );
});

test('OCR readings: the latest OcrCompleted of each page is current; an older one delivered again changes nothing', (t) => {
  const log = new Log();
  const h = harness(pageTextReadModel);
  const first = log.ocr('w', 'f1', 'first');
  const second = log.ocr('w', 'f1', 'second');
  h.apply(...log.work('w', ['f1']), log.laterPage('w', 'f1', 2), first, log.ocr('w', 'f1', 'page-two', 2), second);
  const sha = (seed: string, what: string) => createHash('sha256').update(`${seed}/${what}`).digest('hex');
  t.deepEqual(findOcrReading(h.db, 'w', 'f1'), {
    imageId: 'f1',
    eventId: second.id,
    engine: { name: 'engine-second', version: '1.0' },
    languages: ['vie'],
    outputs: { text: { sha256: sha('second', 'text'), size: 10 }, hocr: { sha256: sha('second', 'hocr'), size: 20 }, alto: { sha256: sha('second', 'alto'), size: 30 } },
  });
  t.is(findOcrReading(h.db, 'w', 'f1~p2')?.engine.name, 'engine-page-two');
  pageTextReadModel.apply(h.db, [first]);
  t.is(findOcrReading(h.db, 'w', 'f1')?.eventId, second.id, 'a re-delivered older reading does not come back');
  t.is(findOcrReading(h.db, 'w', 'f2'), undefined);
  t.is(findOcrReading(h.db, 'other', 'f1'), undefined);
});

test('golden: a canvas whose page has an OCR reading links its ALTO in seeAlso; a second reading keeps the manifest as it is', (t) => {
  const log = new Log();
  const h = harness(manifestReadModel);
  h.apply(...log.work('w', ['f1', 'f2']));
  const before = findManifest(h.db, 'w', { role: 'public' }, 'record');
  t.true((manifest(h.db, 'w').items as Json[]).every((c) => c.seeAlso === undefined));

  h.apply(log.ocr('w', 'f2', 'first'), log.text('w', 'f2', 'Bắc Giang'));
  const m = manifest(h.db, 'w');
  t.deepEqual(validatePresentation3(m), []);
  t.notDeepEqual(findManifest(h.db, 'w', { role: 'public' }, 'record'), before, 'the reading rebuilt the manifest');
  const canvases = m.items as Json[];
  t.is(canvases[0]?.seeAlso, undefined, 'a page without a reading links no ALTO');
  // Written out by hand: what a viewer with an ALTO layer reads from our canvases.
  t.deepEqual(canvases[1], {
    id: `${BASE}/iiif/manifest/w/canvas/f2`,
    type: 'Canvas',
    label: { vi: ['Trang 2'], en: ['Page 2'] },
    height: 1400,
    width: 1000,
    thumbnail: [
      {
        id: `${BASE}/iiif/3/f2/full/143,200/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        width: 143,
        height: 200,
        service: [{ id: `${BASE}/iiif/3/f2`, type: 'ImageService3', profile: 'level2' }],
      },
    ],
    items: [
      {
        id: `${BASE}/iiif/manifest/w/canvas/f2/page/1`,
        type: 'AnnotationPage',
        items: [
          {
            id: `${BASE}/iiif/manifest/w/canvas/f2/page/1/image`,
            type: 'Annotation',
            motivation: 'painting',
            body: {
              id: `${BASE}/iiif/3/f2/full/max/0/default.jpg`,
              type: 'Image',
              format: 'image/jpeg',
              width: 1000,
              height: 1400,
              service: [{ id: `${BASE}/iiif/3/f2`, type: 'ImageService3', profile: 'level2' }],
            },
            target: `${BASE}/iiif/manifest/w/canvas/f2`,
          },
        ],
      },
    ],
    rendering: [
      {
        id: `${BASE}/iiif/3/f2/full/max/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        label: { vi: ['Tải ảnh trang này (JPEG)'], en: ['Download this page (JPEG)'] },
      },
    ],
    annotations: [{ id: `${BASE}/iiif/text/w/f2`, type: 'AnnotationPage' }],
    seeAlso: [
      {
        id: `${BASE}/iiif/ocr/w/f2/alto.xml`,
        type: 'Dataset',
        format: 'application/xml',
        profile: 'http://www.loc.gov/standards/alto/ns-v4#',
        label: { vi: ['Văn bản nhận dạng của trang (ALTO XML)'], en: ['OCR text of this page (ALTO XML)'] },
      },
    ],
  });

  const once = findManifest(h.db, 'w', { role: 'public' }, 'record');
  h.apply(log.ocr('w', 'f2', 'second'));
  t.deepEqual(findManifest(h.db, 'w', { role: 'public' }, 'record'), once, 'the link names the page, not the reading');
});

test('a later page of a multi-page master with an OCR reading links its ALTO under its page image id', (t) => {
  const log = new Log();
  const h = harness(manifestReadModel);
  h.apply(...log.work('w', ['f1']), log.laterPage('w', 'f1', 2), log.ocr('w', 'f1', 'p2', 2));
  const m = manifest(h.db, 'w');
  t.deepEqual(validatePresentation3(m), []);
  t.deepEqual(
    (m.items as Json[]).map((c) => (c.seeAlso as Json[] | undefined)?.map((s) => s.id)),
    [undefined, [`${BASE}/iiif/ocr/w/f1~p2/alto.xml`]],
  );
});
