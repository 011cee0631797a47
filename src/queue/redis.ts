import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { isAlive } from '../process-alive.ts';
import { STOP_GRACE_MS, stopRequested } from './stopping.ts';

/**
 * Where BullMQ (and anything else that needs Redis) connects.
 *
 * - cluster profile: REDIS_URL is set; we only check that it answers PING.
 * - embedded profile: REDIS_URL is unset; we run a private `redis-server` child process that
 *   listens on a unix socket under `<dataDir>/redis/` (no TCP port), with AOF persistence in
 *   that directory, and stop it on `stop()`.
 */
export interface ResolvedRedis {
  /** `redis://…` / `rediss://…` (as given) or `unix:///…/redis.sock` (embedded). */
  url: string;
  /** The embedded redis-server's process id (a new one after a restart); undefined when REDIS_URL is used. */
  pid?: number | undefined;
  /** Stops the embedded redis-server (SIGTERM, waits for exit). A no-op for REDIS_URL. Idempotent. */
  stop(): Promise<void>;
}

export interface ResolveRedisOptions {
  redisUrl?: string | undefined;
  dataDir: string;
  logger: Logger;
  /** How long to wait for the embedded server (or REDIS_URL) to answer PING. Default 10 s. */
  timeoutMs?: number | undefined;
}

export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

const INSTALL_COMMAND = 'sudo apt-get install -y redis-server';
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

// ---------------------------------------------------------------------------------------------
// URLs → ioredis options
// ---------------------------------------------------------------------------------------------

/**
 * ioredis options for a Redis URL, ready for BullMQ (`maxRetriesPerRequest: null`).
 *
 * Accepted forms:
 * - `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS)
 * - `unix:///path/to/redis.sock[?db=N&password=…]`, `unix:/path/…`, `redis+unix:///path/…`,
 *   also with credentials: `unix://[user:password@]/path/…`
 * - a bare absolute socket path `/path/to/redis.sock`
 * - Redis Sentinel: `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/MASTERNAME[?db=N&sentinelPassword=…]`
 *   (the hosts are the sentinels, port 26379 by default; the user and password are the
 *   master's and replicas'; `sentinelPassword` / `sentinelUsername` authenticate to the
 *   sentinels themselves when they have `requirepass`). ioredis asks the sentinels for the
 *   current master and follows a failover.
 * Query parameters `db`, `password` and `username` are honoured for every form.
 */
export function redisConnectionOptions(url: string): RedisOptions {
  const base: RedisOptions = { maxRetriesPerRequest: null };
  if (/^redis\+sentinel:/i.test(url)) return sentinelOptions(url, base);
  const unix = /^(?:unix|redis\+unix|redis-socket):/i.exec(url);
  if (unix || url.startsWith('/')) {
    let rest = unix ? url.slice(unix[0].length) : url;
    let query = '';
    const q = rest.search(/[?#]/);
    if (q !== -1) {
      query = rest[q] === '?' ? rest.slice(q + 1).replace(/#.*$/, '') : '';
      rest = rest.slice(0, q);
    }
    let username: string | undefined;
    let password: string | undefined;
    if (rest.startsWith('//')) {
      // authority: empty, "localhost", or "user:password@"
      const slash = rest.indexOf('/', 2);
      const authority = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
      rest = slash === -1 ? '' : rest.slice(slash);
      const at = authority.lastIndexOf('@');
      if (at !== -1) {
        const userinfo = authority.slice(0, at);
        const colon = userinfo.indexOf(':');
        const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
        if (colon !== -1) password = decodeURIComponent(userinfo.slice(colon + 1));
        if (user) username = decodeURIComponent(user);
        if (colon === -1 && user) {
          // unix://password@/path is how some tools spell a password-only URL
          password = username;
          username = undefined;
        }
      }
    }
    const path = decodeURIComponent(rest);
    if (!path.startsWith('/')) throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}" names no absolute socket path (use unix:///path/to/redis.sock)`);
    const options: RedisOptions = { ...base, path };
    if (username !== undefined) options.username = username;
    if (password !== undefined) options.password = password;
    applyQuery(options, new URLSearchParams(query), url);
    return options;
  }

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}" is not a URL (use redis://host:port/db or unix:///path/to/redis.sock)`);
  }
  const protocol = parsed.protocol.toLowerCase();
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new RedisUnavailableError(`REDIS_URL: unsupported scheme "${parsed.protocol}" (use redis://, rediss://, redis+sentinel:// or unix://)`);
  }
  const options: RedisOptions = {
    ...base,
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const dbPath = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (dbPath) options.db = parseDb(dbPath, url);
  if (protocol === 'rediss:') options.tls = { servername: options.host };
  applyQuery(options, parsed.searchParams, url);
  return options;
}

const SENTINEL_HOST = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/;

function sentinelOptions(url: string, base: RedisOptions): RedisOptions {
  const usage = 'use redis+sentinel://[:password@]host:26379[,host:26379…]/MASTERNAME';
  const m = /^redis\+sentinel:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?(?:#.*)?$/i.exec(url);
  if (!m) throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}" is not a sentinel URL (${usage})`);
  const [, userinfo, hostList = '', rawName = '', query = ''] = m;
  const decode = (value: string, what: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}": the ${what} is not valid percent-encoding`);
    }
  };
  const sentinels: Array<{ host: string; port: number }> = [];
  for (const part of hostList.split(',')) {
    const n = SENTINEL_HOST.exec(part.trim());
    const port = n?.[3] === undefined ? 26379 : Number(n[3]);
    if (!n || port < 1 || port > 65535) throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}": "${part}" is not a sentinel host:port (${usage})`);
    sentinels.push({ host: n[1] ?? n[2] ?? '', port });
  }
  const name = decode(rawName.replace(/\/+$/, ''), 'master name');
  if (!name || name.includes('/')) throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}" names no master (${usage})`);
  const options: RedisOptions = { ...base, sentinels, name };
  if (userinfo !== undefined && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? '' : userinfo.slice(0, colon);
    // redis+sentinel://password@… (no colon) is a password alone, as some tools write it
    const password = colon === -1 ? userinfo : userinfo.slice(colon + 1);
    if (user) options.username = decode(user, 'user name');
    if (password) options.password = decode(password, 'password');
  }
  const params = new URLSearchParams(query);
  applyQuery(options, params, url);
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelPassword !== null && sentinelPassword !== '') options.sentinelPassword = sentinelPassword;
  const sentinelUsername = params.get('sentinelUsername');
  if (sentinelUsername !== null && sentinelUsername !== '') options.sentinelUsername = sentinelUsername;
  return options;
}

function applyQuery(options: RedisOptions, params: URLSearchParams, url: string): void {
  const db = params.get('db');
  if (db !== null && db !== '') options.db = parseDb(db, url);
  const password = params.get('password');
  if (password !== null) options.password = password;
  const username = params.get('username') ?? params.get('user');
  if (username !== null) options.username = username;
}

function parseDb(value: string, url: string): number {
  if (!/^\d+$/.test(value)) throw new RedisUnavailableError(`REDIS_URL: "${redactUrl(url)}": database "${value}" is not a number`);
  return Number(value);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z+]+:\/\/[^/@]*?:)[^/@]*@/i, '$1***@')
    .replace(/^(redis\+sentinel:\/\/)([^:/@]+)@/i, '$1***@') // redis+sentinel://password@… (a password alone)
    .replace(/([?&](?:sentinel)?password=)[^&#]*/gi, '$1***');
}

/** `unix://` URL for a socket path (characters that would break URL parsing are percent-encoded). */
export function unixSocketUrl(socketPath: string): string {
  return `unix://${socketPath.replace(/[%?#\s]/g, (ch) => encodeURIComponent(ch))}`;
}

// ---------------------------------------------------------------------------------------------
// PING
// ---------------------------------------------------------------------------------------------

/** One connection, one PING, then disconnect. Rejects with the underlying error (e.g. ECONNREFUSED). */
export async function pingRedis(options: RedisOptions, timeoutMs: number): Promise<void> {
  const client = new Redis({
    ...options,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    reconnectOnError: null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // ioredis keeps a (non-unref'd) timer of this length after disconnect() when the socket had
    // already failed, which would hold the event loop open for 2 s; a ping has nothing to flush.
    disconnectTimeout: 0,
  });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError ??= err;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const attempt = (async () => {
      await client.connect();
      const reply = await client.ping();
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
    })();
    attempt.catch(() => {}); // the race below reports it; avoid an unhandled rejection after a timeout
    await Promise.race([attempt, timeout]);
  } catch (err) {
    // "Connection is closed." hides the reason; prefer the socket error when there is one.
    const reason = lastError && /connection is closed/i.test((err as Error).message) ? lastError : (err as Error);
    throw reason;
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// resolveRedis
// ---------------------------------------------------------------------------------------------

export async function resolveRedis(options: ResolveRedisOptions): Promise<ResolvedRedis> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (options.redisUrl) {
    const url = options.redisUrl;
    const connection = redisConnectionOptions(url);
    try {
      await pingRedis(connection, Math.min(timeoutMs, 5_000));
    } catch (err) {
      const reason = (err as Error).message || String(err);
      throw new RedisUnavailableError(
        `REDIS_URL=${redactUrl(url)} does not answer PING (${reason}). Check that Redis runs there, or unset REDIS_URL to use the embedded redis-server. ` +
          `/ REDIS_URL=${redactUrl(url)} không trả lời PING (${reason}). Hãy kiểm tra Redis, hoặc bỏ REDIS_URL để dùng redis-server nhúng.`,
        { cause: err },
      );
    }
    options.logger.info({ redis: redactUrl(url) }, 'using Redis at REDIS_URL');
    return { url, pid: undefined, stop: async () => {} };
  }
  return startEmbedded(options.dataDir, options.logger, timeoutMs);
}

/**
 * Redis for a command that only enqueues or looks at queues (`thukho ocr`, `thukho jobs`):
 * the running server's when there is one (REDIS_URL, or the socket of the embedded
 * redis-server it owns, which is shared, not taken over), else an embedded one started for
 * the command, whose append-only file keeps the jobs for the next server to run.
 */
export async function joinRedis(options: ResolveRedisOptions): Promise<ResolvedRedis> {
  if (!options.redisUrl) {
    const url = unixSocketUrl(join(resolve(options.dataDir), 'redis', 'redis.sock'));
    const answers = await pingRedis(redisConnectionOptions(url), 1_000).then(
      () => true,
      () => false,
    );
    if (answers) return { url, pid: undefined, stop: async () => {} };
  }
  return resolveRedis(options);
}

interface OwnerRecord {
  ownerPid: number;
  redisPid: number | undefined;
  startedAt: string;
}

/** One redis-server process of the embedded profile. */
interface RedisChild {
  child: ChildProcess;
  output: Tail;
  startedAt: number;
  exitPromise: Promise<void>;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Restart backoff of the embedded redis-server: 1 s doubling to 30 s, reset after a minute of good health. */
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;

async function startEmbedded(dataDir: string, logger: Logger, timeoutMs: number): Promise<ResolvedRedis> {
  const dir = join(resolve(dataDir), 'redis');
  const socketPath = join(dir, 'redis.sock');
  const confPath = join(dir, 'redis.conf');
  const logPath = join(dir, 'redis.log');
  const ownerPath = join(dir, 'owner.json');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new RedisUnavailableError(
      `THUKHO_DATA_DIR is too deep for a unix socket: ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes. ` +
        `Use a shorter THUKHO_DATA_DIR, or set REDIS_URL. / Đường dẫn THUKHO_DATA_DIR quá dài cho unix socket; hãy dùng đường dẫn ngắn hơn hoặc đặt REDIS_URL.`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socketOptions = redisConnectionOptions(unixSocketUrl(socketPath));

  await clearSocket(socketPath, ownerPath, socketOptions, logger);

  const binary = await ensureRedisServer(logger);
  writeFileSync(confPath, embeddedConfig({ dir, socketPath, logPath }), { mode: 0o600 });

  let stopping = false;
  /** The redis-server now running (or starting); stop() ends whichever it is. */
  let current: RedisChild | undefined;

  // If this Node process exits without calling stop() (uncaught exception, process.exit),
  // don't leave an orphan redis-server holding the AOF.
  const onExit = (): void => {
    if (current && current.exited() === undefined && current.child.pid !== undefined) {
      try {
        current.child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', onExit);

  const describe = (c: RedisChild): string => {
    const parts: string[] = [];
    const out = c.output.text().trim();
    if (out) parts.push(`output:\n${out}`);
    const log = readTail(logPath).trim();
    if (log) parts.push(`${logPath}:\n${log}`);
    return parts.length ? `\n${parts.join('\n')}` : '';
  };

  /** Starts a redis-server and waits until it answers PING; throws (having ended it) when it does not. */
  const launch = async (): Promise<RedisChild> => {
    // A process group of its own: a terminal's Ctrl-C reaches thukho and its workers but not the
    // redis-server they all still use while they stop; stop() ends it last.
    const child = spawn(binary, [confPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output = new Tail(8 * 1024);
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    const exitPromise = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        resolveExit();
      });
      child.once('error', (err) => {
        spawnError = err;
        if (child.pid === undefined) resolveExit(); // never started: no 'exit' will follow
      });
    });
    const c: RedisChild = { child, output, startedAt: Date.now(), exitPromise, exited: () => exited };
    current = c;

    const deadline = Date.now() + timeoutMs;
    let lastError: Error | undefined;
    for (;;) {
      if (spawnError && child.pid === undefined) throw new RedisUnavailableError(`cannot start ${binary}: ${spawnError.message}`, { cause: spawnError });
      if (exited) {
        throw new RedisUnavailableError(
          `embedded redis-server exited during start-up (code ${exited.code ?? 'none'}, signal ${exited.signal ?? 'none'}); config ${confPath}${describe(c)}`,
        );
      }
      try {
        await pingRedis(socketOptions, 1_000);
        return c;
      } catch (err) {
        lastError = err as Error;
      }
      if (Date.now() >= deadline || stopping) {
        await terminate(c);
        throw new RedisUnavailableError(
          `embedded redis-server did not answer PING on ${socketPath} within ${timeoutMs} ms (${lastError?.message ?? 'no answer'})${describe(c)}`,
        );
      }
      await sleep(50);
    }
  };

  const recordOwner = (c: RedisChild): void => {
    const owner: OwnerRecord = { ownerPid: process.pid, redisPid: c.child.pid, startedAt: new Date().toISOString() };
    writeFileSync(ownerPath, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  };

  // Supervision: BullMQ, the API and the workers all depend on this one process, and their
  // connections come back by themselves once it answers again on the same socket, with the
  // same AOF (whatever it lost, the dispatch pump re-offers from the outbox).
  let restartDelay = RESTART_FIRST_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarts = 0;
  const restart = async (): Promise<void> => {
    if (stopping) return;
    // kill -9 leaves the socket file; a new server must be able to bind it.
    rmSync(socketPath, { force: true });
    try {
      const c = await launch();
      recordOwner(c);
      restarts++;
      logger.warn({ redisPid: c.child.pid, restarts }, 'embedded redis-server restarted');
      watch(c);
    } catch (err) {
      if (stopping) return;
      logger.error({ err: (err as Error).message, restartInMs: restartDelay }, 'embedded redis-server could not be restarted; trying again');
      restartTimer = setTimeout(() => void restart(), restartDelay);
      restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
    }
  };
  const watch = (c: RedisChild): void => {
    void c.exitPromise.then(() => {
      if (stopping) return;
      // A stop signal to the whole unit (systemd) reaches redis-server and us; judge the exit
      // once our handler has run.
      setTimeout(() => {
        if (stopping || stopRequested()) return;
        const exited = c.exited();
        if (Date.now() - c.startedAt > 60_000) restartDelay = RESTART_FIRST_MS;
        logger.error(
          { code: exited?.code, signal: exited?.signal, output: c.output.text(), log: readTail(logPath), restartInMs: restartDelay },
          'embedded redis-server exited unexpectedly; restarting it',
        );
        restartTimer = setTimeout(() => void restart(), restartDelay);
        restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
      }, STOP_GRACE_MS).unref();
    });
  };

  let first: RedisChild;
  try {
    first = await launch();
  } catch (err) {
    process.removeListener('exit', onExit);
    throw err;
  }
  recordOwner(first);
  logger.info({ redisPid: first.child.pid, socket: socketPath, dir }, 'embedded redis-server started');
  watch(first);

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      clearTimeout(restartTimer);
      const last = current;
      if (last) await terminate(last);
      process.removeListener('exit', onExit);
      // redis-server unlinks its socket on a clean shutdown; make sure, in case it was killed.
      rmSync(socketPath, { force: true });
      try {
        const record = JSON.parse(readFileSync(ownerPath, 'utf8')) as OwnerRecord;
        if (record.ownerPid === process.pid && record.redisPid === last?.child.pid) rmSync(ownerPath, { force: true });
      } catch {
        /* no owner file */
      }
      logger.info({ redisPid: last?.child.pid, code: last?.exited()?.code, signal: last?.exited()?.signal }, 'embedded redis-server stopped');
    })();
    return stopPromise;
  };

  return {
    url: unixSocketUrl(socketPath),
    get pid() {
      return current?.child.pid;
    },
    stop,
  };
}

/**
 * Makes sure nothing is in the way of a new server on `socketPath`:
 * - a socket file nobody answers on (left by a crash) is removed;
 * - a server that answers and whose owner process is gone (an orphan from a crash) is shut
 *   down (SHUTDOWN flushes the AOF), so that we own the new child;
 * - a server whose owner is alive means another thukho process uses this data directory: error.
 */
async function clearSocket(socketPath: string, ownerPath: string, socketOptions: RedisOptions, logger: Logger): Promise<void> {
  if (!pathExists(socketPath)) return;
  let answers = true;
  try {
    await pingRedis(socketOptions, 1_000);
  } catch {
    answers = false;
  }
  if (!answers) {
    logger.warn({ socket: socketPath }, 'removing stale redis socket (nothing answers on it)');
    rmSync(socketPath, { force: true });
    return;
  }
  let owner: OwnerRecord | undefined;
  try {
    owner = JSON.parse(readFileSync(ownerPath, 'utf8')) as OwnerRecord;
  } catch {
    owner = undefined;
  }
  if (owner && isAlive(owner.ownerPid)) {
    const dataDir = resolve(dirname(dirname(socketPath)));
    throw new RedisUnavailableError(
      `thư mục dữ liệu ${dataDir} đang được một thukho khác dùng (tiến trình ${owner.ownerPid}) / ` +
        `the data directory ${dataDir} is in use by another thukho (pid ${owner.ownerPid}${owner.ownerPid === process.pid ? ', this one' : ''}): stop it, or set THUKHO_DATA_DIR to another directory`,
    );
  }
  logger.warn({ socket: socketPath, owner }, 'an orphaned embedded redis-server still runs (left by a crash); shutting it down');
  const client = new Redis({ ...socketOptions, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, disconnectTimeout: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.call('SHUTDOWN').catch(() => {}); // the connection drops when the server exits
  } finally {
    client.disconnect();
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      await pingRedis(socketOptions, 500);
    } catch {
      rmSync(socketPath, { force: true });
      return;
    }
    await sleep(100);
  }
  throw new RedisUnavailableError(`the orphaned redis-server on ${socketPath} did not shut down; stop it by hand (see ${ownerPath})`);
}

async function terminate(c: RedisChild): Promise<void> {
  if (c.exited() !== undefined || c.child.pid === undefined) return;
  c.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), 15_000);
  });
  const outcome = await Promise.race([c.exitPromise.then(() => 'exited' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout' && c.exited() === undefined) {
    c.child.kill('SIGKILL');
    await c.exitPromise;
  }
}

function embeddedConfig(paths: { dir: string; socketPath: string; logPath: string }): string {
  return [
    '# Written by thukho at every start of the embedded profile; edits are overwritten.',
    'daemonize no',
    'supervised no',
    'port 0',
    `unixsocket ${quoteConf(paths.socketPath)}`,
    'unixsocketperm 700',
    `dir ${quoteConf(paths.dir)}`,
    `logfile ${quoteConf(paths.logPath)}`,
    'loglevel notice',
    'always-show-logo no',
    'save ""',
    'appendonly yes',
    'appendfsync everysec',
    'appendfilename "appendonly.aof"',
    'appenddirname "appendonlydir"',
    'aof-use-rdb-preamble yes',
    // BullMQ needs its keys kept: never evict.
    'maxmemory-policy noeviction',
    '',
  ].join('\n');
}

/** A double-quoted redis.conf value (redis parses it with sdssplitargs). */
function quoteConf(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

// ---------------------------------------------------------------------------------------------
// Finding (and, as root, installing) redis-server
// ---------------------------------------------------------------------------------------------

export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((d) => join(d, 'redis-server')), '/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server']) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

async function ensureRedisServer(logger: Logger): Promise<string> {
  const found = findRedisServer();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    throw new RedisUnavailableError(
      `Không tìm thấy redis-server. Hãy chạy lệnh: ${INSTALL_COMMAND}\n` +
        `redis-server was not found. Run: ${INSTALL_COMMAND}\n` +
        `(or set REDIS_URL to an existing Redis / hoặc đặt REDIS_URL trỏ tới một Redis có sẵn)`,
    );
  }
  logger.warn('redis-server not found; installing it with apt-get install -y redis-server (running as root)');
  let result = await run('apt-get', ['install', '-y', 'redis-server']);
  if (result.code !== 0) {
    logger.warn({ output: result.output }, 'apt-get install failed; running apt-get update and trying again');
    const update = await run('apt-get', ['update']);
    if (update.code !== 0) logger.warn({ output: update.output }, 'apt-get update failed');
    result = await run('apt-get', ['install', '-y', 'redis-server']);
  }
  const installed = findRedisServer();
  if (result.code !== 0 || !installed) {
    throw new RedisUnavailableError(
      `Cài redis-server thất bại / installing redis-server failed (apt-get exit ${result.code}). Run by hand: ${INSTALL_COMMAND}\n${result.output}`,
    );
  }
  logger.info({ binary: installed }, 'installed redis-server');
  return installed;
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const output = new Tail(16 * 1024);
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', (err) => resolveRun({ code: 127, output: `${command}: ${err.message}` }));
    child.once('close', (code) => resolveRun({ code: code ?? 1, output: output.text() }));
  });
}

// ---------------------------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------------------------

/** Keeps the last `limit` bytes of a stream, for error messages. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

function readTail(path: string, bytes = 4096): string {
  try {
    const all = readFileSync(path);
    return all.subarray(Math.max(0, all.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return existsSync(path);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
