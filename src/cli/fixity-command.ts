import { createHash, randomUUID } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  type CheckResult,
  type DamagedEvent,
  type DoneCheck,
  type FixityServices,
  type ObjectPlan,
  openFixityRoots,
  planObjectFixity,
  type RemakeDerivative,
  remakeDerivativeInProcess,
  type RepairFn,
  runObjectFixity,
} from '../application/fixity.ts';
import { isAlive } from '../process-alive.ts';
import type { Config } from '../config.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { requireRepository } from './repository.ts';
import { DomainError } from '../domain/errors.ts';
import { ID_PATTERN } from '../domain/metadata.ts';
import { openEventStore } from '../eventstore/open.ts';
import type { EventStore } from '../eventstore/port.ts';
import { DerivativeStore } from '../iiif/derivative-store.ts';
import { createLogger } from '../logger.ts';
import { writeFileDurable } from '../storage/durable-file.ts';
import { rateLimiter } from '../storage/fixity.ts';
import { FixityPool } from '../storage/fixity-pool.ts';
import { progress } from './progress.ts';
import { inLanes } from '../work-lanes.ts';

/**
 * `thukho fixity --all | --collection ID | --object ID`: check now, on every core, with no
 * read budget unless one is given.
 *
 * Resumable. A run of one selection has a journal in `<data dir>/fixity-runs/`: a header
 * (the run id, which is also the correlation id of every event the run appends) and a list of
 * the copies finished. Started again after Ctrl-C, kill -9 or a reboot, the same selection
 * continues that run: copies in the list, or with a FixityChecked of the run in the log (the
 * log is the record; the list only spares reading it twice), are not checked again. The
 * journal is removed when the run completes.
 */
export interface FixityCommandDeps {
  /** The real repair (src/storage/replicas.ts), made from the configuration. */
  makeRepair?: (config: Config, logger: Logger) => RepairFn;
  /** Default: build the pyramid again in this process. */
  makeRemakeDerivative?: (config: Config, store: EventStore, logger: Logger) => RemakeDerivative;
  onDamaged?: (event: DamagedEvent, config: Config) => void | Promise<void>;
}

const OBJECTS_AT_ONCE = 4;

type Selection = { all: true } | { collection: string } | { object: string };

const JournalHeader = z.object({
  runId: z.string().uuid(),
  selection: z.union([z.object({ all: z.literal(true) }), z.object({ collection: z.string() }), z.object({ object: z.string() })]),
  startedAt: z.string(),
  pid: z.number().int(),
});
type JournalHeader = z.infer<typeof JournalHeader>;

const JournalLine = z.object({ key: z.string(), outcome: z.enum(['pass', 'fail']), bytes: z.number(), repaired: z.boolean(), damaged: z.boolean() });

export interface FixitySummary {
  runId: string;
  resumed: boolean;
  /** Copies checked, over the whole run (an interrupted part included). */
  files: number;
  bytes: number;
  /** Checked by this invocation. */
  filesNow: number;
  bytesNow: number;
  seconds: number;
  mbPerSecond: number;
  passed: number;
  failed: number;
  repaired: number;
  damaged: number;
  /** Checks left for next time (an inventory under a write right now). */
  skipped: number;
  /** Derivative pyramids that were not there at all: made again from their masters, not failures. */
  absentDerivatives: number;
  /** Of those, made again now (the rest: a withdrawn work's, or the making failed and is logged). */
  remadeDerivatives: number;
  unavailableRoots: Array<{ label: string; path: string; reason: string }>;
  damagedCopies: Array<{ key: string; failure?: string; detail?: string }>;
}

export const parseId = (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError('id: lowercase letters, digits, "-" or "_"');
  return value;
};
const parseRate = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a number of MB/s ≥ 0 (0 = unlimited)');
  return n;
};
const parseThreads = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError('a whole number of threads ≥ 1');
  return n;
};



// ---------------------------------------------------------------------------------------------
// The run journal

/** The header of an unfinished run; null when there is none (or it is unreadable: start over). */
async function readHeader(base: string): Promise<JournalHeader | null> {
  const raw = await readFile(`${base}.json`, 'utf8').catch(() => null);
  if (raw === null) return null;
  try {
    const parsed = JournalHeader.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

class RunJournal {
  private fd: number | null = null;
  private unsynced = 0;
  private lastSync = Date.now();

  private constructor(
    readonly header: JournalHeader,
    readonly resumed: boolean,
    private readonly base: string,
    readonly done: Map<string, DoneCheck>,
  ) {}

  static fileBase(dataDir: string, selection: Selection): string {
    const key = createHash('sha256').update(JSON.stringify(selection)).digest('hex').slice(0, 16);
    return join(dataDir, 'fixity-runs', key);
  }

  /** Forgets an unfinished run of this selection (unless a live process runs it). */
  static async discard(dataDir: string, selection: Selection): Promise<void> {
    const base = RunJournal.fileBase(dataDir, selection);
    const header = await readHeader(base);
    if (header && header.pid !== process.pid && isAlive(header.pid)) return;
    await rm(`${base}.done`, { force: true });
    await rm(`${base}.json`, { force: true });
  }

  /** The unfinished run of this selection, or a new one. Refuses when a live process runs it. */
  static async open(dataDir: string, selection: Selection): Promise<RunJournal> {
    const base = RunJournal.fileBase(dataDir, selection);
    await mkdir(join(dataDir, 'fixity-runs'), { recursive: true });
    let header = await readHeader(base);
    if (header && JSON.stringify(header.selection) !== JSON.stringify(selection)) header = null;
    if (header && header.pid !== process.pid && isAlive(header.pid)) {
      throw new Error(
        `một lần kiểm tra cùng phạm vi đang chạy (pid ${header.pid}) / a run of the same selection is in progress (pid ${header.pid}); ` +
          `if no thukho process runs, remove ${base}.json`,
      );
    }
    const done = new Map<string, DoneCheck>();
    if (header) {
      const lines = (await readFile(`${base}.done`, 'utf8').catch(() => '')).split('\n');
      for (const line of lines) {
        if (!line.trim()) continue;
        // A line torn by a crash is simply not there: the log has the rest.
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          continue;
        }
        const parsed = JournalLine.safeParse(json);
        if (parsed.success) done.set(parsed.data.key, parsed.data);
      }
    }
    const resumed = header !== null;
    const current: JournalHeader = header ? { ...header, pid: process.pid } : { runId: randomUUID(), selection, startedAt: new Date().toISOString(), pid: process.pid };
    const journal = new RunJournal(current, resumed, base, done);
    await journal.writeHeader();
    if (!resumed) await rm(`${base}.done`, { force: true });
    return journal;
  }

  private async writeHeader(): Promise<void> {
    await writeFileDurable(dirname(this.base), `${basename(this.base)}.json`, JSON.stringify(this.header));
  }

  /** Records a finished copy. Synced in batches: a line lost to a power cut is found in the log. */
  finished(result: CheckResult & { outcome: 'pass' | 'fail' }): void {
    const entry: DoneCheck & { key: string } = { key: result.key, outcome: result.outcome, bytes: result.bytes, repaired: result.repaired, damaged: result.damaged };
    this.done.set(result.key, entry);
    this.fd ??= openSync(`${this.base}.done`, 'a');
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    this.unsynced++;
    if (this.unsynced >= 200 || Date.now() - this.lastSync > 2000) this.sync();
  }

  sync(): void {
    if (this.fd === null || this.unsynced === 0) return;
    fdatasyncSync(this.fd);
    this.unsynced = 0;
    this.lastSync = Date.now();
  }

  close(): void {
    this.sync();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** The run is complete: nothing to resume. */
  async remove(): Promise<void> {
    this.close();
    await rm(`${this.base}.done`, { force: true });
    await rm(`${this.base}.json`, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Selection

async function selectedObjects(store: EventStore, selection: Selection): Promise<string[]> {
  if ('object' in selection) return [selection.object];
  const ids: string[] = [];
  for await (const head of store.listStreams()) if (head.streamId.startsWith('object-')) ids.push(head.streamId.slice('object-'.length));
  return ids.sort();
}

function formatBytes(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TB`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

// ---------------------------------------------------------------------------------------------
// The command

export function fixityCommand(deps: FixityCommandDeps = {}): Command {
  return new Command('fixity')
    .description('Kiểm tra tính toàn vẹn ngay / check fixity now (resumable: run the same command again after an interruption)')
    .addOption(new Option('--all', 'every object').conflicts(['collection', 'object']))
    .addOption(new Option('--collection <id>', 'the objects of one collection').argParser(parseId).conflicts(['object']))
    .addOption(new Option('--object <id>', 'one object').argParser(parseId))
    .option('--json', 'print the summary as JSON')
    .option('--mb-per-second <n>', 'read budget in MB/s (0 = unlimited)', parseRate, 0)
    .option('--threads <n>', 'hashing threads (default: every core)', parseThreads)
    .option('--restart', 'start over instead of resuming an interrupted run of the same selection')
    .action(async (opts: { all?: boolean; collection?: string; object?: string; json?: boolean; mbPerSecond: number; threads?: number; restart?: boolean }) => {
      const selection: Selection | null = opts.all ? { all: true } : opts.collection ? { collection: opts.collection } : opts.object ? { object: opts.object } : null;
      if (!selection) {
        process.stderr.write('thukho fixity: chọn --all, --collection ID hoặc --object ID / choose --all, --collection ID or --object ID\n');
        process.exitCode = 2;
        return;
      }
      const config = loadCliConfig();
      await requireRepository(config, 'fixity');
      if (opts.restart) await RunJournal.discard(config.dataDir, selection);
      const logger = createLogger(config.logLevel, 'thukho-fixity');
      const store = await openEventStore(config.eventStore);
      const pool = new FixityPool(opts.threads ?? availableParallelism());
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => stop.abort(Object.assign(new Error(`stopped by ${signal}`), { name: 'AbortError' }));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let journal: RunJournal | undefined;
      try {
        const summary = await runFixity({ config, logger, store, pool, selection, deps, mbPerSecond: opts.mbPerSecond, signal: stop.signal, onJournal: (j) => (journal = j) });
        if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else process.stdout.write(formatSummary(summary));
        process.exitCode = summary.damaged > 0 ? 1 : 0;
      } catch (err) {
        if (stop.signal.aborted) {
          journal?.close();
          process.stderr.write(
            '\nthukho fixity: đã dừng; chạy lại đúng lệnh này để tiếp tục từ chỗ dừng / stopped; run the same command again to continue where it stopped\n',
          );
          process.exitCode = 130;
        } else if (err instanceof DomainError) {
          process.stderr.write(`thukho fixity: ${err.messages.vi} / ${err.messages.en}\n`);
          process.exitCode = 2;
        } else {
          process.stderr.write(`thukho fixity: ${(err as Error).message}\n`);
          process.exitCode = 2;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await pool.close();
        await store.close();
      }
    });
}

async function runFixity(args: {
  config: Config;
  logger: Logger;
  store: EventStore;
  pool: FixityPool;
  selection: Selection;
  deps: FixityCommandDeps;
  mbPerSecond: number;
  signal: AbortSignal;
  onJournal: (j: RunJournal) => void;
}): Promise<FixitySummary> {
  const { config, logger, store, pool, selection, deps, signal } = args;
  const { roots, unavailable } = await openFixityRoots(config);
  for (const u of unavailable) process.stderr.write(`thukho fixity: bỏ qua / skipping storage root "${u.label}": ${u.reason}\n`);
  const derivatives = new DerivativeStore(config.derivativesDir);

  // The run id is needed to plan (which copies the log says the run has done), so the journal
  // is looked at first; it is only written once the selection is known to exist.
  const base = RunJournal.fileBase(config.dataDir, selection);
  const previous = await readHeader(base);
  const runHint = previous && JSON.stringify(previous.selection) === JSON.stringify(selection) ? previous.runId : undefined;

  const ids = await selectedObjects(store, selection);
  const planBar = ids.length > 50 ? progress('fixity: lập kế hoạch / planning', 'objects') : null;
  const plans: ObjectPlan[] = [];
  for (const [i, objectId] of ids.entries()) {
    if (signal.aborted) throw signal.reason;
    const plan = await planObjectFixity({ store, roots, derivatives }, objectId, runHint ? { run: runHint } : {});
    if ('collection' in selection && plan.collectionId !== selection.collection) continue;
    plans.push(plan);
    planBar?.update(i + 1, ids.length);
  }
  planBar?.finish(`fixity: ${plans.length} tài liệu / objects, ${plans.reduce((n, p) => n + p.checks.length, 0)} bản / copies`);
  if ('collection' in selection && plans.length === 0) {
    throw new DomainError('not-found', {
      vi: `Không có tài liệu nào trong bộ sưu tập "${selection.collection}".`,
      en: `No object belongs to collection "${selection.collection}".`,
    });
  }

  const journal = await RunJournal.open(config.dataDir, selection);
  args.onJournal(journal);
  const { runId } = journal.header;
  if (journal.header.runId === runHint) for (const p of plans) for (const [key, d] of p.doneInRun) if (!journal.done.has(key)) journal.done.set(key, d);
  const wanted = plans.flatMap((p) => p.checks);
  const doneBefore = wanted.filter((c) => journal.done.has(c.key));
  if (journal.resumed) {
    process.stderr.write(
      `thukho fixity: tiếp tục lần kiểm tra bị gián đoạn (bắt đầu lúc ${journal.header.startedAt}), đã xong ${doneBefore.length}/${wanted.length} bản / ` +
        `resuming the interrupted run started at ${journal.header.startedAt}: ${doneBefore.length} of ${wanted.length} copies already checked\n`,
    );
  }

  const summary: FixitySummary = {
    runId,
    resumed: journal.resumed,
    files: 0,
    bytes: 0,
    filesNow: 0,
    bytesNow: 0,
    seconds: 0,
    mbPerSecond: 0,
    passed: 0,
    failed: 0,
    repaired: 0,
    damaged: 0,
    skipped: 0,
    absentDerivatives: 0,
    remadeDerivatives: 0,
    unavailableRoots: unavailable,
    damagedCopies: [],
  };
  const count = (d: DoneCheck) => {
    summary.files++;
    summary.bytes += d.bytes;
    if (d.outcome === 'pass') summary.passed++;
    else summary.failed++;
    if (d.repaired) summary.repaired++;
    if (d.damaged) summary.damaged++;
  };
  for (const c of doneBefore) count(journal.done.get(c.key) as DoneCheck);

  const remaining = wanted.filter((c) => !journal.done.has(c.key));
  const totalBytes = remaining.reduce((n, c) => n + c.size, 0);
  const bar = progress('fixity', 'MB');
  const started = Date.now();
  const services: FixityServices = {
    store,
    roots,
    derivatives,
    hasher: pool,
    repair: deps.makeRepair?.(config, logger) ?? noRepair,
    remakeDerivative:
      deps.makeRemakeDerivative?.(config, store, logger) ??
      remakeDerivativeInProcess({
        store,
        derivatives,
        masterPath: (ocflObjectId, contentPath) => (roots[0] as (typeof roots)[number]).storage.contentPathOnDisk(ocflObjectId, contentPath),
        tileSize: config.iiif.tileSize,
        maxPixels: config.maxPixels,
        actor: CLI_ACTOR,
      }),
    onDamaged: async (event) => {
      process.stderr.write(`thukho fixity: HỎNG / DAMAGED ${event.objectId} ${event.fileId ?? event.target} on "${event.storageRoot.label}" (${event.failure})\n`);
      await deps.onDamaged?.(event, config);
    },
    logger,
  };
  const limiter = rateLimiter(args.mbPerSecond);
  const onResult = (r: CheckResult) => {
    if (r.outcome === 'absent') {
      // Not journalled: a resumed run checks the pyramid made meanwhile.
      summary.absentDerivatives++;
      if (r.remade) summary.remadeDerivatives++;
      return;
    }
    journal.finished({ ...r, outcome: r.outcome });
    count({ ...r, outcome: r.outcome });
    summary.filesNow++;
    summary.bytesNow += r.bytes;
    if (r.damaged) summary.damagedCopies.push({ key: r.key, ...(r.failure ? { failure: r.failure } : {}), ...(r.detail ? { detail: r.detail } : {}) });
    bar.update(Math.round(summary.bytesNow / 1e5) / 10, Math.round(totalBytes / 1e5) / 10, `${summary.filesNow}/${remaining.length} ${'tệp / files'}`);
  };

  const todo = plans.filter((p) => p.checks.some((c) => !journal.done.has(c.key)));
  await inLanes(todo, OBJECTS_AT_ONCE, async (plan) => {
    const result = await runObjectFixity(services, plan, {
      limiter,
      signal,
      only: (c) => !journal.done.has(c.key),
      onResult,
      actor: CLI_ACTOR,
      correlationId: runId,
    });
    summary.skipped += result.skipped.length;
  });

  summary.seconds = (Date.now() - started) / 1000;
  summary.mbPerSecond = summary.seconds > 0 ? Math.round((summary.bytesNow / 1e6 / summary.seconds) * 10) / 10 : 0;
  bar.finish(`fixity: ${summary.filesNow} ${'tệp / files'}, ${formatBytes(summary.bytesNow)} in ${summary.seconds.toFixed(1)} s`);
  if (summary.skipped > 0) journal.close();
  else await journal.remove();
  return summary;
}

/** Until the real repair is wired in: every failed copy is reported as not repaired. */
const noRepair: RepairFn = async (damaged) => ({
  repaired: false,
  tried: [{ root: damaged, reason: 'no repair is configured for this command (src/storage/replicas.ts not wired)' }],
});

function formatSummary(s: FixitySummary): string {
  const lines = [
    `Kiểm tra tính toàn vẹn / fixity check${s.resumed ? ' (tiếp tục / resumed)' : ''}: ${s.runId}`,
    `Bản đã kiểm tra / copies checked: ${s.files}${s.resumed ? ` (lần này / this time ${s.filesNow})` : ''}`,
    `Dung lượng / bytes: ${formatBytes(s.bytes)} (${s.bytes} B); lần này / this time ${formatBytes(s.bytesNow)} in ${s.seconds.toFixed(1)} s, ${s.mbPerSecond} MB/s`,
    `Đạt / passed: ${s.passed}`,
    `Lỗi / failed: ${s.failed}`,
    `Đã sửa / repaired: ${s.repaired}`,
    `Hỏng không sửa được / damaged: ${s.damaged}`,
    ...s.damagedCopies.map((d) => `  ✗ ${d.key}: ${d.failure ?? ''}${d.detail ? ` — ${d.detail}` : ''}`),
    ...(s.absentDerivatives > 0
      ? [`Ảnh phái sinh bị thiếu, đã làm lại / absent derivatives made again from their masters (not failures): ${s.remadeDerivatives} of ${s.absentDerivatives}`]
      : []),
    ...(s.skipped > 0 ? [`Để lần sau / left for next time: ${s.skipped} (một phiên bản đang được ghi hoặc còn dở / a version being written or left unfinished); chạy lại lệnh / run the command again`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
