import { randomBytes } from 'node:crypto';
import { type Server, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import Router from '@koa/router';
import test from 'ava';
import Koa from 'koa';
import { compress, compressedCache, MIN_COMPRESS_BYTES } from '../../src/http/compress.ts';
import { notModified } from '../../src/http/etag.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The compression middleware on a bare koa app over a real socket: a streamed body is coded
 * as it streams (the first coded bytes arrive before the body ends), a small unvalidated
 * body is left plain, and a cache codes a large document once.
 */

async function listen(app: { listen: Koa["listen"] }): Promise<{ url: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('a streamed XML body is coded as a stream: the client reads coded bytes before the body has ended', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  let received!: () => void;
  const clientHasBytes = new Promise<void>((r) => (received = r));
  // Random hex is poorly compressible: the coder must pass output on long before the end.
  const chunks = Array.from({ length: 64 }, () => `<record>${randomBytes(2048).toString('hex')}</record>\n`);
  const expected = `<list>\n${chunks.join('')}</list>\n`;
  async function* body() {
    yield '<list>\n';
    for (const c of chunks) yield c;
    // The body ends only once the client holds coded bytes: a middleware that gathers the
    // whole body before sending would wait here for ever (and the test time out).
    await clientHasBytes;
    yield '</list>\n';
  }
  const router = new Router();
  router.get('/oai', compress(), (ctx) => {
    ctx.type = 'text/xml; charset=utf-8';
    ctx.body = Readable.from(body());
  });
  const app = new Koa().use(router.routes());
  const { url, server } = await listen(app);
  try {
    const text = await new Promise<string>((resolve, reject) => {
      request(`${url}/oai`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        t.is(res.headers['content-encoding'], 'gzip');
        t.is(res.headers['content-length'], undefined);
        t.regex(String(res.headers.vary), /Accept-Encoding/i);
        const out: Buffer[] = [];
        res.once('data', () => received());
        res.pipe(createGunzip()).on('data', (c: Buffer) => out.push(c)).on('end', () => resolve(Buffer.concat(out).toString('utf8'))).on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    t.is(text, expected);
  } finally {
    server.close();
  }
});

test('a small document without a validator is sent plain; with one, it is coded (its ETag names the coding)', async (t) => {
  const router = new Router();
  router.get('/small', compress(), (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/small-tagged', compress(), (ctx) => {
    if (notModified(ctx, '"v1"')) return;
    ctx.body = { ok: true };
  });
  router.get('/big', compress(), (ctx) => {
    ctx.body = { text: 'Đại Nam thực lục '.repeat(200) };
  });
  const { url, server } = await listen(new Koa().use(router.routes()));
  try {
    const get = (path: string) => fetch(`${url}${path}`, { headers: { 'accept-encoding': 'gzip' } });
    const small = await get('/small');
    t.is(small.headers.get('content-encoding'), null);
    t.regex(small.headers.get('vary') ?? '', /Accept-Encoding/i);
    t.true(JSON.stringify({ ok: true }).length < MIN_COMPRESS_BYTES);
    const tagged = await get('/small-tagged');
    t.is(tagged.headers.get('content-encoding'), 'gzip');
    t.is(tagged.headers.get('etag'), '"v1-gz"');
    t.deepEqual(await tagged.json(), { ok: true });
    const big = await get('/big');
    t.is(big.headers.get('content-encoding'), 'gzip');
    t.regex((await big.json()).text as string, /^Đại Nam/);
  } finally {
    server.close();
  }
});

test('with a cache, a large document is coded once and the same bytes served after', async (t) => {
  const cache = compressedCache(8 * 1024 * 1024);
  let renders = 0;
  const doc = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => ({ id: `https://thukho.example.vn/iiif/manifest/x/canvas/${i}`, label: { vi: [`Trang ${i + 1}`] } })) });
  const router = new Router();
  router.get('/m', compress({ cache }), (ctx) => {
    renders++;
    ctx.type = 'application/ld+json';
    ctx.body = doc;
  });
  const { url, server } = await listen(new Koa().use(router.routes()));
  try {
    const bodies: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await new Promise<Buffer>((resolve, reject) => {
        request(`${url}/m`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
          const out: Buffer[] = [];
          r.on('data', (c: Buffer) => out.push(c)).on('end', () => resolve(Buffer.concat(out)));
        })
          .on('error', reject)
          .end();
      });
      bodies.push(res);
    }
    t.is(renders, 3);
    t.is(cache.size.entries, 1, 'one coded body kept');
    t.true(cache.hits >= 2);
    t.true(bodies.every((b) => b.equals(bodies[0]!)));
    t.is(gunzipSync(bodies[0]!).toString('utf8'), doc);
  } finally {
    server.close();
  }
});
