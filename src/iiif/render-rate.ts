import type { ImageRequest } from './image-request.ts';
import { RenderBudgetExceededError } from './render-budget.ts';

/**
 * How much rendering one client may ask for over time. The RenderBudget bounds renders in
 * flight, but a client that sends large renders or arbitrary rotations one after another
 * never has more than one in flight, and keeps a pool thread busy for as long as it likes.
 * So each render also costs the client from an allowance (a token bucket): its output's
 * megapixels (the bounding box after rotation), at least a quarter of one (a render has a
 * fixed cost), doubled for a rotation that is not a multiple of 90° (an affine transform of
 * the whole region, with interpolation). The allowance refills at `megapixelsPerMinute` and
 * holds at most one minute's worth. Pre-cut tiles and cached answers cost nothing: only
 * renders are counted, so a viewer reading tiles never meets this limit.
 */
export interface RenderRateOptions {
  megapixelsPerMinute: number;
  /** Milliseconds; tests pass their own clock. */
  now?: () => number;
}

const MIN_COST = 0.25;
/** Clients whose allowance is full again are forgotten once this many are remembered. */
const PRUNE_AT = 10_000;

export function renderCost(req: Pick<ImageRequest, 'size' | 'rotation'>): number {
  const { width, height } = req.size;
  const rad = (req.rotation.degrees * Math.PI) / 180;
  const arbitrary = req.rotation.degrees % 90 !== 0;
  const w = arbitrary ? Math.abs(width * Math.cos(rad)) + Math.abs(height * Math.sin(rad)) : width;
  const h = arbitrary ? Math.abs(width * Math.sin(rad)) + Math.abs(height * Math.cos(rad)) : height;
  return Math.max(MIN_COST, (w * h) / 1e6) * (arbitrary ? 2 : 1);
}

export class RenderRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RenderRateOptions) {
    if (!(o.megapixelsPerMinute > 0)) throw new RangeError(`render rate: megapixelsPerMinute must be above 0, got ${o.megapixelsPerMinute}`);
    this.perMs = o.megapixelsPerMinute / 60_000;
    this.now = o.now ?? Date.now;
  }

  /**
   * Takes `cost` megapixels from `client`'s allowance, or throws RenderBudgetExceededError
   * ('rate') with the seconds until it would have them. A render larger than a full
   * allowance is let through on a full one (limits elsewhere bound its size) and empties it.
   */
  take(client: string, cost: number): void {
    const now = this.now();
    const capacity = this.o.megapixelsPerMinute;
    const b = this.buckets.get(client);
    const tokens = b ? Math.min(capacity, b.tokens + (now - b.at) * this.perMs) : capacity;
    const needed = Math.min(cost, capacity);
    if (tokens < needed) {
      throw new RenderBudgetExceededError('rate', Math.max(1, Math.ceil((needed - tokens) / this.perMs / 1000)));
    }
    if (!b && this.buckets.size >= PRUNE_AT) this.prune(now);
    this.buckets.set(client, { tokens: tokens - needed, at: now });
  }

  private prune(now: number): void {
    for (const [client, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.o.megapixelsPerMinute) this.buckets.delete(client);
    }
  }
}
