import { Command } from 'commander';
import { streamsAbsentByDesign } from '../application/recover.ts';
import type { Config } from '../config.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { requireRepository } from './repository.ts';
import { openEventStore } from '../eventstore/open.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type ChangedStream, type HeadAt, type SealVerification, SealRefusedError, sealNow, verifyAgainstSeals } from '../eventstore/seal.ts';
import { progress } from './progress.ts';

/**
 * `thukho seal` (seal the log now) and the seal half of `thukho verify`. Output for people
 * on stdout, in Vietnamese then English; the progress line on stderr.
 */

const NO_REPLICAS =
  'chưa cấu hình bản sao (THUKHO_REPLICAS): dấu niêm phong chỉ nằm trong nhật ký trên đĩa này / no replicas configured: the seal lives only in the event log on this disk, and is only as safe as it';

const short = (hash: string) => `${hash.slice(0, 16)}…`;

function headText(h: HeadAt | null, missing: string): string {
  return h ? `revision ${h.revision} ${short(h.hash)}` : missing;
}

function describeChange(c: ChangedStream): string {
  const sealed = headText(c.sealedHead, 'không có trong niêm phong / not in the seal');
  const now = headText(c.currentHeadAtPosition, 'không còn trong nhật ký / gone from the log');
  return `  ✗ ${c.streamId}: niêm phong / sealed ${sealed} → nay / now ${now}`;
}

/**
 * Checks the log against the newest seal on the replicas and prints one clear verdict. Returns
 * the exit code for `thukho verify` to combine with the chain check (1 on a mismatch; no seal
 * yet is not a failure, only said), and the report for `--json`.
 */
export async function verifySealsForCli(
  config: Pick<Config, 'replicas' | 'dataDir'>,
  store: EventStore,
  options: {
    /** Print nothing (for `verify --json`, which prints the report itself). */
    quiet?: boolean;
    /** Details (default stdout). */
    out?: NodeJS.WritableStream;
    /** The progress line and the verdict, like `verify`'s own summary (default stderr). */
    progressStream?: NodeJS.WriteStream;
  } = {},
): Promise<{ exitCode: 0 | 1; report: SealVerification }> {
  const out = options.out ?? process.stdout;
  const say = (line: string) => {
    if (!options.quiet) out.write(`${line}\n`);
  };
  const bar = options.quiet ? null : progress('kiểm tra niêm phong / seal check', 'events', options.progressStream);
  const report = await verifyAgainstSeals(store, config.replicas, {
    onProgress: (p) => bar?.update(p.events, p.upTo !== null ? Number(p.upTo) : undefined),
    absentByDesign: await streamsAbsentByDesign(config.dataDir),
  });
  const done = (line: string) => (bar ? bar.finish(line) : undefined);
  if (config.replicas.length === 0) {
    done(`Niêm phong / seals: ${NO_REPLICAS}`);
  } else if (report.status === 'no-seal' || !report.seal) {
    done('Niêm phong / seals: chưa có dấu niêm phong nào trên các bản sao / no seal found on any replica (run `thukho seal`)');
  } else if (report.status === 'ok') {
    const s = report.seal;
    done(`Dấu niêm phong khớp / seal matches: position ${s.position}, ${s.streams} streams`);
    say(`  Merkle root ${s.merkleRoot}, niêm phong lúc / sealed at ${s.sealedAt}, trên / on ${s.foundOn.join(', ')}`);
  } else {
    const s = report.seal;
    const n = report.changedStreams.length;
    done(
      `DẤU NIÊM PHONG KHÔNG KHỚP / SEAL MISMATCH at position ${s.position} (sealed ${s.sealedAt}): ` +
        `${n} luồng đã bị viết lại / stream(s) rewritten since the seal${n ? ':' : ''}`,
    );
    for (const c of report.changedStreams) say(describeChange(c));
    if (report.sealEvent.status === 'missing' || report.sealEvent.status === 'altered') {
      say(`  ✗ seal: sự kiện niêm phong trong nhật ký không khớp bản sao / the seal event in the log does not match the replica copy: ${report.sealEvent.detail}`);
    }
  }
  for (const p of report.problems) say(`  ! ${p}`);
  return { exitCode: report.status === 'mismatch' ? 1 : 0, report };
}

const bigintsAsStrings = (_key: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export function sealCommand(): Command {
  return new Command('seal')
    .description('Niêm phong nhật ký ngay và chép lên mọi bản sao / seal the event log now and write the seal to every replica root')
    .option('--force', 'seal even though the log no longer matches the previous seal (after the change was investigated)')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { force?: boolean; json?: boolean }) => {
      const config = loadCliConfig();
      await requireRepository(config, 'seal');
      const store = await openEventStore(config.eventStore);
      const bar = opts.json ? null : progress('niêm phong / sealing', 'events');
      try {
        const outcome = await sealNow(store, config.replicas, CLI_ACTOR, {
          force: opts.force === true,
          onProgress: (p) => bar?.update(p.events),
        });
        if (opts.json) {
          // The per-stream heads are in the replica files; a summary is enough here.
          const summary =
            outcome.status === 'sealed'
              ? { ...outcome, seal: { merkleRoot: outcome.seal.merkleRoot, position: outcome.seal.position, streams: outcome.seal.streams } }
              : outcome;
          process.stdout.write(`${JSON.stringify(summary, bigintsAsStrings, 2)}\n`);
        } else if (outcome.status === 'unchanged') {
          const s = outcome.lastSeal;
          bar?.finish(`Không có gì mới từ lần niêm phong trước / nothing new since the last seal: position ${s.position}, ${s.streams} streams, Merkle root ${s.merkleRoot}`);
        } else {
          bar?.finish(`Đã niêm phong / sealed: position ${outcome.seal.position}, ${outcome.seal.streams} streams`);
          process.stdout.write(`  Merkle root ${outcome.seal.merkleRoot}\n`);
          process.stdout.write(`  Sự kiện / event: ${outcome.event.id} (stream "seal", revision ${outcome.event.revision})\n`);
          for (const w of outcome.writtenTo) process.stdout.write(`  → ${w.label}: ${w.file}\n`);
          for (const f of outcome.failed) process.stdout.write(`  ✗ ${f.label} (${f.path}): không ghi được / not written: ${f.reason}\n`);
          if (config.replicas.length === 0) process.stdout.write(`  ! ${NO_REPLICAS}\n`);
          if (outcome.forcedOver.length) process.stdout.write(`  ! niêm phong đè lên thay đổi / sealed over changes in: ${outcome.forcedOver.join(', ')}\n`);
        }
        process.exitCode = outcome.status === 'sealed' && outcome.failed.length ? 1 : 0;
      } catch (err) {
        if (!(err instanceof SealRefusedError)) throw err;
        const line =
          `TỪ CHỐI / REFUSED: nhật ký không còn khớp dấu niêm phong ở vị trí ${err.position} / ` +
          `the log no longer matches the seal at position ${err.position}; không niêm phong mới / no new seal was made`;
        if (opts.json) process.stdout.write(`${JSON.stringify({ status: 'refused', position: err.position, changedStreams: err.changed, reason: err.reason }, bigintsAsStrings, 2)}\n`);
        else {
          bar?.finish(line);
          for (const c of err.changed) process.stdout.write(`${describeChange(c)}\n`);
          if (!err.changed.length) process.stdout.write(`  ${err.reason}\n`);
          process.stdout.write('  Chạy `thukho verify`; sau khi điều tra, `thukho seal --force` / run `thukho verify`; after investigating, `thukho seal --force`\n');
        }
        process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
