import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { workIdFor } from '../../src/application/harvest.ts';
import { loadObject, objectStream } from '../../src/application/object-commands.ts';
import { poll } from '../helpers/api.ts';
import { ROOT, show, signalGroup, startThukho, thukho } from '../helpers/cli.ts';
import { withEventLog } from '../helpers/events.ts';
import { page } from '../helpers/images.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho harvest` with the files records link to (issue 21 part 4): DSpace-style bitstream
 * URLs in recorded oai_dc responses (tests/fixtures/oai-dspace/files-*.xml), served with the
 * images from one local HTTP server that plays both the OAI provider and the bitstream store.
 * Digests come from the record (DSpace provenance text, a `sha-256:` value) or from the
 * response (Digest, Content-MD5, Repr-Digest). A wrong digest, a 404 and a stalled download
 * each refuse only their record and leave nothing of it; the next run asks for those records
 * again (GetRecord) and takes them once the source is right; files already here are never
 * fetched again. Also: a harvest killed mid-list resumes from its saved token.
 */
const FIXTURES = join(ROOT, 'tests/fixtures/oai-dspace');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const ID = (n: number) => `oai:dspace.thuvien-tinh.example.vn:123456789/${n}`;
const SET = 'col_123456789_3';
const UUID_PATH = '/server/api/core/bitstreams/4f1c9a2e-7d6b-4c1e-9a57-3b2f0c8d1e65/content';

const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const sha512hex = (b: Buffer) => createHash('sha512').update(b).digest('hex');

type FileMode = 'ok' | '404' | 'stall' | 'bad-digest';
interface Bitstream {
  bytes: Buffer;
  type: string;
  mode: FileMode;
  headers?: (b: Buffer) => Record<string, string>;
}

interface Source {
  base: string;
  oai: string;
  files: Map<string, Bitstream>;
  /** Paths of bitstream requests, in order. */
  fetched: string[];
  oaiRequests: URLSearchParams[];
  /** Record 23's provenance MD5: wrong until the test repairs it. */
  repaired23: boolean;
  close(): Promise<void>;
}

async function source(): Promise<Source> {
  const files = new Map<string, Bitstream>([
    ['/bitstream/handle/123456789/21/trang-1.jpg', { bytes: await page('Hương ước – trang 1', { format: 'jpeg' }), type: 'image/jpeg', mode: 'ok' }],
    ['/bitstream/handle/123456789/21/trang-2.jpg', { bytes: await page('Hương ước – trang 2', { format: 'jpeg' }), type: 'image/jpeg', mode: 'ok' }],
    ['/bitstream/handle/123456789/21/license.txt', { bytes: Buffer.from('NOTE: PLACE YOUR OWN LICENSE HERE\n'), type: 'text/plain;charset=UTF-8', mode: 'ok' }],
    ['/bitstream/handle/123456789/22/sac-phong.png', { bytes: await page('Sắc phong', { format: 'png' }), type: 'image/png', mode: 'ok', headers: (b) => ({ digest: `sha-256=${sha256(b).toString('base64')}` }) }],
    ['/bitstream/handle/123456789/23/dia-ba.jpg', { bytes: await page('Địa bạ', { format: 'jpeg' }), type: 'image/jpeg', mode: 'ok' }],
    ['/bitstream/handle/123456789/24/gia-pha.jpg', { bytes: await page('Gia phả', { format: 'jpeg' }), type: 'image/jpeg', mode: '404' }],
    [UUID_PATH, {
      bytes: await page('Bản đồ Từ Liêm'), type: 'image/tiff', mode: 'ok',
      headers: (b) => ({ 'content-md5': md5(b).toString('base64'), 'content-disposition': `attachment; filename="ban-do.tif"` }),
    }],
    ['/bitstream/handle/123456789/26/van-te.jpg', { bytes: await page('Văn tế', { format: 'jpeg' }), type: 'image/jpeg', mode: 'stall' }],
    ['/bitstream/handle/123456789/27/than-tich.jpg', {
      bytes: await page('Thần tích', { format: 'jpeg' }), type: 'image/jpeg', mode: 'bad-digest',
      headers: (b) => ({ 'repr-digest': `sha-256=:${sha256(b).toString('base64')}:` }),
    }],
  ]);
  const byName = (name: string) => [...files].find(([p]) => p.endsWith(`/${name}`))?.[1]?.bytes ?? files.get(UUID_PATH)!.bytes;
  const s = { files, fetched: [] as string[], oaiRequests: [] as URLSearchParams[], repaired23: false };
  const records = () =>
    fixture('files-records.xml')
      .replaceAll('{{BASE}}', base)
      .replace(/\{\{(md5|sha256|size):([^}]+)\}\}/g, (_m, kind: string, name: string) => {
        const b = byName(name);
        return kind === 'md5' ? md5(b).toString('hex') : kind === 'sha256' ? sha256(b).toString('hex') : String(b.length);
      })
      .replace('0123456789abcdef0123456789abcdef', (wrong) => (s.repaired23 ? md5(byName('dia-ba.jpg')).toString('hex') : wrong));
  const envelope = (verb: string, body: string) =>
    fixture('files-list.xml').replace('<ListRecords>\n{{RECORDS}}\n</ListRecords>', `<${verb}>\n${body}\n</${verb}>`);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/server/oai/request') {
      const q = url.searchParams;
      s.oaiRequests.push(q);
      res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
      if (q.get('verb') === 'GetRecord') {
        const one = records().split('<record>').find((r) => r.includes(`<identifier>${q.get('identifier')}</identifier>`));
        return res.end(envelope('GetRecord', `<record>${one}`));
      }
      const from = q.get('from');
      if (from !== null && from >= '2026-11-20') return res.end(fixture('no-records.xml'));
      return res.end(envelope('ListRecords', records()));
    }
    const file = files.get(url.pathname);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<html>not here</html>');
    }
    s.fetched.push(url.pathname);
    if (file.mode === 'stall') return; // headers never come
    if (file.mode === '404') {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<html><body>Không tìm thấy / Not found</body></html>');
    }
    // bad-digest: the header describes other bytes than those sent (a corrupted copy on the server).
    const sent = file.mode === 'bad-digest' ? Buffer.concat([file.bytes.subarray(0, file.bytes.length - 1), Buffer.from([file.bytes.at(-1)! ^ 0xff])]) : file.bytes;
    res.writeHead(200, { 'content-type': file.type, 'content-length': String(sent.length), ...(file.headers?.(file.bytes) ?? {}) });
    res.end(sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(s, {
    base,
    oai: `${base}/server/oai/request`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const newDir = tempDirs(test, 'thukho-harvest-files-');

interface Report {
  complete: boolean;
  created: Array<{ objectId: string; identifier: string; files?: string[]; notes?: Array<{ vi: string; en: string }> }>;
  changed: Array<{ identifier: string }>;
  deleted: unknown[];
  refused: Array<{ identifier?: string; reason: { vi: string; en: string } }>;
  unchanged: number;
  files: { added: number; skipped: number; bytes: number };
  manifests: Array<{ identifier: string; url: string; imported: boolean; why?: { vi: string; en: string } }>;
  retried: number;
}

const args = (s: Source, ...more: string[]) => ['harvest', s.oai, '--set', SET, '--retries', '0', '--timeout', '1', ...more];

test('linked files are fetched with their digests checked; a bad file refuses only its record, leaves nothing, and is tried again next run; nothing is fetched twice', async (t) => {
  const s = await source();
  t.teardown(() => s.close());
  const dir = newDir();

  const first = await thukho(dir, args(s, '--json'));
  t.is(first.code, 1, show(first)); // refusals: exit 1, the run completes
  const r1 = JSON.parse(first.stdout) as Report;
  t.true(r1.complete);
  t.deepEqual(r1.created.map((c) => [c.identifier, c.files]), [
    [ID(21), ['trang-1.jpg', 'trang-2.jpg']],
    [ID(22), ['sac-phong.png']],
    [ID(25), ['ban-do.tif']],
  ]);
  const reason = (n: number) => r1.refused.find((r) => r.identifier === ID(n))?.reason;
  t.regex(reason(23)?.en ?? '', /dia-ba\.jpg\?sequence=1: the md5 digest does not match the one the source gives \(source 0123456789abcdef0123456789abcdef, received [0-9a-f]{32}\); the file is not kept/, JSON.stringify(r1.refused));
  t.regex(reason(23)?.vi ?? '', /giá trị băm md5 không khớp/);
  t.regex(reason(24)?.en ?? '', /could not fetch the file .*gia-pha\.jpg.*: HTTP 404/);
  t.regex(reason(26)?.en ?? '', /van-te\.jpg\?sequence=1 did not answer within 1 s \(tried 1 times\)/);
  t.regex(reason(27)?.en ?? '', /than-tich\.jpg\?sequence=1: the sha-256 digest does not match/);
  t.is(r1.refused.length, 4);
  // The record's bitstream is its file: the manifest it also links is not fetched for pages.
  t.deepEqual(r1.manifests, [
    { objectId: workIdFor(ID(22)), identifier: ID(22), url: `${s.base}/iiif/123456789-22/manifest`, imported: false, why: { vi: 'bản ghi đã có tệp từ các liên kết tệp', en: 'the record brought files from its file links' } },
  ]);
  t.true(r1.created[0]?.notes?.some((n) => /license\.txt/.test(n.en) && /not kept/.test(n.en)), JSON.stringify(r1.created[0]?.notes));
  t.is(r1.files.added, 4);
  t.false(s.fetched.some((p) => p.startsWith('/handle/') || p.startsWith('/iiif/')), 'the landing page and the manifest are not fetched');

  const text = await thukho(dir, args(s, '--from', '2000-01-01'));
  t.regex(text.stdout, /⧉ .*IIIF manifest .*manifest: chưa nhập \/ not imported: .*the record brought files from its file links/);
  t.regex(text.stdout, /✗ .*123456789\/23: .*md5 digest does not match/);

  await withEventLog(dir, async (store) => {
    const work = await loadObject(store, workIdFor(ID(21)));
    if (work.state.status !== 'active') return t.fail(work.state.status);
    t.deepEqual(work.state.files.map((f) => [f.name, f.digests.sha512, f.mediaType]), [
      ['trang-1.jpg', sha512hex(s.files.get('/bitstream/handle/123456789/21/trang-1.jpg')!.bytes), 'image/jpeg'],
      ['trang-2.jpg', sha512hex(s.files.get('/bitstream/handle/123456789/21/trang-2.jpg')!.bytes), 'image/jpeg'],
    ]);
    const map = await loadObject(store, workIdFor(ID(25)));
    t.like(map.state, { status: 'active' });
    if (map.state.status === 'active') t.deepEqual(map.state.files.map((f) => f.name), ['ban-do.tif']);
    for (const n of [23, 24, 26, 27]) {
      let events = 0;
      for await (const _ of store.readStream(objectStream(workIdFor(ID(n))))) events++;
      t.is(events, 0, `record ${n} left nothing on the log`);
    }
  });
  const staging = join(dir, 'staging');
  t.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], 'no staged bytes left behind');

  // The source is mended: the 404 and the stalled file are there, the corrupted copy is fixed.
  s.files.get('/bitstream/handle/123456789/24/gia-pha.jpg')!.mode = 'ok';
  s.files.get('/bitstream/handle/123456789/26/van-te.jpg')!.mode = 'ok';
  s.files.get('/bitstream/handle/123456789/27/than-tich.jpg')!.mode = 'ok';
  s.fetched.length = 0;
  s.oaiRequests.length = 0;
  const second = await thukho(dir, args(s, '--json'));
  const r2 = JSON.parse(second.stdout) as Report;
  t.is(second.code, 1, show(second)); // 23's checksum in the record is still wrong
  t.deepEqual(r2.created.map((c) => c.identifier), [ID(24), ID(26), ID(27)]);
  t.deepEqual(r2.refused.map((r) => r.identifier), [ID(23)]);
  t.is(r2.retried, 4);
  t.deepEqual(s.oaiRequests.map((q) => q.get('verb') === 'GetRecord' ? q.get('identifier') : `list from ${q.get('from')}`), [
    'list from 2026-11-20T03:14:15Z', ID(23), ID(24), ID(26), ID(27),
  ]);
  t.false(s.fetched.some((p) => /\/2[125]\/|bitstreams/.test(p)), `files already kept are not fetched again: ${s.fetched.join(', ')}`);

  // The source repairs record 23's checksum: it comes in; then a run that changes nothing says so.
  s.repaired23 = true;
  const third = await thukho(dir, args(s, '--json'));
  t.is(third.code, 0, show(third));
  t.deepEqual((JSON.parse(third.stdout) as Report).created.map((c) => c.identifier), [ID(23)]);
  s.fetched.length = 0;
  s.oaiRequests.length = 0;
  const fourth = await thukho(dir, args(s));
  t.is(fourth.code, 0, show(fourth));
  t.regex(fourth.stdout, /created 0 · .*changed 0 · .*deleted 0 · .*refused 0/);
  t.regex(fourth.stdout, /Không có gì thay đổi \/ nothing changed/);
  t.is(s.oaiRequests.length, 1, 'no record left to ask again');

  // The whole list again: every record is here as it is, no file is fetched.
  const fifth = await thukho(dir, args(s, '--from', '2000-01-01', '--json'));
  const r5 = JSON.parse(fifth.stdout) as Report;
  t.deepEqual([r5.created.length, r5.changed.length, r5.refused.length, r5.unchanged, r5.files.added], [0, 0, 0, 7, 0], show(fifth));
  t.is(r5.files.skipped, 9, 'eight files and the license.txt that is not kept');
  t.deepEqual(s.fetched, [], 'no file fetched again');
});

test('--no-files harvests the metadata only', async (t) => {
  const s = await source();
  t.teardown(() => s.close());
  const dir = newDir();
  const run = await thukho(dir, args(s, '--no-files', '--json'));
  t.is(run.code, 0, show(run));
  const r = JSON.parse(run.stdout) as Report;
  t.is(r.created.length, 7);
  t.is(r.files.added, 0);
  t.deepEqual(s.fetched, []);
  t.like(r.manifests, [{ imported: false, why: { en: 'metadata only (--no-files)' } }], 'a linked IIIF manifest is still reported');
});

test('a harvest killed mid-list resumes from its saved resumption token', async (t) => {
  // The two-page DSpace fixture; page 2 does not answer until the harvester has been killed.
  const TOKEN = 'oai_dc//col_123456789_2/3';
  const requests: URLSearchParams[] = [];
  let stall = true;
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    requests.push(q);
    if (q.get('resumptionToken') !== null && stall) return;
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(fixture(q.get('resumptionToken') === TOKEN ? 'list-page-2.xml' : 'list-page-1.xml'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/server/oai/request`;
  const dir = newDir();

  const running = startThukho(dir, ['harvest', url, '--set', 'col_123456789_2', '--timeout', '600', '--json']);
  await poll('the harvester asking for page 2', 60_000, async () => (requests.some((q) => q.get('resumptionToken') === TOKEN) ? true : undefined));
  signalGroup(running, 'SIGKILL');
  const killed = await running.exited;
  t.is(killed.signal, 'SIGKILL');

  stall = false;
  requests.length = 0;
  const resumed = await thukho(dir, ['harvest', url, '--set', 'col_123456789_2', '--json']);
  const r = JSON.parse(resumed.stdout) as Report & { resumed: boolean };
  t.true(r.resumed, show(resumed));
  t.true(r.complete);
  t.deepEqual(r.created.map((c) => c.identifier), [ID(14)]);
  t.deepEqual(requests.map((q) => q.get('resumptionToken')), [TOKEN], 'only page 2 was asked for');
  await withEventLog(dir, async (store) => {
    for (const n of [11, 13, 14]) {
      const types: string[] = [];
      for await (const e of store.readStream(objectStream(workIdFor(ID(n))))) types.push(e.type);
      t.deepEqual(types, ['ObjectRegistered'], `record ${n} registered once`);
    }
  });
});
