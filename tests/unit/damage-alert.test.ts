import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { pino } from 'pino';
import { damageAlert } from '../../src/application/preservation.ts';
import type { DamagedEvent } from '../../src/application/fixity.ts';

/** The alarm for a file with no good copy left: a real webhook receiver on loopback. */
const event: DamagedEvent = {
  objectId: 'dai-nam',
  fileId: 'trang-1',
  target: 'master',
  path: 'v1/content/trang-1/trang_1.tif',
  storageRoot: { label: 'primary', path: '/srv/thukho/ocfl' },
  failure: 'changed',
  tried: [{ root: { label: 'nas', path: '/mnt/nas/ocfl' }, reason: 'sha512 differs' }],
};

test('a damaged file is POSTed to the webhook as JSON, in both languages', async (t) => {
  const received: Array<{ type: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ type: req.headers['content-type'] ?? '', body });
      res.end('ok');
    });
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  await damageAlert({ webhookUrl: url }, pino({ level: 'silent' }))(event);
  t.is(received.length, 1);
  t.is(received[0]?.type, 'application/json');
  const body = JSON.parse(received[0]!.body) as { type: string; message: { vi: string; en: string }; event: DamagedEvent };
  t.is(body.type, 'FileDamaged');
  t.deepEqual(body.event, event);
  t.regex(body.message.vi, /hỏng trên mọi bản sao/);
  t.regex(body.message.en, /damaged on every copy/);
});

test('a webhook that cannot be reached never stops the checker', async (t) => {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  await t.notThrowsAsync(damageAlert({ webhookUrl: `http://127.0.0.1:${port}/gone` }, pino({ level: 'silent' }))(event));
  await t.notThrowsAsync(damageAlert({ webhookUrl: undefined }, pino({ level: 'silent' }))(event));
});
