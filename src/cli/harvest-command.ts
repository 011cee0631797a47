import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HARVEST_PREFIXES, type HarvestPrefix, type HarvestReport, HarvestError, changedAnything, harvest } from '../application/harvest.ts';
import { closeIngest, openIngest } from '../application/open-ingest.ts';
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
  const files = (i: HarvestReport['created'][number]) => (i.files?.length ? ` + ${i.files.length} tệp / files (${i.files.slice(0, 3).join(', ')}${i.files.length > 3 ? ', …' : ''})` : '');
  for (const i of r.created) lines.push(`  + ${i.objectId}${q(i.title)} ← ${i.identifier}${files(i)}`);
  for (const i of r.changed) lines.push(`  ~ ${i.objectId}${q(i.title)} ← ${i.identifier}: ${(i.fields ?? []).join(', ')}${files(i)}`);
  for (const i of r.deleted) lines.push(`  − ${i.objectId}${q(i.title)} ← ${i.identifier}: rút vì đã xoá ở nguồn / withdrawn, deleted at the source`);
  for (const i of [...r.created, ...r.changed]) for (const n of i.notes ?? []) lines.push(`  ! ${i.objectId}: ${n.vi} / ${n.en}`);
  for (const m of r.manifests) {
    const what = m.already
      ? 'đã nhập trang ở lần trước, không tải lại / pages imported earlier, not fetched again'
      : m.imported
        ? `đã nhập ${m.pages ?? 0} trang / imported, ${m.pages ?? 0} pages`
        : `chưa nhập / not imported${m.why ? `: ${m.why.vi} / ${m.why.en}` : ''}`;
    lines.push(`  ⧉ ${m.objectId} ← ${m.identifier}: IIIF manifest ${m.url}: ${what}`);
  }
  for (const f of r.refused) lines.push(`  ✗ ${f.identifier ?? '(không định danh / no identifier)'}${f.objectId ? ` (${f.objectId})` : ''}: ${f.reason.vi} / ${f.reason.en}`);
  lines.push(
    `Tạo mới / created ${r.created.length} · sửa / changed ${r.changed.length} · rút / deleted ${r.deleted.length} · ` +
      `không đổi / unchanged ${r.unchanged} · từ chối / refused ${r.refused.length}`,
  );
  if (r.files.added + r.files.skipped > 0) {
    lines.push(`Tệp / files: thêm / added ${r.files.added} (${(r.files.bytes / 1048576).toFixed(1)} MiB) · đã có, không tải lại / already here, not fetched again ${r.files.skipped}`);
  }
  if (r.retried) lines.push(`Hỏi lại bản ghi bị từ chối lần trước / records refused last time asked again: ${r.retried}`);
  if (!changedAnything(r) && r.complete) lines.push('Không có gì thay đổi / nothing changed');
  if (r.stopped) lines.push(`Chưa xong / not finished: ${r.stopped.vi} / ${r.stopped.en}`);
  return `${lines.join('\n')}\n`;
}

export function harvestCommand(): Command {
  return new Command('harvest')
    .description('Thu hoạch bản ghi (và tệp) qua OAI-PMH từ kho khác / harvest records and their files from another repository over OAI-PMH')
    .argument('<url>', "the provider's OAI-PMH base URL, e.g. https://dspace.example.org/server/oai/request")
    .option('--set <spec>', 'only this OAI set (setSpec)')
    .addOption(new Option('--metadata-prefix <prefix>', 'metadata format to ask for').choices([...HARVEST_PREFIXES]).default('oai_dc'))
    .option('--collection <id>', 'put the works in this collection (it must exist)')
    .option('--from <date>', 'only records changed since (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ); default: since the last complete harvest of this source')
    .option('--timeout <seconds>', 'per request', positiveNumber('--timeout'), 60)
    .option('--retries <n>', 'retries of a request that times out or gets 429/5xx', positiveNumber('--retries'), 3)
    .option('--no-files', 'metadata only: do not fetch the files records link to (DSpace bitstreams) nor the pages of the IIIF manifests they link to')
    .option('--json', 'print the report as JSON')
    .action(async (url: string, opts: { set?: string; metadataPrefix: HarvestPrefix; collection?: string; from?: string; timeout: number; retries: number; files: boolean; json?: boolean }) => {
      const cfg = loadCliConfig();
      const logger = createLogger(cfg.logLevel);
      const store = await openEventStore(cfg.eventStore);
      // A harvest may be what starts a repository: make its storage root, as ingest does.
      await OcflStorageRoot.open(cfg.ocflRoot);
      const ingest = opts.files ? await openIngest(cfg, store) : undefined;
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
          ...(ingest ? { ingest } : {}),
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
        if (ingest) await closeIngest(ingest);
        await store.close();
      }
    });
}
