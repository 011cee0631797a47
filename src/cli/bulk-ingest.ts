import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestServices } from '../application/ingest.ts';
import { commitStaged, type StagedUpload, stageUpload } from '../application/ingest.ts';
import { Describer } from '../application/self-description.ts';
import { streamExists } from '../application/command-handler.ts';
import { collectionStream, executeObjectCommand, loadObject } from '../application/object-commands.ts';
import { identifyFile } from '../storage/format.ts';
import { naturalCompare, safeFileName } from '../storage/file-name.ts';
import { progress } from './progress.ts';
import { idFromName } from '../domain/vietnamese-fold.ts';
import { SheetEntry, readMetadataCsv } from './metadata-sheet.ts';

/**
 * `thukho ingest DIR --collection ID`: DIR holds one folder per object; the files of a
 * folder become the object's pages in natural order (page_2 before page_10). Resumable:
 * an object that exists is not registered again, and a file whose name and size are
 * already in the object is skipped, so a re-run after an interruption finishes the rest.
 */
export interface BulkIngestOptions {
  dir: string;
  collectionId: string;
  dryRun: boolean;
  actor: { id: string; role: string };
}

export interface Rejection {
  folder: string;
  file?: string;
  reason: string;
}

export interface BulkIngestSummary {
  objects: { registered: number; existing: number; total: number };
  files: { ingested: number; skipped: number; duplicates: number; total: number };
  bytes: { ingested: number; total: number };
  rejected: Rejection[];
  seconds: number;
}

const BATCH_FILES = 50;
const BATCH_BYTES = 8 * 1024 ** 3;

interface PlannedObject {
  folder: string;
  objectId: string;
  entry: SheetEntry;
  files: Array<{ name: string; path: string; size: number }>;
}

/** An error as one line for people: both languages when it carries them. */
export function reasonOf(err: unknown): string {
  const messages = (err as { messages?: { vi?: unknown; en?: unknown } }).messages;
  if (messages && typeof messages.vi === 'string' && typeof messages.en === 'string') return `${messages.vi} / ${messages.en}`;
  return err instanceof Error ? err.message : String(err);
}

async function plan(dir: string, rejected: Rejection[]): Promise<PlannedObject[]> {
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
    if (inside.some((e) => e.isFile() && e.name === 'metadata.json')) {
      try {
        raw = { ...raw, ...(JSON.parse(await readFile(join(folderPath, 'metadata.json'), 'utf8')) as Record<string, unknown>) };
      } catch (err) {
        rejected.push({ folder, reason: `metadata.json: ${(err as Error).message}` });
        continue;
      }
    }
    if (!raw) {
      rejected.push({ folder, reason: 'không có siêu dữ liệu (metadata.csv hoặc metadata.json) / no metadata (metadata.csv row or metadata.json)' });
      continue;
    }
    const parsed = SheetEntry.safeParse(raw);
    if (!parsed.success) {
      rejected.push({ folder, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(metadata)'}: ${i.message}`).join('; ') });
      continue;
    }
    const objectId = parsed.data.id ?? idFromName(folder);
    if (!objectId) {
      rejected.push({ folder, reason: 'cannot derive an object id from the folder name; give an "id" column' });
      continue;
    }
    const files: PlannedObject['files'] = [];
    for (const e of inside) {
      if (!e.isFile() || e.name.startsWith('.') || e.name === 'metadata.json') continue;
      const path = join(folderPath, e.name);
      files.push({ name: e.name, path, size: (await stat(path)).size });
    }
    files.sort((a, b) => naturalCompare(a.name, b.name));
    planned.push({ folder, objectId, entry: parsed.data, files });
  }
  return planned;
}

export async function bulkIngest(services: IngestServices, options: BulkIngestOptions): Promise<BulkIngestSummary> {
  const started = Date.now();
  const rejected: Rejection[] = [];
  if (!(await streamExists(services.store, collectionStream(options.collectionId)))) {
    throw new Error(
      `không có bộ sưu tập "${options.collectionId}" / there is no collection "${options.collectionId}": create it first (POST /api/collections)`,
    );
  }
  const planned = await plan(options.dir, rejected);
  const summary: BulkIngestSummary = {
    objects: { registered: 0, existing: 0, total: planned.length },
    files: { ingested: 0, skipped: 0, duplicates: 0, total: planned.reduce((n, o) => n + o.files.length, 0) },
    bytes: { ingested: 0, total: planned.reduce((n, o) => n + o.files.reduce((m, f) => m + f.size, 0), 0) },
    rejected,
    seconds: 0,
  };
  const describer = new Describer(services);
  const bar = progress(options.dryRun ? 'kiểm tra / checking' : 'nhập / ingest', 'B');
  let bytesDone = 0;
  let filesDone = 0;
  const tick = (file: string) =>
    bar.update(bytesDone, summary.bytes.total, `${filesDone}/${summary.files.total} tệp/files  ${file}`);
  const context = { actor: options.actor };

  for (const o of planned) {
    const { id: _id, accessLevel, ...metadata } = o.entry;
    let existing: Set<string> = new Set();
    if (options.dryRun) {
      const { state } = await loadObject(services.store, o.objectId);
      if (state.status !== 'absent') existing = new Set(state.files.map((f) => `${f.name}\u0000${f.size}`));
    } else {
      try {
        const { state } = await loadObject(services.store, o.objectId);
        if (state.status === 'absent') {
          await executeObjectCommand(
            services.store,
            { type: 'RegisterObject', objectId: o.objectId, metadata: { ...metadata, collectionId: options.collectionId }, accessLevel: accessLevel ?? 'open' },
            context,
          );
          summary.objects.registered++;
        } else {
          summary.objects.existing++;
          existing = new Set(state.status === 'active' ? state.files.map((f) => `${f.name}\u0000${f.size}`) : []);
          if (state.status === 'withdrawn') {
            rejected.push({ folder: o.folder, reason: `object "${o.objectId}" is withdrawn` });
            continue;
          }
        }
      } catch (err) {
        rejected.push({ folder: o.folder, reason: reasonOf(err) });
        continue;
      }
    }
    // Files go into OCFL in batches (one version per batch): few versions per object, and
    // an interruption costs at most one batch of staging.
    let batch: Array<{ upload: StagedUpload; file: (typeof o.files)[number] }> = [];
    let batchBytes = 0;
    const commit = async () => {
      if (!batch.length) return;
      const current = batch;
      batch = [];
      batchBytes = 0;
      try {
        const outcomes = await commitStaged(services, o.objectId, current.map((b) => b.upload), context);
        outcomes.forEach((outcome, i) => {
          if (outcome.status === 'created') {
            summary.files.ingested++;
            summary.bytes.ingested += current[i]?.file.size ?? 0;
          } else summary.files.duplicates++;
        });
      } catch (err) {
        for (const b of current) rejected.push({ folder: o.folder, file: b.file.name, reason: reasonOf(err) });
      }
    };
    for (const f of o.files) {
      tick(f.name);
      try {
        const name = safeFileName(f.name);
        if (existing.has(`${name}\u0000${f.size}`)) {
          summary.files.skipped++;
        } else if (options.dryRun) {
          await identifyFile(f.path, { maxPixels: services.maxPixels });
        } else {
          // 1 MiB reads: with Node's default 64 KiB the per-chunk overhead costs a third of the rate.
          const source = createReadStream(f.path, { highWaterMark: 1 << 20 });
          batch.push({ upload: await stageUpload(services, { source, name, role: 'master' }), file: f });
          batchBytes += f.size;
          if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await commit();
        }
      } catch (err) {
        rejected.push({ folder: o.folder, file: f.name, reason: reasonOf(err) });
      }
      bytesDone += f.size;
      filesDone++;
    }
    await commit();
    // The work's own description in OCFL now, so that the storage root describes it even if no
    // server runs; should it fail, the server's description queue writes it at its next start.
    if (!options.dryRun) await describer.describe({ kind: 'object', id: o.objectId }).catch(() => {});
  }
  summary.seconds = (Date.now() - started) / 1000;
  bar.finish(
    `${options.dryRun ? 'Kiểm tra xong / checked' : 'Xong / done'}: ${summary.objects.total} tài liệu/objects, ${filesDone} tệp/files, ${(bytesDone / 1e6).toFixed(1)} MB in ${summary.seconds.toFixed(1)} s`,
  );
  return summary;
}
