/**
 * Recovery bench (issue 16). One repository of generated works in a real SQLite log and a
 * real OCFL storage root (each work: registered, one small PNG master ingested through the
 * real ingest path, two metadata edits, three fixity facts), every work described in OCFL.
 * Measured, side by side in one run:
 *   1. an edit as today (executeObjectCommand EditMetadata) and an edit that also writes its
 *      OCFL description version (the same, then Describer.describe, as the API does), taking
 *      turns on the same works: p50 / p95 and the ratio of the p95s (target ≤ 3×);
 *   2. a batch edit of 500 works, each edit with its version, 16 at a time (target ≤ 2 min);
 *   3. `recoverFromRoot` from that root into an empty log and root: works/s and events/s, and
 *      beside it `cp -a` of the same root followed by `sync` (the copy alone, the floor of
 *      any recovery that must copy the bytes), with the ratio recover / cp.
 * The recovered log is checked (verifyLog; every work back) before the figures are printed.
 *
 *   npm run bench:recovery               5,000 works (≈ 3–5 min on 2 cores)
 *   npm run bench:recovery -- --quick    500 works
 * Options: --works=N, --keep (leave the temp dir).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import sharp from 'sharp';
import { ingestFile, type IngestServices, processStagingDir } from '../../src/application/ingest.ts';
import { IngestJournal } from '../../src/application/ingest-journal.ts';
import { KeyedLock } from '../../src/application/keyed-lock.ts';
import { recordFacts } from '../../src/application/machine-facts.ts';
import { executeObjectCommand, loadObject } from '../../src/application/object-commands.ts';
import { recoverFromRoot } from '../../src/application/recover.ts';
import { createUser } from '../../src/application/users.ts';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/serve.ts';
import { Describer } from '../../src/application/self-description.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { waitQuiet } from '../machine.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const WORKS = Number(value('works') ?? (flag('quick') ? 500 : 5000));
const EDIT_SAMPLES = 200;
const BATCH = Math.min(500, WORKS);
const ACTOR = { actor: { id: 'bench', role: 'admin' } };
const log = pino({ level: 'warn' });

async function pool<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>, label?: string): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
      done++;
      if (label && done % 500 === 0) process.stderr.write(`\r${label}: ${done}/${items.length}`);
    }
  };
  await Promise.all(Array.from({ length: size }, worker));
  if (label) process.stderr.write(`\r${label}: ${items.length}/${items.length}\n`);
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-bench-recovery-'));
  try {
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    const services: IngestServices = {
      store,
      ocfl: await OcflStorageRoot.open(join(dir, 'ocfl')),
      journal: new IngestJournal(join(dir, 'ingest-journal')),
      stagingDir: await processStagingDir(dir),
      maxPixels: 1e9,
      maxFileBytes: 1e9,
      md5: false,
      locks: new KeyedLock(join(dir, 'locks')),
    };
    const describer = new Describer(services);
    const ids = Array.from({ length: WORKS }, (_, i) => `w${String(i).padStart(5, '0')}`);

    // ---- the repository
    let started = performance.now();
    await pool(ids, 8, async (id, i) => {
      await executeObjectCommand(store, { type: 'RegisterObject', objectId: id, metadata: { title: `Tài liệu ${i}: Đại Nam nhất thống chí`, language: ['vie'] }, accessLevel: i % 10 === 0 ? 'restricted' : 'open' }, ACTOR);
      const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: i % 256, g: (i >> 8) % 256, b: 7 } } }).png().toBuffer();
      await ingestFile(services, { objectId: id, source: Readable.from([png]), name: 'trang-1.png', role: 'master', actor: ACTOR.actor });
      for (const n of [1, 2]) await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { description: `Hiệu đính lần ${n}` } }, ACTOR);
      const { state } = await loadObject(store, id);
      const file = state.status === 'absent' ? undefined : state.files[0];
      if (!file) throw new Error(`no file on ${id}`);
      await recordFacts(
        store,
        id,
        [0, 1, 2].map(() => ({
          type: 'FixityChecked' as const,
          data: {
            objectId: id,
            fileId: file.fileId,
            target: 'master' as const,
            path: file.storage.path,
            storageRoot: { label: 'primary', path: join(dir, 'ocfl') },
            outcome: 'pass' as const,
            algorithm: 'sha512' as const,
            expected: { sha512: file.digests.sha512, sha256: file.digests.sha256 },
            actual: { sha512: file.digests.sha512, sha256: file.digests.sha256 },
            bytes: file.size,
            durationMs: 1,
          },
        })),
        ACTOR,
      );
      await describer.describe({ kind: 'object', id });
    }, 'building');
    const buildSeconds = (performance.now() - started) / 1000;
    const head = await store.headPosition();

    // ---- 1. an edit, with and without its version, taking turns
    await waitQuiet();
    const plain: number[] = [];
    const described: number[] = [];
    for (let i = 0; i < EDIT_SAMPLES; i++) {
      const id = ids[(i * 7919) % ids.length] as string;
      const order = i % 2 === 0 ? [false, true] : [true, false];
      for (const withVersion of order) {
        const t0 = performance.now();
        await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { title: `Sửa ${i} ${withVersion ? 'có' : 'không'} phiên bản` } }, ACTOR);
        if (withVersion) await describer.describe({ kind: 'object', id });
        (withVersion ? described : plain).push(performance.now() - t0);
      }
    }
    // Bring the works edited without a version up to date before the batch and the recovery.
    await pool(ids, 8, (id) => describer.describe({ kind: 'object', id }).then(() => {}));

    // ---- 1b. the same through the API, as staff see it: one server answers once the version
    // is durable (THUKHO_DESCRIBE_EDITS=wait, the default), one at once with the version
    // following (after: today's request path), taking turns on works of their own.
    const http = await httpEdits(dir);

    // ---- 2. a batch edit of 500 works
    await waitQuiet();
    started = performance.now();
    await pool(ids.slice(0, BATCH), 16, async (id, i) => {
      await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { creator: `Quốc sử quán triều Nguyễn (${i})` } }, ACTOR);
      await describer.describe({ kind: 'object', id });
    });
    const batchSeconds = (performance.now() - started) / 1000;
    const events = Number((await store.headPosition()) ?? 0n);
    await store.close();

    // ---- 3. recovery, beside cp -a + sync of the same root
    await waitQuiet();
    spawnSync('sync');
    started = performance.now();
    const cp = spawnSync('cp', ['-a', join(dir, 'ocfl'), join(dir, 'ocfl-copy')]);
    spawnSync('sync');
    const cpSeconds = (performance.now() - started) / 1000;
    if (cp.status !== 0) throw new Error(`cp failed: ${cp.stderr}`);
    rmSync(join(dir, 'ocfl-copy'), { recursive: true, force: true });

    await waitQuiet();
    spawnSync('sync');
    const recovered = new SqliteEventStore(join(dir, 'recovered.sqlite'));
    const target = { path: join(dir, 'recovered-ocfl'), root: await OcflStorageRoot.open(join(dir, 'recovered-ocfl')) };
    started = performance.now();
    const report = await recoverFromRoot({ from: join(dir, 'ocfl'), store: recovered, target });
    spawnSync('sync');
    const recoverSeconds = (performance.now() - started) / 1000;
    const check = await verifyLog(recovered);
    await recovered.close();
    const works = report.recovered.filter((r) => r.kind === 'object').length;
    if (works !== WORKS || report.notRecovered.length || check.broken.length) {
      throw new Error(`recovery incomplete: ${works}/${WORKS} works, ${report.notRecovered.length} not recovered, ${check.broken.length} broken streams`);
    }

    const p = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms`;
    const ratio = (a: number[], b: number[]) => `ratio at p95: ${(quantile(a, 0.95) / quantile(b, 0.95)).toFixed(2)}× (target ≤ 3×), at p50: ${(quantile(a, 0.5) / quantile(b, 0.5)).toFixed(2)}×`;
    const lines = [
      `repository: ${WORKS} works, ${events} events (built and described in ${buildSeconds.toFixed(0)} s; log head before the measurements ${head})`,
      `PATCH /api/objects/ID, answered at once (as today):   ${p(http.after)}`,
      `PATCH /api/objects/ID, answered once its version is durable: ${p(http.wait)}`,
      `  ${ratio(http.wait, http.after)}`,
      `in process, the command alone:          ${p(plain)}`,
      `in process, the command + its version:  ${p(described)}`,
      `  ${ratio(described, plain)}`,
      `batch edit of ${BATCH} works, each with its version, 16 at a time: ${batchSeconds.toFixed(1)} s (target ≤ 120 s)`,
      `recover: ${recoverSeconds.toFixed(1)} s, ${(works / recoverSeconds).toFixed(0)} works/s, ${(report.events / recoverSeconds).toFixed(0)} events/s (${report.events} events, ${report.streams} streams)`,
      `cp -a + sync of the same root: ${cpSeconds.toFixed(1)} s; recover / cp = ${(recoverSeconds / cpSeconds).toFixed(2)}× the time`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (!flag('keep')) rmSync(dir, { recursive: true, force: true });
    else log.warn({ dir }, 'kept');
  }
}

async function httpEdits(dir: string): Promise<{ wait: number[]; after: number[] }> {
  const servers: Array<{ mode: 'wait' | 'after'; server: RunningServer; token: string; ids: string[]; etags: Map<string, string> }> = [];
  for (const mode of ['wait', 'after'] as const) {
    const config = loadConfig({
      THUKHO_DATA_DIR: join(dir, `http-${mode}`),
      THUKHO_PORT: '0',
      THUKHO_HOST: '127.0.0.1',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      THUKHO_QUEUE_PREFIX: `bench-recovery-${process.pid}-${mode}`,
      THUKHO_OCR: 'off',
      THUKHO_LOG_LEVEL: 'warn',
      THUKHO_DESCRIBE_EDITS: mode,
    });
    const server = await startServer(config, log, { workers: false });
    const { token } = await createUser(server.store, `bench-${mode}`, 'Bench', 'curator', ACTOR);
    servers.push({ mode, server, token, ids: [] as string[], etags: new Map<string, string>() });
  }
  try {
    const call = async (s: (typeof servers)[number], method: string, path: string, body: unknown, etag?: string) => {
      const res = await fetch(`${s.server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...(etag ? { 'if-match': etag } : {}) },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return { etag: res.headers.get('etag') ?? '', json: JSON.parse(text) as { id: string } };
    };
    for (const s of servers) {
      for (let i = 0; i < 50; i++) {
        const created = await call(s, 'POST', '/api/objects', { title: `Tài liệu ${i}`, accessLevel: 'open' });
        s.ids.push(created.json.id);
        s.etags.set(created.json.id, created.etag);
      }
    }
    const out = { wait: [] as number[], after: [] as number[] };
    for (let i = 0; i < EDIT_SAMPLES; i++) {
      const order = i % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const id = s.ids[i % s.ids.length] as string;
        const t0 = performance.now();
        const r = await call(s, 'PATCH', `/api/objects/${id}`, { title: `Sửa lần ${i}` }, s.etags.get(id));
        out[s.mode].push(performance.now() - t0);
        s.etags.set(id, r.etag);
      }
    }
    return out;
  } finally {
    for (const s of servers) await s.server.stop();
  }
}

await main();
