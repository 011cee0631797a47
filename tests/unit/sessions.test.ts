import { createHash } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { credentialStamp, RedisSessionStore } from '../../src/http/sessions.ts';

/** The session store against a real Redis, with the clock passed in for the fixed lifetime. */
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
test.before(() => redis.connect());
test.after.always(() => redis.quit());

const prefix = () => `t-sessions-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const times = { idleSeconds: 600, maxSeconds: 3600 };
const stamp = credentialStamp('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA');

test('a session is kept under a digest of its id, expires when idle, and each use pushes the expiry back', async (t) => {
  const p = prefix();
  const store = new RedisSessionStore(redis, p, times);
  const s = await store.create('lan', 'reader', stamp);
  t.regex(s.id, /^[A-Za-z0-9_-]{43}$/);
  t.not(s.csrf, s.id);
  const key = `${p}:session:${createHash('sha256').update(s.id).digest('hex')}`;
  t.is(await redis.exists(`${p}:session:${s.id}`), 0, 'the id itself is no key: a copy of Redis holds no cookie');
  const ttl = await redis.ttl(key);
  t.true(ttl > 590 && ttl <= 600, `ttl ${ttl}`);
  await redis.expire(key, 5);
  t.like(await store.get(s.id), { userId: 'lan', role: 'reader', credential: stamp, csrf: s.csrf });
  t.true((await redis.ttl(key)) > 590, 'reading it pushed the idle expiry back');
  await store.destroy(s.id);
  t.is(await store.get(s.id), undefined);
});

test('past its fixed lifetime a session is gone however active it was', async (t) => {
  let now = 1_000_000;
  const store = new RedisSessionStore(redis, prefix(), times, () => now);
  const s = await store.create('lan', 'reader', stamp);
  now += 3_599_000;
  t.truthy(await store.get(s.id));
  now += 2000;
  t.is(await store.get(s.id), undefined);
  now = 1_000_000;
  t.is(await store.get(s.id), undefined, 'and deleted, not just hidden');
});

test('the credential stamp changes with the password hash and does not contain it', (t) => {
  t.not(credentialStamp('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$b3RoZXI'), stamp);
  t.false(stamp.includes('aGFzaA'));
});
