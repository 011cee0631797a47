import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import test, { type ExecutionContext } from 'ava';
import { fileFromMultipart, MultipartError, type MultipartFile, type MultipartOptions } from '../../src/http/multipart.ts';

/**
 * Over a real HTTP server and a raw TCP client, so that truncated bodies, chunked bodies
 * and disconnects mid-file are what a server really sees — not a mocked stream.
 */

type Part = Omit<MultipartFile, 'stream'>;
type Outcome =
  | { kind: 'rejected'; error: MultipartError }
  | { kind: 'complete'; part: Part; bytes: Buffer }
  | { kind: 'errored'; part: Part; error: Error; received: number };

interface Harness {
  port: number;
  /** The next request's outcome, once its stream has ended or failed. */
  outcome(): Promise<Outcome>;
  /** Resolves when the next request's fileFromMultipart promise settles. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

function deferredQueue<T>() {
  const waiting: Array<(v: T) => void> = [];
  const ready: T[] = [];
  return {
    push(v: T) {
      const w = waiting.shift();
      if (w) w(v);
      else ready.push(v);
    },
    next(): Promise<T> {
      const r = ready.shift();
      if (r !== undefined) return Promise.resolve(r);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function harness(t: ExecutionContext, options: Partial<MultipartOptions> = {}): Promise<Harness> {
  const outcomes = deferredQueue<Outcome>();
  const settled = deferredQueue<void>();
  const opts: MultipartOptions = { maxFileBytes: 1024 * 1024, fieldName: 'file', ...options };
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, body: string) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(body);
    };
    let file: MultipartFile;
    try {
      file = await fileFromMultipart(req, req.headers, opts);
    } catch (err) {
      settled.push();
      outcomes.push({ kind: 'rejected', error: err as MultipartError });
      reply((err as MultipartError).status ?? 500, (err as MultipartError).code ?? 'error');
      return;
    }
    settled.push();
    const { stream, ...part } = file;
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      await pipeline(
        stream,
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            chunks.push(chunk);
            received += chunk.length;
            cb();
          },
        }),
      );
      outcomes.push({ kind: 'complete', part, bytes: Buffer.concat(chunks) });
      reply(200, 'ok');
    } catch (err) {
      outcomes.push({ kind: 'errored', part, error: err as Error, received });
      reply((err as MultipartError).status ?? 500, (err as MultipartError).code ?? 'error');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const h: Harness = {
    port: (server.address() as AddressInfo).port,
    outcome: () => outcomes.next(),
    settled: () => settled.next(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  t.teardown(() => h.close());
  return h;
}

// ---- a raw HTTP/1.1 client ------------------------------------------------------------

const BOUNDARY = '----thukho-ranh-gioi-7MA4YWxkTrZu0gW';

function field(name: string, value: string): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
}

function fileHead(name: string, disposition: string, type = 'image/tiff'): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; ${disposition}\r\nContent-Type: ${type}\r\n\r\n`);
}

function filePart(name: string, filename: string, bytes: Buffer, type = 'image/tiff'): Buffer {
  return Buffer.concat([fileHead(name, `filename="${filename}"`, type), bytes, Buffer.from('\r\n')]);
}

const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

function head(port: number, extra: Record<string, string | number>, contentType = `multipart/form-data; boundary=${BOUNDARY}`): string {
  const lines = [`POST /upload HTTP/1.1`, `Host: 127.0.0.1:${port}`, `Content-Type: ${contentType}`, 'Connection: close'];
  for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

async function open(port: number): Promise<{ socket: Socket; response: Promise<{ status: number; body: string }> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const response = new Promise<{ status: number; body: string }>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    });
  });
  return { socket, response };
}

function write(socket: Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Sends a whole request with Content-Length and returns the response. */
async function send(port: number, body: Buffer, contentType?: string) {
  const { socket, response } = await open(port);
  await write(socket, head(port, { 'Content-Length': body.length }, contentType));
  await write(socket, body);
  return response;
}

/** Sends a whole request with chunked transfer encoding (no Content-Length). */
async function sendChunked(port: number, body: Buffer, chunkSize = 16 * 1024) {
  const { socket, response } = await open(port);
  await write(socket, head(port, { 'Transfer-Encoding': 'chunked' }));
  for (let i = 0; i < body.length; i += chunkSize) {
    const c = body.subarray(i, i + chunkSize);
    await write(socket, Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
  }
  await write(socket, '0\r\n\r\n');
  return response;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

// ---- the tests --------------------------------------------------------------------

test('streams the file: resolves at the file part, with the fields sent before it', async (t) => {
  const h = await harness(t);
  const data = randomBytes(300 * 1024);
  const filename = 'Địa bạ làng Phú Xuân — trang 1.tif';
  const before = Buffer.concat([field('role', 'master'), field('sequence', '3'), fileHead('file', `filename="${filename}"`)]);
  const after = Buffer.concat([data.subarray(1024), Buffer.from('\r\n'), field('ghi_chu', 'sau tệp'), CLOSE]);
  const { socket, response } = await open(h.port);
  await write(socket, head(h.port, { 'Content-Length': before.length + 1024 + after.length }));
  await write(socket, Buffer.concat([before, data.subarray(0, 1024)]));
  // Most of the file has not been sent yet, and the promise has resolved already.
  await h.settled();
  await write(socket, after);
  const outcome = await h.outcome();
  t.is(outcome.kind, 'complete');
  if (outcome.kind !== 'complete') return;
  t.is(sha(outcome.bytes), sha(data));
  t.is(outcome.part.filename, filename);
  t.is(outcome.part.mimeType, 'image/tiff');
  t.is(outcome.part.fields.role, 'master');
  t.is(outcome.part.fields.sequence, '3');
  // A field after the file still lands in `fields`, but only by the time the stream ended.
  t.is(outcome.part.fields.ghi_chu, 'sau tệp');
  t.is((await response).status, 200);
});

test('file names: raw UTF-8 (as browsers send) and RFC 5987 filename*; paths are cut', async (t) => {
  const h = await harness(t);
  const data = randomBytes(1000);
  for (const [disposition, expected] of [
    [`filename*=UTF-8''${encodeURIComponent('Sổ bộ thuế — tập 2.jpg')}`, 'Sổ bộ thuế — tập 2.jpg'],
    ['filename="C:\\Users\\thuvien\\Ảnh quét\\trang 9.tif"', 'trang 9.tif'],
  ] as const) {
    const body = Buffer.concat([fileHead('file', disposition), data, Buffer.from('\r\n'), CLOSE]);
    const [response, outcome] = await Promise.all([send(h.port, body), h.outcome()]);
    t.is(response.status, 200);
    t.is(outcome.kind === 'complete' && outcome.part.filename, expected);
  }
});

test('chunked bodies work, and a file of exactly maxFileBytes is accepted', async (t) => {
  const h = await harness(t, { maxFileBytes: 64 * 1024 });
  const data = randomBytes(64 * 1024);
  const [response, outcome] = await Promise.all([sendChunked(h.port, Buffer.concat([filePart('file', 'a.tif', data), CLOSE]), 1000), h.outcome()]);
  t.is(response.status, 200);
  t.is(outcome.kind === 'complete' && sha(outcome.bytes), sha(data));
});

test('a file over maxFileBytes fails the stream with 413', async (t) => {
  const h = await harness(t, { maxFileBytes: 64 * 1024 });
  const data = randomBytes(64 * 1024 + 1);
  const [response, outcome] = await Promise.all([sendChunked(h.port, Buffer.concat([filePart('file', 'a.tif', data), CLOSE]), 4096), h.outcome()]);
  t.is(outcome.kind, 'errored');
  if (outcome.kind !== 'errored') return;
  t.true(outcome.error instanceof MultipartError);
  t.is((outcome.error as MultipartError).status, 413);
  t.is((outcome.error as MultipartError).code, 'file-too-large');
  t.regex((outcome.error as MultipartError).messages.vi, /Tệp quá lớn/);
  t.is(response.status, 413);
});

test('a Content-Length that cannot fit is refused with 413 before the body is read', async (t) => {
  const h = await harness(t, { maxFileBytes: 1024 * 1024 });
  const { socket, response } = await open(h.port);
  await write(socket, head(h.port, { 'Content-Length': 10 * 1024 ** 3 }));
  // No body sent at all: the answer comes anyway.
  const outcome = await h.outcome();
  t.is(outcome.kind === 'rejected' && outcome.error.status, 413);
  t.is((await response).status, 413);
});

test('a body cut short (Content-Length not reached, then the client leaves) fails the stream', async (t) => {
  const h = await harness(t);
  const data = randomBytes(200 * 1024);
  const body = Buffer.concat([field('role', 'master'), filePart('file', 'cut.tif', data), CLOSE]);
  for (const leave of ['destroy', 'end'] as const) {
    const { socket } = await open(h.port);
    await write(socket, head(h.port, { 'Content-Length': body.length }));
    await write(socket, body.subarray(0, 100 * 1024));
    await h.settled();
    if (leave === 'destroy') socket.destroy();
    else socket.end();
    const outcome = await h.outcome();
    t.is(outcome.kind, 'errored', leave);
    if (outcome.kind !== 'errored') continue;
    t.true(outcome.error instanceof MultipartError, leave);
    t.is((outcome.error as MultipartError).code, 'client-disconnected', leave);
    t.true(outcome.received < data.length, leave);
  }
});

test('a chunked body whose client disconnects mid-file fails the stream', async (t) => {
  const h = await harness(t);
  const data = randomBytes(200 * 1024);
  const { socket } = await open(h.port);
  await write(socket, head(h.port, { 'Transfer-Encoding': 'chunked' }));
  const start = Buffer.concat([fileHead('file', 'filename="a.tif"'), data.subarray(0, 50 * 1024)]);
  await write(socket, Buffer.concat([Buffer.from(`${start.length.toString(16)}\r\n`), start, Buffer.from('\r\n')]));
  await h.settled();
  socket.destroy();
  const outcome = await h.outcome();
  t.is(outcome.kind, 'errored');
  t.is(outcome.kind === 'errored' && (outcome.error as MultipartError).code, 'client-disconnected');
});

test('a complete HTTP body whose form lacks its closing boundary fails the stream', async (t) => {
  const h = await harness(t);
  const data = randomBytes(20 * 1024);
  // The file part never ends: no boundary after the data.
  const [response, outcome] = await Promise.all([send(h.port, Buffer.concat([fileHead('file', 'filename="a.tif"'), data])), h.outcome()]);
  t.is(outcome.kind, 'errored');
  if (outcome.kind !== 'errored') return;
  t.is((outcome.error as MultipartError).code, 'truncated-upload');
  t.is((outcome.error as MultipartError).status, 400);
  t.regex((outcome.error as MultipartError).messages.vi, /bị cắt cụt/);
  t.is(response.status, 400);

  // The file part ends but the form's closing boundary is missing.
  const [r2, o2] = await Promise.all([send(h.port, filePart('file', 'a.tif', data)), h.outcome()]);
  t.is(o2.kind, 'errored');
  t.is(o2.kind === 'errored' && (o2.error as MultipartError).code, 'truncated-upload');
  t.is(r2.status, 400);
});

test('the stream does not end with its file part: a second file arriving later still fails it', async (t) => {
  const h = await harness(t);
  const first = Buffer.concat([filePart('file', 'a.tif', randomBytes(5000)), Buffer.from(`--${BOUNDARY}`)]);
  const rest = Buffer.concat([Buffer.from(`\r\nContent-Disposition: form-data; name="file"; filename="b.tif"\r\n\r\n`), randomBytes(5000), Buffer.from('\r\n'), CLOSE]);
  const { socket, response } = await open(h.port);
  await write(socket, head(h.port, { 'Content-Length': first.length + rest.length }));
  // The first file part is over (its closing boundary has been seen) …
  await write(socket, first);
  await new Promise((r) => setTimeout(r, 150));
  // … but only now does the second file come.
  await write(socket, rest);
  const outcome = await h.outcome();
  t.is(outcome.kind, 'errored');
  t.is(outcome.kind === 'errored' && (outcome.error as MultipartError).code, 'multiple-files');
  t.is((await response).status, 400);
});

test('a body cut short AFTER the file part ended still fails the stream', async (t) => {
  const h = await harness(t);
  const data = randomBytes(5000);
  const sent = Buffer.concat([filePart('file', 'a.tif', data), Buffer.from(`--${BOUNDARY}`)]);
  const { socket } = await open(h.port);
  // The closing "--\r\n" and a trailing field were promised but never come.
  await write(socket, head(h.port, { 'Content-Length': sent.length + 200 }));
  await write(socket, sent);
  await new Promise((r) => setTimeout(r, 150));
  socket.end();
  const outcome = await h.outcome();
  t.is(outcome.kind, 'errored');
  t.is(outcome.kind === 'errored' && (outcome.error as MultipartError).code, 'client-disconnected');
});

test('no file part, a second file, a file in another field', async (t) => {
  const h = await harness(t);
  const [r1, o1] = await Promise.all([send(h.port, Buffer.concat([field('role', 'master'), CLOSE])), h.outcome()]);
  t.is(o1.kind === 'rejected' && o1.error.code, 'no-file');
  t.is(r1.status, 400);

  const two = Buffer.concat([filePart('file', 'a.tif', randomBytes(5000)), filePart('file', 'b.tif', randomBytes(5000)), CLOSE]);
  const [r2, o2] = await Promise.all([send(h.port, two), h.outcome()]);
  t.is(o2.kind, 'errored');
  t.is(o2.kind === 'errored' && (o2.error as MultipartError).code, 'multiple-files');
  t.is(r2.status, 400);

  const other = Buffer.concat([filePart('anh', 'a.tif', randomBytes(100)), CLOSE]);
  const [r3, o3] = await Promise.all([send(h.port, other), h.outcome()]);
  t.is(o3.kind === 'rejected' && o3.error.code, 'unexpected-file-field');
  t.is(r3.status, 400);
});

test('fields that are too long or too many are refused', async (t) => {
  const h = await harness(t, { maxFieldBytes: 100, maxFields: 3 });
  const long = Buffer.concat([field('role', 'x'.repeat(101)), filePart('file', 'a.tif', randomBytes(10)), CLOSE]);
  const [r1, o1] = await Promise.all([send(h.port, long), h.outcome()]);
  t.is(o1.kind === 'rejected' && o1.error.code, 'field-too-large');
  t.is(r1.status, 400);

  const many = Buffer.concat([field('a', '1'), field('b', '2'), field('c', '3'), field('d', '4'), filePart('file', 'a.tif', randomBytes(10)), CLOSE]);
  const [r2, o2] = await Promise.all([send(h.port, many), h.outcome()]);
  t.is(o2.kind === 'rejected' && o2.error.code, 'too-many-fields');
  t.is(r2.status, 400);
});

test('a body that is not multipart/form-data is refused with 415; a missing boundary with 400', async (t) => {
  const h = await harness(t);
  const [r1, o1] = await Promise.all([send(h.port, Buffer.from('{"a":1}'), 'application/json'), h.outcome()]);
  t.is(o1.kind === 'rejected' && o1.error.status, 415);
  t.is(r1.status, 415);
  const [r2, o2] = await Promise.all([send(h.port, Buffer.from('x'), 'multipart/form-data'), h.outcome()]);
  t.is(o2.kind === 'rejected' && o2.error.code, 'malformed-multipart');
  t.is(r2.status, 400);
});

test('a disconnect before the consumer listens does not crash the process', async (t) => {
  const port = await new Promise<{ server: Server; port: number; got: Promise<MultipartFile> }>((resolve) => {
    let deliver!: (f: MultipartFile) => void;
    const got = new Promise<MultipartFile>((r) => (deliver = r));
    const server = createServer((req) => {
      // Takes the stream and does not read it for a while (as a route checking the object first).
      fileFromMultipart(req, req.headers, { maxFileBytes: 1024 * 1024, fieldName: 'file' }).then(deliver, () => {});
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, got }));
  });
  t.teardown(() => {
    port.server.closeAllConnections();
    port.server.close();
  });
  const { socket } = await open(port.port);
  const body = Buffer.concat([filePart('file', 'a.tif', randomBytes(50 * 1024)), CLOSE]);
  await write(socket, head(port.port, { 'Content-Length': body.length }));
  await write(socket, body.subarray(0, 10 * 1024));
  const file = await port.got;
  socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  // Reading it later still reports the failure.
  const err = await t.throwsAsync(pipeline(file.stream, new Writable({ write: (_c, _e, cb) => cb() })));
  t.is((err as MultipartError).code, 'client-disconnected');
});
