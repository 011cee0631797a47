import test from 'ava';
import { RenderBudget, RenderBudgetExceededError } from '../../src/iiif/render-budget.ts';

/**
 * The image server's render budget, driven by hand: who runs, who waits, who is refused
 * and with what, and who gets a freed turn.
 */
const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof RenderBudgetExceededError ? { scope: err.scope, retryAfter: err.retryAfterSeconds } : err;
};

/** Lets every resolved promise's continuation run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('renders run up to the cap, then wait; a client over its share gets "client", a full queue "server"', async (t) => {
  const budget = new RenderBudget({ concurrent: 2, perClient: 3, queued: 2 });
  const a1 = await budget.acquire('a');
  const a2 = await budget.acquire('a');
  let a3: (() => void) | undefined;
  void budget.acquire('a').then((r) => (a3 = r));
  t.deepEqual(budget.load, { running: 2, queued: 1, clients: 1 });
  t.like(await refusal(budget.acquire('a')), { scope: 'client' });
  let b1: (() => void) | undefined;
  void budget.acquire('b').then((r) => (b1 = r));
  t.deepEqual(budget.load, { running: 2, queued: 2, clients: 2 });
  const full = await refusal(budget.acquire('c'));
  t.like(full, { scope: 'server' });
  t.true((full as { retryAfter: number }).retryAfter > 0);

  // b has nothing running, a has two: the freed turn goes to b although a asked first.
  a1();
  await settle();
  t.truthy(b1);
  t.is(a3, undefined);
  a2();
  await settle();
  t.truthy(a3);
  t.deepEqual(budget.load, { running: 2, queued: 0, clients: 2 });
  a3!();
  b1!();
  t.deepEqual(budget.load, { running: 0, queued: 0, clients: 0 });
  // Releasing twice frees one turn, not two.
  b1!();
  t.deepEqual(budget.load, { running: 0, queued: 0, clients: 0 });
});

test('a client refused for its share may render again once its renders finish', async (t) => {
  const budget = new RenderBudget({ concurrent: 4, perClient: 1, queued: 0 });
  const first = await budget.acquire('ip:203.0.113.9');
  t.like(await refusal(budget.acquire('ip:203.0.113.9')), { scope: 'client' });
  // Another client is not affected by the first one's share.
  const other = await budget.acquire('user:reader');
  first();
  const again = await budget.acquire('ip:203.0.113.9');
  again();
  other();
  t.deepEqual(budget.load, { running: 0, queued: 0, clients: 0 });
});

test('with no queue, a render beyond the cap is refused at once', async (t) => {
  const budget = new RenderBudget({ concurrent: 1, perClient: 8, queued: 0 });
  const running = await budget.acquire('a');
  t.like(await refusal(budget.acquire('b')), { scope: 'server' });
  running();
  (await budget.acquire('b'))();
});

test('options out of range are refused with their name', (t) => {
  t.throws(() => new RenderBudget({ concurrent: 0, perClient: 1, queued: 0 }), { message: /concurrent/ });
  t.throws(() => new RenderBudget({ concurrent: 1, perClient: 1.5, queued: 0 }), { message: /perClient/ });
});
