/**
 * Staff workspace benchmark (issue 18), side by side in one run on one machine:
 *
 *   1. the staff list through HTTP over a seeded repository (default 10,000 works, 200,000
 *      pages, appended straight to the event log and read in by the projections):
 *      p50/p95/p99 of `GET /staff/objects` (the server-rendered page) and `GET /api/objects`
 *      for a few filter combinations;
 *   2. one TIFF-sized file uploaded from real headless Chromium through the object screen's
 *      upload panel (SHA-256 in the browser, pre-check, XHR with Content-Digest) against
 *      `curl --data-binary` of the same file to the same route, and the ratio.
 *
 *   npm run bench:staff
 *   STAFF_BENCH_WORKS=1000 STAFF_BENCH_UPLOAD_MB=50 npm run bench:staff    (a quick run)
 *
 * Env: STAFF_BENCH_WORKS (10000), STAFF_BENCH_PAGES (20 per work), STAFF_BENCH_REQUESTS (200
 * per combination), STAFF_BENCH_UPLOAD_MB (500; 0 skips the upload). Needs redis on REDIS_URL
 * (default 127.0.0.1:6379), `npm run build` (the staff script) and Chromium. --keep leaves the
 * data directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import sharp from 'sharp';
import { envelope } from '../../src/application/command-handler.ts';
import { createUser, createUserWithPassword } from '../../src/application/users.ts';
import { loadConfig } from '../../src/config.ts';
import type { DomainEvent, IngestedFile } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { outboxCounts } from '../../src/projections/dispatcher.ts';
import { startServer } from '../../src/serve.ts';
import { launchChromium } from '../../tests/helpers/browser.ts';
import { mulberry32 } from '../../tests/helpers/prng.ts';
import { derivativeFact } from '../../tests/helpers/work-history.ts';

const run = promisify(execFile);
const int = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Math.max(0, Math.floor(Number(v)));
};
const WORKS = int('STAFF_BENCH_WORKS', 10_000);
const PAGES_PER_WORK = int('STAFF_BENCH_PAGES', 20);
const REQUESTS = int('STAFF_BENCH_REQUESTS', 200);
const UPLOAD_MB = int('STAFF_BENCH_UPLOAD_MB', 500);
const KEEP = process.argv.includes('--keep');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'mật khẩu của bài đo';

const rand = mulberry32(18);
const COLLECTIONS = ['dia-ba', 'gia-pha', 'huong-uoc', 'sac-phong', 'van-tu'];
const TYPES = ['Địa bạ', 'Gia phả', 'Hương ước', 'Sắc phong', 'Văn tự'];
const PLACES = ['Tứ Kỳ', 'Hoàng Long', 'Đông Ngạc', 'Kim Liên', 'Phú Xuyên', 'Thanh Oai', 'Đường Lâm', 'Mộ Trạch', 'Bát Tràng', 'Cổ Loa'];
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0').slice(-len);

async function seed(store: SqliteEventStore): Promise<number> {
  const context = { actor: { id: 'bench', role: 'admin' } } as const;
  let events = 0;
  for (const [i, id] of COLLECTIONS.entries()) {
    await store.append(`collection-${id}`, envelope([{ type: 'CollectionCreated', data: { collectionId: id, title: TYPES[i] as string } }] as never[], context).newEvents, 'no_stream');
  }
  for (let w = 0; w < WORKS; w++) {
    const objectId = `w${w}`;
    const c = w % COLLECTIONS.length;
    const decided: DomainEvent[] = [{
      type: 'ObjectRegistered',
      data: {
        objectId,
        metadata: {
          title: `${TYPES[c]} xã ${PLACES[w % PLACES.length]} số ${w}`,
          identifier: `HN.${w}`,
          language: [rand() < 0.7 ? 'vie' : 'lzh'],
          collectionId: COLLECTIONS[c] as string,
        },
        accessLevel: rand() < 0.85 ? 'open' : rand() < 0.6 ? 'restricted' : 'confidential',
      },
    }];
    const facts: DomainEvent[] = [];
    for (let p = 0; p < PAGES_PER_WORK; p++) {
      const fileId = `w${w}-p${p}`;
      const n = w * 1000 + p;
      const file: IngestedFile = {
        fileId,
        name: `${fileId}.tif`,
        role: 'master',
        size: 60_000_000,
        mediaType: 'image/tiff',
        digests: { sha512: hex(n, 128).padStart(128, 'a'), sha256: hex(n, 64).padStart(64, 'b') },
        image: { width: 4000, height: 6000 },
        storage: { ocflObjectId: objectId, version: 'v1', path: `v1/content/${fileId}.tif` },
      };
      decided.push({ type: 'FileIngested', data: { objectId, sequence: p, ...file } });
      // Through the pipeline already: no derivative jobs for the dispatcher to hand out.
      facts.push(derivativeFact(objectId, file));
      if (w % 3 === 0) facts.push({ type: 'PageTextRecorded', data: { objectId, fileId, text: `trang ${p}`, source: 'ocr', engine: 'bench' } });
    }
    await store.append(`object-${objectId}`, envelope(decided as never[], context).newEvents, 'no_stream');
    await store.append(`preservation-${objectId}`, envelope(facts as never[], context).newEvents, 'no_stream');
    events += decided.length + facts.length;
  }
  return events;
}

function percentiles(ms: number[]): { p50: number; p95: number; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
  return { p50: at(50), p95: at(95), p99: at(99) };
}
const fmt = (p: { p50: number; p95: number; p99: number }) => `p50 ${p.p50.toFixed(1)} ms  p95 ${p.p95.toFixed(1)} ms  p99 ${p.p99.toFixed(1)} ms`;

const COMBOS: Array<{ name: string; query: string }> = [
  { name: 'first page, no filter', query: '' },
  { name: 'collection', query: 'collectionId=gia-pha' },
  { name: 'collection + access level', query: 'collectionId=dia-ba&accessLevel=restricted' },
  { name: 'text search', query: 'q=tu%20ky' },
  { name: 'has OCR + status all', query: 'hasOcr=true&status=all' },
  { name: 'fixity unchecked', query: 'fixity=unchecked' },
  { name: 'deep cursor', query: `cursor=${Math.max(2, Math.floor(WORKS * (PAGES_PER_WORK + 1) / 2))}` },
];

async function timeRequests(url: string, token: string): Promise<number[]> {
  const headers = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 5; i++) await (await fetch(url, { headers })).arrayBuffer();
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const start = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    ms.push(performance.now() - start);
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  }
  return ms;
}

/** A TIFF of about `mb` megabytes (uncompressed RGB), as scanners write masters. */
async function bigTiff(path: string, mb: number): Promise<number> {
  const width = 4000;
  const height = Math.max(1, Math.ceil((mb * 1024 * 1024) / (3 * width)));
  const noise = await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  await sharp({ create: { width, height, channels: 3, background: { r: 236, g: 228, b: 210 } }, limitInputPixels: false })
    .composite([{ input: noise, tile: true }])
    .removeAlpha()
    .tiff({ compression: 'none' })
    .toFile(path);
  return statSync(path).size;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'thukho-bench-staff-'));
  const config = loadConfig({
    THUKHO_DATA_DIR: dir,
    THUKHO_PORT: '0',
    THUKHO_HOST: '127.0.0.1',
    REDIS_URL,
    THUKHO_QUEUE_PREFIX: `bench-staff-${process.pid}`,
    THUKHO_LOG_LEVEL: 'silent',
  });
  console.log(`staff bench: ${WORKS} works × ${PAGES_PER_WORK} pages = ${WORKS * PAGES_PER_WORK} pages, ${REQUESTS} requests per combination, upload ${UPLOAD_MB} MB; ${os.cpus().length} CPUs, in ${dir}`);
  try {
    const store = new SqliteEventStore(config.eventStore.kind === 'sqlite' ? config.eventStore.path : join(dir, 'events.sqlite'));
    let t0 = performance.now();
    const written = await seed(store);
    await store.close();
    console.log(`seed: ${written} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const server = await startServer(config, pino({ level: 'silent' }));
    try {
      t0 = performance.now();
      const head = (await server.store.headPosition()) ?? 0n;
      while (server.projections.some((p) => p.lagBehind(head) > 0) || server.search.lagBehind(head) > 0) await new Promise((r) => setTimeout(r, 200));
      while (outboxCounts(server.readDb).pending > 0) await new Promise((r) => setTimeout(r, 200));
      console.log(`projections caught up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const admin = { actor: { id: 'bench', role: 'admin' } } as const;
      const { token } = await createUser(server.store, 'bench-curator', 'Cán bộ đo', 'curator', admin);
      const pw = await createUserWithPassword(server.store, 'bench-browser', 'Cán bộ trình duyệt', 'curator', PASSWORD, admin);
      const users = server.projections.find((p) => p.projection.name === 'users');
      if (users && pw.position !== null) await users.waitForPosition(pw.position, 10_000);

      console.log('\nstaff list through HTTP (bearer token, curator):');
      for (const combo of COMBOS) {
        const sep = combo.query ? '?' : '';
        const page = percentiles(await timeRequests(`${server.url}/staff/objects${sep}${combo.query}`, token));
        const apiP = percentiles(await timeRequests(`${server.url}/api/objects${sep}${combo.query}`, token));
        console.log(`  ${combo.name.padEnd(28)} /staff/objects ${fmt(page)} | /api/objects ${fmt(apiP)}`);
      }

      if (UPLOAD_MB > 0) {
        const file = join(dir, 'bench-master.tif');
        const bytes = await bigTiff(file, UPLOAD_MB);
        console.log(`\nupload of one ${(bytes / 1024 / 1024).toFixed(0)} MB TIFF to POST /api/objects/:id/files:`);
        const create = async (title: string) => {
          const res = await fetch(`${server.url}/api/objects`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title }) });
          return ((await res.json()) as { id: string }).id;
        };
        // Each into its own work: the same bytes into one work would be a duplicate the second time.
        const curlObject = await create('Bài đo tải lên (curl)');
        const browserObject = await create('Bài đo tải lên (trình duyệt)');

        t0 = performance.now();
        const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', `@${file}`, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/octet-stream', `${server.url}/api/objects/${curlObject}/files?name=master.tif`]);
        const curlMs = performance.now() - t0;
        if (!stdout.startsWith('20')) throw new Error(`curl upload answered ${stdout}`);

        const browser = await launchChromium();
        let browserMs = 0;
        let hashMs = 0;
        try {
          const page = await (await browser.newContext()).newPage();
          await page.goto(`${server.url}/sign-in?return=${encodeURIComponent(`/staff/objects/${browserObject}`)}`);
          await page.fill('input[name="account"]', 'bench-browser');
          await page.fill('input[name="password"]', PASSWORD);
          await Promise.all([page.waitForURL(`**/staff/objects/${browserObject}`), page.click('form.sign-in-form button[type="submit"]')]);
          await page.waitForSelector('#upload-files', { state: 'attached' });
          t0 = performance.now();
          await page.setInputFiles('#upload-files', file);
          await page.waitForSelector('#upload-list tr[data-state="checking"], #upload-list tr[data-state="queued"], #upload-list tr[data-state="sending"]', { timeout: 600_000 });
          hashMs = performance.now() - t0;
          await page.waitForSelector('#upload-list tr[data-state="done"], #upload-list tr[data-state="failed"], #upload-list tr[data-state="refused"]', { timeout: 1_800_000 });
          browserMs = performance.now() - t0;
          hashMs = await page.evaluate(() => performance.getEntriesByName('thukho:sha256').reduce((n, e) => n + e.duration, 0));
          const state = await page.getAttribute('#upload-list tr', 'data-state');
          if (state !== 'done') throw new Error(`browser upload ended ${state}: ${await page.textContent('#upload-list tr')}`);
        } finally {
          await browser.close();
        }
        const mbps = (ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(1);
        console.log(`  curl --data-binary:         ${(curlMs / 1000).toFixed(2)} s (${mbps(curlMs)} MB/s)`);
        console.log(`  Chromium upload panel:      ${(browserMs / 1000).toFixed(2)} s (${mbps(browserMs)} MB/s), of which reading the file + SHA-256 (Web Crypto) in the page ${(hashMs / 1000).toFixed(2)} s`);
        console.log(`  ratio (browser throughput / curl throughput): ${(curlMs / browserMs).toFixed(2)}× (target ≥ 0.8×)`);
      }
    } finally {
      await server.stop();
      const redis = new Redis(REDIS_URL);
      for await (const keys of redis.scanStream({ match: `${config.queuePrefix}:*`, count: 1000 })) if ((keys as string[]).length) await redis.del(...(keys as string[]));
      await redis.quit();
    }
  } finally {
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
