import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { redactUrl, redisConnectionOptions, resolveRedis } from '../../src/queue/redis.ts';

const logger = pino({ level: 'silent' });

function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'thukho-redis-'));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withClient<T>(url: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ ...redisConnectionOptions(url), lazyConnect: true });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

test('embedded profile: private redis-server on a unix socket with AOF; stop() ends it and removes the socket', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const redis = await resolveRedis({ dataDir, logger });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await redis.stop();
  });

  const socketPath = join(dataDir, 'redis', 'redis.sock');
  t.is(redis.url, `unix://${socketPath}`);
  t.true(existsSync(socketPath));
  t.truthy(redis.pid);
  const pid = redis.pid!;
  t.true(isAlive(pid));

  await withClient(redis.url, async (client) => {
    t.is(await client.set('thukho:test', 'Thư khố'), 'OK');
    t.is(await client.get('thukho:test'), 'Thư khố');
    t.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
    t.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
    t.deepEqual(await client.config('GET', 'save'), ['save', '']);
    t.deepEqual(await client.config('GET', 'port'), ['port', '0']);
  });
  t.true(existsSync(join(dataDir, 'redis', 'appendonlydir')), 'AOF lives in <dataDir>/redis');

  await redis.stop();
  stopped = true;
  t.false(isAlive(pid), 'redis-server process is gone');
  t.false(existsSync(socketPath), 'socket removed');
  await redis.stop(); // idempotent
});

test('embedded profile: data survives a restart (AOF), and a stale socket file is removed', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await resolveRedis({ dataDir, logger });
  await withClient(first.url, (client) => client.set('durable', '1'));
  await first.stop();

  // Leave a socket file behind that nobody listens on, as a crashed server would:
  // a Node process binds it and is killed with SIGKILL (so it cannot unlink it).
  const socketPath = join(dataDir, 'redis', 'redis.sock');
  const squatter = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('listening'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    squatter.stdout.once('data', () => resolve());
    squatter.once('exit', () => reject(new Error('squatter exited early')));
  });
  squatter.kill('SIGKILL');
  await new Promise((resolve) => squatter.once('exit', resolve));
  t.true(existsSync(socketPath), 'stale socket file left behind');

  const second = await resolveRedis({ dataDir, logger });
  t.teardown(() => second.stop());
  t.is(await withClient(second.url, (client) => client.get('durable')), '1');
});

test('embedded profile: an orphaned redis-server from a crashed owner is shut down and replaced; a live owner is refused', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await resolveRedis({ dataDir, logger });
  t.teardown(() => first.stop());
  await withClient(first.url, (client) => client.set('before-crash', 'kept'));

  // The owner (this process) is alive: a second start on the same data dir is refused.
  await t.throwsAsync(resolveRedis({ dataDir, logger }), { message: /is in use by another thukho \(pid \d+, this one\)/ });

  // Pretend the owner crashed: point owner.json at a process that has exited.
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.once('exit', resolve));
  const ownerPath = join(dataDir, 'redis', 'owner.json');
  const owner = JSON.parse(readFileSync(ownerPath, 'utf8')) as { ownerPid: number };
  writeFileSync(ownerPath, JSON.stringify({ ...owner, ownerPid: dead.pid }));

  const second = await resolveRedis({ dataDir, logger });
  t.teardown(() => second.stop());
  t.not(second.pid, first.pid);
  t.false(isAlive(first.pid!), 'orphan was shut down');
  t.is(await withClient(second.url, (client) => client.get('before-crash')), 'kept');
});

test('REDIS_URL that does not answer gives an error naming REDIS_URL', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const err = await t.throwsAsync(resolveRedis({ redisUrl: 'redis://:s3cret@127.0.0.1:1/0', dataDir, logger, timeoutMs: 3_000 }));
  t.regex(err.message, /REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0 does not answer PING/);
  t.regex(err.message, /ECONNREFUSED/);
  t.notRegex(err.message, /s3cret/, 'password is not shown');

  const sock = await t.throwsAsync(resolveRedis({ redisUrl: `unix://${join(dataDir, 'nothing.sock')}`, dataDir, logger }));
  t.regex(sock.message, /REDIS_URL=unix:\/\/.*nothing\.sock does not answer PING/);
});

test('REDIS_URL that answers is used as is', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const embedded = await resolveRedis({ dataDir, logger });
  t.teardown(() => embedded.stop());
  const external = await resolveRedis({ redisUrl: embedded.url, dataDir: join(dataDir, 'other'), logger });
  t.is(external.url, embedded.url);
  t.is(external.pid, undefined);
  await external.stop(); // no-op: does not stop a server it does not own
  t.true(isAlive(embedded.pid!));
});

test('redisConnectionOptions understands redis://, rediss:// and unix socket URLs', (t) => {
  t.like(redisConnectionOptions('redis://127.0.0.1:6380/2'), { host: '127.0.0.1', port: 6380, db: 2, maxRetriesPerRequest: null });
  t.like(redisConnectionOptions('redis://localhost'), { host: 'localhost', port: 6379 });
  t.like(redisConnectionOptions('redis://user:p%40ss@[::1]:7000'), { host: '::1', port: 7000, username: 'user', password: 'p@ss' });
  t.like(redisConnectionOptions('rediss://:pw@redis.example.org:6390/1'), { host: 'redis.example.org', port: 6390, db: 1, password: 'pw', tls: { servername: 'redis.example.org' } });
  t.like(redisConnectionOptions('unix:///var/run/redis/redis.sock'), { path: '/var/run/redis/redis.sock', maxRetriesPerRequest: null });
  t.like(redisConnectionOptions('unix:/tmp/r.sock?db=3'), { path: '/tmp/r.sock', db: 3 });
  t.like(redisConnectionOptions('redis+unix:///tmp/r.sock?db=1&password=x'), { path: '/tmp/r.sock', db: 1, password: 'x' });
  t.like(redisConnectionOptions('unix://me:pw@/tmp/r.sock'), { path: '/tmp/r.sock', username: 'me', password: 'pw' });
  t.like(redisConnectionOptions('unix:///tmp/th%C6%B0%20kh%E1%BB%91/r.sock'), { path: '/tmp/thư khố/r.sock' });
  t.like(redisConnectionOptions('/tmp/r.sock'), { path: '/tmp/r.sock' });
  const unix = redisConnectionOptions('unix:///tmp/r.sock');
  t.false('host' in unix);
  t.throws(() => redisConnectionOptions('http://example.org'), { message: /REDIS_URL: unsupported scheme/ });
  t.throws(() => redisConnectionOptions('unix://relative.sock'), { message: /absolute socket path/ });
});

test('redisConnectionOptions understands redis+sentinel:// URLs (sentinels, master name, passwords, db)', (t) => {
  t.deepEqual(redisConnectionOptions('redis+sentinel://:p%40ss@10.0.0.1:26379,10.0.0.2:26380,redis3/thukho?db=2&sentinelPassword=s%26p'), {
    maxRetriesPerRequest: null,
    sentinels: [
      { host: '10.0.0.1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: 'redis3', port: 26379 },
    ],
    name: 'thukho',
    password: 'p@ss',
    db: 2,
    sentinelPassword: 's&p',
  });
  t.like(redisConnectionOptions('redis+sentinel://app:pw@[::1]:26379/mymaster/'), { sentinels: [{ host: '::1', port: 26379 }], name: 'mymaster', username: 'app', password: 'pw' });
  t.like(redisConnectionOptions('REDIS+SENTINEL://pw@h:1/m?sentinelUsername=s&sentinelPassword=x'), { password: 'pw', sentinelUsername: 's', sentinelPassword: 'x' });
  const plain = redisConnectionOptions('redis+sentinel://h1,h2/m');
  t.deepEqual(plain, { maxRetriesPerRequest: null, sentinels: [{ host: 'h1', port: 26379 }, { host: 'h2', port: 26379 }], name: 'm' });
  t.throws(() => redisConnectionOptions('redis+sentinel://h1:26379'), { message: /names no master/ });
  t.throws(() => redisConnectionOptions('redis+sentinel://h1:26379/'), { message: /names no master/ });
  t.throws(() => redisConnectionOptions('redis+sentinel://h1:99999/m'), { message: /not a sentinel host:port/ });
  t.throws(() => redisConnectionOptions('redis+sentinel://:pw@/m'), { message: /not a sentinel host:port/ });
  t.throws(() => redisConnectionOptions('redis+sentinel://h1/m?db=x'), { message: /database "x" is not a number/ });
  const err = t.throws(() => redisConnectionOptions('redis+sentinel://:secret@h1:bad/m?sentinelPassword=secret2'));
  t.false(err!.message.includes('secret'));
});

test('redactUrl hides every password, sentinel ones included', (t) => {
  t.is(redactUrl('redis://:pw@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0');
  t.is(redactUrl('redis+sentinel://:pw@h1:26379,h2:26379/m?db=1&sentinelPassword=spw'), 'redis+sentinel://:***@h1:26379,h2:26379/m?db=1&sentinelPassword=***');
  t.is(redactUrl('redis+sentinel://app:pw@h1:26379/m'), 'redis+sentinel://app:***@h1:26379/m');
  t.is(redactUrl('redis+sentinel://pw@h1:26379/m'), 'redis+sentinel://***@h1:26379/m');
  t.is(redactUrl('redis+sentinel://h1:26379,h2:26379/m'), 'redis+sentinel://h1:26379,h2:26379/m');
  t.is(redactUrl('unix:///tmp/r.sock?db=1&password=x&sentinelpassword=y'), 'unix:///tmp/r.sock?db=1&password=***&sentinelpassword=***');
});
