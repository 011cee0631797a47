import anyTest, { type TestFn } from 'ava';
import { pino } from 'pino';
import { characterErrorRate } from '../helpers/character-error-rate.ts';
import { guardNetwork } from '../helpers/network-guard.ts';
import { renderWords } from '../helpers/rendered-text.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Issue 20, memory of the embedded profile: the OCR worker loads its engines on the first
 * page, not at start, and lets them go after THUKHO_OCR_IDLE_SECONDS without a page; the next
 * page loads them again and is read. The derivatives that the OCR reads are made by several
 * workers started as one (`thukho worker derivatives+seal+fixity`, how `thukho serve` runs its
 * workers in one process by default), so that a combined process is seen doing its jobs.
 * Real engines, real derivatives worker, real redis; the network is refused beyond loopback.
 */
const network = guardNetwork({ allowLoopback: true });
const modules = Promise.all([import('../helpers/server.ts'), import('../helpers/api.ts'), import('../../workers/index.ts'), import('../../workers/ocr.ts')]);
type Modules = Awaited<typeof modules>;
type Server = Awaited<ReturnType<Modules[0]['startTestServer']>>;

const test = anyTest as TestFn<{
  server: Server;
  m: Modules;
  combined: { close(): Promise<void> };
  ocr: Awaited<ReturnType<Modules[3]['startOcrWorker']>>;
}>;

const PAGE = { width: 2400, height: 420, fontPx: 50, left: 120, top: 140, leading: 90 };

test.serial.before(async (t) => {
  const m = await modules;
  // Niceness 0: the workers run in this test's own process, which must not lower itself.
  const server = await m[0].startTestServer({ THUKHO_OCR_IDLE_SECONDS: '1', THUKHO_WORKER_NICE: '0' });
  const ctx = { store: server.store, redisUrl: server.config.redisUrl!, logger: pino({ level: 'silent' }), config: server.config };
  const start = m[2].WORKERS['derivatives+seal+fixity'];
  if (!start) throw new Error('WORKERS has no derivatives+seal+fixity');
  const combined = await start(ctx);
  // One engine set: the machine's two cores are shared with other tests.
  const ocr = await m[3].startOcrWorker({ ...ctx, concurrency: 1 });
  t.context = { server, m, combined, ocr };
});

test.after.always(async (t) => {
  await t.context.ocr?.close();
  await t.context.combined?.close();
  await t.context.server?.close();
});

async function readPage(t: { context: { server: Server; m: Modules } }, lines: string[], title: string) {
  const { server, m } = t.context;
  const page = await renderWords(lines, PAGE);
  const objectId = (await m[1].staffCall(server, 'POST', '/api/objects', { title, accessLevel: 'open', language: ['vie'] })).id as string;
  const fileId = (await m[1].uploadFile(server, objectId, page.png, 'trang.png')).fileId as string;
  const { outcome, text } = await m[1].poll(`the OCR outcome of ${fileId}`, 600_000, async () => {
    const facts: Array<{ type: string; data: Record<string, unknown> }> = [];
    for await (const e of server.store.readStream(`preservation-${objectId}`)) facts.push({ type: e.type, data: e.data as Record<string, unknown> });
    const found = facts.find((f) => (f.type === 'OcrCompleted' || f.type === 'OcrFailed') && f.data.fileId === fileId);
    return found ? { outcome: found, text: facts.find((f) => f.type === 'PageTextRecorded' && f.data.fileId === fileId) } : undefined;
  }, 250);
  return { page, outcome, text: (text?.data.text as string | undefined) ?? '' };
}

test.serial('no engine until the first page; the page is read; the engines go after the idle time; the next page loads them again and is read', async (t) => {
  t.timeout(scaledTimeout(1_200_000));
  const { ocr, m } = t.context;
  t.is(ocr.pool.engineSets, 0, 'no engine set is loaded at start');
  t.is(ocr.pool.unloads, 0);

  const first = await readPage(t, ['Trăm năm trong cõi người ta,', 'Chữ tài chữ mệnh khéo là ghét nhau.'], 'Truyện Kiều, trang một');
  t.is(first.outcome.type, 'OcrCompleted', JSON.stringify(first.outcome.data));
  t.true(characterErrorRate(first.text, first.page.text) <= 0.05, `read: ${first.text}`);

  // Nothing else to read: after THUKHO_OCR_IDLE_SECONDS (1 s here) every engine set is closed.
  await m[1].poll('the OCR engines unloaded after the idle time', 120_000, async () => (ocr.pool.unloads === 1 && ocr.pool.engineSets === 0 ? true : undefined), 100);

  const second = await readPage(t, ['Trải qua một cuộc bể dâu,', 'Những điều trông thấy mà đau đớn lòng.'], 'Truyện Kiều, trang hai');
  t.is(second.outcome.type, 'OcrCompleted', JSON.stringify(second.outcome.data));
  t.true(characterErrorRate(second.text, second.page.text) <= 0.05, `read: ${second.text}`);
  // The second page needed the engines again: loaded anew (and let go again once idle).
  await m[1].poll('the reloaded engines unloaded again', 120_000, async () => (ocr.pool.unloads === 2 && ocr.pool.engineSets === 0 ? true : undefined), 100);
  t.deepEqual(network.attempts, [], 'nothing was fetched beyond loopback');
});
