import test from 'ava';
import { type DerivativeInfo, parseEventData } from '../../src/domain/events.ts';
import type { StoredFile } from '../../src/domain/object.ts';
import { evolveObject } from '../../src/domain/object.ts';
import { pageImageId, parsePageImageId } from '../../src/domain/page-image.ts';
import { evolvePreservationSummary, initialPreservationSummary } from '../../src/domain/preservation.ts';
import { pageImages } from '../../src/iiif/manifest.ts';

/** Pages of multi-page masters: their ids, their facts, and the canvases they make. */
const SHA = 'a'.repeat(128);

function derivative(width: number, page?: number): DerivativeInfo {
  return {
    masterSha512: SHA,
    ...(page ? { page } : {}),
    width,
    height: 1000,
    pyramid: { sha256: String(width % 10).repeat(64), size: 1, levels: 1 },
    tileSize: 256,
    scaleFactors: [1, 2, 4],
    tiles: 20,
    sizes: [{ width: Math.ceil(width / 4), height: 250 }],
    software: 'sharp',
  };
}

test('page image ids: page 1 is the file id, page n is "<fileId>~p<n>", nothing else is one', (t) => {
  t.is(pageImageId('f-01', 1), 'f-01');
  t.is(pageImageId('f-01', 2), 'f-01~p2');
  const table: Array<[string, { fileId: string; page: number } | undefined]> = [
    ['f-01', { fileId: 'f-01', page: 1 }],
    ['f-01~p2', { fileId: 'f-01', page: 2 }],
    ['f-01~p100000', { fileId: 'f-01', page: 100_000 }],
    ['f-01~p1', undefined],
    ['f-01~p0', undefined],
    ['f-01~p02', undefined],
    ['f-01~p1000000', undefined],
    ['f-01~p', undefined],
    ['F-01~p2', undefined],
    ['~p2', undefined],
    ['f-01~p2~p3', undefined],
    ['../f~p2', undefined],
  ];
  for (const [id, want] of table) t.deepEqual(parsePageImageId(id), want, id);
});

test('a DerivativeCreated of schema version 1 still parses, as page 1; version 2 may name a page', (t) => {
  const { page: _none, ...v1 } = derivative(800);
  const old = parseEventData('DerivativeCreated', 1, { ...v1, objectId: 'o1', fileId: 'f1' });
  t.is(old.page, undefined);
  t.is(old.width, 800);
  t.is(parseEventData('DerivativeCreated', 2, { ...derivative(700, 2), objectId: 'o1', fileId: 'f1' }).page, 2);
  t.throws(() => parseEventData('DerivativeCreated', 2, { ...derivative(700), page: 1, objectId: 'o1', fileId: 'f1' }), { message: /does not match/ });
  t.is(parseEventData('DerivativeFailed', 1, { objectId: 'o1', fileId: 'f1', masterSha512: SHA, reason: 'x', attempts: 1 }).page, undefined);
});

test('each page with a derivative is a canvas, in page order; a failed page is none and keeps its reason', (t) => {
  const file: StoredFile = {
    fileId: 'f1',
    name: 'so-bo.tif',
    role: 'master',
    size: 10,
    mediaType: 'image/tiff',
    digests: { sha512: SHA, sha256: 'b'.repeat(64) },
    image: { width: 800, height: 1000, pages: 4 },
    storage: { ocflObjectId: 'o1', version: 'v1', path: 'so-bo.tif' },
    sequence: 0,
  };
  let state = evolveObject({ status: 'absent' }, { type: 'ObjectRegistered', data: { objectId: 'o1', metadata: { title: 'Sổ bộ' }, accessLevel: 'open' } });
  state = evolveObject(state, { type: 'FileIngested', data: { ...file, objectId: 'o1' } });
  // Out of order, as a retried job may record them.
  state = evolveObject(state, { type: 'DerivativeCreated', data: { ...derivative(703, 3), objectId: 'o1', fileId: 'f1' } });
  state = evolveObject(state, { type: 'DerivativeFailed', data: { objectId: 'o1', fileId: 'f1', page: 2, masterSha512: SHA, reason: 'page 2 of 4: corrupt', attempts: 1 } });
  state = evolveObject(state, { type: 'DerivativeCreated', data: { ...derivative(800), objectId: 'o1', fileId: 'f1' } });
  state = evolveObject(state, { type: 'DerivativeCreated', data: { ...derivative(704, 4), objectId: 'o1', fileId: 'f1' } });
  if (state.status === 'absent') return t.fail();
  t.deepEqual(
    pageImages(state).map((p) => [p.imageId, p.width]),
    [['f1', 800], ['f1~p3', 703], ['f1~p4', 704]],
  );
  t.deepEqual(state.files[0]!.laterPages?.map((p) => [p.page, p.derivativeFailure?.reason]), [[2, 'page 2 of 4: corrupt'], [3, undefined], [4, undefined]]);
  t.truthy(state.files[0]!.derivative, 'page 1 keeps its own derivative');

  let summary = evolvePreservationSummary(initialPreservationSummary, { type: 'DerivativeFailed', data: { objectId: 'o1', fileId: 'f1', page: 2, masterSha512: SHA, reason: 'corrupt', attempts: 1 } });
  summary = evolvePreservationSummary(summary, { type: 'DerivativeCreated', data: { ...derivative(800), objectId: 'o1', fileId: 'f1' } });
  summary = evolvePreservationSummary(summary, { type: 'DerivativeCreated', data: { ...derivative(703, 3), objectId: 'o1', fileId: 'f1' } });
  t.deepEqual(Object.keys(summary.derivatives).sort(), ['f1', 'f1~p3']);
  t.deepEqual(Object.keys(summary.derivativeFailures), ['f1~p2']);
});

test('a PDF has no canvas until its pages are drawn; then each drawn page is one, sized by its derivative, at the file\'s place in the sequence', (t) => {
  const base = { role: 'master' as const, size: 10, digests: { sha512: SHA, sha256: 'b'.repeat(64) } };
  const scan: StoredFile = { ...base, fileId: 'scan', name: 'bia.tif', mediaType: 'image/tiff', image: { width: 900, height: 1000 }, storage: { ocflObjectId: 'o1', version: 'v1', path: 'bia.tif' }, sequence: 1 };
  const book: StoredFile = { ...base, fileId: 'book', name: 'sach.pdf', mediaType: 'application/pdf', pdf: { version: '1.7', pages: 3 }, storage: { ocflObjectId: 'o1', version: 'v1', path: 'sach.pdf' }, sequence: 0 };
  let state = evolveObject({ status: 'absent' }, { type: 'ObjectRegistered', data: { objectId: 'o1', metadata: { title: 'Sách' }, accessLevel: 'open' } });
  state = evolveObject(state, { type: 'FileIngested', data: { ...book, objectId: 'o1' } });
  state = evolveObject(state, { type: 'FileIngested', data: { ...scan, objectId: 'o1' } });
  if (state.status === 'absent') return t.fail();
  t.deepEqual(pageImages(state).map((p) => p.imageId), ['scan'], 'the PDF has no pixels yet');
  state = evolveObject(state, { type: 'DerivativeCreated', data: { ...derivative(2480), objectId: 'o1', fileId: 'book' } });
  state = evolveObject(state, { type: 'DerivativeFailed', data: { objectId: 'o1', fileId: 'book', page: 2, masterSha512: SHA, reason: 'page 2 of 3: broken', attempts: 1 } });
  state = evolveObject(state, { type: 'DerivativeCreated', data: { ...derivative(2481, 3), objectId: 'o1', fileId: 'book' } });
  if (state.status === 'absent') return t.fail();
  t.deepEqual(
    pageImages(state).map((p) => [p.imageId, p.width, p.height]),
    [['book', 2480, 1000], ['book~p3', 2481, 1000], ['scan', 900, 1000]],
  );
  t.is(pageImages(state)[0]!.derivative?.width, 2480);
});
