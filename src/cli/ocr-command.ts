import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Command, Option } from 'commander';
import { streamExists } from '../application/command-handler.ts';
import { loadPreservation } from '../application/machine-facts.ts';
import { collectionStream, loadObject } from '../application/object-commands.ts';
import { DomainError } from '../domain/errors.ts';
import { evolveObject, type ObjectState, type StoredFile } from '../domain/object.ts';
import { parsePageImageId } from '../domain/page-image.ts';
import type { PreservationSummary } from '../domain/preservation.ts';
import { openEventStore } from '../eventstore/open.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type PresentableObject, pageImages } from '../iiif/manifest.ts';
import { createLogger } from '../logger.ts';
import { JOB_OPTIONS, type OcrJob, QUEUES, queueConnection } from '../queue/queues.ts';
import { RedisUnavailableError, joinRedis } from '../queue/redis.ts';
import { loadCliConfig } from './cli-config.ts';
import { parseId } from './fixity-command.ts';
import { progress } from './progress.ts';
import { requireRepository } from './repository.ts';

/**
 * `thukho ocr --object ID | --collection ID [--again]`: queue an OCR job for every page of
 * the work(s) that has a derivative (the worker reads the derivative, not the master).
 *
 * Without --again the worker skips pages already read from the same master; with it, every
 * page is read again (new models, a new language): the new OcrCompleted becomes the page's
 * current reading and the older ones stay in the history. Each run is one request: its id is
 * the jobs' cause and part of their jobId, so a second run is new jobs, never taken for the
 * first run's (BullMQ keeps finished jobs a week and would otherwise ignore them).
 *
 * Exit codes: 0 jobs queued; 1 nothing to read (no page has a derivative yet, or every work
 * is withdrawn); 2 bad usage, an unknown work or collection, no repository, Redis unreachable.
 */
type Selection = { object: string } | { collection: string };

interface PlannedWork {
  objectId: string;
  /** One job per page image with a derivative, in reading order. */
  jobs: Array<{ imageId: string; job: OcrJob }>;
}

interface OcrRequestSummary {
  requestId: string;
  again: boolean;
  objects: number;
  pages: number;
  /** Works with nothing to queue, and why. */
  skipped: Array<{ objectId: string; reason: string }>;
}

/** Jobs added to Redis per round trip. */
const BULK = 200;

/** The work's files as the manifests show them: with the derivatives of every page (the one evolve folds them). */
function filesWithDerivatives(state: PresentableObject, summary: PreservationSummary): readonly StoredFile[] {
  let s: ObjectState = state;
  for (const [imageId, info] of Object.entries(summary.derivatives)) {
    const at = parsePageImageId(imageId);
    if (at) s = evolveObject(s, { type: 'DerivativeCreated', data: { ...info, objectId: state.objectId, fileId: at.fileId } });
  }
  return s.status === 'absent' ? [] : s.files;
}

async function planWork(store: EventStore, objectId: string, request: { requestId: string; again: boolean }): Promise<PlannedWork | { objectId: string; skipped: string }> {
  const { state } = await loadObject(store, objectId);
  if (state.status === 'absent') {
    throw new DomainError('not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
  }
  if (state.status === 'withdrawn') return { objectId, skipped: 'đã rút khỏi kho / withdrawn' };
  const files = filesWithDerivatives(state, await loadPreservation(store, objectId));
  const jobs = pageImages({ files }).flatMap((p) => {
    const at = parsePageImageId(p.imageId);
    if (!p.derivative || !at) return [];
    const job: OcrJob = {
      objectId,
      fileId: at.fileId,
      page: at.page,
      masterSha512: p.derivative.masterSha512,
      cause: request.requestId,
      ...(request.again ? { again: true } : {}),
    };
    return [{ imageId: p.imageId, job }];
  });
  if (jobs.length === 0) return { objectId, skipped: 'chưa có trang nào có ảnh phái sinh / no page has a derivative yet' };
  return { objectId, jobs };
}

/** The works a selection names; a collection that does not exist is an error, not an empty run. */
async function selectedObjects(store: EventStore, selection: Selection): Promise<string[]> {
  if ('object' in selection) return [selection.object];
  if (!(await streamExists(store, collectionStream(selection.collection)))) {
    throw new DomainError('not-found', {
      vi: `Không tìm thấy bộ sưu tập "${selection.collection}".`,
      en: `Collection "${selection.collection}" does not exist.`,
    });
  }
  const ids: string[] = [];
  for await (const head of store.listStreams()) if (head.streamId.startsWith('object-')) ids.push(head.streamId.slice('object-'.length));
  const bar = ids.length > 50 ? progress('ocr: tìm tài liệu / finding objects', 'objects') : null;
  const members: string[] = [];
  for (const [i, id] of ids.sort().entries()) {
    const { state } = await loadObject(store, id);
    if (state.status !== 'absent' && state.metadata.collectionId === selection.collection) members.push(id);
    bar?.update(i + 1, ids.length);
  }
  bar?.finish(`ocr: ${members.length} tài liệu trong bộ sưu tập / objects in the collection`);
  if (members.length === 0) {
    throw new DomainError('not-found', {
      vi: `Không có tài liệu nào trong bộ sưu tập "${selection.collection}".`,
      en: `No object belongs to collection "${selection.collection}".`,
    });
  }
  return members;
}

/** Jobs of every work, queued in bulk with ids of this request. */
async function enqueue(queue: Queue, works: PlannedWork[], requestId: string): Promise<number> {
  const all = works.flatMap((w) => w.jobs);
  const bar = all.length > BULK ? progress('ocr: xếp hàng / queueing', 'pages') : null;
  for (let i = 0; i < all.length; i += BULK) {
    const chunk = all.slice(i, i + BULK).map(({ imageId, job }) => ({
      // The name the dispatcher gives OCR jobs: one kind of job, whoever asked.
      name: 'read',
      data: job,
      opts: { ...JOB_OPTIONS[QUEUES.ocr], jobId: `ocr-${requestId}-${imageId}` },
    }));
    await queue.addBulk(chunk);
    bar?.update(Math.min(i + BULK, all.length), all.length);
  }
  bar?.finish(`ocr: ${all.length} trang đã xếp hàng / pages queued`);
  return all.length;
}

function formatSummary(s: OcrRequestSummary): string {
  const lines = [
    s.pages > 0
      ? `Đã xếp hàng nhận dạng ${s.pages} trang của ${s.objects} tài liệu${s.again ? ' (đọc lại)' : ''} / queued ${s.pages} page(s) of ${s.objects} object(s) for OCR${s.again ? ' (again)' : ''}; yêu cầu / request ${s.requestId}`
      : 'Không có trang nào để nhận dạng / no page to read',
    ...s.skipped.map((k) => `  – ${k.objectId}: ${k.reason}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function ocrCommand(): Command {
  return new Command('ocr')
    .description('Nhận dạng chữ (OCR) các trang của tài liệu / queue OCR of every page of a work or a collection')
    .addOption(new Option('--object <id>', 'one object').argParser(parseId).conflicts(['collection']))
    .addOption(new Option('--collection <id>', 'every object of one collection').argParser(parseId))
    .option('--again', 'read pages that were read already (new models): the new reading becomes current, older ones stay in the history')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { object?: string; collection?: string; again?: boolean; json?: boolean }) => {
      const selection: Selection | null = opts.object ? { object: opts.object } : opts.collection ? { collection: opts.collection } : null;
      if (!selection) {
        process.stderr.write('thukho ocr: chọn --object ID hoặc --collection ID / choose --object ID or --collection ID\n');
        process.exitCode = 2;
        return;
      }
      const config = loadCliConfig();
      await requireRepository(config, 'ocr');
      const logger = createLogger(config.logLevel, 'thukho-ocr');
      const store = await openEventStore(config.eventStore);
      const request = { requestId: randomUUID(), again: opts.again === true };
      try {
        const works: PlannedWork[] = [];
        const skipped: OcrRequestSummary['skipped'] = [];
        for (const objectId of await selectedObjects(store, selection)) {
          const planned = await planWork(store, objectId, request);
          if ('skipped' in planned) skipped.push({ objectId, reason: planned.skipped });
          else works.push(planned);
        }
        let pages = 0;
        if (works.length > 0) {
          const redis = await joinRedis({ redisUrl: config.redisUrl, dataDir: config.dataDir, logger });
          const connection = queueConnection(redis.url);
          const queue = new Queue(QUEUES.ocr, { connection, prefix: config.queuePrefix });
          try {
            pages = await enqueue(queue, works, request.requestId);
          } finally {
            await queue.close();
            connection.disconnect();
            await redis.stop();
          }
        }
        const summary: OcrRequestSummary = { ...request, objects: works.length, pages, skipped };
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
        logger.info({ requestId: request.requestId, again: request.again, objects: works.length, pages }, 'ocr requested');
        process.exitCode = pages > 0 ? 0 : 1;
      } catch (err) {
        if (err instanceof DomainError) process.stderr.write(`thukho ocr: ${err.messages.vi} / ${err.messages.en}\n`);
        else if (err instanceof RedisUnavailableError) process.stderr.write(`thukho ocr: ${err.message}\n`);
        else throw err;
        process.exitCode = 2;
      } finally {
        await store.close();
      }
    });
}
