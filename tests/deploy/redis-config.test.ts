import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { findRedisServer, pingRedis, redisConnectionOptions } from '../../src/queue/redis.ts';
import { freePort } from '../helpers/cli.ts';
import { ANSIBLE_DIR, recap, renderRoleTemplates, requireBinary, run } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The redis role's configuration files, rendered by Ansible from the role's templates and
 * defaults, run by a real redis-server (and Sentinel): the single profile's drop-in (unix
 * socket 770, password, AOF, noeviction), and the cluster profile's server + Sentinel files,
 * reached the way the app reaches them (REDIS_URL=redis+sentinel://…). Paths and ports point
 * into a temp dir and at spare ports; nothing of the system's Redis is touched.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-redis-role-'));
chmodSync(dir, 0o755);
const children: ChildProcess[] = [];
const PASSWORD = 'mat-khau:redis@42/+%';
const SENTINEL_PASSWORD = 'mat-khau-sentinel-42';

test.before(() => {
  requireBinary('ansible-playbook', 'apt-get install -y ansible');
  if (!findRedisServer()) throw new Error('redis-server is not installed (apt-get install -y redis-server); this test runs the role\'s configuration in a real one');
});

test.after.always(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): ChildProcess {
  const child = spawn(findRedisServer()!, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  child.once('exit', (code) => {
    if (code) console.error(`redis exited with ${code}:\n${output}`);
  });
  children.push(child);
  return child;
}

async function until(what: string, check: () => Promise<void>): Promise<void> {
  let last: unknown;
  const giveUpAt = Date.now() + scaledTimeout(60_000); // a hang guard, scaled
  while (Date.now() < giveUpAt) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what}: ${(last as Error)?.message}`);
}

test.serial('single profile: the drop-in gives a password-protected unix socket (770), AOF and noeviction', async (t) => {
  t.timeout(scaledTimeout(10 * 60_000));
  const work = join(dir, 'single');
  mkdirSync(work, { recursive: true });
  const socket = join(work, 'redis-server.sock');
  const port = await freePort();
  const dropin = join(work, 'thukho.conf');
  await renderRoleTemplates('redis', [{ src: 'redis-single.conf.j2', dest: dropin }], { vault_redis_password: PASSWORD, redis_unixsocket: socket, redis_port: port }, work);
  const text = readFileSync(dropin, 'utf8');
  t.regex(text, /^bind 127\.0\.0\.1$/m);
  t.regex(text, /^unixsocketperm 770$/m);
  // As Debian's redis.conf would end: its own settings, then the include line the role adds.
  const main = join(work, 'redis.conf');
  writeFileSync(main, ['bind 127.0.0.1 -::1', 'appendonly no', 'maxmemory-policy allkeys-lru', `dir ${work}`, 'daemonize no', `include ${dropin}`, ''].join('\n'));
  start([main]);
  const url = `unix://:${encodeURIComponent(PASSWORD)}@${socket}`;
  await until('redis-server with the drop-in', () => pingRedis(redisConnectionOptions(url), 500));
  t.is(statSync(socket).mode & 0o777, 0o770);
  const client = new Redis({ ...redisConnectionOptions(url), lazyConnect: true });
  try {
    await client.connect();
    t.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
    t.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
    t.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
  } finally {
    client.disconnect();
  }
  await t.throwsAsync(pingRedis(redisConnectionOptions(`unix://${socket}`), 1000), { message: /NOAUTH|auth/i }, 'no password, no answer');
});

test.serial('cluster profile: redis-server and Sentinel from the role\'s files; the app finds the master through redis+sentinel://', async (t) => {
  t.timeout(scaledTimeout(10 * 60_000));
  const work = join(dir, 'cluster');
  mkdirSync(work, { recursive: true });
  const [port, sentinelPort] = [await freePort(), await freePort()];
  const common = {
    vault_redis_password: PASSWORD,
    redis_sentinel_password: SENTINEL_PASSWORD,
    thukho_profile: 'cluster',
    redis_port: port,
    redis_sentinel_port: sentinelPort,
    redis_master_address: '127.0.0.2',
  };
  const master = join(work, 'redis-master.conf');
  const replica = join(work, 'redis-replica.conf');
  const sentinel = join(work, 'sentinel.conf');
  await renderRoleTemplates('redis', [{ src: 'redis-cluster.conf.j2', dest: master }, { src: 'sentinel.conf.j2', dest: sentinel }], { ...common, redis_cluster_address: '127.0.0.2' }, work);
  await renderRoleTemplates('redis', [{ src: 'redis-cluster.conf.j2', dest: replica }], { ...common, redis_cluster_address: '127.0.0.3' }, join(work, 'replica'));
  t.notRegex(readFileSync(master, 'utf8'), /^replicaof/m, 'the master follows nobody');
  t.regex(readFileSync(replica, 'utf8'), new RegExp(`^replicaof 127\\.0\\.0\\.2 ${port}$`, 'm'));
  t.regex(readFileSync(sentinel, 'utf8'), new RegExp(`^sentinel monitor thukho 127\\.0\\.0\\.2 ${port} 2$`, 'm'));

  // The packaged paths (/var/lib/redis, /run/redis) are replaced by the temp dir here.
  const local = (file: string) => {
    const text = readFileSync(file, 'utf8').replace(/^dir .*$/m, `dir ${work}`).replace(/^pidfile .*$/m, `pidfile ${file}.pid`);
    writeFileSync(file, text);
  };
  local(master);
  local(sentinel);
  // One sentinel here, so a quorum of 1 (the role's default of 2 needs the other sentinels).
  writeFileSync(sentinel, readFileSync(sentinel, 'utf8').replace(/ 2$/m, ' 1'));
  const before = readFileSync(sentinel, 'utf8');
  start([master]);
  await until('the master', () => pingRedis({ host: '127.0.0.2', port, password: PASSWORD }, 500));
  start([sentinel, '--sentinel']);
  await until('the sentinel', () => pingRedis({ host: '127.0.0.2', port: sentinelPort, password: SENTINEL_PASSWORD }, 500));

  const url = `redis+sentinel://:${encodeURIComponent(PASSWORD)}@127.0.0.2:${sentinelPort}/thukho?sentinelPassword=${encodeURIComponent(SENTINEL_PASSWORD)}`;
  const client = new Redis({ ...redisConnectionOptions(url), lazyConnect: true });
  try {
    await client.connect();
    t.is(await client.ping(), 'PONG');
    await client.set('thukho:role-test', 'ok');
    t.is(await client.get('thukho:role-test'), 'ok');
    t.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
    t.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  } finally {
    client.disconnect();
  }
  // Sentinel rewrites its own file at runtime (the reason the role writes it only when the inventory changes).
  await until('Sentinel rewriting its file', async () => {
    if (!/sentinel myid /.test(readFileSync(sentinel, 'utf8'))) throw new Error('not yet');
  });
  t.not(readFileSync(sentinel, 'utf8'), before);
});

/** The whole role in check mode against this machine (nothing is changed), as "hosts" on 127.0.0.x. */
async function checkRole(profile: 'single' | 'cluster', hosts: number): Promise<string> {
  const work = join(dir, `check-${profile}`);
  mkdirSync(work, { recursive: true });
  const inventory = join(work, 'inventory.yml');
  const lines = Array.from({ length: hosts }, (_, i) => `        redis${i + 1}: { thukho_cluster_address: 127.0.0.${i + 1} }`);
  writeFileSync(inventory, ['all:', '  vars:', '    ansible_connection: local', '    ansible_python_interpreter: /usr/bin/python3', '  children:', '    redis:', '      hosts:', ...lines, ''].join('\n'));
  const play = join(work, 'play.yml');
  writeFileSync(play, '- name: Exercise the redis role\n  hosts: redis\n  gather_facts: false\n  roles:\n    - role: redis\n');
  const vars = { thukho_profile: profile, vault_redis_password: 'kiem-tra-mat-khau-redis-0123', vault_redis_sentinel_password: 'kiem-tra-mat-khau-sentinel-01' };
  const result = await run('ansible-playbook', ['-i', inventory, play, '--check', '--diff', '-e', JSON.stringify(vars)], { env: { ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'), ANSIBLE_STDOUT_CALLBACK: 'default' } });
  if (result.code !== 0) throw new Error(result.output);
  for (let i = 1; i <= hosts; i++) if (recap(result.output, `redis${i}`).failed !== 0) throw new Error(result.output);
  if (result.output.includes(vars.vault_redis_password) || result.output.includes(vars.vault_redis_sentinel_password)) throw new Error(`a password shows in the output:\n${result.output}`);
  return result.output;
}

test.serial('the role in check mode, single profile: the drop-in and the include line in the packaged redis.conf', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const output = await checkRole('single', 1);
  t.regex(output, /TASK \[redis : Write the thukho Redis drop-in\]/);
  t.regex(output, /\+include \/etc\/redis\/thukho\.conf/);
  t.notRegex(output, /TASK \[redis : Ask the local Sentinel/);
});

test.serial('the role in check mode, cluster profile: a fingerprint per host, full config files, systemd drop-ins for both units', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const output = await checkRole('cluster', 3);
  const fingerprints = [...output.matchAll(/^\+([0-9a-f]{64})$/gm)].map((m) => m[1]);
  t.is(new Set(fingerprints).size, 6, 'server and Sentinel fingerprints differ from host to host (each binds its own address)');
  t.regex(output, /\+ExecStart=\/usr\/bin\/redis-server \/etc\/redis\/redis-thukho\.conf --supervised systemd --daemonize no/);
  t.regex(output, /\+ExecStart=\/usr\/bin\/redis-sentinel \/etc\/redis\/sentinel-thukho\.conf --supervised systemd --daemonize no/);
  t.notRegex(output, /TASK \[redis : Write the thukho Redis drop-in\]/);
});
