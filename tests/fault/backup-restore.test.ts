import { createHash } from 'node:crypto';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/serve.ts';
import { type Json, staffCall, uploadFile } from '../helpers/api.ts';
import { cliEnv, ROOT, run, show, thukho } from '../helpers/cli.ts';
import { flipByte } from '../helpers/damage.ts';
import { page } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The restore drill (issue 16): a real repository (SQLite log, OCFL root, HTTP over a socket)
 * takes works, uploads and edits while `thukho backup` runs in another process; the data
 * directory is destroyed; `thukho restore` puts the backup into a new one, and a server started
 * on it holds every write acknowledged before the backup began, with chains that verify and
 * the same accounts. A backup that was altered or cut short is refused. Then ops/backup and
 * ops/restore, as a timer runs them.
 */
const test = anyTest as TestFn<unknown>;
const newDir = tempDirs(test, 'thukho-backup-');

interface Ack {
  at: number;
  objectId: string;
  /** The record's revision once this write was acknowledged, and its title then. */
  revision: number;
  title: string;
  file?: { fileId: string; sha256: string };
}

async function patchTitle(s: Pick<TestServer, 'url' | 'staffToken'>, objectId: string, revision: number, title: string): Promise<number> {
  const res = await fetch(`${s.url}/api/objects/${objectId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': `"${revision}"` },
    body: JSON.stringify({ title }),
  });
  if (res.status !== 200) throw new Error(`PATCH ${objectId}: ${res.status} ${await res.text()}`);
  return Number((res.headers.get('etag') ?? '').replace(/\D/g, ''));
}

/** One writer: register a work, upload a page, edit its title, again and again until told to stop. */
async function writer(s: TestServer, name: string, acks: Ack[], stop: { now: boolean }): Promise<void> {
  for (let i = 0; !stop.now; i++) {
    const title = `Địa bạ ${name} số ${i}`;
    const o = await staffCall(s, 'POST', '/api/objects', { title });
    const objectId = o.id as string;
    acks.push({ at: Date.now(), objectId, revision: 0, title });
    const bytes = await page(`${name} ${i}`, { width: 320, height: 240, format: 'png' });
    const f = await uploadFile(s, objectId, bytes, 'trang_1.png');
    acks.push({ at: Date.now(), objectId, revision: 1, title, file: { fileId: f.fileId as string, sha256: createHash('sha256').update(bytes).digest('hex') } });
    const edited = `${title} (đã hiệu đính)`;
    const revision = await patchTitle(s, objectId, 1, edited);
    acks.push({ at: Date.now(), objectId, revision, title: edited });
  }
}

test.serial('restore drill: backup under ingest and edits, destroy, restore: nothing acknowledged before the backup began is missing; the chains verify', async (t) => {
  const server = await startTestServer();
  const acks: Ack[] = [];
  const stop = { now: false };
  const backups = newDir();
  const backupDir = join(backups, 'b1');
  let backup;
  let started: number;
  try {
    const writers = [writer(server, 'Bắc Ninh', acks, stop), writer(server, 'Hà Đông', acks, stop)];
    // Some history first, then the backup while the writers go on.
    while (acks.length < 24) await new Promise((r) => setTimeout(r, 50));
    started = Date.now();
    backup = await thukho(server.dataDir, ['backup', '--to', backupDir], { REDIS_URL: undefined });
    stop.now = true;
    await Promise.all(writers);
  } finally {
    stop.now = true;
    await server.close(); // stops the server and deletes its data directory: the disk is gone
  }
  t.is(backup.code, 0, show(backup));
  t.regex(backup.stdout, /backed up/);
  t.false(existsSync(server.dataDir), 'the original data directory is destroyed');
  const before = acks.filter((a) => a.at < started);
  const during = acks.filter((a) => a.at >= started);
  t.true(before.length >= 24);
  t.true(during.length > 0, 'writes went on while the backup ran');
  t.log(`${before.length} writes acknowledged before the backup began, ${during.length} while it ran`);
  const manifest = JSON.parse(await readFile(join(backupDir, 'backup.json'), 'utf8')) as Json;
  t.like(manifest, { format: 'thukho-backup/1', ocfl: { mode: 'copied' } });
  t.true(BigInt((manifest.log as Json).headInCopy as string) >= BigInt((manifest.log as Json).headAtStart as string));

  // Restore into a new directory and serve it.
  const restored = join(newDir(), 'data');
  const r = await thukho(restored, ['restore', '--from', backupDir]);
  t.is(r.code, 0, show(r));
  t.regex(r.stdout, /restored from/);
  t.regex(r.stdout, /hash chains intact/);
  const verified = await thukho(restored, ['verify']);
  t.is(verified.code, 0, show(verified));
  t.regex(verified.stderr + verified.stdout, /hash chains intact/);

  const config = loadConfig({
    THUKHO_DATA_DIR: restored,
    THUKHO_PORT: '0',
    THUKHO_HOST: '127.0.0.1',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    THUKHO_QUEUE_PREFIX: `t-${process.pid}-restored`,
  });
  const again: RunningServer = await startServer(config, pino({ level: 'silent' }));
  try {
    // The same staff token: accounts come back from the log.
    const s = { url: again.url, staffToken: server.staffToken };
    for (const a of before) {
      const o = await staffCall(s, 'GET', `/api/objects/${a.objectId}`);
      t.is(o.id, a.objectId, `${a.objectId} is there`);
      t.true((o.revision as number) >= a.revision, `${a.objectId} at revision ≥ ${a.revision}`);
      if (a.title.endsWith('(đã hiệu đính)')) t.is(o.title, a.title, `the edit of ${a.objectId} is there`);
      if (a.file) {
        const res = await fetch(`${again.url}/api/objects/${a.objectId}/files/${a.file.fileId}/content`, { headers: { authorization: `Bearer ${server.staffToken}` } });
        t.is(res.status, 200, `${a.objectId}/${a.file.fileId}`);
        t.is(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'), a.file.sha256, `the bytes of ${a.file.fileId}`);
      }
    }
  } finally {
    await again.stop();
  }

  // After a restore, fixity finds no failure: absent derivatives are made again.
  const fixity = await thukho(restored, ['fixity', '--all', '--json']);
  t.is(fixity.code, 0, show(fixity));
  t.like(JSON.parse(fixity.stdout) as Json, { failed: 0, damaged: 0 });
});

test.serial('a backup altered, cut short or restored onto a repository in use is refused, and nothing is changed', async (t) => {
  const server = await startTestServer();
  const backups = newDir();
  const good = join(backups, 'good');
  try {
    const o = await staffCall(server, 'POST', '/api/objects', { title: 'Truyện Kiều' });
    await uploadFile(server, o.id as string, await page('Trăm năm trong cõi người ta', { width: 320, height: 240, format: 'png' }), 'trang_1.png');
    const b = await thukho(server.dataDir, ['backup', '--to', good], { REDIS_URL: undefined });
    t.is(b.code, 0, show(b));
    const notEmpty = await thukho(server.dataDir, ['backup', '--to', good]);
    t.is(notEmpty.code, 2, show(notEmpty));
    t.regex(notEmpty.stderr, /is not empty/);

    // A destination in use: refused (exit 2), untouched.
    const inUse = await thukho(server.dataDir, ['restore', '--from', good]);
    t.is(inUse.code, 2, show(inUse));
    t.regex(inUse.stderr, /not empty/);
  } finally {
    await server.close();
  }

  // One flipped byte in a master.
  const altered = join(backups, 'altered');
  await cp(good, altered, { recursive: true });
  const manifest = JSON.parse(await readFile(join(altered, 'backup.json'), 'utf8')) as { files: Array<{ path: string }> };
  const master = manifest.files.find((f) => f.path.includes('/content/')) as { path: string };
  await flipByte(join(altered, ...master.path.split('/')), 100);
  const target = join(newDir(), 'data');
  const refused = await thukho(target, ['restore', '--from', altered]);
  t.is(refused.code, 1, show(refused));
  t.regex(refused.stderr, /REFUSED/);
  t.true(refused.stderr.includes(master.path) && /SHA-256/.test(refused.stderr), refused.stderr);
  t.false(existsSync(target), 'nothing was written');

  // A log rewritten in the backup, its digest "fixed" in backup.json to match: the chain says so.
  const rewritten = join(backups, 'rewritten');
  await cp(good, rewritten, { recursive: true });
  const logPath = join(rewritten, 'log', 'events.sqlite');
  const db = new Database(logPath);
  db.exec('DROP TRIGGER events_are_immutable');
  db.prepare("UPDATE events SET data = replace(data, 'Truyện Kiều', 'Truyện Hoa Tiên') WHERE type = 'ObjectRegistered'").run();
  db.close();
  const m = JSON.parse(await readFile(join(rewritten, 'backup.json'), 'utf8')) as { files: Array<{ path: string; size: number; sha256: string }>; totals: { bytes: number } };
  const entry = m.files.find((f) => f.path === 'log/events.sqlite') as { size: number; sha256: string };
  const bytes = await readFile(logPath);
  m.totals.bytes += bytes.length - entry.size;
  entry.size = bytes.length;
  entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(rewritten, 'backup.json'), JSON.stringify(m));
  const chain = await thukho(target, ['restore', '--from', rewritten]);
  t.is(chain.code, 1, show(chain));
  t.regex(chain.stderr, /broken hash chain/);
  t.false(existsSync(target));

  // A file planted in the backup.
  const extra = join(backups, 'extra');
  await cp(good, extra, { recursive: true });
  await writeFile(join(extra, 'ocfl', 'planted.txt'), 'x');
  const planted = await thukho(target, ['restore', '--from', extra]);
  t.is(planted.code, 1, show(planted));
  t.regex(planted.stderr, /planted\.txt: .*not in backup\.json/);

  // Cut short: no backup.json.
  const cut = join(backups, 'cut');
  await cp(good, cut, { recursive: true });
  await rm(join(cut, 'backup.json'));
  const unfinished = await thukho(target, ['restore', '--from', cut]);
  t.is(unfinished.code, 1, show(unfinished));
  t.regex(unfinished.stderr, /no backup\.json: the backup never finished/);
  t.false(existsSync(target));

  // The good one restores; a second restore onto it is refused, and --force moves it aside.
  const ok = await thukho(target, ['restore', '--from', good]);
  t.is(ok.code, 0, show(ok));
  const twice = await thukho(target, ['restore', '--from', good]);
  t.is(twice.code, 2, show(twice));
  const forced = await thukho(target, ['restore', '--from', good, '--force']);
  t.is(forced.code, 0, show(forced));
  const aside = (await readdir(join(target, '..'))).filter((e) => e.startsWith('data.before-restore-'));
  t.is(aside.length, 1, 'what was there is moved aside, not deleted');
});

test.serial('ops/backup and ops/restore: a timer’s backups with retention, then the newest restored', async (t) => {
  const server = await startTestServer();
  const dest = newDir();
  const envFile = join(newDir(), 'thukho.env');
  const restored = join(newDir(), 'data');
  try {
    await staffCall(server, 'POST', '/api/objects', { title: 'Đại Nam thực lục' });
    // What a systemd unit gives it: an env file and little else.
    await writeFile(envFile, `THUKHO_DATA_DIR=${server.dataDir}\nTHUKHO_LOG_LEVEL=warn\n`);
    const env = cliEnv(server.dataDir, { THUKHO_DATA_DIR: undefined, THUKHO_LOG_LEVEL: undefined, THUKHO_ENV_FILE: envFile, NODE: process.execPath });
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1100)); // one backup per second at most (the name is the time)
      const b = await run('bash', [join(ROOT, 'ops/backup'), dest, '--keep', '2'], env);
      t.is(b.code, 0, show(b));
      made.push(b.stdout.trim().split('\n').pop() as string);
    }
    const kept = (await readdir(dest)).filter((e) => !e.startsWith('.')).sort();
    t.deepEqual(kept.map((k) => join(dest, k)), made.slice(1), 'the newest two are kept');

    const usage = await run('bash', [join(ROOT, 'ops/backup')], env);
    t.is(usage.code, 2);
    t.regex(usage.stderr, /ops\/backup DEST/);

    await writeFile(envFile, `THUKHO_DATA_DIR=${restored}\n`);
    const r = await run('bash', [join(ROOT, 'ops/restore'), '--latest', dest], env);
    t.is(r.code, 0, show(r));
    t.regex(r.stdout, new RegExp(`restored from ${made[2]}`));
    const verified = await thukho(restored, ['verify']);
    t.is(verified.code, 0, show(verified));
    const again = await run('bash', [join(ROOT, 'ops/restore'), '--latest', dest], env);
    t.is(again.code, 2, show(again));
  } finally {
    await server.close();
  }
});
