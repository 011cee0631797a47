import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Failed sign-ins counted in a sliding window, per account and per client address, in
 * Redis (so every API process counts together). Past the limit, sign-in is refused until
 * the oldest failure in the window is old enough; the password is not even checked then.
 * A success clears the account's count (not the address's: one address guessing many
 * accounts stays slowed down).
 */
export interface ThrottleLimits {
  perAccount: number;
  perAddress: number;
  windowSeconds: number;
}

export interface SignInThrottle {
  /** Seconds to wait before trying again, or 0 when an attempt may be made now. */
  retryAfter(account: string, address: string): Promise<number>;
  failed(account: string, address: string): Promise<void>;
  succeeded(account: string): Promise<void>;
}

export class RedisSignInThrottle implements SignInThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {}

  private keys(account: string, address: string): Array<[string, number]> {
    return [
      [`${this.prefix}:sign-in-failures:account:${account.toLowerCase()}`, this.limits.perAccount],
      [`${this.prefix}:sign-in-failures:address:${address}`, this.limits.perAddress],
    ];
  }

  async retryAfter(account: string, address: string): Promise<number> {
    const now = this.now();
    const windowMs = this.limits.windowSeconds * 1000;
    let wait = 0;
    for (const [key, limit] of this.keys(account, address)) {
      const replies = await this.redis
        .multi()
        .zremrangebyscore(key, '-inf', now - windowMs)
        .zcard(key)
        .zrange(key, '0', '0', 'WITHSCORES')
        .exec();
      const count = Number(replies?.[1]?.[1] ?? 0);
      if (count < limit) continue;
      const oldest = Number((replies?.[2]?.[1] as string[] | undefined)?.[1] ?? now);
      wait = Math.max(wait, 1, Math.ceil((oldest + windowMs - now) / 1000));
    }
    return wait;
  }

  async failed(account: string, address: string): Promise<void> {
    const now = this.now();
    const tx = this.redis.multi();
    for (const [key] of this.keys(account, address)) {
      tx.zadd(key, now, `${now}-${randomBytes(6).toString('hex')}`).expire(key, this.limits.windowSeconds);
    }
    await tx.exec();
  }

  async succeeded(account: string): Promise<void> {
    const [[key]] = this.keys(account, '') as [[string, number]];
    await this.redis.del(key);
  }
}
