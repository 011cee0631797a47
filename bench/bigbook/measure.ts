/**
 * Big books: a PAGES-page work (default 500) registered in one batch, then its derivatives
 * applied through the manifests projection one event per batch, as a live server gets them.
 * Prints the full manifest builds, their time, the projection's total time and the load
 * average (the machine is shared: figures are noisy). `npx tsx bench/bigbook/measure.ts [pages] [readmodel.sqlite]`
 * Before coalescing (main at b1d2f9b, same machine, load 23): 500 builds, 109.6 s, 219 ms per derivative.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { findManifest, manifestBuilds, manifestReadModel } from '../../src/projections/manifest-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, prepareProjection } from '../../src/projections/runtime.ts';
import { recordedEvent } from '../../tests/helpers/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';

const PAGES = Number(process.argv[2] ?? 500);
const hex = (s: string, a: 'sha512' | 'sha256') => createHash(a).update(s).digest('hex');
const db = openReadModelDb(process.argv[3] ?? ':memory:');
prepareProjection(db, manifestReadModel);
let pos = 0n;
const revs = new Map<string, bigint>();
const ev = (stream: string, type: string, data: unknown): RecordedEvent => {
  const r = (revs.get(stream) ?? -1n) + 1n;
  revs.set(stream, r);
  pos += 1n;
  return recordedEvent(stream, r, pos, type, data);
};
let cp: bigint | null = null;
const apply = (events: RecordedEvent[]) => {
  const o = applyBatch(db, manifestReadModel, cp, events);
  cp = o.position;
};
const id = 'big-book';
const first = [ev(`object-${id}`, 'ObjectRegistered', { objectId: id, metadata: { title: 'Sách lớn', language: ['vie'] }, accessLevel: 'open' })];
for (let i = 0; i < PAGES; i++) {
  const fileId = `${id}-p${i + 1}`;
  first.push(ev(`object-${id}`, 'FileIngested', {
    objectId: id, sequence: i, fileId, name: `${fileId}.tif`, role: 'master', size: 1000, mediaType: 'image/tiff',
    digests: { sha512: hex(fileId, 'sha512'), sha256: hex(fileId, 'sha256') }, image: { width: 4000, height: 6000 },
    storage: { ocflObjectId: id, version: 'v1', path: `${fileId}.tif` },
  }));
}
apply(first);
const before = { ...manifestBuilds };
const t0 = performance.now();
for (let i = 0; i < PAGES; i++) {
  const fileId = `${id}-p${i + 1}`;
  apply([ev(`preservation-${id}`, 'DerivativeCreated', {
    objectId: id, fileId, masterSha512: hex(fileId, 'sha512'), width: 4000, height: 6000,
    pyramid: { sha256: hex(`${fileId}-pyr`, 'sha256'), size: 1000, levels: 6 }, tileSize: 256, scaleFactors: [1, 2, 4, 8, 16, 32], tiles: 400,
    sizes: [[125, 188], [250, 375], [500, 750], [1000, 1500]].map(([width, height]) => ({ width, height })), software: 'bench',
  })]);
}
const ms = performance.now() - t0;
const served = findManifest(db, id, { role: 'curator' }, 'record');
if (served.status !== 'ok' || !served.json.includes(`${id}-p${PAGES}/full/max`)) throw new Error('manifest not current');
const row = db.prepare('SELECT length(manifest) AS n, etag FROM iiif_manifests WHERE object_id = ?').get(id) as { n: number; etag: string };
console.log(JSON.stringify({ pages: PAGES, builds: manifestBuilds.count - before.count, buildMs: Math.round(manifestBuilds.ms - before.ms), derivativeBatches: PAGES, totalMs: Math.round(ms), perEventMs: +(ms / PAGES).toFixed(1), manifestBytes: row.n, load: loadavg().map((x) => +x.toFixed(2)) }));
