import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import test from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { AuditResult, lastAuditKey } from '../../src/queue/queues.ts';
import { startAuditWorker } from '../../workers/audit.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

// A database of its own on the machine's redis, so that other suites' queues are not touched.
const REDIS_URL = 'redis://127.0.0.1:6379/7';

async function lastAudit(redis: Redis, after: string): Promise<AuditResult> {
  const giveUpAt = Date.now() + scaledTimeout(60_000); // a hang guard, not a speed bound
  while (Date.now() < giveUpAt) {
    const raw = await redis.get(lastAuditKey('thukho'));
    if (raw) {
      const result = AuditResult.parse(JSON.parse(raw));
      if (result.finishedAt > after) return result;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the audit worker produced no result');
}

test.serial('the audit worker verifies every chain on its schedule and reports a tampered event', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-audit-'));
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  const path = join(dir, 'events.sqlite');
  const store = new SqliteEventStore(path);
  const ctx = { actor: { id: 'test', role: 'staff' } };
  for (const id of ['a', 'b', 'c']) {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: id, metadata: { title: `Sách ${id}` }, accessLevel: 'open' }, ctx);
    await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { subject: 'Hán Nôm' } }, ctx);
  }
  const logger = pino({ level: 'silent' });
  const started = new Date().toISOString();
  let worker = await startAuditWorker({ store, redisUrl: REDIS_URL, logger, queuePrefix: 'thukho', everyMs: 60 * 60 * 1000 });
  try {
    const clean = await lastAudit(redis, started);
    t.is(clean.streams, 3);
    t.is(clean.events, 6);
    t.deepEqual(clean.broken, []);
    await worker.close();

    const raw = new Database(path);
    raw.exec('DROP TRIGGER events_are_immutable');
    raw.prepare("UPDATE events SET data = json_set(data, '$.changes.subject', 'Giả mạo') WHERE stream_id = 'object-b' AND revision = 1").run();
    raw.close();

    // A new period: the scheduler is replaced and its first run comes at once.
    await redis.flushdb();
    const again = new Date().toISOString();
    worker = await startAuditWorker({ store, redisUrl: REDIS_URL, logger, queuePrefix: 'thukho', everyMs: 60 * 60 * 1000 });
    const tampered = await lastAudit(redis, again);
    t.is(tampered.broken.length, 1);
    t.is(tampered.broken[0]?.streamId, 'object-b');
    t.is(tampered.broken[0]?.revision, 1);
  } finally {
    await worker.close();
    await store.close();
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
});
