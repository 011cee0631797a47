import { type Job, Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { type OcrJob, QUEUES, queueConnection } from '../../src/queue/queues.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { type Run, show, thukho } from '../helpers/cli.ts';
import { multiPageTiff, page as scan } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * OCR operations on a real server and the machine's Redis: `thukho ocr` queues one job per
 * page with a derivative (a two-page TIFF and a one-page scan: three), again as new jobs on
 * every run, with bilingual errors and exit codes; /health counts every queue's jobs for
 * anyone and names the failed OCR pages for staff only; `thukho jobs failed` lists them with
 * their reason and `thukho jobs retry` puts them back in line.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

let worker: DerivativesWorker | undefined;
let queue: Queue | undefined;
/** Connections this file opens; a queue or worker given one does not close it. */
const connections: Array<ReturnType<typeof queueConnection>> = [];
const connect = (url: string) => {
  const c = queueConnection(url);
  connections.push(c);
  return c;
};
test.after.always(async () => {
  await worker?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  for (const c of connections) c.disconnect();
});

const COLLECTION = 'so-dia-ba-ocr';
const BOOK = 'dia-ba-hai-trang';
const EMPTY = 'so-chua-quet';
const OUTSIDE = 'to-roi-ngoai';
let pages: Array<{ imageId: string; fileId: string; page: number; masterSha512: string }> = [];

const cli = (t: Ctx, args: string[]): Promise<Run> => thukho(t.context.server.dataDir, args, { THUKHO_QUEUE_PREFIX: t.context.server.config.queuePrefix });

async function health(t: Ctx, token?: string): Promise<{ text: string; json: Json }> {
  const res = await fetch(`${t.context.server.url}/health`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  return { text, json: JSON.parse(text) as Json };
}

/** The OCR jobs waiting in the server's queue, by the request that made them. */
async function waitingByRequest(): Promise<Map<string, Array<Job<OcrJob>>>> {
  const jobs = (await queue!.getWaiting(0, -1)) as Array<Job<OcrJob>>;
  const byCause = new Map<string, Array<Job<OcrJob>>>();
  for (const job of jobs) byCause.set(job.data.cause, [...(byCause.get(job.data.cause) ?? []), job]);
  return byCause;
}

const requestOf = (r: Run) => /request ([0-9a-f-]{36})/.exec(r.stdout)?.[1];

test.serial('set-up: a collection with a two-page TIFF and a one-page scan in one work, a work without images; a work outside it', async (t) => {
  const s = t.context.server;
  queue = new Queue(QUEUES.ocr, { connection: connect(s.config.redisUrl!), prefix: s.config.queuePrefix });
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  t.like(await staffCall(s, 'POST', '/api/collections', { id: COLLECTION, title: 'Sổ địa bạ' }), { id: COLLECTION });
  for (const [id, collectionId] of [[BOOK, COLLECTION], [EMPTY, COLLECTION], [OUTSIDE, undefined]] as const) {
    t.like(await staffCall(s, 'POST', '/api/objects', { id, title: `Tài liệu ${id}`, ...(collectionId ? { collectionId } : {}) }), { id });
  }
  await uploadFile(s, BOOK, await multiPageTiff(320, 240, [{ r: 230, g: 220, b: 200 }, { r: 200, g: 210, b: 230 }]), 'trang_1-2.tif');
  await uploadFile(s, BOOK, await scan('Trang 3'), 'trang_3.tif');
  await uploadFile(s, OUTSIDE, await scan('Tờ rời'), 'to_roi.tif');
  const derivatives = await poll('derivatives of all three pages', 90_000, async () => {
    const o = await staffCall(s, 'GET', `/api/objects/${BOOK}`);
    const m = await fetch(`${s.url}/iiif/manifest/${BOOK}`).then((r) => (r.status === 200 ? (r.json() as Promise<Json>) : undefined));
    const canvases = (m?.items as Json[] | undefined) ?? [];
    const files = o.files as Array<{ fileId: string; derivative?: { masterSha512: string } }>;
    return canvases.length === 3 && files.every((f) => f.derivative) ? files : undefined;
  }, 200);
  const [tiff, single] = derivatives as [(typeof derivatives)[number], (typeof derivatives)[number]];
  pages = [
    { imageId: tiff.fileId, fileId: tiff.fileId, page: 1, masterSha512: tiff.derivative!.masterSha512 },
    { imageId: `${tiff.fileId}~p2`, fileId: tiff.fileId, page: 2, masterSha512: tiff.derivative!.masterSha512 },
    { imageId: single.fileId, fileId: single.fileId, page: 1, masterSha512: single.derivative!.masterSha512 },
  ];
  await poll('the outside work\'s derivative', 60_000, async () => {
    const o = await staffCall(s, 'GET', `/api/objects/${OUTSIDE}`);
    return (o.files as Json[])[0]?.derivative ? true : undefined;
  }, 200);
  t.pass();
});

/** What BullMQ itself counts in the OCR queue, as /health reports it. */
async function ocrDepth(): Promise<Json> {
  const c = await queue!.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
  return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
}

/** Until /health's OCR counts are what the queue holds (the server's dispatcher may be adding its own jobs). */
function healthAgrees(t: Ctx): Promise<Json> {
  return poll('/health counting the OCR queue as BullMQ does', 20_000, async () => {
    const [h, depth] = [await health(t), await ocrDepth()];
    const reported = (h.json.queues as Record<string, Json>).ocr;
    return JSON.stringify(reported) === JSON.stringify(depth) ? depth : undefined;
  });
}

test.serial('/health: every queue\'s waiting, active, delayed and failed counts for anyone, with no ids', async (t) => {
  const h = await health(t);
  const queues = h.json.queues as Record<string, Json>;
  t.deepEqual(Object.keys(queues).sort(), ['audit', 'derivatives', 'fixity', 'ocr', 'replication', 'seal']);
  for (const [name, depth] of Object.entries(queues)) t.deepEqual(Object.keys(depth).sort(), ['active', 'delayed', 'failed', 'waiting'], name);
  t.like(await healthAgrees(t), { failed: 0 });
});

test.serial('a page that fails OCR for good: anonymous /health counts it, staff see work, page, reason and attempts; thukho jobs failed lists it; retry puts it back', async (t) => {
  const s = t.context.server;
  const p2 = pages[1]!;
  const reason = 'the derivative of page 2 is damaged (its pyramid hashes to 0badc0de…); rebuild it, then read the page again';
  // Failed as an OCR worker fails it, by hand, so that no other job in the queue is touched:
  // last in, first out, taken by a worker without a processor, failed on its only attempt.
  const job: OcrJob = { objectId: BOOK, fileId: p2.fileId, page: 2, masterSha512: p2.masterSha512, cause: 'test-failure' };
  await queue!.add('read', job, { jobId: 'failing-page-2', attempts: 1, lifo: true });
  const failing = new Worker<OcrJob>(QUEUES.ocr, null, { connection: connect(s.config.redisUrl!), prefix: s.config.queuePrefix });
  const taken = await failing.getNextJob('test-token');
  t.is(taken?.id, 'failing-page-2');
  await taken!.moveToFailed(new Error(reason), 'test-token', false);
  await failing.close();
  t.is(await queue!.getFailedCount(), 1);

  const anonymous = await health(t);
  t.like(anonymous.json.queues, { ocr: { failed: 1 } });
  for (const secret of [BOOK, p2.fileId, 'pyramid']) t.false(anonymous.text.includes(secret), `anonymous /health names ${secret}`);
  const reader = await health(t, s.readerToken);
  t.false(reader.text.includes(BOOK), 'a reader sees no more than anonymous');

  const staff = await health(t, s.staffToken);
  const ocr = (staff.json.queues as Record<string, { failed: number; recentFailures: Json[] }>).ocr!;
  t.is(ocr.failed, 1);
  t.is(ocr.recentFailures.length, 1);
  t.like(ocr.recentFailures[0], { objectId: BOOK, imageId: p2.imageId, page: 2, reason, attempts: 1, jobId: 'failing-page-2' });
  t.regex(String(ocr.recentFailures[0]?.failedAt), /^\d{4}-\d\d-\d\dT/);

  const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
  t.regex(metrics, /^thukho_queue_jobs\{queue="thukho-ocr",state="failed"\} 1$/m);
  t.regex(metrics, /^thukho_queue_jobs\{queue="thukho-seal",state="waiting"\} \d+$/m);

  const listed = await cli(t, ['jobs', 'failed', '--queue', 'ocr']);
  t.is(listed.code, 0, show(listed));
  t.regex(listed.stdout, /thukho-ocr: 1 việc thất bại \/ failed/);
  t.true(listed.stdout.includes(`${BOOK} trang/page 2 (${p2.imageId})`), show(listed));
  t.true(listed.stdout.includes(reason), show(listed));
  t.regex(listed.stdout, /1 lần thử \/ attempts/);
  const asJson = await cli(t, ['jobs', 'failed', '--json']);
  t.is(asJson.code, 0, show(asJson));
  const all = JSON.parse(asJson.stdout) as Array<{ queue: string; failed: number; jobs: Array<{ reason: string }> }>;
  t.deepEqual(all.map((q) => [q.queue, q.failed]).sort(), [['audit', 0], ['derivatives', 0], ['fixity', 0], ['ocr', 1], ['replication', 0], ['seal', 0]]);

  const unknown = await cli(t, ['jobs', 'failed', '--queue', 'khong-co']);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /không có hàng đợi này \/ no such queue; one of: audit \(thukho-audit\)/);

  const retried = await cli(t, ['jobs', 'retry', '--queue', 'thukho-ocr']);
  t.is(retried.code, 0, show(retried));
  t.regex(retried.stdout, /thukho-ocr: 1 việc thử lại \/ job\(s\) retried/);
  t.is(await queue!.getFailedCount(), 0);
  t.is(await (await queue!.getJob('failing-page-2'))?.getState(), 'waiting');
  await queue!.remove('failing-page-2');
  const none = await cli(t, ['jobs', 'failed']);
  t.is(none.code, 0, show(none));
  t.regex(none.stdout, /Không có việc nào thất bại \/ no failed jobs/);
});

test.serial('thukho ocr --object: one job per page with a derivative, each page named, the master of its derivative, jobIds of the request', async (t) => {
  const r = await cli(t, ['ocr', '--object', BOOK]);
  t.is(r.code, 0, show(r));
  t.regex(r.stdout, /queued 3 page\(s\) of 1 object\(s\) for OCR/);
  const request = requestOf(r);
  t.truthy(request, show(r));
  const jobs = (await waitingByRequest()).get(request!) ?? [];
  const byImage = (j: Job<OcrJob>) => `${j.data.fileId}/${j.data.page}`;
  t.deepEqual(
    jobs.map((j) => ({ id: j.id, data: j.data })).sort((a, b) => String(a.id).localeCompare(String(b.id))),
    pages
      .map((p) => ({ id: `ocr-${request}-${p.imageId}`, data: { objectId: BOOK, fileId: p.fileId, page: p.page, masterSha512: p.masterSha512, cause: request! } }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  );
  t.is(new Set(jobs.map(byImage)).size, 3);
  t.true(jobs.every((j) => j.opts.attempts === 3), 'the OCR queue\'s retries');
  t.true(jobs.every((j) => j.name === 'read'));
  const depth = await healthAgrees(t);
  t.true((depth.waiting as number) >= 3, 'the waiting jobs are counted');
});

test.serial('thukho ocr --again: new jobs beside the earlier ones (not deduplicated), marked again, with their own request', async (t) => {
  const before = await waitingByRequest();
  const r = await cli(t, ['ocr', '--object', BOOK, '--again']);
  t.is(r.code, 0, show(r));
  t.regex(r.stdout, /\(again\)/);
  const request = requestOf(r)!;
  t.false(before.has(request));
  const after = await waitingByRequest();
  const jobs = after.get(request) ?? [];
  t.is(jobs.length, 3);
  t.true(jobs.every((j) => j.data.again === true));
  for (const [cause, earlier] of before) t.is(after.get(cause)?.length, earlier.length, 'the earlier jobs are all still there');
});

test.serial('thukho ocr --collection: the collection\'s works only; a work with no derivative is named as skipped', async (t) => {
  const r = await cli(t, ['ocr', '--collection', COLLECTION, '--json']);
  t.is(r.code, 0, show(r));
  const summary = JSON.parse(r.stdout) as { requestId: string; again: boolean; objects: number; pages: number; skipped: Array<{ objectId: string; reason: string }> };
  t.like(summary, { again: false, objects: 1, pages: 3 });
  t.deepEqual(summary.skipped.map((k) => k.objectId), [EMPTY]);
  t.regex(summary.skipped[0]!.reason, /no page has a derivative yet/);
  const jobs = (await waitingByRequest()).get(summary.requestId) ?? [];
  t.deepEqual([...new Set(jobs.map((j) => j.data.objectId))], [BOOK], 'nothing of the work outside the collection');
});

test.serial('thukho ocr: unknown work or collection (exit 2), nothing to read (exit 1), no selection (exit 2), in both languages; nothing queued', async (t) => {
  const before = (await queue!.getWaitingCount());
  const unknownObject = await cli(t, ['ocr', '--object', 'khong-co']);
  t.is(unknownObject.code, 2, show(unknownObject));
  t.regex(unknownObject.stderr, /Không tìm thấy tài liệu "khong-co"\. \/ Object "khong-co" does not exist\./);
  const unknownCollection = await cli(t, ['ocr', '--collection', 'khong-co']);
  t.is(unknownCollection.code, 2, show(unknownCollection));
  t.regex(unknownCollection.stderr, /Không tìm thấy bộ sưu tập "khong-co"\. \/ Collection "khong-co" does not exist\./);
  const empty = await cli(t, ['ocr', '--object', EMPTY]);
  t.is(empty.code, 1, show(empty));
  t.regex(empty.stdout, /Không có trang nào để nhận dạng \/ no page to read/);
  t.regex(empty.stdout, new RegExp(`${EMPTY}: .*no page has a derivative yet`));
  const nothing = await cli(t, ['ocr']);
  t.is(nothing.code, 2, show(nothing));
  t.regex(nothing.stderr, /chọn --object ID hoặc --collection ID \/ choose --object ID or --collection ID/);
  const badId = await cli(t, ['ocr', '--object', 'Có Dấu']);
  t.not(badId.code, 0);
  t.is(await queue!.getWaitingCount(), before);
});
