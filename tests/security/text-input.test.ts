import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { executeCollectionCommand } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { show, thukho } from '../helpers/cli.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * A lone surrogate ("\ud800") or a NUL in a catalogue record was accepted (201), and from then
 * on /api/objects and /iiif/collection/top were JSON that strict parsers reject. Such text is
 * refused at the door, naming the field, on every way metadata comes in.
 */
const test = testWithServer();
const tempDir = tempDirs(anyTest, 'thukho-text-');

type Json = Record<string, unknown>;

/** Sends `jsonText` verbatim: the escapes must reach the server as the client wrote them. */
async function send(s: TestServer, method: string, path: string, jsonText: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', ...headers },
    body: jsonText,
  });
  return { status: res.status, etag: res.headers.get('etag') ?? '', json: (await res.json()) as Json };
}

/** The bad strings, as JSON source text, with what the refusal must say. */
const BAD: Array<[string, string, RegExp]> = [
  ['a lone high surrogate', '"a\\ud800b"', /surrogate/],
  ['a lone low surrogate', '"\\udc00 đầu"', /surrogate/],
  ['a high surrogate at the end', '"Kiều\\ud83d"', /surrogate/],
  ['NUL', '"Truyện\\u0000Kiều"', /U\+0000/],
  ['BEL', '"chuông\\u0007"', /U\+0007/],
  ['ESC', '"\\u001b[31mđỏ"', /U\+001B/],
  ['unit separator', '"a\\u001fb"', /U\+001F/],
];

function assertRefused(t: ExecutionContext<unknown>, r: { status: number; json: Json }, field: string, reason: RegExp, label: string) {
  t.is(r.status, 400, `${label}: ${JSON.stringify(r.json)}`);
  t.is(r.json.type, '/problems/invalid-input', label);
  const errors = (r.json.errors ?? []) as Array<{ field: string; message: string }>;
  t.true(
    errors.some((e) => e.field === field),
    `${label}: the refusal names ${field}: ${JSON.stringify(errors)}`,
  );
  const messages = r.json.messages as { vi: string; en: string };
  t.regex(messages.vi, new RegExp(`${field.replace('.', '\\.')}: .*ký tự|${field.replace('.', '\\.')}: .*nửa cặp`), label);
  t.regex(messages.en, reason, label);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string in a JSON document is well-formed Unicode (what strict parsers demand). */
function allWellFormed(value: unknown): boolean {
  if (typeof value === 'string') return !LONE_SURROGATE.test(value) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value);
  if (Array.isArray(value)) return value.every(allWellFormed);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => allWellFormed(k) && allWellFormed(v));
  return true;
}

test.serial('POST and PATCH of objects refuse lone surrogates and control characters in every text field', async (t) => {
  const s = t.context.server;
  const created = await send(s, 'POST', '/api/objects', JSON.stringify({ title: 'Gia Định thành thông chí' }));
  t.is(created.status, 201);
  const id = created.json.id as string;
  const before = await s.store.headPosition();
  for (const [label, bad, reason] of BAD) {
    for (const field of ['title', 'creator', 'description', 'subject', 'identifier']) {
      const body = field === 'title' ? `{"title":${bad}}` : `{"title":"x","${field}":${bad}}`;
      assertRefused(t, await send(s, 'POST', '/api/objects', body), field, reason, `POST ${field} with ${label}`);
      assertRefused(t, await send(s, 'PATCH', `/api/objects/${id}`, `{"${field}":${bad}}`, { 'if-match': created.etag }), field, reason, `PATCH ${field} with ${label}`);
    }
    assertRefused(t, await send(s, 'POST', '/api/objects', `{"title":"x","alternativeTitle":["đúng",${bad}]}`), 'alternativeTitle.1', reason, `alternativeTitle with ${label}`);
    assertRefused(t, await send(s, 'POST', `/api/objects/${id}/withdraw`, `{"reason":${bad}}`), 'reason', reason, `withdraw reason with ${label}`);
  }
  t.is(await s.store.headPosition(), before, 'nothing refused was recorded');
});

test.serial('collections refuse them in title and description', async (t) => {
  const s = t.context.server;
  const created = await send(s, 'POST', '/api/collections', JSON.stringify({ id: 'han-nom', title: 'Hán Nôm' }));
  t.is(created.status, 201);
  const before = await s.store.headPosition();
  for (const [label, bad, reason] of BAD) {
    assertRefused(t, await send(s, 'POST', '/api/collections', `{"id":"khac","title":${bad}}`), 'title', reason, `POST title with ${label}`);
    assertRefused(t, await send(s, 'POST', '/api/collections', `{"id":"khac","title":"x","description":${bad}}`), 'description', reason, `POST description with ${label}`);
    assertRefused(t, await send(s, 'PATCH', '/api/collections/han-nom', `{"title":${bad}}`, { 'if-match': created.etag }), 'title', reason, `PATCH title with ${label}`);
    assertRefused(t, await send(s, 'PATCH', '/api/collections/han-nom', `{"description":${bad}}`, { 'if-match': created.etag }), 'description', reason, `PATCH description with ${label}`);
  }
  t.is(await s.store.headPosition(), before, 'nothing refused was recorded');
});

test.serial('what text may hold is still accepted: tabs, line breaks, Nôm characters outside the BMP', async (t) => {
  const s = t.context.server;
  // 𡨸 (U+21A38, chữ) and 𠊛 (U+2029B, người) are surrogate pairs in UTF-16: well-formed.
  const description = 'Dòng một\nDòng hai\r\nCột\tcột — 𡨸 𠊛';
  const r = await send(s, 'POST', '/api/objects', JSON.stringify({ title: 'Chữ Nôm 𡨸𠊛', description, collectionId: 'han-nom' }));
  t.is(r.status, 201, JSON.stringify(r.json));
  t.is((r.json.metadata as Json | undefined)?.description ?? r.json.description, description);
  const patched = await send(s, 'PATCH', `/api/objects/${r.json.id as string}`, JSON.stringify({ creator: 'Khuyết danh\t(?)' }), { 'if-match': r.etag });
  t.is(patched.status, 200, JSON.stringify(patched.json));
});

test.serial('afterwards the public lists are well-formed JSON all through', async (t) => {
  const s = t.context.server;
  for (const path of ['/api/objects', '/iiif/collection/top', '/api/collections']) {
    const res = await fetch(`${s.url}${path}`);
    t.is(res.status, 200, path);
    // fatal: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await res.arrayBuffer());
    t.true(allWellFormed(JSON.parse(text)), path);
  }
});

test('the bulk ingest metadata sheet refuses them too, naming the folder and the field', async (t) => {
  const work = tempDir();
  const dataDir = join(work, 'repo');
  const batch = join(work, 'batch');
  mkdirSync(join(batch, 'hong'), { recursive: true });
  mkdirSync(join(batch, 'tot'), { recursive: true });
  writeFileSync(join(batch, 'hong', 'a.tif'), await page('hỏng'));
  writeFileSync(join(batch, 'tot', 'a.tif'), await page('tốt'));
  // A CSV cell cannot hold a JSON escape: the NUL is the raw character.
  writeFileSync(join(batch, 'metadata.csv'), 'Thư mục,Nhan đề,Tác giả\nhong,Nhan đề\u0000hỏng,Ai đó\ntot,Nhan đề tốt,Ai đó\n');
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'kho', title: 'Kho' }, { actor: { id: 'test', role: 'staff' } });
  await store.close();

  const r = await thukho(dataDir, ['ingest', batch, '--collection', 'kho', '--json']);
  const summary = JSON.parse(r.stdout) as { objects: { registered: number }; rejected: Array<{ folder: string; reason: string; file?: string }> };
  t.is(summary.objects.registered, 1, show(r));
  const refused = summary.rejected.find((x) => x.folder === 'hong');
  t.truthy(refused, show(r));
  t.regex(refused?.reason ?? '', /^Nhan đề\/title: .*U\+0000/);
});
