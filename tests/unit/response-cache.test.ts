import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DiskCache, MemoryLru } from '../../src/iiif/response-cache.ts';

const root = mkdtempSync(join(tmpdir(), 'thukho-cache-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const entry = (n: number, fill = 1) => ({ body: Buffer.alloc(n, fill), contentType: 'image/jpeg' });

test('the memory cache evicts the least recently used entries past its byte budget', (t) => {
  const lru = new MemoryLru(4000);
  lru.set('a', entry(900));
  lru.set('b', entry(900));
  lru.set('c', entry(900));
  t.truthy(lru.get('a')); // a is now the newest
  lru.set('d', entry(900));
  lru.set('e', entry(900));
  t.truthy(lru.get('a'));
  t.is(lru.get('b'), undefined);
  t.true(lru.size.bytes <= 4000);
  // One entry over a quarter of the budget is not cached at all.
  lru.set('huge', entry(1500));
  t.is(lru.get('huge'), undefined);
  t.truthy(lru.get('e'));
});

test('the disk cache keeps renders across restarts within its budget', async (t) => {
  const dir = join(root, 'disk');
  const cache = new DiskCache(dir, 10_000);
  for (let i = 0; i < 8; i++) await cache.set(`k${i}`, entry(2000, i));
  t.true((await readdir(dir)).length <= 5);
  t.is(await cache.get('k0', 'image/jpeg'), undefined);
  const last = await cache.get('k7', 'image/jpeg');
  t.deepEqual(last?.body, Buffer.alloc(2000, 7));
  const reopened = new DiskCache(dir, 10_000);
  t.deepEqual((await reopened.get('k7', 'image/jpeg'))?.body, Buffer.alloc(2000, 7));
  const zero = new DiskCache(join(root, 'off'), 0);
  await zero.set('k', entry(10));
  t.is(await zero.get('k', 'image/jpeg'), undefined);
});
