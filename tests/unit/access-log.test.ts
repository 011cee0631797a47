import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { AccessLog, type AccessLogOptions, MemoryDailySalts, sessionHash } from '../../src/application/access-log.ts';
import type { AccessEvent } from '../../src/domain/events.ts';
import type { AppendResult, EventStore, NewEvent, RecordedEvent } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { RedisDailySalts } from '../../src/queue/access-salts.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The access log's buffer: bounded (what does not fit is dropped and counted, `record` never
 * waits), flushed by the timer and on stop, one append per UTC day, and no client address in
 * anything written: actors are session hashes under a salt that changes every day.
 */
const newDir = tempDirs(test, 'thukho-access-log-');
const logger = pino({ level: 'silent' });
const VIEW: AccessEvent = { type: 'ObjectViewed', data: { objectId: 'truyen-kieu', accessLevel: 'open', via: 'manifest' } };
const CLIENT = { role: 'public', sessionKey: 'client\n203.0.113.7\nMozilla/5.0 (X11; Linux x86_64)' };

function options(store: Pick<EventStore, 'append'>, extra: Partial<AccessLogOptions> = {}): AccessLogOptions {
  return { store, salts: new MemoryDailySalts(), logger, maxBuffered: 100, flushEveryMs: 60_000, batchSize: 50, ...extra };
}

async function readStream(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const e of store.readStream(streamId)) events.push(e);
  return events;
}

/** A log that takes appends and never answers: the slowest log there is. */
class HangingStore {
  appends = 0;
  append(): Promise<AppendResult> {
    this.appends++;
    return new Promise(() => {});
  }
}

test('a full buffer drops and counts; record never waits on a log that does not answer', async (t) => {
  const store = new HangingStore();
  const log = new AccessLog(options(store, { maxBuffered: 10, batchSize: 1000, stopTimeoutMs: 50 }));
  const taken = Array.from({ length: 25 }, () => log.record(VIEW, CLIENT));
  t.deepEqual(taken, [...Array(10).fill(true), ...Array(15).fill(false)]);
  t.deepEqual(log.counts(), { buffered: 10, written: 0, dropped: { full: 15, failed: 0 } });

  // The flush takes the buffer and hangs on the log: the buffer takes new events again…
  void log.flush();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(store.appends, 1);
  for (let i = 0; i < 12; i++) log.record(VIEW, CLIENT);
  // …up to the bound, while the first batch is still in the air (and still counted as held).
  t.deepEqual(log.counts(), { buffered: 20, written: 0, dropped: { full: 17, failed: 0 } });

  // Stop waits a bounded time, then counts what never reached the log as lost: every event
  // offered is written, or dropped for one reason or the other, once.
  await log.stop();
  t.deepEqual(log.counts(), { buffered: 0, written: 0, dropped: { full: 17, failed: 20 } });
  t.false(log.record(VIEW, CLIENT), 'a stopped log takes nothing');
});

test('stop flushes everything buffered into access-<day> streams, one append per UTC day', async (t) => {
  const store = new SqliteEventStore(join(newDir(), 'events.sqlite'));
  t.teardown(() => store.close());
  const appended: string[] = [];
  const counting = {
    append: (streamId: string, events: NewEvent[], expected: Parameters<EventStore['append']>[2]) => {
      appended.push(`${streamId}:${events.length}`);
      return store.append(streamId, events, expected);
    },
  };
  const log = new AccessLog(options(counting));
  log.start();
  const beforeMidnight = new Date('2026-12-03T23:59:59.900Z');
  const afterMidnight = new Date('2026-12-04T00:00:00.100Z');
  log.record(VIEW, CLIENT, beforeMidnight);
  log.record({ type: 'FileDownloaded', data: { objectId: 'truyen-kieu', fileId: 'f1', accessLevel: 'open', bytes: 1234 } }, CLIENT, beforeMidnight);
  log.record({ type: 'SearchPerformed', data: { query: 'Truyện Kiều', filters: {}, results: 3, surface: 'site' } }, { role: 'staff', sessionKey: 'session\nabc' }, afterMidnight);
  await log.stop();

  t.deepEqual(appended, ['access-2026-12-03:2', 'access-2026-12-04:1']);
  t.deepEqual(log.counts(), { buffered: 0, written: 3, dropped: { full: 0, failed: 0 } });
  const day1 = await readStream(store, 'access-2026-12-03');
  const day2 = await readStream(store, 'access-2026-12-04');
  t.deepEqual(day1.map((e) => e.type), ['ObjectViewed', 'FileDownloaded']);
  t.deepEqual(day2.map((e) => e.type), ['SearchPerformed']);
  t.is(day1[0]!.metadata.occurredAt, beforeMidnight.toISOString());
  t.is(log.lastPosition(), day2[0]!.position);
  // The actor is a role and a hash; the address, the user agent and the session id are nowhere.
  t.regex(day1[0]!.metadata.actor.id, /^session:[0-9a-f]{32}$/);
  t.is(day1[0]!.metadata.actor.role, 'public');
  t.is(day2[0]!.metadata.actor.role, 'staff');
  const written = JSON.stringify([...day1, ...day2].map((e) => ({ data: e.data, metadata: e.metadata })));
  for (const secret of ['203.0.113.7', 'Mozilla', 'abc"']) t.false(written.includes(secret), secret);
});

test('a session hashes alike all day, differently the next day and differently from another session', async (t) => {
  const store = new SqliteEventStore(join(newDir(), 'events.sqlite'));
  t.teardown(() => store.close());
  const log = new AccessLog(options(store));
  const other = { role: 'public', sessionKey: 'client\n203.0.113.8\nMozilla/5.0 (X11; Linux x86_64)' };
  log.record(VIEW, CLIENT, new Date('2026-12-03T08:00:00Z'));
  log.record(VIEW, CLIENT, new Date('2026-12-03T20:00:00Z'));
  log.record(VIEW, other, new Date('2026-12-03T20:00:01Z'));
  log.record(VIEW, CLIENT, new Date('2026-12-04T08:00:00Z'));
  await log.stop();
  const [morning, evening, otherClient] = (await readStream(store, 'access-2026-12-03')).map((e) => e.metadata.actor.id);
  const [nextDay] = (await readStream(store, 'access-2026-12-04')).map((e) => e.metadata.actor.id);
  t.is(morning, evening);
  t.not(morning, otherClient);
  t.not(morning, nextDay);
});

test('a log that refuses an append: the batch is counted as dropped, later batches are written', async (t) => {
  const store = new SqliteEventStore(join(newDir(), 'events.sqlite'));
  t.teardown(() => store.close());
  let refuse = true;
  const flaky = {
    append: (streamId: string, events: NewEvent[], expected: Parameters<EventStore['append']>[2]) =>
      refuse ? Promise.reject(new Error('disk I/O error')) : store.append(streamId, events, expected),
  };
  const log = new AccessLog(options(flaky));
  log.record(VIEW, CLIENT);
  log.record(VIEW, CLIENT);
  await log.flush();
  refuse = false;
  log.record(VIEW, CLIENT);
  await log.stop();
  t.deepEqual(log.counts(), { buffered: 0, written: 1, dropped: { full: 0, failed: 2 } });
});

test('a full batch is flushed before the timer fires', async (t) => {
  const store = new SqliteEventStore(join(newDir(), 'events.sqlite'));
  t.teardown(() => store.close());
  const log = new AccessLog(options(store, { batchSize: 5 }));
  log.start();
  for (let i = 0; i < 5; i++) log.record(VIEW, CLIENT);
  // The timer is a minute away; a full batch goes on the next turn of the event loop.
  while (log.counts().written < 5) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(log.counts().buffered, 0);
  await log.stop();
});

test('an event the schema refuses is dropped and counted, never appended', async (t) => {
  const store = new SqliteEventStore(join(newDir(), 'events.sqlite'));
  t.teardown(() => store.close());
  const log = new AccessLog(options(store));
  log.record({ type: 'ObjectViewed', data: { objectId: '../etc/passwd', accessLevel: 'open', via: 'manifest' } }, CLIENT, new Date('2026-12-03T08:00:00Z'));
  log.record(VIEW, CLIENT, new Date('2026-12-03T08:00:00Z'));
  await log.stop();
  t.deepEqual(log.counts(), { buffered: 0, written: 1, dropped: { full: 0, failed: 1 } });
  t.is((await readStream(store, 'access-2026-12-03')).length, 1);
});

test('redis salts: every process gets the day’s one salt; it expires, and is not today’s tomorrow', async (t) => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  const prefix = `t-salt-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const a = new RedisDailySalts(redis, prefix, logger);
  const b = new RedisDailySalts(redis, prefix, logger);
  const saltA = await a.saltFor('2026-12-03');
  const saltB = await b.saltFor('2026-12-03');
  t.true(saltA.equals(saltB));
  t.is(sessionHash(saltA, CLIENT.sessionKey), sessionHash(saltB, CLIENT.sessionKey));
  t.false((await a.saltFor('2026-12-04')).equals(saltA));
  const ttl = await redis.ttl(`${prefix}:access:salt:2026-12-03`);
  t.true(ttl > 0 && ttl <= 2 * 24 * 3600, `ttl ${ttl}`);
  await redis.del(`${prefix}:access:salt:2026-12-03`, `${prefix}:access:salt:2026-12-04`);
});
