import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Queue } from 'bullmq';
import { type OcrJob, QUEUES, queueConnection } from '../../src/queue/queues.ts';
import { unixSocketUrl } from '../../src/queue/redis.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { freePort, type Run, type Running, show, signalGroup, sleep, startThukho, thukho, waitForHealth } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho ocr` in the embedded profile (REDIS_URL unset), as an operator runs it: while
 * `thukho serve` runs, the command shares the server's own redis-server (its socket) instead
 * of refusing the data directory as "in use"; with no server running it starts one for itself
 * and its jobs are there for the next server.
 */
const tempDir = tempDirs(test, 'thk-ocr-');
const EMBEDDED = { REDIS_URL: undefined, THUKHO_LOG_LEVEL: 'warn', THUKHO_HOST: '127.0.0.1' };
const OBJECT = 'to-khai-nhung';

async function stop(running: Running): Promise<Run> {
  signalGroup(running, 'SIGINT');
  const r = await Promise.race([running.exited, sleep(60_000).then(() => null)]);
  if (r === null) {
    signalGroup(running, 'SIGKILL');
    throw new Error(`serve did not stop within a minute:\n${running.stderr()}`);
  }
  return r;
}

/** The server's OCR queue, through its embedded redis-server's socket; closed after `fn`. */
async function ocrQueue<T>(dir: string, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = queueConnection(unixSocketUrl(join(dir, 'redis', 'redis.sock')));
  const queue = new Queue<OcrJob>(QUEUES.ocr, { connection, prefix: 'thukho' });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

const requestOf = (r: Run) => /request ([0-9a-f-]{36})/.exec(r.stdout)?.[1];

test.serial('while serve runs, thukho ocr queues on its redis; with none running, on its own, kept for the next serve', async (t) => {
  const dir = tempDir();
  const added = await thukho(dir, ['users', 'add', 'lan', '--name', 'Nguyễn Thị Lan', '--role', 'curator'], EMBEDDED);
  t.is(added.code, 0, show(added));
  const staffToken = added.stdout.trim();
  const port = await freePort();
  let running = startThukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  const s = { url: `http://127.0.0.1:${port}`, staffToken };
  try {
    await waitForHealth(running, port);
    t.like(await staffCall(s, 'POST', '/api/objects', { id: OBJECT, title: 'Tờ khai nhũng' }), { id: OBJECT });
    const fileId = (await uploadFile(s, OBJECT, await scan('Tờ khai'), 'to_khai.tif')).fileId as string;
    await poll('the derivative', 90_000, async () => {
      const o = await staffCall(s, 'GET', `/api/objects/${OBJECT}`);
      return (o.files as Json[])[0]?.derivative ? true : undefined;
    }, 200);

    const first = await thukho(dir, ['ocr', '--object', OBJECT], EMBEDDED);
    t.is(first.code, 0, show(first));
    t.notRegex(first.stderr, /in use by another thukho/);
    const request = requestOf(first)!;
    const job = await ocrQueue(dir, (q) => q.getJob(`ocr-${request}-${fileId}`));
    t.like(job?.data, { objectId: OBJECT, fileId, page: 1, cause: request });
    t.like((await fetch(`${s.url}/health`).then((r) => r.json() as Promise<Json>)).redis, { status: 'ok' }, 'the server\'s redis is unharmed');
    t.is((await stop(running)).code, 0);

    // No server: the command runs a redis-server for itself, and stops it.
    const second = await thukho(dir, ['ocr', '--object', OBJECT, '--again'], EMBEDDED);
    t.is(second.code, 0, show(second));
    const again = requestOf(second)!;
    t.false(existsSync(join(dir, 'redis', 'owner.json')), 'no redis-server left running');

    // The next server (without workers, so nothing takes the job) has it waiting.
    running = startThukho(dir, ['serve', '--no-workers'], { ...EMBEDDED, THUKHO_PORT: String(port) });
    await waitForHealth(running, port);
    const kept = await ocrQueue(dir, async (q) => {
      const j = await q.getJob(`ocr-${again}-${fileId}`);
      return j ? { data: j.data, state: await j.getState() } : undefined;
    });
    t.like(kept, { data: { objectId: OBJECT, fileId, page: 1, cause: again, again: true }, state: 'waiting' });
  } finally {
    if (running.child.exitCode === null && running.child.signalCode === null) await stop(running);
  }
});
