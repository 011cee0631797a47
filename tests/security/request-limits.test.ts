import { connect, type Socket } from 'node:net';
import { staffCall } from '../helpers/api.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * Requests that cost us by being slow or big: headers trickled in (slow-loris), a body that
 * stops moving, an address or headers larger than any of ours. Each is cut off with a
 * problem+json answer where one can still be given, and the server goes on serving.
 * Timeouts of one and three seconds here, so the tests wait little; the defaults are 20 s and 120 s.
 */
const test = testWithServer({ THUKHO_HEADERS_TIMEOUT_S: '1', THUKHO_IDLE_TIMEOUT_S: '3' });

/** Opens a raw connection, writes `text`, and resolves with all the server sent once it closes. */
function rawExchange(s: TestServer, text: string): Promise<{ answer: string; socket: Socket }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer: Buffer.concat(chunks).toString('utf8'), socket }));
    socket.on('connect', () => socket.write(text));
  });
}

const stillServes = async (s: TestServer) => (await fetch(`${s.url}/health`)).status;

test('headers that never finish: 408 problem+json, the connection closed', async (t) => {
  const s = t.context.server;
  const { answer } = await rawExchange(s, 'GET /api/objects HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
  t.regex(answer, /^HTTP\/1\.1 408 /);
  t.regex(answer, /application\/problem\+json/);
  t.regex(answer, /"type":"\/problems\/request-timeout"/);
  t.true([200, 503].includes(await stillServes(s)));
});

test('a body that stops moving: the connection is closed; nothing is stored', async (t) => {
  const s = t.context.server;
  const before = (await staffCall(s, 'GET', '/api/objects?limit=100')).total;
  const body = JSON.stringify({ title: 'Không bao giờ xong' });
  const { socket } = await rawExchange(
    s,
    `POST /api/objects HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${s.staffToken}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length + 100}\r\n\r\n${body}`,
  );
  t.true(socket.destroyed);
  t.is((await staffCall(s, 'GET', '/api/objects?limit=100')).total, before);
  t.true([200, 503].includes(await stillServes(s)));
});

test('a body refused before it is all in (no token): the answer closes the connection, so nobody trickles the rest in', async (t) => {
  const s = t.context.server;
  const url = new URL(s.url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // Once the whole answer is in, wait no longer: the server closes, or this test times out.
      if (/\r\n\r\n[\s\S]*\}$/.test(Buffer.concat(chunks).toString('utf8'))) socket.write('x');
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('connect', () =>
      socket.write('POST /api/objects HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"title":'),
    );
  });
  t.regex(answer, /^HTTP\/1\.1 401 /);
  t.regex(answer, /\r\nConnection: close\r\n/i);
  t.true([200, 503].includes(await stillServes(s)));
});

test('an address longer than 8 KiB: 414 problem+json, on the API, IIIF and the site', async (t) => {
  const s = t.context.server;
  const long = 'a'.repeat(9000);
  for (const path of [`/api/objects?q=${long}`, `/iiif/3/${long}/info.json`, `/search?q=${long}`]) {
    const res = await fetch(`${s.url}${path}`);
    t.is(res.status, 414, path.slice(0, 40));
    t.like(await res.json(), { status: 414, type: '/problems/uri-too-long' });
  }
  // At the limit it is an ordinary request.
  const fits = await fetch(`${s.url}/search?q=${'a'.repeat(400)}`);
  await fits.arrayBuffer();
  t.is(fits.status, 200);
});

test('headers past 16 KiB: 431 problem+json', async (t) => {
  const s = t.context.server;
  const { answer } = await rawExchange(s, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
  t.regex(answer, /^HTTP\/1\.1 431 /);
  t.regex(answer, /"type":"\/problems\/headers-too-large"/);
});
