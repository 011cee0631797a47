import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/cli.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { queueConnection } from '../../src/queue/queues.ts';
import { findRedisServer, pingRedis, redisConnectionOptions, resolveRedis } from '../../src/queue/redis.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The cluster profile's REDIS_URL=redis+sentinel://…: a real redis-server (with a password)
 * and a real Redis Sentinel (`redis-server --sentinel`, with a password of its own) that
 * monitors it. A connection made from the URL asks the sentinel for the master, answers PING,
 * and carries a BullMQ queue.
 */
const PASSWORD = 'mat-khau-chu';
const SENTINEL_PASSWORD = 'mat-khau-sentinel';
const dir = mkdtempSync(join(tmpdir(), 'thukho-sentinel-'));
const children: ChildProcess[] = [];


function start(binary: string, args: string[], name: string): ChildProcess {
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`${name} exited with ${code}: ${stderr}`);
  });
  children.push(child);
  return child;
}

async function waitFor(what: string, check: () => Promise<void>): Promise<void> {
  let last: unknown;
  const giveUpAt = Date.now() + scaledTimeout(60_000);
  while (Date.now() < giveUpAt) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not answer: ${(last as Error)?.message}`);
}

let url = '';

test.before(async () => {
  const binary = findRedisServer();
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server); this test runs a real one, and a sentinel with it');
  const redisPort = await freePort();
  const sentinelPort = await freePort();
  start(binary, ['--port', String(redisPort), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no', '--dir', dir], 'redis-server');
  await waitFor('redis-server', () => pingRedis({ host: '127.0.0.1', port: redisPort, password: PASSWORD }, 500));
  // Sentinel rewrites its config file: it must be writable, in the temp dir.
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir "${dir}"`,
      `requirepass "${SENTINEL_PASSWORD}"`,
      `sentinel monitor thukho 127.0.0.1 ${redisPort} 1`,
      `sentinel auth-pass thukho "${PASSWORD}"`,
      'sentinel down-after-milliseconds thukho 5000',
      '',
    ].join('\n'),
  );
  start(binary, [conf, '--sentinel'], 'redis-sentinel');
  await waitFor('redis-sentinel', () => pingRedis({ host: '127.0.0.1', port: sentinelPort, password: SENTINEL_PASSWORD }, 500));
  url = `redis+sentinel://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${sentinelPort}/thukho?db=3&sentinelPassword=${SENTINEL_PASSWORD}`;
});

test.after.always(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

test.serial('a redis+sentinel:// URL finds the master through the sentinel and answers PING', async (t) => {
  const options = redisConnectionOptions(url);
  t.like(options, { name: 'thukho', db: 3, password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  await pingRedis(options, 5_000);
  const client = new Redis({ ...options, lazyConnect: true });
  try {
    await client.connect();
    t.is(await client.ping(), 'PONG');
    await client.set('thukho:sentinel-test', 'ok');
    t.is(await client.get('thukho:sentinel-test'), 'ok');
    // it is the master's database 3 that holds it
    t.is(await client.call('CLIENT', 'INFO').then((info) => /\bdb=3\b/.test(String(info))), true);
  } finally {
    client.disconnect();
  }
  const resolved = await resolveRedis({ redisUrl: url, dataDir: dir, logger: pino({ level: 'silent' }) });
  t.is(resolved.pid, undefined);
  await resolved.stop();
});

test.serial('a wrong sentinel password is refused', async (t) => {
  const wrong = url.replace(`sentinelPassword=${SENTINEL_PASSWORD}`, 'sentinelPassword=sai');
  await t.throwsAsync(resolveRedis({ redisUrl: wrong, dataDir: dir, logger: pino({ level: 'silent' }), timeoutMs: 2_000 }), { message: /does not answer PING/ });
});

test.serial('a BullMQ queue adds and reads a job through the sentinel connection', async (t) => {
  const connection = queueConnection(url);
  const queue = new Queue('sentinel-test', { connection, prefix: `thukho-sentinel-${process.pid}` });
  try {
    const job = await queue.add('ping', { hello: 'thư khố' }, { jobId: 'job-1' });
    t.is(job.id, 'job-1');
    const read = await queue.getJob('job-1');
    t.deepEqual(read?.data, { hello: 'thư khố' });
    t.is(await queue.count(), 1);
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    connection.disconnect();
  }
});
