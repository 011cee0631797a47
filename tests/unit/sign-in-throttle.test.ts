import test from 'ava';
import { Redis } from 'ioredis';
import { RedisSignInThrottle } from '../../src/http/sign-in-throttle.ts';

/** The sliding window against a real Redis, with the clock passed in. */
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
test.before(() => redis.connect());
test.after.always(() => redis.quit());

const prefix = () => `t-throttle-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const limits = { perAccount: 3, perAddress: 5, windowSeconds: 600 };

test('per account: the limit-th failure blocks the account (from any address) until its oldest failure leaves the window', async (t) => {
  let now = 1_000_000;
  const throttle = new RedisSignInThrottle(redis, prefix(), limits, () => now);
  for (let i = 0; i < 3; i++) {
    t.is(await throttle.retryAfter('lan', `10.0.0.${i}`), 0);
    await throttle.failed('lan', `10.0.0.${i}`);
    now += 1000;
  }
  t.is(await throttle.retryAfter('lan', '10.9.9.9'), 600 - 3, 'waits until the first failure is 600 s old');
  t.is(await throttle.retryAfter('LAN', '10.9.9.9'), 597, 'the account name is case-folded');
  t.is(await throttle.retryAfter('minh', '10.9.9.9'), 0, 'other accounts are not affected');
  now = 1_000_000 + 600_001;
  t.is(await throttle.retryAfter('lan', '10.9.9.9'), 0, 'the first failure has left the window');
});

test('per address: one address failing on many accounts is blocked, for every account', async (t) => {
  const now = 5_000_000;
  const throttle = new RedisSignInThrottle(redis, prefix(), limits, () => now);
  for (let i = 0; i < 5; i++) await throttle.failed(`user-${i}`, '192.0.2.7');
  t.is(await throttle.retryAfter('someone-else', '192.0.2.7'), 600);
  t.is(await throttle.retryAfter('someone-else', '192.0.2.8'), 0);
});

test('a success clears the account count, not the address count', async (t) => {
  const throttle = new RedisSignInThrottle(redis, prefix(), { ...limits, perAddress: 3 }, () => 7_000_000);
  for (let i = 0; i < 3; i++) await throttle.failed('lan', '198.51.100.1');
  await throttle.succeeded('lan');
  t.is(await throttle.retryAfter('lan', '198.51.100.2'), 0);
  t.true((await throttle.retryAfter('lan', '198.51.100.1')) > 0, 'the address stays slowed down');
});
