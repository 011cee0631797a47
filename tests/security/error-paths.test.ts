import anyTest, { type TestFn } from 'ava';
import { readdir, rm } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { capturedLog } from '../helpers/captured-log.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';

/**
 * Internal errors, forced: a master gone from storage (node's error names its full path), the
 * read model's tables gone (every list, record, manifest and page fails). Each answer is a
 * plain 4xx/5xx that says something went wrong, in both languages; none carries a stack
 * frame, a source file, a path of this machine or the error's own text. The log keeps it all.
 */
const test = anyTest as TestFn<{ server: TestServer }>;
const { logger, lines } = capturedLog('error');

test.before(async (t) => {
  t.context.server = await startTestServer({}, logger);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

/** What no body may contain: where things are on this machine, and how the code failed. */
function leaks(s: TestServer, body: string): string[] {
  const found: string[] = [];
  const dirs = [s.dataDir, realpathSync(s.dataDir), tmpdir(), realpathSync(tmpdir()), homedir(), process.cwd(), '/home/', '/tmp/', '/root/', '/var/lib/'];
  for (const dir of dirs) if (body.includes(dir)) found.push(dir);
  for (const [name, re] of [
    ['stack frame', /\n\s+at |\bat [\w.<>]+ \(/],
    ['source file', /\.(ts|js|mjs|cjs):\d+/],
    ['node_modules', /node_modules/],
    ['errno', /\b(ENOENT|EISDIR|EACCES|SQLITE_\w+|SqliteError)\b/],
    ['sql', /no such table/i],
  ] as const) {
    if (re.test(body)) found.push(name);
  }
  return found;
}

let work: { id: string; fileId: string; collectionId: string };

test.serial.before(async (t) => {
  const s = t.context.server;
  const collectionId = 'loi-noi-bo';
  await staffCall(s, 'POST', '/api/collections', { id: collectionId, title: 'Lỗi nội bộ' });
  const id = (await staffCall(s, 'POST', '/api/objects', { title: 'Bản gốc biến mất', accessLevel: 'open', collectionId })).id as string;
  const fileId = (await uploadFile(s, id, await page('Mất — 失'), 'trang_1.tif')).fileId as string;
  await poll('the manifest', 30_000, async () => ((await fetch(`${s.url}/iiif/manifest/${id}`)).status === 200 ? true : undefined));
  work = { id, fileId, collectionId };
});

async function fetchAll(s: TestServer, paths: Array<[string, Record<string, string>?]>): Promise<Array<{ path: string; status: number; body: string }>> {
  const out = [];
  for (const [path, headers] of paths) {
    for (const language of ['vi', 'en']) {
      const res = await fetch(`${s.url}${path}`, { headers: { 'accept-language': language, ...headers } });
      out.push({ path: `${path} (${language})`, status: res.status, body: await res.text() });
    }
  }
  return out;
}

test.serial('a master gone from storage: the download and the image answer without its path', async (t) => {
  const s = t.context.server;
  const from = lines.length;
  // The master's bytes, wherever OCFL put them under the object's content folders.
  const files = (await readdir(s.config.ocflRoot, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name === 'trang_1.tif');
  t.is(files.length, 1);
  await rm(join(files[0]!.parentPath, files[0]!.name));
  const answers = await fetchAll(s, [
    [`/api/objects/${work.id}/files/${work.fileId}/content`, { authorization: `Bearer ${s.readerToken}` }],
    [`/iiif/3/${work.fileId}/full/123,/0/default.jpg`],
    [`/iiif/3/${work.fileId}/10,10,300,300/77,/33/default.png`],
  ]);
  for (const a of answers) {
    t.true(a.status >= 400, `${a.path}: ${a.status}`);
    t.deepEqual(leaks(s, a.body), [], `${a.path}: ${a.body}`);
  }
  t.true(answers.some((a) => a.status === 500), 'the download failed inside the server');
  t.true(lines.slice(from).some((l) => JSON.stringify(l).includes('trang_1.tif')), 'the log has what the body does not');
});

test.serial('the read model broken: API, IIIF and site pages answer 500 with a bilingual notice and nothing else', async (t) => {
  const s = t.context.server;
  const tables = ['objects', 'files', 'collections', 'iiif_manifests', 'iiif_collections'];
  for (const table of tables) s.readDb.exec(`ALTER TABLE ${table} RENAME TO ${table}_gone`);
  try {
    const answers = await fetchAll(s, [
      ['/api/objects'],
      [`/api/objects/${work.id}`],
      ['/api/collections'],
      [`/iiif/manifest/${work.id}`],
      ['/iiif/collection/top'],
      [`/iiif/collection/${work.collectionId}`],
      ['/'],
      [`/objects/${work.id}`],
      [`/collections/${work.collectionId}`],
      ['/search?q=m%E1%BA%A5t'],
    ]);
    for (const a of answers) {
      t.true(a.status >= 400, `${a.path}: ${a.status}`);
      t.deepEqual(leaks(s, a.body), [], `${a.path}: ${a.body.slice(0, 2000)}`);
    }
    const failed = answers.filter((a) => a.status === 500);
    t.true(failed.length >= 10, `internal errors forced: ${answers.map((a) => `${a.path} ${a.status}`).join(', ')}`);
    for (const a of failed.filter((x) => !x.body.startsWith('<!doctype html>'))) {
      const problem = JSON.parse(a.body) as { status: number; type: string; messages: { vi: string; en: string } };
      t.like(problem, { status: 500, type: '/problems/internal' }, a.path);
      t.regex(problem.messages.vi, /Lỗi máy chủ/, a.path);
      t.regex(problem.messages.en, /Internal server error/, a.path);
    }
  } finally {
    for (const table of tables) s.readDb.exec(`ALTER TABLE ${table}_gone RENAME TO ${table}`);
  }
  t.is((await fetch(`${s.url}/api/objects/${work.id}`)).status, 200, 'the same server answers again once the tables are back');
});
