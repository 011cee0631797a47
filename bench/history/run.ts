/**
 * History bench (issue 11, section 2: streams stay cheap as history grows). Two works in one
 * real SQLite log, side by side in one run:
 *   - fresh: registered, 1,000 pages ingested one by one (RecordFileIngested), and what a work
 *     has a day later (a derivative per page, v1 verified on two replicas: 1,002 facts);
 *   - old:   the same, plus years of cycles: every master and inventory checked on three
 *     roots and every pyramid checked, replicas re-verified, a few pyramids re-made, until
 *     its preservation stream holds 60,000 facts (10,000 with --quick).
 * Both show exactly the same work (the later facts change nothing), so any difference in cost
 * is the cost of history. Measured, per work:
 *   - an edit (executeObjectCommand EditMetadata with the expected revision), in a fresh
 *     process (a new store instance: the stream-fold cache is per instance) and warm;
 *   - a fixity record (recordFact FixityChecked);
 *   - a manifest rebuild: the manifests projection applying the edit's event on a caught-up
 *     read-model database (applyBatch), i.e. that work's IIIF manifest built again;
 *   - a fixity plan (planObjectFixity), warm and in a fresh process.
 * Fresh and old take turns within each step of each repetition (fresh, old, old, fresh, …,
 * reversed every other repetition), so both see the same machine; the ops of a few ms, which one
 * fsync more or less on this shared disk swings by 2×, get four samples per repetition. The
 * table shows the median per operation, the ratio old/fresh against the target ≤ 1.2× (and the
 * median of the ratios within one repetition, less sensitive to the machine's drift), and how
 * many events each operation read from the store (a wrapper counts what readStream/readAll hand
 * out): that count does not depend on the machine. A failed op is shown with the streams it read.
 * Before and after the measurements `verifyLog` checks every hash chain (the bench exits 1 on a
 * broken chain, an edit at the wrong revision, or a manifest not rebuilt with the edit).
 *
 *   npm run bench:history               60,000 facts, 25 repetitions (1.5–2.5 min on 2 busy cores)
 *   npm run bench:history -- --quick    10,000 facts, 10 repetitions (≈ 40–60 s)
 *
 * Options: --keep (leave the temp dir), --reps=N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { planObjectFixity, type FixityRoot } from '../../src/application/fixity.ts';
import { recordFact, recordFacts } from '../../src/application/machine-facts.ts';
import { executeObjectCommand, objectStream } from '../../src/application/object-commands.ts';
import { byPosition } from '../../src/application/work-history.ts';
import type { PreservationEvent } from '../../src/domain/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { readCheckpoint } from '../../src/projections/checkpoint.ts';
import { findManifest, manifestReadModel } from '../../src/projections/manifest-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, catchUpProjection, prepareProjection } from '../../src/projections/runtime.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { CountingStore } from '../../tests/helpers/counting-store.ts';
import { firstFacts, fixityFact, laterFacts, pageFile, ROOTS } from '../../tests/helpers/work-history.ts';
import { waitQuiet } from '../machine.ts';

// ---------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const known = ['quick', 'keep', 'reps'];
for (const a of args) {
  const name = a.replace(/^--/, '').split('=')[0] ?? '';
  if (!a.startsWith('--') || !known.includes(name)) {
    process.stderr.write(`unknown argument ${a}; options: ${known.map((k) => `--${k}`).join(' ')}\n`);
    process.exit(2);
  }
}
const QUICK = args.includes('--quick');
const KEEP = args.includes('--keep');
const PAGES = 1000;
const FACTS = QUICK ? 10_000 : 60_000;
const REPS = Number(args.find((a) => a.startsWith('--reps='))?.slice('--reps='.length) ?? (QUICK ? 10 : 25));
if (!Number.isInteger(REPS) || REPS < 1) {
  process.stderr.write('--reps must be a positive whole number\n');
  process.exit(2);
}
/** A fresh-process fixity plan of the old work may replay all its facts: fewer repetitions. */
const COLD_PLAN_EVERY = 5;
const TARGET = 1.2;
const FACTS_PER_APPEND = 1000;

const FRESH = 'sach-moi';
const OLD = 'sach-cu';
const WORKS = [FRESH, OLD] as const;
type Work = (typeof WORKS)[number];

const workDir = mkdtempSync(join(os.tmpdir(), 'thukho-bench-history-'));
let cleaned = false;
function cleanup(): void {
  if (cleaned || KEEP) return;
  cleaned = true;
  rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const log = (...xs: unknown[]) => console.log(...xs);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const now = () => performance.now();
const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
/** Wrong results make timings meaningless: the bench stops and exits 1. */
function invalid(message: string): never {
  process.stderr.write(`INVALID: ${message}\n`);
  process.exit(1);
}

const cataloguer = { actor: { id: 'cataloguer-nguyen-thi-thu', role: 'staff' } };
const fixityWorker = { actor: { id: 'worker:fixity', role: 'admin' } };
const logPath = join(workDir, 'events.sqlite');

// ---------------------------------------------------------------------------------------
// Building the two works

async function build(store: SqliteEventStore): Promise<Record<Work, bigint>> {
  const revision = {} as Record<Work, bigint>;
  const files = (id: Work) => Array.from({ length: PAGES }, (_, i) => pageFile(id, i));
  let t = now();
  const counting = new CountingStore(store);
  for (const id of WORKS) {
    await executeObjectCommand(
      counting,
      { type: 'RegisterObject', objectId: id, metadata: { title: 'Đại Việt sử ký toàn thư', creator: 'Ngô Sĩ Liên', language: ['lzh'] }, accessLevel: 'open' },
      cataloguer,
    );
  }
  // Page by page, both works at once (their appends share group commits), as a bulk ingest does.
  for (let i = 0; i < PAGES; i++) {
    const done = await Promise.all(WORKS.map((id) => executeObjectCommand(counting, { type: 'RecordFileIngested', objectId: id, file: pageFile(id, i) }, cataloguer)));
    done.forEach((r, k) => (revision[WORKS[k] as Work] = r.revision));
  }
  log(`ingest: 2 × ${fmt(PAGES)} pages one by one in ${(((now() - t) / 1000)).toFixed(1)} s, ${fmt(counting.read())} events read in all (a replay per page would be ${fmt(PAGES * (PAGES + 1))})`);

  t = now();
  const facts: Record<Work, PreservationEvent[]> = {
    [FRESH]: firstFacts(FRESH, files(FRESH)),
    [OLD]: [...firstFacts(OLD, files(OLD)), ...laterFacts(OLD, files(OLD), FACTS - firstFacts(OLD, []).length - PAGES)],
  };
  for (const id of WORKS) {
    const all = facts[id];
    for (let i = 0; i < all.length; i += FACTS_PER_APPEND) await recordFacts(store, id, all.slice(i, i + FACTS_PER_APPEND), fixityWorker);
  }
  const counts = (id: Work) => {
    const by = new Map<string, number>();
    for (const f of facts[id]) by.set(f.type, (by.get(f.type) ?? 0) + 1);
    return [...by].map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
  };
  log(`facts: fresh ${fmt(facts[FRESH].length)} (${counts(FRESH)}); old ${fmt(facts[OLD].length)} (${counts(OLD)}); written in ${((now() - t) / 1000).toFixed(1)} s`);
  return revision;
}

// ---------------------------------------------------------------------------------------
// Measurements

interface Sample {
  ms: number;
  /** CPU time of this process meanwhile (ms): what other tenants' load barely changes. */
  cpu: number;
  /** Events the operation read from the store. */
  read: number;
  /** Which streams it read, how often and how many events from each. */
  streams?: string;
}

interface Op {
  name: string;
  samples: Record<Work, Sample[]>;
  /** Paired ratios old/fresh, one per repetition. */
  paired: number[];
  note?: string;
}

const op = (name: string, note?: string): Op => ({ name, samples: { [FRESH]: [], [OLD]: [] }, paired: [], ...(note ? { note } : {}) });

async function main(): Promise<void> {
  log(`history bench (${QUICK ? 'quick' : 'full'}): ${fmt(PAGES)} pages per work, ${fmt(FACTS)} facts on the old work, ${REPS} repetitions`);
  log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; temp dir ${workDir}`);

  const store = new SqliteEventStore(logPath);
  const revision = await build(store);

  let t = now();
  const verified = await verifyLog(store);
  if (verified.broken.length > 0) invalid(`hash chain broken: ${JSON.stringify(verified.broken.slice(0, 3), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  log(`verify: ${verified.streams} streams, ${fmt(verified.events)} events, chains intact (${((now() - t) / 1000).toFixed(1)} s)`);

  t = now();
  const db = openReadModelDb(join(workDir, 'read-models.sqlite'));
  prepareProjection(db, manifestReadModel);
  await catchUpProjection(store, db, manifestReadModel);
  let checkpoint = readCheckpoint(db, manifestReadModel.name)?.position ?? null;
  const canvases = WORKS.map((id) => {
    const m = findManifest(db, id, { role: 'admin' }, 'record');
    return m.status === 'ok' ? (JSON.parse(m.json) as { items: unknown[] }).items.length : -1;
  });
  if (canvases.some((n) => n !== PAGES)) invalid(`manifests have ${canvases.join(' and ')} canvases, expected ${PAGES}`);
  log(`read model: manifests caught up in ${((now() - t) / 1000).toFixed(1)} s, ${PAGES} canvases each`);

  const roots: FixityRoot[] = [];
  for (const r of ROOTS) roots.push({ ...r, storage: await OcflStorageRoot.open(join(workDir, 'ocfl', r.label)) });
  const derivatives = new DerivativeStore(join(workDir, 'derivatives'));
  const expectedChecks = ROOTS.length * (PAGES + 1) + PAGES;

  // One long-lived process (warm caches) and, per measurement, a process that has read nothing.
  const warm = new CountingStore(new SqliteEventStore(logPath));
  const coldStore = async <T>(fn: (s: CountingStore) => Promise<T>): Promise<T> => {
    const s = new CountingStore(new SqliteEventStore(logPath));
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  const timed = async <T>(s: CountingStore, fn: () => Promise<T>): Promise<{ sample: Sample; value: T }> => {
    s.reset();
    const t0 = now();
    const c0 = process.cpuUsage();
    const value = await fn();
    const elapsed = now() - t0;
    const cpu = cpuMs(c0);
    const streams = `${s.calls.length} reads: ${[...s.byStream].map(([id, n]) => `${id} ${fmt(n)}`).join(', ') || 'no events'}`;
    return { sample: { ms: elapsed, cpu, read: s.read(), streams }, value };
  };

  let editNo = 0;
  const edit = async (s: CountingStore, id: Work) => {
    const title = `Đại Việt sử ký toàn thư, bản in ${++editNo}`;
    const { sample, value } = await timed(s, () => executeObjectCommand(s, { type: 'EditMetadata', objectId: id, changes: { title } }, cataloguer, revision[id]));
    if (value.revision !== revision[id] + 1n) invalid(`edit of ${id} went to revision ${value.revision}, expected ${revision[id] + 1n}`);
    revision[id] = value.revision;
    return { sample, title };
  };
  /** The manifests projection applying an edit's event, as the server's runner does. */
  const rebuildManifest = async (id: Work, title: string): Promise<Sample> => {
    let event: RecordedEvent | undefined;
    for await (const e of store.readStream(objectStream(id), { fromRevision: revision[id], maxCount: 1 })) event = e;
    if (!event) invalid(`no event at ${objectStream(id)}@${revision[id]}`);
    const t0 = now();
    const c0 = process.cpuUsage();
    const outcome = applyBatch(db, manifestReadModel, checkpoint, [event]);
    const sample = { ms: now() - t0, cpu: cpuMs(c0), read: 0 };
    if (outcome.kind !== 'applied') invalid('the manifests checkpoint moved under the bench');
    checkpoint = outcome.position;
    const m = findManifest(db, id, { role: 'admin' }, 'record');
    if (m.status !== 'ok' || m.revision !== Number(revision[id]) || !m.json.includes(title)) invalid(`the manifest of ${id} was not rebuilt with the edit`);
    return sample;
  };
  let fixityNo = 0;
  const recordCheck = async (id: Work): Promise<Sample> => {
    const fact = fixityFact(id, ROOTS[fixityNo++ % ROOTS.length] as (typeof ROOTS)[number], pageFile(id, fixityNo % PAGES));
    return (await timed(warm, () => recordFact(warm, id, fact, fixityWorker))).sample;
  };
  const plan = async (s: CountingStore, id: Work): Promise<Sample> => {
    const { sample, value } = await timed(s, () => planObjectFixity({ store: s, roots, derivatives }, id));
    if (value.checks.length !== expectedChecks) invalid(`fixity plan of ${id} has ${value.checks.length} checks, expected ${expectedChecks}`);
    return sample;
  };

  const ops = {
    editCold: op('edit, fresh process', 'executeObjectCommand EditMetadata on a new store instance'),
    editWarm: op('edit, warm', 'the same in a process that has the work folded'),
    fact: op('fixity record', 'recordFact FixityChecked'),
    manifest: op('manifest rebuild', 'applyBatch(manifests, [the edit]) on a caught-up read model'),
    planWarm: op('fixity plan, warm', 'planObjectFixity'),
    planCold: op('fixity plan, fresh process', `planObjectFixity on a new store instance (every ${COLD_PLAN_EVERY}th repetition)`),
  };
  /**
   * A step runs its op `times` times per work and repetition, in the order fresh, old, old,
   * fresh, … (reversed every other repetition): the ops of a few ms, where one fsync more or
   * less on this shared disk swings a sample by 2×, get more samples than the slow ones.
   */
  interface Step {
    op: Op;
    times: number;
    run: (id: Work, rep: number) => Promise<Sample | undefined>;
    /** After the step's samples (untimed). */
    after?: () => Promise<void>;
  }
  /** Warm edits not yet applied to the read model, applied together after their step. */
  const pending: RecordedEvent[] = [];
  const steps: Step[] = [
    {
      op: ops.editCold,
      times: 2,
      run: async (id) => {
        const { sample, title } = await coldStore((s) => edit(s, id));
        ops.manifest.samples[id].push(await rebuildManifest(id, title));
        return sample;
      },
    },
    {
      op: ops.editWarm,
      times: 4,
      run: async (id) => {
        const { sample } = await edit(warm, id);
        for await (const e of store.readStream(objectStream(id), { fromRevision: revision[id], maxCount: 1 })) pending.push(e);
        return sample;
      },
      after: async () => {
        const outcome = applyBatch(db, manifestReadModel, checkpoint, pending.sort(byPosition));
        if (outcome.kind !== 'applied') invalid('the manifests checkpoint moved under the bench');
        checkpoint = outcome.position;
        pending.length = 0;
      },
    },
    { op: ops.fact, times: 4, run: (id) => recordCheck(id) },
    { op: ops.planWarm, times: 2, run: (id) => plan(warm, id) },
    { op: ops.planCold, times: 1, run: (id, rep) => (rep % COLD_PLAN_EVERY === 0 ? coldStore((s) => plan(s, id)) : Promise.resolve(undefined)) },
  ];
  const runStep = async (step: Step, rep: number, record: boolean): Promise<void> => {
    const first = rep % 2 === 0 ? WORKS : ([...WORKS].reverse() as Work[]);
    for (let i = 0; i < step.times; i++) {
      const got: Partial<Record<Work, Sample>> = {};
      for (const id of i % 2 === 0 ? first : [...first].reverse()) {
        const s = await step.run(id, rep);
        if (s && record) {
          got[id] = s;
          step.op.samples[id].push(s);
        }
      }
      if (got[FRESH] && got[OLD]) step.op.paired.push(got[OLD].ms / got[FRESH].ms);
    }
    await step.after?.();
  };

  // One untimed round: the warm process folds both works, SQLite and V8 warm up.
  for (const step of steps) await runStep(step, 1, false);
  for (const id of WORKS) ops.manifest.samples[id].length = 0;

  const busy = await waitQuiet(5);
  log(`\nmeasuring: machine ${(busy * 100).toFixed(0)} % busy just before (other tenants); fresh and old alternate within each step`);
  t = now();
  for (let rep = 0; rep < REPS; rep++) {
    for (const step of steps) await runStep(step, rep, true);
    process.stdout.write(`\r  repetition ${rep + 1}/${REPS}`);
  }
  for (let i = 0; i < ops.manifest.samples[FRESH].length; i++) {
    ops.manifest.paired.push((ops.manifest.samples[OLD][i] as Sample).ms / (ops.manifest.samples[FRESH][i] as Sample).ms);
  }
  log(`\r  ${REPS} repetitions in ${((now() - t) / 1000).toFixed(1)} s`);

  const after = await verifyLog(store);
  if (after.broken.length > 0) invalid('hash chain broken after the measurements');
  log(`verify after: ${fmt(after.events)} events, chains intact`);

  // ---------------------------------------------------------------------------------------
  // Table

  const rows = Object.values(ops).map((o) => {
    const fresh = median(o.samples[FRESH].map((s) => s.ms));
    const old = median(o.samples[OLD].map((s) => s.ms));
    const ratio = old / fresh;
    const cpuRatio = median(o.samples[OLD].map((s) => s.cpu)) / median(o.samples[FRESH].map((s) => s.cpu));
    const reads = (id: Work) => {
      const xs = o.samples[id].map((s) => s.read);
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
    };
    return { o, fresh, old, ratio, cpuRatio, n: o.samples[FRESH].length, verdict: ratio <= TARGET ? 'PASS' : 'FAIL', readFresh: reads(FRESH), readOld: reads(OLD) };
  });
  const header = ['op', 'n', 'fresh ms', 'old ms', 'old/fresh', 'paired', 'cpu', 'target', 'verdict', 'events read fresh', 'old'];
  const table = rows.map((r) => [
    r.o.name, String(r.n), ms(r.fresh), ms(r.old), `${r.ratio.toFixed(2)}×`, `${median(r.o.paired).toFixed(2)}×`, `${r.cpuRatio.toFixed(2)}×`, `≤ ${TARGET}×`, r.verdict, r.readFresh, r.readOld,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  log(`\nSummary: median per op, ${fmt(FACTS)} facts on the old work (paired = median of old/fresh within one repetition; cpu = old/fresh of this process's CPU time)`);
  log(line(header));
  log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of table) log(line(row));
  log('');
  for (const r of rows) if (r.o.note) log(`  ${r.o.name}: ${r.o.note}`);
  log('  events read: what readStream/readAll handed out during the op (the manifest rebuild reads the read model only)');
  const failed = rows.filter((r) => r.verdict === 'FAIL');
  for (const r of failed) {
    const last = (id: Work) => r.o.samples[id][r.o.samples[id].length - 1]?.streams ?? 'not counted';
    log(`\n  ${r.o.name} FAILED; what it read, fresh: ${last(FRESH)}`);
    log(`  ${' '.repeat(r.o.name.length)}                        old: ${last(OLD)}`);
    if (r.readOld !== r.readFresh) log('  the old work costs more events: this operation replays history (see the streams above)');
    else if (r.cpuRatio <= TARGET) log(`  the same events read and a CPU ratio of ${r.cpuRatio.toFixed(2)}×: the wall-clock difference is this busy machine, not history (run again)`);
  }
  log(failed.length ? `\n${failed.length} target(s) FAILED: ${failed.map((r) => r.o.name).join(', ')}` : '\nall targets met');
  log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  await warm.close();
  db.close();
  await store.close();
}

try {
  await main();
} finally {
  cleanup();
}
