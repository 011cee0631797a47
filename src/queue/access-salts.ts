import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type DailySalts, MemoryDailySalts } from '../application/access-log.ts';

/**
 * The day's session-hash salt in redis, so that every server process of a cluster hashes a
 * session alike: the first process to need it sets it (SET NX), the others read that one. It
 * expires two days later (a batch flushed just after midnight still finds yesterday's), and
 * it is never written to the log. When redis does not answer, a salt of this process alone:
 * statistics then count one reader on two servers twice, which is better than not at all.
 */
const TTL_SECONDS = 2 * 24 * 3600;

export class RedisDailySalts implements DailySalts {
  private readonly known = new Map<string, Buffer>();
  private readonly fallback = new MemoryDailySalts();

  constructor(
    private readonly redis: Pick<Redis, 'set' | 'getBuffer'>,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  async saltFor(day: string): Promise<Buffer> {
    const known = this.known.get(day);
    if (known) return known;
    const key = `${this.prefix}:access:salt:${day}`;
    try {
      await this.redis.set(key, randomBytes(32), 'EX', TTL_SECONDS, 'NX');
      const salt = await this.redis.getBuffer(key);
      if (!salt || salt.length < 16) throw new Error(`${key} holds no salt`);
      this.known.set(day, salt);
      for (const old of [...this.known.keys()].sort().slice(0, -2)) this.known.delete(old);
      return salt;
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access salt not shared through redis: using this process’s own');
      return this.fallback.saltFor(day);
    }
  }
}
