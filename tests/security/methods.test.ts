import anyTest, { type TestFn } from 'ava';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'node:http';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { capturedLog } from '../helpers/captured-log.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';

/**
 * Requests that are the client's business, not a server fault: methods nobody implements
 * (TRACE, PROPFIND, MKCOL, from scanners and WebDAV clients), a method a path does not take,
 * an upload the client gives up on. Each gets a quiet 4xx/501 answer and a log line that says
 * what happened; none is a 500 or an error-level line with a stack trace.
 */
const test = anyTest as TestFn<{ server: TestServer }>;
const { logger, lines } = capturedLog('info');

test.before(async (t) => {
  t.context.server = await startTestServer({}, logger);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const errorsSince = (from: number) => lines.slice(from).filter((l) => (l.level as number) >= 50);

function send(s: TestServer, method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { 'content-type': 'application/xml' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(method === 'PROPFIND' ? '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>' : undefined);
  });
}

test.serial('TRACE, PROPFIND, MKCOL and friends: 501 problem+json, logged at info, never a 500 or an error line', async (t) => {
  const s = t.context.server;
  const from = lines.length;
  for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'PROPPATCH']) {
    for (const path of ['/', '/health', '/api/objects', '/iiif/collection/top', '/no/such/thing']) {
      const r = await send(s, method, path);
      t.is(r.status, 501, `${method} ${path}: ${r.body}`);
      t.regex(String(r.headers['content-type']), /^application\/problem\+json/, `${method} ${path}`);
      t.like(JSON.parse(r.body), { status: 501, type: '/problems/method-not-implemented' }, `${method} ${path}`);
    }
  }
  t.deepEqual(errorsSince(from), [], 'no error-level log line');
  t.true(lines.slice(from).some((l) => l.msg === 'request' && l.method === 'TRACE' && l.status === 501 && l.level === 30), 'the access log says what happened');
});

test.serial('a method the path does not take: 405 with Allow, quietly', async (t) => {
  const s = t.context.server;
  const from = lines.length;
  const del = await send(s, 'DELETE', '/api/objects');
  t.is(del.status, 405, del.body);
  t.deepEqual(String(del.headers.allow).split(/,\s*/).sort(), ['GET', 'HEAD', 'POST']);
  t.like(JSON.parse(del.body), { status: 405, type: '/problems/method-not-allowed' });
  const put = await send(s, 'PUT', '/health');
  t.is(put.status, 405, put.body);
  t.deepEqual(String(put.headers.allow).split(/,\s*/).sort(), ['GET', 'HEAD']);
  t.deepEqual(errorsSince(from), []);
});

test.serial('a client that aborts an upload mid-body is logged as such, not as a 500 error; the server goes on', async (t) => {
  const s = t.context.server;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Tải dở dang' })).id as string;
  const from = lines.length;
  const url = new URL(s.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `POST /api/objects/${objectId}/files?name=trang.tif HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${s.staffToken}\r\n` +
      'Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n',
  );
  socket.write(Buffer.alloc(256 * 1024, 7));
  // Hang up once the server is staging the body.
  const staging = join(s.config.storageDir, 'staging');
  await poll('the upload to reach staging', 15_000, async () => ((await readdir(staging, { recursive: true, withFileTypes: true })).some((e) => e.isFile()) ? true : undefined));
  socket.destroy();
  const aborted = await poll('a log line about the abort', 15_000, async () => lines.slice(from).find((l) => /client aborted/i.test(String(l.msg))));
  t.true((aborted.level as number) <= 40, `logged at info or warn: ${JSON.stringify(aborted)}`);
  // The access log line for the request, once it ends, must not say 500 either.
  await poll('the request to end', 15_000, async () => (lines.slice(from).some((l) => l.msg === 'request' && l.method === 'POST') ? true : undefined));
  t.deepEqual(errorsSince(from), [], 'no error-level line');
  t.false(lines.slice(from).some((l) => l.msg === 'request' && l.status === 500), JSON.stringify(lines.slice(from)));
  const after = await fetch(`${s.url}/api/objects/${objectId}`, { headers: { authorization: `Bearer ${s.staffToken}` } });
  t.is(after.status, 200);
  t.deepEqual(((await after.json()) as Json).files, [], 'nothing was kept');
});
