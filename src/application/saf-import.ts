import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ImportAccession, ImportAccession as ImportAccessionSchema } from '../domain/events.ts';
import { type AccessLevel, type Metadata, type MetadataChanges, effectiveChanges } from '../domain/metadata.ts';
import { idFromName } from '../domain/vietnamese-fold.ts';
import {
  type ContentsLine,
  type DcValue,
  ORIGINAL_BUNDLE,
  SafFormatError,
  anonymousCanRead,
  dcKey,
  handleOf,
  mapDublinCore,
  parseContents,
  readMetadataXml,
} from '../formats/dspace-saf.ts';
import { naturalCompare } from '../storage/file-name.ts';
import { streamExists } from './command-handler.ts';
import { editFromImport, fingerprintOf, fitMetadata, registeredImport } from './import-common.ts';
import {
  type BulkIngestSummary,
  type ImportProgressFactory,
  type Rejection,
  type WorkReport,
  both,
  countCommitted,
  emptyFiles,
  reasonOf,
  refuseWork,
  silentProgress,
  startingSummary,
} from './import-report.ts';
import { type IngestServices, type StagedUpload, commitStaged, stageUpload } from './ingest.ts';
import { collectionStream, executeObjectCommand, loadObject } from './object-commands.ts';
import { Describer } from './self-description.ts';

/**
 * `thukho import-saf DIR`: a DSpace Simple Archive Format export (one folder per item, each
 * with dublin_core.xml, optional metadata_<schema>.xml, `contents`, `handle`, `collections`
 * and the bitstreams) becomes works, through the same staging, journal and OCFL commit as
 * `thukho ingest` and `ingest-bag`.
 *
 * An item is read and checked whole before anything is written (well-formed XML, a title,
 * every ORIGINAL file named in `contents` present, no unknown bundle or option, no handle seen
 * twice), then every ORIGINAL file is staged and identified, and only then is the work
 * registered and its files committed as one OCFL version: a refused item leaves no work.
 *
 * The work's id comes from the DSpace handle (`hdl-123456789-42`), and its registration keeps
 * the handle, where it was read and every DSpace value (`imported`), which is how a re-run
 * recognises its own works: a work already here with the same record is "unchanged", changed
 * DSpace values become an edit, files not yet in the work (an interrupted run) are added.
 */
export interface SafImportOptions {
  dir: string;
  collectionId?: string;
  dryRun: boolean;
  actor: { id: string; role: string };
  /** The CLI's progress line; without it the run is silent. */
  progress?: ImportProgressFactory;
}

export const SAF_FORMAT = 'dspace-saf';

interface PlannedItem {
  folder: string;
  objectId: string;
  handle?: string;
  location: string;
  metadata: Metadata;
  accessLevel: AccessLevel;
  files: Array<{ line: ContentsLine; path: string; size: number }>;
  record: ImportAccession['record'];
  notApplied: WorkReport['notApplied'];
}

class ItemRefused extends Error {
  constructor(
    readonly reason: string,
    readonly objectId?: string,
  ) {
    super(reason);
  }
}

/** A value per DSpace key with its language, as DSpace wrote them: the import record. */
function recordOf(values: DcValue[], collections: string[]): ImportAccession['record'] {
  const record: Record<string, string[]> = {};
  for (const v of values) {
    const key = `${dcKey(v)}${v.language ? `[${v.language}]` : ''}`;
    (record[key] ??= []).push(v.value.slice(0, 20_000));
  }
  if (collections.length) record.collections = collections;
  return record;
}

/** Reads and checks one item folder; throws ItemRefused with every reason found. */
async function planItem(dir: string, folder: string, collectionId: string | undefined): Promise<PlannedItem> {
  const itemDir = join(dir, folder);
  const names = new Set((await readdir(itemDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name));
  const reasons: string[] = [];
  if (!names.has('dublin_core.xml')) {
    throw new ItemRefused(both({ vi: 'thiếu tệp dublin_core.xml', en: 'no dublin_core.xml' }));
  }
  const values: DcValue[] = [];
  let unreadable = false;
  for (const file of ['dublin_core.xml', ...[...names].filter((n) => /^metadata_[A-Za-z0-9_-]+\.xml$/.test(n)).sort()]) {
    try {
      values.push(...readMetadataXml(await readFile(join(itemDir, file), 'utf8'), file).values);
    } catch (err) {
      if (!(err instanceof SafFormatError)) throw err;
      reasons.push(both(err.messages));
      if (file === 'dublin_core.xml') unreadable = true;
    }
  }
  const handleText = names.has('handle') ? (await readFile(join(itemDir, 'handle'), 'utf8')).trim() : undefined;
  let handle = handleText !== undefined ? handleOf(handleText) : undefined;
  if (handleText !== undefined && !handle) {
    reasons.push(both({ vi: `tệp handle không chứa một handle ("${handleText.slice(0, 80)}")`, en: `the handle file holds no handle ("${handleText.slice(0, 80)}")` }));
  }
  handle ??= values.filter((v) => v.element === 'identifier' && v.qualifier === 'uri').map((v) => handleOf(v.value)).find(Boolean);
  const collections = names.has('collections')
    ? (await readFile(join(itemDir, 'collections'), 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
    : [];

  const files: PlannedItem['files'] = [];
  let restricted = false;
  if (!names.has('contents')) {
    reasons.push(both({ vi: 'thiếu tệp contents (danh sách tệp của DSpace)', en: "no contents file (DSpace's list of bitstreams)" }));
  } else {
    const contents = parseContents(await readFile(join(itemDir, 'contents'), 'utf8'));
    reasons.push(...contents.problems.map((p) => both(p.messages)));
    const seen = new Set<string>();
    for (const line of contents.lines) {
      if (line.bundle !== ORIGINAL_BUNDLE) continue; // DSpace derives or adds these (thumbnails, extracted text, licence)
      if (/[/\\]/.test(line.name) || line.name === '.' || line.name === '..') {
        reasons.push(both({ vi: `contents dòng ${line.line}: "${line.name}" không phải tên một tệp trong thư mục mục`, en: `contents line ${line.line}: "${line.name}" is not a file name inside the item folder` }));
        continue;
      }
      if (seen.has(line.name)) {
        reasons.push(both({ vi: `contents dòng ${line.line}: tệp "${line.name}" kê hai lần`, en: `contents line ${line.line}: "${line.name}" is listed twice` }));
        continue;
      }
      seen.add(line.name);
      const path = join(itemDir, line.name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile()) {
        reasons.push(both({ vi: `contents dòng ${line.line}: không có tệp "${line.name}" trong thư mục`, en: `contents line ${line.line}: the file "${line.name}" is not in the folder` }));
        continue;
      }
      if (anonymousCanRead(line.permissions) === false) restricted = true;
      files.push({ line, path, size: st.size });
    }
  }

  const { metadata: mapped, unmapped } = mapDublinCore(values);
  const notApplied: WorkReport['notApplied'] = unmapped
    .filter((u) => u.key !== 'dc.rights')
    .map((u) => ({ field: u.key, reason: `"${u.value}": ${both(u.reason)}` }));
  if (!unreadable && (typeof mapped.title !== 'string' || !mapped.title.trim())) {
    reasons.push(both({ vi: 'không có nhan đề (dc.title)', en: 'no title (dc.title)' }));
  }
  const fitted = fitMetadata({ ...mapped, ...(collectionId ? { collectionId } : {}) }, notApplied);
  if ('refusal' in fitted && !reasons.length) reasons.push(fitted.refusal);

  const objectId = handle ? idFromName(`hdl-${handle}`) : idFromName(`saf-${folder}`);
  if (reasons.length || !('metadata' in fitted)) throw new ItemRefused(reasons.join('; '), objectId || undefined);
  return {
    folder,
    objectId,
    ...(handle ? { handle } : {}),
    location: `${basename(resolve(dir))}/${folder}`,
    metadata: fitted.metadata,
    accessLevel: restricted ? 'restricted' : 'open',
    files,
    record: recordOf(values, collections),
    notApplied,
  };
}

/** The fields DSpace now gives that differ from the work; fields DSpace leaves out are not touched. */
function safChanges(current: Metadata, wanted: Metadata): MetadataChanges {
  const { collectionId: _c, ...given } = wanted;
  return effectiveChanges(current, given);
}

export async function importSaf(services: IngestServices, options: SafImportOptions): Promise<BulkIngestSummary> {
  const started = Date.now();
  if (options.collectionId && !(await streamExists(services.store, collectionStream(options.collectionId)))) {
    throw new Error(
      `không có bộ sưu tập "${options.collectionId}" / there is no collection "${options.collectionId}": create it first (POST /api/collections)`,
    );
  }
  const rejected: Rejection[] = [];
  const works: WorkReport[] = [];
  const refuse = (folder: string, reason: string, objectId?: string, title?: string) => refuseWork(rejected, works, { folder, reason, objectId, title });

  const entries = await readdir(options.dir, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(naturalCompare);
  const planned: PlannedItem[] = [];
  const byHandle = new Map<string, string>();
  const byId = new Map<string, string>();
  for (const folder of folders) {
    try {
      const item = await planItem(options.dir, folder, options.collectionId);
      const twin = (item.handle && byHandle.get(item.handle)) || byId.get(item.objectId);
      if (twin) {
        refuse(
          folder,
          both({
            vi: `trùng với mục "${twin}" (cùng handle ${item.handle ?? item.objectId}); không nhập mục thứ hai`,
            en: `the same item as "${twin}" (handle ${item.handle ?? item.objectId}); the second one is not imported`,
          }),
          item.objectId,
          item.metadata.title,
        );
        continue;
      }
      if (item.handle) byHandle.set(item.handle, folder);
      byId.set(item.objectId, folder);
      planned.push(item);
    } catch (err) {
      if (err instanceof ItemRefused) refuse(folder, err.reason, err.objectId);
      else refuse(folder, reasonOf(err));
    }
  }

  const summary = startingSummary(planned, options.dryRun, rejected, works);
  const describer = new Describer(services);
  const bar = (options.progress ?? silentProgress)(options.dryRun ? 'kiểm tra SAF / checking SAF' : 'nhập SAF / SAF import', 'B');
  let bytesDone = 0;
  let filesDone = 0;
  const context = { actor: options.actor };

  for (const item of planned) {
    const report: WorkReport = {
      folder: item.folder,
      objectId: item.objectId,
      title: item.metadata.title,
      outcome: 'unchanged',
      changed: [],
      files: emptyFiles(),
      notApplied: [...item.notApplied],
    };
    const staged: StagedUpload[] = [];
    const stage = async (f: PlannedItem['files'][number]) => {
      bar.update(bytesDone, summary.bytes.total, `${filesDone}/${summary.files.total} tệp/files  ${item.folder}/${f.line.name}`);
      // 1 MiB reads, as bulk ingest: the default 64 KiB costs a third of the rate.
      const upload = await stageUpload(services, { source: createReadStream(f.path, { highWaterMark: 1 << 20 }), name: f.line.name, role: 'master' });
      staged.push(upload);
      bytesDone += f.size;
      filesDone++;
      return upload;
    };
    try {
      const { state, revision } = await loadObject(services.store, item.objectId);
      if (state.status === 'absent') {
        // Every page staged and identified before the work is registered: a file we cannot keep refuses the item here.
        const problems: string[] = [];
        for (const f of item.files) {
          try {
            await stage(f);
          } catch (err) {
            bytesDone += f.size;
            filesDone++;
            problems.push(`${f.line.name}: ${reasonOf(err)}`);
          }
        }
        if (problems.length) throw new ItemRefused(problems.join('; '));
        const imported = ImportAccessionSchema.parse({
          format: SAF_FORMAT,
          location: item.location,
          ...(item.handle ? { identifier: item.handle } : {}),
          fingerprint: fingerprintOf(staged),
          record: item.record,
        });
        report.outcome = 'created';
        if (!options.dryRun) {
          await executeObjectCommand(
            services.store,
            { type: 'RegisterObject', objectId: item.objectId, metadata: item.metadata, accessLevel: item.accessLevel, imported },
            context,
          );
          summary.objects.registered++;
          const sizes = staged.map((s) => s.size);
          try {
            if (staged.length) countCommitted(summary, report, await commitStaged(services, item.objectId, staged.splice(0), context), sizes);
          } catch (err) {
            // The work is on record without its pages: the next run finds it as its own and adds them.
            throw new ItemRefused(
              `${reasonOf(err)}; ${both({
                vi: `tài liệu "${item.objectId}" đã đăng ký nhưng chưa lưu được trang; chạy lại lệnh để hoàn tất`,
                en: `the work "${item.objectId}" is registered but its pages were not stored; run the command again to finish`,
              })}`,
            );
          }
        } else report.files.ingested = staged.length;
      } else {
        const origin = await registeredImport(services, item.objectId);
        const ours = origin?.format === SAF_FORMAT && (item.handle ? origin.identifier === item.handle : origin.location === item.location);
        if (!ours) {
          throw new ItemRefused(
            both({
              vi: `kho đã có tài liệu "${item.objectId}" không nhập từ mục DSpace này; không ghi đè`,
              en: `the repository already has a work "${item.objectId}" that did not come from this DSpace item; not overwritten`,
            }),
          );
        }
        summary.objects.existing++;
        const held = new Set(state.files.map((f) => `${f.name}\u0000${f.size}`));
        const missing = item.files.filter((f) => !held.has(`${f.line.name.normalize('NFC')}\u0000${f.size}`));
        const changes = safChanges(state.metadata, item.metadata);
        if (state.status === 'withdrawn') {
          report.withdrawn = true;
          if (Object.keys(changes).length || missing.length) {
            throw new ItemRefused(
              both({
                vi: `tài liệu "${item.objectId}" đã bị rút khỏi kho; không áp dụng thay đổi từ DSpace`,
                en: `the work "${item.objectId}" has been withdrawn; DSpace's changes are not applied`,
              }),
            );
          }
        } else {
          if (options.collectionId && state.metadata.collectionId !== options.collectionId) {
            report.notApplied.push({
              field: 'collectionId',
              reason: both({
                vi: `tài liệu thuộc bộ sưu tập "${state.metadata.collectionId ?? '—'}", không chuyển sang --collection "${options.collectionId}"`,
                en: `the work is in collection "${state.metadata.collectionId ?? '—'}" and is not moved to --collection "${options.collectionId}"`,
              }),
            });
          }
          const reason = `thukho import-saf: ${item.location}${item.handle ? ` (${item.handle})` : ''}`;
          await editFromImport(services, report, { objectId: item.objectId, changes, reason }, context, revision, options.dryRun);
          for (const f of item.files) {
            if (!missing.includes(f)) {
              summary.files.skipped++;
              report.files.skipped++;
              bytesDone += f.size;
              filesDone++;
              continue;
            }
            try {
              await stage(f);
            } catch (err) {
              bytesDone += f.size;
              filesDone++;
              rejected.push({ folder: item.folder, file: f.line.name, reason: reasonOf(err) });
              report.files.rejected++;
            }
          }
          if (options.dryRun) report.files.ingested = staged.length;
          else if (staged.length) {
            const sizes = staged.map((s) => s.size);
            try {
              countCommitted(summary, report, await commitStaged(services, item.objectId, staged.splice(0), context), sizes);
            } catch (err) {
              report.files.rejected += sizes.length;
              rejected.push({ folder: item.folder, reason: reasonOf(err) });
            }
          }
          report.outcome = report.changed.length || report.files.ingested ? 'changed' : 'unchanged';
        }
      }
    } catch (err) {
      const reason = err instanceof ItemRefused ? err.reason : reasonOf(err);
      rejected.push({ folder: item.folder, reason });
      report.outcome = 'refused';
      report.reason = reason;
      report.changed = [];
    } finally {
      for (const s of staged) await rm(s.path, { force: true });
    }
    works.push(report);
    if (!options.dryRun && report.outcome !== 'refused' && report.outcome !== 'unchanged') {
      // The work's own description in OCFL now; should it fail, the server's description queue writes it.
      await describer.describe({ kind: 'object', id: item.objectId }).catch(() => {});
    }
  }
  summary.seconds = (Date.now() - started) / 1000;
  bar.finish(
    `${options.dryRun ? 'Kiểm tra xong / checked' : 'Xong / done'}: ${folders.length} mục/items, ${filesDone} tệp/files, ${(bytesDone / 1e6).toFixed(1)} MB in ${summary.seconds.toFixed(1)} s`,
  );
  // Refused items were added first while reading; list works in folder order for people.
  works.sort((a, b) => naturalCompare(a.folder, b.folder));
  return summary;
}
