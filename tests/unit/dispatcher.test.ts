import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import type { DerivativeInfo, IngestedFile } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { dispatcher as dispatcherFor, MARK_OUTBOX, outboxCounts } from '../../src/projections/dispatcher.ts';

const dispatcher = dispatcherFor({ replicate: false });
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, prepareProjection } from '../../src/projections/runtime.ts';
import { DispatchPump } from '../../src/queue/dispatch-pump.ts';
import { JOB_OPTIONS, QUEUES } from '../../src/queue/queues.ts';
import { collect } from '../helpers/events.ts';
import { recordDerivative, recordFact, recordFacts } from '../../src/application/machine-facts.ts';

/**
 * The dispatcher (the log as outbox) and its pump, on a real SQLite log and the machine's
 * real redis: jobs are keyed by the causing event, offered once, closed by the outcome
 * event, and offered again when redis loses them.
 */
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = mkdtempSync(join(tmpdir(), 'thukho-dispatch-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const ctx = { actor: { id: 'test', role: 'staff' } };

const hex = (c: string, n: number) => c.repeat(n);
function file(fileId: string, c: string, image = true): IngestedFile {
  return {
    fileId,
    name: `${fileId}.tif`,
    role: 'master',
    size: 10,
    mediaType: image ? 'image/tiff' : 'text/plain',
    digests: { sha512: hex(c, 128), sha256: hex(c, 64) },
    ...(image ? { image: { width: 100, height: 100 } } : {}),
    storage: { ocflObjectId: 'o1', version: 'v1', path: `v1/content/${fileId}/${fileId}.tif` },
  };
}

test.serial('image ingests become one job each, keyed by the event, closed by DerivativeCreated', async (t) => {
  const store = new SqliteEventStore(join(root, 'events.sqlite'));
  const db = openReadModelDb(join(root, 'readmodel.sqlite'));
  const prefix = `t-dispatch-${process.pid}`;
  const redis = new Redis(REDIS, { maxRetriesPerRequest: 1 });
  const queue = new Queue(QUEUES.derivatives, { connection: redis, prefix });
  const pump = new DispatchPump({
    db,
    queues: { [QUEUES.derivatives]: queue },
    jobOptions: JOB_OPTIONS,
    redis,
    markerKey: `${prefix}:dispatch:epoch`,
    logger: pino({ level: 'silent' }),
  });
  try {
    await redis.del(`${prefix}:dispatch:epoch`);
    await queue.obliterate({ force: true });
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o1', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o1', file: file('p1', 'a') }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o1', file: file('p2', 'b') }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o1', file: file('notes', 'c', false) }, ctx);
    prepareProjection(db, dispatcher);
    const events = await collect(store.readAll({ filter: dispatcher.filter }));
    applyBatch(db, dispatcher, null, events);
    // Delivered again (at-least-once): still one row per event.
    db.prepare("UPDATE projection_checkpoints SET position = NULL WHERE name = 'dispatcher'").run();
    applyBatch(db, dispatcher, null, events);
    t.deepEqual(outboxCounts(db), { pending: 2, enqueued: 0, done: 0 });

    t.is(await pump.pumpOnce(), 2);
    t.is(await pump.pumpOnce(), 0);
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    const ingested = events.filter((e) => e.type === 'FileIngested').slice(0, 2).map((e) => e.id).sort();
    t.deepEqual(jobs.map((j) => j.id).sort(), ingested);
    t.like(jobs.find((j) => j.id === ingested[0])?.opts, { attempts: 5 });

    // Redis loses everything: the marker is gone, and every open job is offered again.
    await queue.obliterate({ force: true });
    await redis.del(`${prefix}:dispatch:epoch`);
    t.is(await pump.pumpOnce(), 2);
    t.is((await queue.getJobs(['waiting', 'prioritized'])).length, 2);

    // Redis restarted from its AOF: the marker survived but names the earlier instance, and a
    // job added in its last second is gone. Every open job is offered again; the one redis
    // kept stays one job.
    await redis.set(`${prefix}:dispatch:epoch`, 'an-earlier-redis');
    await queue.remove(ingested[1]!);
    t.is(await pump.pumpOnce(), 2);
    t.deepEqual((await queue.getJobs(['waiting', 'prioritized'])).map((j) => j.id).sort(), ingested);
    t.is(await pump.pumpOnce(), 0, 'the same instance: nothing offered again');

    const derivative: DerivativeInfo = {
      masterSha512: hex('a', 128),
      width: 100,
      height: 100,
      pyramid: { sha256: hex('d', 64), size: 1000, levels: 1 },
      tileSize: 256,
      scaleFactors: [1],
      tiles: 2,
      sizes: [{ width: 100, height: 100 }],
      software: 'test',
    };
    await recordDerivative(store, 'o1', 'p1', derivative, ctx);
    await recordFact(store, 'o1', { type: 'DerivativeFailed', data: { objectId: 'o1', fileId: 'p2', masterSha512: hex('b', 128), reason: 'cannot decode', attempts: 1 } }, ctx);
    const last = events[events.length - 1]!.position;
    const more = await collect(store.readAll({ after: last, filter: dispatcher.filter }));
    applyBatch(db, dispatcher, last, more);
    // Both derivative jobs are closed; p1's page now asks for its OCR.
    t.deepEqual(
      db.prepare<[], { queue: string; state: string; subject: string }>('SELECT queue, state, subject FROM dispatch_outbox ORDER BY queue, subject').all(),
      [
        { queue: QUEUES.derivatives, state: 'done', subject: 'o1/p1' },
        { queue: QUEUES.derivatives, state: 'done', subject: 'o1/p2' },
        { queue: QUEUES.ocr, state: 'pending', subject: 'o1/p1' },
      ],
    );
    db.prepare("UPDATE dispatch_outbox SET state = 'done' WHERE queue = ?").run(QUEUES.ocr);
    // Closed jobs are not offered again even when redis is lost once more.
    await redis.del(`${prefix}:dispatch:epoch`);
    t.is(await pump.pumpOnce(), 0);
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    redis.disconnect();
    db.close();
    await store.close();
  }
});

test.serial('a PDF ingest, which has no image facts, is a derivative job too (its pages are drawn by the worker)', async (t) => {
  const store = new SqliteEventStore(join(root, 'pdf-events.sqlite'));
  const db = openReadModelDb(':memory:');
  try {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o4', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    const pdf: IngestedFile = { ...file('s1', '2', false), name: 's1.pdf', mediaType: 'application/pdf', pdf: { version: '1.7', pages: 2 } };
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o4', file: pdf }, ctx);
    prepareProjection(db, dispatcher);
    applyBatch(db, dispatcher, null, await collect(store.readAll({ filter: dispatcher.filter })));
    const rows = db.prepare<[], { queue: string; subject: string; payload: string }>('SELECT queue, subject, payload FROM dispatch_outbox').all();
    t.deepEqual(rows.map((r) => [r.queue, r.subject]), [[QUEUES.derivatives, 'o4/s1']]);
    t.like(JSON.parse(rows[0]!.payload) as object, { objectId: 'o4', fileId: 's1', masterSha512: hex('2', 128) });
  } finally {
    db.close();
    await store.close();
  }
});

test.serial('a withdrawn object closes its open jobs', async (t) => {
  const store = new SqliteEventStore(join(root, 'w-events.sqlite'));
  const db = openReadModelDb(':memory:');
  try {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o2', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o2', file: file('q1', 'e') }, ctx);
    await executeObjectCommand(store, { type: 'WithdrawObject', objectId: 'o2', reason: 'Trả lại' }, ctx);
    prepareProjection(db, dispatcher);
    applyBatch(db, dispatcher, null, await collect(store.readAll({ filter: dispatcher.filter })));
    t.deepEqual(outboxCounts(db), { pending: 0, enqueued: 0, done: 1 });
  } finally {
    db.close();
    await store.close();
  }
});

test.serial('with replicas, every new OCFL version is also a replication job, closed by FileReplicated, kept through withdrawal', async (t) => {
  const store = new SqliteEventStore(join(root, 'r-events.sqlite'));
  const db = openReadModelDb(':memory:');
  const replicating = dispatcherFor({ replicate: true });
  try {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o3', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o3', file: file('r1', 'f') }, ctx);
    await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o3', file: { ...file('r2', '1'), storage: { ocflObjectId: 'o3', version: 'v2', path: 'v2/content/r2/r2.tif' } } }, ctx);
    await executeObjectCommand(store, { type: 'WithdrawObject', objectId: 'o3', reason: 'Trả lại' }, ctx);
    prepareProjection(db, replicating);
    let events = await collect(store.readAll({ filter: replicating.filter }));
    applyBatch(db, replicating, null, events);
    const rows = () => db.prepare<[], { queue: string; state: string; subject: string }>('SELECT queue, state, subject FROM dispatch_outbox ORDER BY queue, subject').all();
    t.deepEqual(rows(), [
      { queue: QUEUES.derivatives, state: 'done', subject: 'o3/r1' },
      { queue: QUEUES.derivatives, state: 'done', subject: 'o3/r2' },
      { queue: QUEUES.replication, state: 'pending', subject: 'o3/v1' },
      { queue: QUEUES.replication, state: 'pending', subject: 'o3/v2' },
    ]);
    const last = events[events.length - 1]!.position;
    await recordFact(store, 'o3', { type: 'FileReplicated', data: { objectId: 'o3', version: 'v1', replica: { label: 'replica-1', path: '/mnt/nas' }, files: 1, bytes: 10 } }, ctx);
    events = await collect(store.readAll({ after: last, filter: replicating.filter }));
    applyBatch(db, replicating, last, events);
    t.deepEqual(rows().filter((r) => r.queue === QUEUES.replication).map((r) => [r.subject, r.state]), [['o3/v1', 'done'], ['o3/v2', 'pending']]);
  } finally {
    db.close();
    await store.close();
  }
});

test.serial('a job that ended failed or vanished with no outcome in the log is enqueued again; one whose outcome is in the log is not', async (t) => {
  const store = new SqliteEventStore(join(root, 'redrive-events.sqlite'));
  const db = openReadModelDb(join(root, 'redrive-readmodel.sqlite'));
  const prefix = `t-redrive-${process.pid}`;
  const redis = new Redis(REDIS, { maxRetriesPerRequest: 1 });
  const queue = new Queue(QUEUES.derivatives, { connection: redis, prefix });
  const pumpWith = (redriveAfterMs?: number) =>
    new DispatchPump({
      db,
      queues: { [QUEUES.derivatives]: queue },
      jobOptions: JOB_OPTIONS,
      redis,
      markerKey: `${prefix}:dispatch:epoch`,
      logger: pino({ level: 'silent' }),
      ...(redriveAfterMs === undefined ? {} : { redriveAfterMs }),
    });
  const workerRedis = new Redis(REDIS, { maxRetriesPerRequest: null });
  const runWorker = async (n: number, process: (job: Job) => Promise<void>) => {
    const worker = new Worker(QUEUES.derivatives, process, { connection: workerRedis, prefix });
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      const count = () => ++done === n && resolve();
      worker.on('failed', count);
      worker.on('completed', count);
    });
    await finished;
    await worker.close();
  };
  try {
    await redis.del(`${prefix}:dispatch:epoch`);
    await queue.obliterate({ force: true });
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o4', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    for (const [id, c] of [['s1', '2'], ['s2', '3'], ['s3', '4']] as const) {
      await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o4', file: file(id, c) }, ctx);
    }
    prepareProjection(db, dispatcher);
    let events = await collect(store.readAll({ filter: dispatcher.filter }));
    applyBatch(db, dispatcher, null, events);
    t.is(await pumpWith().pumpOnce(), 3);

    // The worker could record no outcome (the log's disk was full): every job ends failed.
    await runWorker(3, async () => {
      throw new UnrecoverableError('the event log’s disk is full (SQLITE_FULL): nothing was written');
    });
    t.is((await queue.getJobs(['failed'])).length, 3);
    // s3's outcome did reach the log after all; s2's job was lost from redis.
    await recordFact(store, 'o4', { type: 'DerivativeFailed', data: { objectId: 'o4', fileId: 's3', masterSha512: hex('4', 128), reason: 'cannot decode', attempts: 1 } }, ctx);
    const last = events[events.length - 1]!.position;
    events = await collect(store.readAll({ after: last, filter: dispatcher.filter }));
    applyBatch(db, dispatcher, last, events);
    const ids = (await collect(store.readAll({ filter: { eventTypes: ['FileIngested'] } }))).filter((e) => e.streamId === 'object-o4').map((e) => e.id);
    await (await queue.getJob(ids[1]!))!.remove();
    t.deepEqual(outboxCounts(db), { pending: 0, enqueued: 2, done: 1 });

    // Restarted: the redis marker is there, so nothing is pending, but the open rows are re-driven.
    const restarted = pumpWith();
    t.is(await restarted.pumpOnce(), 0);
    // A failure younger than the grace period may still have its outcome on the way: only the lost job goes now.
    t.is(await restarted.redriveStranded(), 1);
    t.is(await pumpWith(0).redriveStranded(), 1);
    const waiting = await queue.getJobs(['waiting', 'prioritized']);
    t.deepEqual(waiting.map((j) => j.id).sort(), [ids[0], ids[1]].sort());
    t.true(waiting.every((j) => j.attemptsMade === 0));
    t.deepEqual((await queue.getJobs(['failed'])).map((j) => j.id), [ids[2]]);
    // Nothing is enqueued twice.
    t.is(await pumpWith(0).redriveStranded(), 0);

    // Space is back: the jobs run, their outcomes reach the log, and the outbox is empty.
    await runWorker(2, async (job) => {
      const data = job.data as { fileId: string; masterSha512: string };
      await recordFact(store, 'o4', { type: 'DerivativeFailed', data: { objectId: 'o4', fileId: data.fileId, masterSha512: data.masterSha512, reason: 'recorded now', attempts: 1 } }, ctx);
    });
    const after = events[events.length - 1]!.position;
    applyBatch(db, dispatcher, after, await collect(store.readAll({ after, filter: dispatcher.filter })));
    t.deepEqual(outboxCounts(db), { pending: 0, enqueued: 0, done: 3 });
  } finally {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    redis.disconnect();
    workerRedis.disconnect();
    db.close();
    await store.close();
  }
});

test.serial("a page's derivative asks for its OCR unless the page has a text; the reading, a failure or withdrawal closes it, and a rebuild reads no page again", async (t) => {
  const store = new SqliteEventStore(join(root, 'ocr-events.sqlite'));
  const db = openReadModelDb(':memory:');
  const derivative = (fileId: string, c: string, page?: number): { type: 'DerivativeCreated'; data: DerivativeInfo & { objectId: string; fileId: string } } => ({
    type: 'DerivativeCreated',
    data: {
      objectId: 'o5',
      fileId,
      masterSha512: hex(c, 128),
      ...(page ? { page } : {}),
      width: 100,
      height: 100,
      pyramid: { sha256: hex('d', 64), size: 1000, levels: 1 },
      tileSize: 256,
      scaleFactors: [1],
      tiles: 1,
      sizes: [{ width: 100, height: 100 }],
      software: 'test',
    },
  });
  const text = (fileId: string, source: 'ocr' | 'born-digital', page?: number) =>
    ({ type: 'PageTextRecorded', data: { objectId: 'o5', fileId, ...(page ? { page } : {}), text: 'Sách', source } }) as const;
  const rows = () =>
    db.prepare<[string], { job_id: string; state: string; subject: string; payload: string }>('SELECT job_id, state, subject, payload FROM dispatch_outbox WHERE queue = ? ORDER BY subject').all(QUEUES.ocr);
  let last: bigint | null = null;
  const catchUp = async () => {
    const events = await collect(store.readAll({ ...(last === null ? {} : { after: last }), filter: dispatcher.filter }));
    applyBatch(db, dispatcher, last, events);
    if (events.length) last = events[events.length - 1]!.position;
  };
  try {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'o5', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    for (const [id, c] of [['a1', '5'], ['a2', '6'], ['a3', '7'], ['a4', '8']] as const) {
      await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: 'o5', file: file(id, c) }, ctx);
    }
    prepareProjection(db, dispatcher);
    // a1: page 1's derivative asks for its OCR, keyed by the DerivativeCreated.
    const made = await recordFacts(store, 'o5', [derivative('a1', '5')], ctx);
    // a2: page 2's born-digital text comes in the same append as its derivative; page 1 had one before its derivative.
    await recordFacts(store, 'o5', [text('a2', 'born-digital')], ctx);
    await recordFacts(store, 'o5', [derivative('a2', '6'), derivative('a2', '6', 2), text('a2', 'born-digital', 2)], ctx);
    // a3 and a4: asked for, open.
    await recordFacts(store, 'o5', [derivative('a3', '7'), derivative('a4', '8', 3)], ctx);
    await catchUp();
    t.deepEqual(
      rows().map((r) => [r.subject, r.state]),
      [['o5/a1', 'pending'], ['o5/a2~p2', 'done'], ['o5/a3', 'pending'], ['o5/a4~p3', 'pending']],
    );
    const a1 = rows()[0]!;
    t.is(a1.job_id, made.events[0]!.id);
    t.deepEqual(JSON.parse(a1.payload), { objectId: 'o5', fileId: 'a1', page: 1, masterSha512: hex('5', 128), cause: made.events[0]!.id });
    t.is(JSON.parse(rows()[3]!.payload).page, 3);

    // a1 is read, a3 fails; a4's work is withdrawn.
    const outputs = { text: { sha256: hex('e', 64), size: 4 }, hocr: { sha256: hex('e', 64), size: 4 }, alto: { sha256: hex('e', 64), size: 4 } };
    await recordFacts(store, 'o5', [
      {
        type: 'OcrCompleted',
        data: {
          objectId: 'o5', fileId: 'a1', masterSha512: hex('5', 128), engine: { name: 'tesseract.js', version: '7', models: [] }, languages: ['vie'],
          meanConfidence: 90, words: 1, textSha256: hex('f', 64), outputs,
        },
      },
      text('a1', 'ocr'),
    ], ctx);
    await recordFacts(store, 'o5', [{ type: 'OcrFailed', data: { objectId: 'o5', fileId: 'a3', masterSha512: hex('7', 128), reason: 'no OCR model for language "xyz"', attempts: 1 } }], ctx);
    await catchUp();
    t.deepEqual(rows().map((r) => [r.subject, r.state]), [['o5/a1', 'done'], ['o5/a2~p2', 'done'], ['o5/a3', 'done'], ['o5/a4~p3', 'pending']]);
    // A page read already asks for nothing when its derivative is made again; one that failed asks again.
    const again = await recordFacts(store, 'o5', [derivative('a1', '5'), derivative('a3', '7')], ctx);
    await catchUp();
    const pending = rows().filter((r) => r.state === 'pending');
    t.deepEqual(pending.map((r) => r.subject), ['o5/a3', 'o5/a4~p3']);
    t.is(pending[0]!.job_id, again.events[1]!.id);
    await executeObjectCommand(store, { type: 'WithdrawObject', objectId: 'o5', reason: 'Trả lại' }, ctx);
    await catchUp();
    const before = rows();
    t.deepEqual(before.filter((r) => r.state !== 'done'), []);

    // A rebuild from the log ends where the live projection is: nothing asks for a page with text.
    dispatcher.reset(db);
    prepareProjection(db, dispatcher);
    last = null;
    db.prepare("UPDATE projection_checkpoints SET position = NULL WHERE name = 'dispatcher'").run();
    await catchUp();
    t.deepEqual(rows(), before);
  } finally {
    db.close();
    await store.close();
  }
});

test('marking one outbox row finds it by its key, not by walking every row in its state', (t) => {
  const db = openReadModelDb(join(root, 'plan.sqlite'));
  prepareProjection(db, dispatcher);
  // With the state index chosen, a bulk ingest's 200,000 pending rows made each mark a scan.
  const plan = db.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${MARK_OUTBOX}`).all('done', 'job', 'pending');
  t.deepEqual(plan.map((p) => p.detail), ['SEARCH dispatch_outbox USING INDEX sqlite_autoindex_dispatch_outbox_1 (job_id=?)']);
  db.close();
});
