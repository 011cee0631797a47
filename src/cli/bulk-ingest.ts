import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestServices } from '../application/ingest.ts';
import { commitStaged, type StagedUpload, stageUpload } from '../application/ingest.ts';
import { Describer } from '../application/self-description.ts';
import { streamExists } from '../application/command-handler.ts';
import { editFromImport } from '../application/import-common.ts';
import {
  type BulkIngestSummary,
  type Rejection,
  type WorkOutcome,
  type WorkReport,
  countCommitted,
  emptyFiles,
  reasonOf,
  refuseWork,
  startingSummary,
} from '../application/import-report.ts';
import { collectionStream, executeObjectCommand, loadObject } from '../application/object-commands.ts';
import { identifyFile } from '../storage/format.ts';
import { FixityPool } from '../storage/fixity-pool.ts';
import { naturalCompare, safeFileName } from '../storage/file-name.ts';
import { progress } from './progress.ts';
import { idFromName } from '../domain/vietnamese-fold.ts';
import { type SheetEntry, headerOf, parseSheetEntry, readMetadataCsv } from './metadata-sheet.ts';
import { type Metadata, type MetadataChanges, effectiveChanges } from '../domain/metadata.ts';

// The run report moved to the application layer; tests, bench and cli.ts still import it from here.
export { type BulkIngestSummary, type Rejection, type WorkOutcome, type WorkReport, reasonOf, startingSummary };

/**
 * `thukho ingest DIR --collection ID`: DIR holds one folder per object; the files of a
 * folder become the object's pages in natural order (page_2 before page_10). Resumable:
 * an object that exists is not registered again, and a file whose name and size are
 * already in the object is skipped, so a re-run after an interruption finishes the rest.
 *
 * A re-run is also how a batch is corrected: a row that now says something else than the
 * work (a corrected title, a reading direction) becomes an edit by the operator, and what
 * cannot be applied (a withdrawn work, a value the work refuses) is reported per work,
 * never dropped. An empty cell leaves its field as it is.
 */
export interface BulkIngestOptions {
  dir: string;
  collectionId: string;
  dryRun: boolean;
  actor: { id: string; role: string };
}

const BATCH_FILES = 50;
const BATCH_BYTES = 8 * 1024 ** 3;
/** Files staged at once (see the loop): one per digest thread, so that both cores hash. */
const STAGING_DEPTH = 2;
/** Digest threads: more than two cores' worth is disk-bound anyway (sha512 ≈ 1 GB/s a core). */
const HASH_THREADS = Math.max(1, Math.min(2, availableParallelism()));

interface PlannedObject {
  folder: string;
  objectId: string;
  entry: SheetEntry;
  /** Where the description came from: the reason recorded with an access change. */
  source: string;
  files: Array<{ name: string; path: string; size: number }>;
}

async function plan(dir: string, rejected: Rejection[], works: WorkReport[]): Promise<PlannedObject[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  let sheet = new Map<string, Record<string, unknown>>();
  if (entries.some((e) => e.isFile() && e.name === 'metadata.csv')) {
    sheet = readMetadataCsv(await readFile(join(dir, 'metadata.csv'), 'utf8'));
  }
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(naturalCompare);
  const planned: PlannedObject[] = [];
  for (const folder of folders) {
    const folderPath = join(dir, folder);
    const inside = await readdir(folderPath, { withFileTypes: true });
    let raw: Record<string, unknown> | undefined = sheet.get(folder.normalize('NFC'));
    const sources = raw ? ['metadata.csv'] : [];
    if (inside.some((e) => e.isFile() && e.name === 'metadata.json')) {
      try {
        raw = { ...raw, ...(JSON.parse(await readFile(join(folderPath, 'metadata.json'), 'utf8')) as Record<string, unknown>) };
        sources.push('metadata.json');
      } catch (err) {
        refuseWork(rejected, works, { folder, reason: `metadata.json: ${(err as Error).message}` });
        continue;
      }
    }
    if (!raw) {
      refuseWork(rejected, works, { folder, reason: 'không có siêu dữ liệu (metadata.csv hoặc metadata.json) / no metadata (metadata.csv row or metadata.json)' });
      continue;
    }
    const parsed = parseSheetEntry(raw);
    if (!parsed.ok) {
      const id = typeof raw.id === 'string' ? raw.id : idFromName(folder);
      refuseWork(rejected, works, { folder, reason: parsed.reason, objectId: id || undefined });
      continue;
    }
    const objectId = parsed.entry.id ?? idFromName(folder);
    if (!objectId) {
      refuseWork(rejected, works, { folder, reason: 'không suy ra được mã từ tên thư mục; thêm cột "Mã tài liệu" / cannot derive an object id from the folder name; give an "id" column' });
      continue;
    }
    const files: PlannedObject['files'] = [];
    for (const e of inside) {
      if (!e.isFile() || e.name.startsWith('.') || e.name === 'metadata.json') continue;
      const path = join(folderPath, e.name);
      files.push({ name: e.name, path, size: (await stat(path)).size });
    }
    files.sort((a, b) => naturalCompare(a.name, b.name));
    planned.push({ folder, objectId, entry: parsed.entry, source: sources.join(' + '), files });
  }
  return planned;
}

/**
 * The edit a sheet entry asks of a work as it is: the fields the entry gives that differ.
 * Fields the entry leaves out (an empty cell, a missing column) are not touched, and neither
 * is the collection unless the entry names one.
 */
export function sheetChanges(current: Metadata, entry: SheetEntry): MetadataChanges {
  const { id: _id, accessLevel: _access, pageLabelPattern: _labels, ...given } = entry;
  return effectiveChanges(current, given);
}

export async function bulkIngest(services: IngestServices, options: BulkIngestOptions): Promise<BulkIngestSummary> {
  const started = Date.now();
  const rejected: Rejection[] = [];
  const works: WorkReport[] = [];
  const collections = new Map<string, boolean>();
  const collectionExists = async (id: string) => {
    let known = collections.get(id);
    if (known === undefined) collections.set(id, (known = await streamExists(services.store, collectionStream(id))));
    return known;
  };
  if (!(await collectionExists(options.collectionId))) {
    throw new Error(
      `không có bộ sưu tập "${options.collectionId}" / there is no collection "${options.collectionId}": create it first (POST /api/collections)`,
    );
  }
  const planned = await plan(options.dir, rejected, works);
  const summary = startingSummary(planned, options.dryRun, rejected, works);
  const describer = new Describer(services);
  const bar = progress(options.dryRun ? 'kiểm tra / checking' : 'nhập / ingest', 'B');
  let bytesDone = 0;
  let filesDone = 0;
  const tick = (file: string) =>
    bar.update(bytesDone, summary.bytes.total, `${filesDone}/${summary.files.total} tệp/files  ${file}`);
  const context = { actor: options.actor };
  // Digests in pool threads and no full decode here: the derivatives worker decodes every
  // master, and one it cannot decode is DerivativeFailed on the work for staff to see. The
  // header and pixel limits are still checked before anything is stored.
  const pool = options.dryRun ? undefined : new FixityPool(HASH_THREADS);
  const runServices: IngestServices = { ...services, ...(pool ? { hashPool: pool } : {}), verifyDecode: false };
  try {
    await ingestPlanned();
  } finally {
    await pool?.close();
  }
  summary.seconds = (Date.now() - started) / 1000;
  bar.finish(
    `${options.dryRun ? 'Kiểm tra xong / checked' : 'Xong / done'}: ${summary.objects.total} tài liệu/objects, ${filesDone} tệp/files, ${(bytesDone / 1e6).toFixed(1)} MB in ${summary.seconds.toFixed(1)} s`,
  );
  return summary;

  async function ingestPlanned(): Promise<void> {
    for (const o of planned) {
      const { id: _id, accessLevel, pageLabelPattern, ...metadata } = o.entry;
      const report: WorkReport = { folder: o.folder, objectId: o.objectId, title: metadata.title, outcome: 'unchanged', changed: [], files: emptyFiles(), notApplied: [] };
      const refused = (reason: string) => {
        report.outcome = 'refused';
        report.reason = reason;
        rejected.push({ folder: o.folder, reason });
        works.push(report);
      };
      const skipFiles = () => {
        for (const f of o.files) {
          bytesDone += f.size;
          filesDone++;
        }
      };
      if (metadata.collectionId && !(await collectionExists(metadata.collectionId))) {
        refused(`${headerOf('collectionId')}: không có bộ sưu tập "${metadata.collectionId}" / there is no collection "${metadata.collectionId}"`);
        skipFiles();
        continue;
      }
      let existing: Set<string> = new Set();
      let created = false;
      try {
        const { state, revision } = await loadObject(services.store, o.objectId);
        if (state.status === 'absent') {
          created = true;
          if (!options.dryRun) {
            await executeObjectCommand(
              services.store,
              { type: 'RegisterObject', objectId: o.objectId, metadata: { ...metadata, collectionId: metadata.collectionId ?? options.collectionId }, accessLevel: accessLevel ?? 'open' },
              context,
            );
            summary.objects.registered++;
          }
        } else {
          summary.objects.existing++;
          existing = new Set(state.files.map((f) => `${f.name}\u0000${f.size}`));
          const changes = sheetChanges(state.metadata, o.entry);
          const accessChange = accessLevel !== undefined && accessLevel !== state.accessLevel ? accessLevel : undefined;
          if (state.status === 'withdrawn') {
            report.withdrawn = true;
            // A withdrawn work takes no more changes: say which ones the sheet asked for, if any.
            const wanted = [
              ...Object.keys(changes).map(headerOf),
              ...(accessChange ? [headerOf('accessLevel')] : []),
              ...(o.files.some((f) => !existing.has(`${safeFileNameOrRaw(f.name)}\u0000${f.size}`)) ? ['tệp mới / new files'] : []),
            ];
            if (wanted.length) {
              refused(
                `tài liệu "${o.objectId}" đã bị rút khỏi kho${state.withdrawnReason ? ` (${state.withdrawnReason})` : ''}; không áp dụng / ` +
                  `object "${o.objectId}" has been withdrawn and takes no more changes; not applied: ${wanted.join(', ')}`,
              );
            } else works.push(report);
            skipFiles();
            continue;
          }
          if (!metadata.collectionId && state.metadata.collectionId !== options.collectionId) {
            const now = state.metadata.collectionId ?? '—';
            report.notApplied.push({
              field: 'collectionId',
              reason:
                `tài liệu thuộc bộ sưu tập "${now}", không chuyển sang --collection "${options.collectionId}"; muốn chuyển thì ghi cột "Bộ sưu tập" / ` +
                `the work is in collection "${now}" and is not moved to --collection "${options.collectionId}"; to move it, fill the collection column`,
            });
          }
          const expected = await editFromImport(services, report, { objectId: o.objectId, changes, reason: `thukho ingest: ${o.source}` }, context, revision, options.dryRun);
          if (accessChange) {
            if (options.dryRun) report.changed.push('accessLevel');
            else {
              try {
                const result = await executeObjectCommand(
                  services.store,
                  { type: 'ChangeAccessPolicy', objectId: o.objectId, accessLevel: accessChange, reason: `thukho ingest: ${o.source}` },
                  context,
                  expected,
                );
                if (result.events.length) report.changed.push('accessLevel');
              } catch (err) {
                report.notApplied.push({ field: 'accessLevel', reason: reasonOf(err) });
              }
            }
          }
        }
      } catch (err) {
        refused(reasonOf(err));
        skipFiles();
        continue;
      }
      // Files go into OCFL in batches (one version per batch): few versions per object, and
      // an interruption costs at most one batch of staging.
      let batch: Array<{ upload: StagedUpload; file: (typeof o.files)[number] }> = [];
      let batchBytes = 0;
      const reject = (file: string, reason: string) => {
        rejected.push({ folder: o.folder, file, reason });
        report.files.rejected++;
      };
      const commit = async () => {
        if (!batch.length) return;
        const current = batch;
        batch = [];
        batchBytes = 0;
        try {
          const outcomes = await commitStaged(runServices, o.objectId, current.map((b) => b.upload), context);
          countCommitted(summary, report, outcomes, current.map((b) => b.file.size));
        } catch (err) {
          for (const b of current) reject(b.file.name, reasonOf(err));
        }
      };
      // Up to STAGING_DEPTH files are staged at once: while a pool thread digests one file, the
      // next one is read and written, and the batch before may be committing. Outcomes are still
      // taken in page order.
      const staging: Array<{ file: (typeof o.files)[number]; upload: Promise<StagedUpload> }> = [];
      const settle = async (entry: (typeof staging)[number]) => {
        try {
          batch.push({ upload: await entry.upload, file: entry.file });
          batchBytes += entry.file.size;
          if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await commit();
        } catch (err) {
          reject(entry.file.name, reasonOf(err));
        }
        bytesDone += entry.file.size;
        filesDone++;
      };
      for (const f of o.files) {
        tick(f.name);
        let staged = false;
        try {
          const name = safeFileName(f.name);
          if (existing.has(`${name}\u0000${f.size}`)) {
            summary.files.skipped++;
            report.files.skipped++;
          } else if (options.dryRun) {
            await identifyFile(f.path, { maxPixels: services.maxPixels });
            // What a real run would ingest (duplicates by content are known only when ingesting).
            report.files.ingested++;
          } else {
            // 1 MiB reads: with Node's default 64 KiB the per-chunk overhead costs a third of the rate.
            const source = createReadStream(f.path, { highWaterMark: 1 << 20 });
            const upload = stageUpload(runServices, { source, name, role: 'master' });
            upload.catch(() => {}); // seen by settle(), in order
            staging.push({ file: f, upload });
            staged = true;
            if (staging.length >= STAGING_DEPTH) await settle(staging.shift() as (typeof staging)[number]);
          }
        } catch (err) {
          reject(f.name, reasonOf(err));
        }
        if (!staged) {
          bytesDone += f.size;
          filesDone++;
        }
      }
      while (staging.length) await settle(staging.shift() as (typeof staging)[number]);
      await commit();
      if (pageLabelPattern !== undefined && !options.dryRun) {
        try {
          // Labels equal to the pattern's already make no event: a re-run changes nothing.
          const result = await executeObjectCommand(services.store, { type: 'SetPageLabels', objectId: o.objectId, pattern: pageLabelPattern }, context);
          if (result.events.length > 0) report.changed.push('pageLabels');
        } catch (err) {
          report.notApplied.push({ field: 'pageLabelPattern', reason: reasonOf(err) });
        }
      }
      report.outcome = created ? 'created' : report.changed.length || report.files.ingested ? 'changed' : 'unchanged';
      if (created) report.changed = [];
      works.push(report);
      // The work's own description in OCFL now, so that the storage root describes it even if no
      // server runs; should it fail, the server's description queue writes it at its next start.
      if (!options.dryRun) await describer.describe({ kind: 'object', id: o.objectId }).catch(() => {});
    }
  }
}

/** Whether a run left something undone: a refused folder, a rejected file, a change not applied. */
export function hasProblems(summary: BulkIngestSummary): boolean {
  return summary.rejected.length > 0 || summary.works.some((w) => w.notApplied.length > 0);
}

/** How many unchanged works the human summary names before it only counts them. */
const UNCHANGED_SHOWN = 50;

/** The end-of-run report for people (stdout), labels in both languages like the rest of the CLI. */
export function formatSummary(s: BulkIngestSummary): string {
  const by = (outcome: WorkOutcome) => s.works.filter((w) => w.outcome === outcome);
  const name = (w: WorkReport) => `${w.objectId ?? w.folder}${w.title ? ` «${w.title}»` : ''}`;
  const filesOf = (w: WorkReport) => (w.files.ingested ? ` +${w.files.ingested} tệp/files` : '');
  const lines: string[] = [];
  if (s.dryRun) lines.push('Chạy thử, chưa ghi gì / dry run, nothing written: the lists say what a real run would do');
  const created = by('created');
  lines.push(`Đã tạo / created (${created.length}):`, ...created.map((w) => `  + ${name(w)}${filesOf(w)}`));
  const changed = by('changed');
  lines.push(
    `Đã sửa / changed (${changed.length}):`,
    ...changed.map((w) => `  ~ ${name(w)}: ${[...w.changed.map(headerOf), ...(w.files.ingested ? [`+${w.files.ingested} tệp/files`] : [])].join(', ')}`),
  );
  const unchanged = by('unchanged');
  lines.push(
    `Không đổi / unchanged (${unchanged.length}):`,
    ...unchanged.slice(0, UNCHANGED_SHOWN).map((w) => `  = ${name(w)}${w.withdrawn ? ' (đã rút / withdrawn)' : ''}`),
    ...(unchanged.length > UNCHANGED_SHOWN ? [`  … ${unchanged.length - UNCHANGED_SHOWN} nữa / more (--json lists all)`] : []),
  );
  const notApplied = s.works.filter((w) => w.notApplied.length);
  if (notApplied.length) {
    lines.push(
      `Không áp dụng / not applied (${notApplied.reduce((n, w) => n + w.notApplied.length, 0)}):`,
      ...notApplied.flatMap((w) => w.notApplied.map((n) => `  ! ${w.objectId ?? w.folder} ${headerOf(n.field)}: ${n.reason}`)),
    );
  }
  const refused = by('refused');
  lines.push(`Bị từ chối / refused (${refused.length}):`, ...refused.map((w) => `  ✗ ${w.folder}: ${w.reason ?? ''}`));
  const files = s.rejected.filter((r) => r.file);
  if (files.length) lines.push(`Tệp bị từ chối / files rejected (${files.length}):`, ...files.map((r) => `  ✗ ${r.folder}/${r.file}: ${r.reason}`));
  lines.push(
    `Tài liệu / objects: ${s.objects.total} (mới / registered ${s.objects.registered}, đã có / existing ${s.objects.existing})`,
    `Tệp / files: ${s.files.total} (nhập / ingested ${s.files.ingested}, bỏ qua vì đã có / skipped ${s.files.skipped}, trùng nội dung / duplicates ${s.files.duplicates})`,
    `Dung lượng / bytes: ${(s.bytes.ingested / 1e6).toFixed(1)} MB nhập / ingested of ${(s.bytes.total / 1e6).toFixed(1)} MB`,
  );
  return `${lines.join('\n')}\n`;
}

/** The stored name of a file, or the raw name when it would be refused (then it is new anyway). */
function safeFileNameOrRaw(name: string): string {
  try {
    return safeFileName(name);
  } catch {
    return name;
  }
}
