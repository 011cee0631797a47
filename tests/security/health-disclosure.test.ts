import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { checkObjectFixity, openFixityRoots } from '../../src/application/fixity.ts';
import { damagedFiles } from '../../src/projections/fixity-read-model.ts';
import { Queue, Worker } from 'bullmq';
import { type OcrJob, QUEUES, lastAuditKey, queueConnection } from '../../src/queue/queues.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { initReplicaRoot, openStorageRoots, repairFile } from '../../src/storage/replicas.ts';
import { startAuditWorker } from '../../workers/audit.ts';
import { lastSealKey, startSealWorker } from '../../workers/seal.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { flipByte } from '../helpers/damage.ts';

/**
 * An attack on /health: a confidential work whose only copy is damaged, its stream's hash
 * chain broken, replicas configured (one sealed, one not mounted). Anyone may read /health;
 * it must say that something is wrong (degraded, counts) and nothing that names the work,
 * its collection, its file, its stream or the server's disks. A staff token gets the names.
 */
const REPLICA_DIR = mkdtempSync(join(tmpdir(), 'thukho-health-replicas-'));
const VAULT = join(REPLICA_DIR, 'vault');
const USB = join(REPLICA_DIR, 'usb-not-mounted');
const test = testWithServer({ THUKHO_REPLICAS: `vault=${VAULT},usb=${USB}` });
test.after.always(() => rmSync(REPLICA_DIR, { recursive: true, force: true }));

const suffix = Math.random().toString(36).slice(2, 8);
const COLLECTION = `mat-${suffix}`;
const OBJECT = `mat${suffix}`;
let fileId = '';


async function health(url: string, token?: string): Promise<{ status: number; headers: Headers; text: string; json: Json }> {
  const res = await fetch(`${url}/health`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Json };
}

test.serial.before(async (t) => {
  const s = t.context.server;
  const logger = pino({ level: 'silent' });
  await initReplicaRoot(s.config, 'vault');

  // A confidential work in a confidential-sounding collection, one scanned page.
  t.like(await staffCall(s, 'POST', '/api/collections', { id: COLLECTION, title: 'Hồ sơ mật' }), { id: COLLECTION });
  t.like(await staffCall(s, 'POST', '/api/objects', { id: OBJECT, title: 'Mật báo 1945', collectionId: COLLECTION, accessLevel: 'confidential' }), { id: OBJECT });
  const file = await uploadFile(s, OBJECT, await page('Mật báo — 密報'), 'trang_1.tif');
  const storage = file.storage as { ocflObjectId: string; path: string };
  fileId = file.fileId as string;

  // Its only copy damaged: the fixity check finds it, the vault has no copy to repair from.
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  await flipByte(ocfl.contentPathOnDisk(storage.ocflObjectId, storage.path), 1000);
  const { roots } = await openFixityRoots({ ocflRoot: s.config.ocflRoot, replicas: [] });
  const storageRoots = await openStorageRoots({ ocflRoot: s.config.ocflRoot, replicas: [{ label: 'vault', path: VAULT }] });
  await checkObjectFixity({ store: s.store, roots, logger, repair: (root, what) => repairFile(storageRoots, root, what) }, OBJECT);

  // A seal written to the vault (its result names the replicas' paths).
  const redis = new Redis(s.config.redisUrl as string);
  const seal = await startSealWorker({ store: s.store, redisUrl: s.config.redisUrl as string, logger, config: s.config });
  await poll('a seal', 30_000, async () => ((await redis.get(lastSealKey(s.config.queuePrefix))) ? true : undefined));
  await seal.close();

  // The work's chain broken: one of its events rewritten in the log.
  if (s.config.eventStore.kind !== 'sqlite') throw new Error('this test rewrites the SQLite log');
  const raw = new Database(s.config.eventStore.path);
  raw.exec('DROP TRIGGER events_are_immutable');
  raw.prepare("UPDATE events SET data = json_set(data, '$.metadata.title', 'Giả mạo') WHERE stream_id = ? AND revision = 0").run(`object-${OBJECT}`);
  raw.close();
  const audit = await startAuditWorker({ store: s.store, redisUrl: s.config.redisUrl as string, logger, queuePrefix: s.config.queuePrefix });
  await poll('an audit', 30_000, async () => ((await redis.get(lastAuditKey(s.config.queuePrefix))) ? true : undefined));
  await audit.close();
  redis.disconnect();

  // An OCR job of the work that failed for good, its reason naming the page's file.
  const connection = queueConnection(s.config.redisUrl as string);
  const ocr = new Queue<OcrJob>(QUEUES.ocr, { connection, prefix: s.config.queuePrefix });
  const job: OcrJob = { objectId: OBJECT, fileId, page: 1, masterSha512: (file.digests as { sha512: string }).sha512, cause: 'test' };
  await ocr.add('read', job, { jobId: 'ocr-failed-secret', attempts: 1, lifo: true });
  const takerConnection = queueConnection(s.config.redisUrl as string);
  const taker = new Worker<OcrJob>(QUEUES.ocr, null, { connection: takerConnection, prefix: s.config.queuePrefix });
  const taken = await taker.getNextJob('test-token');
  await taken?.moveToFailed(new Error(`the derivative of ${fileId} cannot be decoded`), 'test-token', false);
  await taker.close();
  await ocr.close();
  connection.disconnect();
  takerConnection.disconnect();

  // The fixity read model, which /health reads, has the damage.
  await poll('the damage in the fixity read model', 30_000, async () => (damagedFiles(s.readDb).length > 0 ? true : undefined));
});

/** What would betray the confidential work or the server's layout. */
function secrets(t: { context: { server: { dataDir: string } } }): string[] {
  return [OBJECT, COLLECTION, fileId, `object-${OBJECT}`, REPLICA_DIR, VAULT, USB, t.context.server.dataDir, 'Mật báo'];
}

test.serial('anonymous /health says degraded and counts, and names no work, collection, file, stream or path', async (t) => {
  const h = await health(t.context.server.url);
  t.is(h.status, 200);
  t.is(h.json.status, 'degraded');
  t.like(h.json, {
    eventStore: { status: 'ok' },
    redis: { status: 'ok' },
    audit: { brokenStreams: 1 },
    preservation: { damaged: { count: 1 }, unreadableReplicas: { count: 1 }, seal: { status: 'sealed' } },
    queues: { ocr: { failed: 1 } },
  });
  t.is((h.json.queues as { ocr: Json }).ocr.recentFailures, undefined, 'which page failed OCR is for staff');
  for (const secret of secrets(t)) t.false(h.text.includes(secret), `anonymous /health contains ${secret}: ${h.text}`);
  t.is(h.headers.get('cache-control'), 'no-store');
  t.regex(h.headers.get('vary') ?? '', /Authorization/, 'what /health says depends on the token');
});

test.serial('a reader token sees no more than anonymous', async (t) => {
  const h = await health(t.context.server.url, t.context.server.readerToken);
  t.is(h.json.status, 'degraded');
  for (const secret of secrets(t)) t.false(h.text.includes(secret), `reader /health contains ${secret}`);
});

test.serial('a staff token sees which work, file, stream and replica', async (t) => {
  const s = t.context.server;
  const h = await health(s.url, s.staffToken);
  t.is(h.json.status, 'degraded');
  const p = h.json.preservation as {
    damaged: { count: number; files: Json[] };
    unreadableReplicas: { count: number; replicas: Json[] };
    seal: { writtenTo: Array<{ label: string; path: string }> };
  };
  t.like(p.damaged.files[0], { objectId: OBJECT, fileId, collectionId: COLLECTION });
  t.deepEqual(p.unreadableReplicas.replicas, [{ label: 'usb', path: USB }]);
  t.deepEqual(p.seal.writtenTo.map((w) => [w.label, w.path]), [['vault', VAULT]]);
  const audit = h.json.audit as { broken: Array<{ streamId: string }> };
  t.deepEqual(audit.broken.map((b) => b.streamId), [`object-${OBJECT}`]);
  const ocr = (h.json.queues as { ocr: { recentFailures: Json[] } }).ocr;
  t.like(ocr.recentFailures[0], { objectId: OBJECT, imageId: fileId, page: 1, attempts: 1, reason: `the derivative of ${fileId} cannot be decoded` });
});
