import test from 'ava';
import { RenderBudgetExceededError } from '../../src/iiif/render-budget.ts';
import { RenderRate, renderCost } from '../../src/iiif/render-rate.ts';

/**
 * The per-client render allowance, on a hand-driven clock: what a render costs, when a
 * client is refused, for how long, and that other clients are not.
 */
const refusal = (f: () => void) => {
  try {
    f();
    return undefined;
  } catch (err) {
    if (err instanceof RenderBudgetExceededError) return { scope: err.scope, retryAfter: err.retryAfterSeconds };
    throw err;
  }
};

const size = (width: number, height: number) => ({ width, height, upscaled: false });

test('cost: output megapixels, at least a quarter; arbitrary rotation by its bounding box, doubled', (t) => {
  t.is(renderCost({ size: size(2000, 1000), rotation: { mirror: false, degrees: 0 } }), 2);
  t.is(renderCost({ size: size(2000, 1000), rotation: { mirror: true, degrees: 90 } }), 2);
  t.is(renderCost({ size: size(100, 100), rotation: { mirror: false, degrees: 0 } }), 0.25);
  // 45°: a 1000 × 1000 square's bounding box is 1414.2 × 1414.2 = 2 MP, doubled.
  t.is(Math.round(renderCost({ size: size(1000, 1000), rotation: { mirror: false, degrees: 45 } }) * 1000) / 1000, 4);
  t.true(renderCost({ size: size(100, 100), rotation: { mirror: false, degrees: 1 } }) >= 0.5);
});

test('a client may spend a minute’s allowance at once, then waits for it to refill; others are not held back', (t) => {
  let now = 0;
  const rate = new RenderRate({ megapixelsPerMinute: 60, now: () => now });
  for (let i = 0; i < 6; i++) rate.take('ip:a', 10);
  const refused = refusal(() => rate.take('ip:a', 10));
  // 10 MP at 1 MP/s: ten seconds.
  t.deepEqual(refused, { scope: 'rate', retryAfter: 10 });
  t.is(refusal(() => rate.take('ip:b', 10)), undefined, 'another client still has its own allowance');
  now += 9_000;
  t.like(refusal(() => rate.take('ip:a', 10)), { scope: 'rate', retryAfter: 1 });
  now += 1_000;
  t.is(refusal(() => rate.take('ip:a', 10)), undefined, 'refilled after the time it was told');
  t.like(refusal(() => rate.take('ip:a', 0.25)), { scope: 'rate' });
});

test('the allowance holds at most one minute’s worth, however long a client was away', (t) => {
  let now = 0;
  const rate = new RenderRate({ megapixelsPerMinute: 60, now: () => now });
  rate.take('u', 1);
  now += 3_600_000;
  for (let i = 0; i < 60; i++) rate.take('u', 1);
  t.like(refusal(() => rate.take('u', 1)), { scope: 'rate', retryAfter: 1 });
});

test('a render larger than a whole allowance passes on a full one and empties it', (t) => {
  let now = 0;
  const rate = new RenderRate({ megapixelsPerMinute: 60, now: () => now });
  t.is(refusal(() => rate.take('u', 500)), undefined);
  t.like(refusal(() => rate.take('u', 500)), { scope: 'rate', retryAfter: 60 });
  now += 60_000;
  t.is(refusal(() => rate.take('u', 500)), undefined);
});

test('a rate of zero or less is refused at start', (t) => {
  t.throws(() => new RenderRate({ megapixelsPerMinute: 0 }), { message: /megapixelsPerMinute/ });
});
