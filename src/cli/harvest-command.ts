import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HARVEST_PREFIXES, type HarvestPrefix, type HarvestReport, HarvestError, changedAnything, harvest } from '../application/harvest.ts';
import { openEventStore } from '../eventstore/open.ts';
import { sealNow } from '../eventstore/seal.ts';
import { createLogger } from '../logger.ts';
import { OcflStorageRoot } from '../storage/ocfl.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { progress } from './progress.ts';

/** `thukho harvest URL`: see src/application/harvest.ts. */

const positiveNumber = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what}: một số không âm / a non-negative number`);
  return n;
};

const q = (s: string | undefined) => (s === undefined ? '' : ` "${s.length > 80 ? `${s.slice(0, 79)}…` : s}"`);

export function formatHarvestReport(r: HarvestReport): string {
  const lines: string[] = [];
  const scope = [r.metadataPrefix, r.set !== undefined ? `set ${r.set}` : undefined, r.from ? `from ${r.from}` : undefined].filter(Boolean).join(', ');
  lines.push(`Thu hoạch / harvest ${r.baseUrl} (${scope})${r.resumed ? ' — tiếp tục lần trước / resumed' : ''}: ${r.records} bản ghi / records, ${r.pages} trang / pages`);
  for (const i of r.created) lines.push(`  + ${i.objectId}${q(i.title)} ← ${i.identifier}`);
  for (const i of r.changed) lines.push(`  ~ ${i.objectId}${q(i.title)} ← ${i.identifier}: ${i.fields?.join(', ')}`);
  for (const i of r.deleted) lines.push(`  − ${i.objectId}${q(i.title)} ← ${i.identifier}: rút vì đã xoá ở nguồn / withdrawn, deleted at the source`);
  for (const i of [...r.created, ...r.changed]) for (const n of i.notes ?? []) lines.push(`  ! ${i.objectId}: ${n.vi} / ${n.en}`);
  for (const f of r.refused) lines.push(`  ✗ ${f.identifier ?? '(không định danh / no identifier)'}${f.objectId ? ` (${f.objectId})` : ''}: ${f.reason.vi} / ${f.reason.en}`);
  lines.push(
    `Tạo mới / created ${r.created.length} · sửa / changed ${r.changed.length} · rút / deleted ${r.deleted.length} · ` +
      `không đổi / unchanged ${r.unchanged} · từ chối / refused ${r.refused.length}`,
  );
  if (!changedAnything(r) && r.complete) lines.push('Không có gì thay đổi / nothing changed');
  if (r.stopped) lines.push(`Chưa xong / not finished: ${r.stopped.vi} / ${r.stopped.en}`);
  return `${lines.join('\n')}\n`;
}

export function harvestCommand(): Command {
  return new Command('harvest')
    .description('Thu hoạch bản ghi qua OAI-PMH từ kho khác / harvest records from another repository over OAI-PMH (metadata)')
    .argument('<url>', "the provider's OAI-PMH base URL, e.g. https://dspace.example.org/server/oai/request")
    .option('--set <spec>', 'only this OAI set (setSpec)')
    .addOption(new Option('--metadata-prefix <prefix>', 'metadata format to ask for').choices([...HARVEST_PREFIXES]).default('oai_dc'))
    .option('--collection <id>', 'put the works in this collection (it must exist)')
    .option('--from <date>', 'only records changed since (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ); default: since the last complete harvest of this source')
    .option('--timeout <seconds>', 'per request', positiveNumber('--timeout'), 60)
    .option('--retries <n>', 'retries of a request that times out or gets 429/5xx', positiveNumber('--retries'), 3)
    .option('--json', 'print the report as JSON')
    .action(async (url: string, opts: { set?: string; metadataPrefix: HarvestPrefix; collection?: string; from?: string; timeout: number; retries: number; json?: boolean }) => {
      const cfg = loadCliConfig();
      const logger = createLogger(cfg.logLevel);
      const store = await openEventStore(cfg.eventStore);
      // A harvest may be what starts a repository: make its storage root, as ingest does.
      await OcflStorageRoot.open(cfg.ocflRoot);
      const bar = progress('thu hoạch / harvesting', 'records');
      try {
        const report = await harvest(store, {
          baseUrl: url,
          metadataPrefix: opts.metadataPrefix,
          ...(opts.set !== undefined ? { set: opts.set } : {}),
          ...(opts.collection ? { collectionId: opts.collection } : {}),
          ...(opts.from ? { from: opts.from } : {}),
          stateDir: join(cfg.dataDir, 'harvest'),
          actor: CLI_ACTOR,
          timeoutMs: opts.timeout * 1000,
          retries: Math.floor(opts.retries),
          onProgress: (p) => bar.update(p.records, p.total, `${p.pages} pages`),
        });
        bar.finish(report.complete ? 'xong / done' : 'dừng / stopped');
        logger.info({ created: report.created.length, changed: report.changed.length, deleted: report.deleted.length, unchanged: report.unchanged, refused: report.refused.length, complete: report.complete }, 'harvest finished');
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatHarvestReport(report));
        process.exitCode = report.complete && report.refused.length === 0 ? 0 : 1;
        if (changedAnything(report)) {
          const sealed = await sealNow(store, cfg.replicas, CLI_ACTOR).catch((err: Error) => ({ status: 'failed' as const, err }));
          if (sealed.status === 'sealed') process.stderr.write(`niêm phong / sealed: ${sealed.seal.merkleRoot} @ ${sealed.seal.position}\n`);
        }
      } catch (err) {
        bar.finish('dừng / stopped');
        if (err instanceof HarvestError) {
          process.stderr.write(`thukho harvest: ${err.messages.vi} / ${err.messages.en}\n`);
          process.exitCode = 2;
        } else {
          process.stderr.write(`thukho harvest: ${(err as Error).message}\n`);
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
