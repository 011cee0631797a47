import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { executeCollectionCommand } from '../../src/application/object-commands.ts';
import { closeIngest, openIngest } from '../../src/application/open-ingest.ts';
import { bulkIngest } from '../../src/cli/bulk-ingest.ts';
import { digestFile } from '../../src/storage/digest.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { pngBombHeader } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';

/**
 * Bulk ingest no longer decodes every pixel before storing a master (the derivatives worker
 * decodes each one anyway, and that decode was half of ingest's CPU). What it gives up must not
 * become a silent loss: a master whose header is sound but whose pixels cannot be decoded is
 * stored with its digests, and staff see it as a failed derivative on the work; a file whose
 * header is wrong or over the pixel limit is still refused before anything is stored.
 */
const test = testWithServer();

let worker: DerivativesWorker | undefined;
test.after.always(async () => {
  await worker?.close();
});

test.serial('an undecodable master with a valid header is stored, digested, and shown to staff as a failed derivative; a bomb is still refused', async (t) => {
  const s = t.context.server;
  const actor = { actor: { id: 'test', role: 'staff' } };
  await executeCollectionCommand(s.store, { type: 'CreateCollection', collectionId: 'kho', title: 'Kho' }, actor);

  const good = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#a83' } }).tiff({ compression: 'lzw' }).toBuffer();
  const garbled = Buffer.from(good);
  garbled.fill(0xff, 16, 400); // the LZW strip, not the IFD at the end: the header still reads
  const batch = join(s.dataDir, 'batch');
  mkdirSync(join(batch, 'to-hong'), { recursive: true });
  writeFileSync(join(batch, 'metadata.csv'), 'folder,title\nto-hong,Tờ hỏng\n');
  writeFileSync(join(batch, 'to-hong', 'trang_1.tif'), good);
  writeFileSync(join(batch, 'to-hong', 'trang_2.tif'), garbled);
  writeFileSync(join(batch, 'to-hong', 'trang_3.png'), pngBombHeader(100_000, 100_000));

  const services = await openIngest(s.config, s.store);
  let summary: Awaited<ReturnType<typeof bulkIngest>>;
  try {
    summary = await bulkIngest(services, { dir: batch, collectionId: 'kho', dryRun: false, actor: actor.actor });
  } finally {
    await closeIngest(services);
  }
  t.is(summary.files.ingested, 2, JSON.stringify(summary));
  t.deepEqual(summary.rejected.map((r) => r.file), ['trang_3.png']);
  t.regex(summary.rejected[0]?.reason ?? '', /pixel|điểm ảnh/i);

  // Stored as sent, with the digests of the bytes on disk (computed in a pool thread).
  const objectId = 'to-hong';
  const o = await staffCall(s, 'GET', `/api/objects/${objectId}`);
  const files = o.files as Json[];
  t.deepEqual(files.map((f) => f.name), ['trang_1.tif', 'trang_2.tif']);
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  for (const f of files) {
    const storage = f.storage as Json;
    const onDisk = await digestFile(ocfl.contentPathOnDisk(storage.ocflObjectId as string, storage.path as string));
    t.is(onDisk.digests.sha512, (f.digests as Json).sha512 as string);
    t.is(onDisk.digests.sha256, (f.digests as Json).sha256 as string);
    t.is(onDisk.size, f.size as number);
  }
  t.false(readdirSync(join(s.config.storageDir, 'staging')).some((d) => readdirSync(join(s.config.storageDir, 'staging', d)).length > 0));

  // The derivatives worker is the decode check: the garbled page fails there, visibly.
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const statusOf = async (name: string) => {
    const view = await staffCall(s, 'GET', `/api/objects/${objectId}`);
    return (view.files as Json[]).find((f) => f.name === name);
  };
  const bad = await poll('the garbled page marked failed', 120_000, async () => {
    const f = await statusOf('trang_2.tif');
    return (f?.status as Json | undefined)?.derivative === 'failed' ? f : undefined;
  });
  t.truthy(bad.derivativeFailure, JSON.stringify(bad));
  const fine = await poll('the good page done', 120_000, async () => {
    const f = await statusOf('trang_1.tif');
    return (f?.status as Json | undefined)?.derivative === 'done' ? f : undefined;
  });
  t.truthy(fine.derivative);
  const types: string[] = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) types.push(e.type);
  t.true(types.includes('DerivativeFailed'), types.join(', '));
});
