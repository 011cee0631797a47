import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ROLES } from '../domain/access-policy.ts';

/**
 * Sign-in sessions, kept in Redis with an expiry that each request pushes back (idle
 * timeout), under a fixed lifetime. Redis holds them under a SHA-256 of the id, so that a
 * copy of Redis does not hold cookies someone could present. The cookie (see auth.ts) holds
 * the id, signed.
 */
const StoredSession = z.object({
  userId: z.string().min(1),
  /** The account's role at sign-in: a session whose account has another role now is ended. */
  role: z.enum(ROLES),
  /** A digest of the password hash signed in with: a new password ends the sessions made with the old one. */
  credential: z.string().min(1),
  /** Synchronizer token that a cookie-authenticated write must send back (X-CSRF-Token or a form field). */
  csrf: z.string().min(32),
  createdAt: z.number().int(),
});
export type StoredSession = z.infer<typeof StoredSession>;
export type Session = StoredSession & { id: string };

export interface SessionStore {
  create(userId: string, role: StoredSession['role'], credential: string): Promise<Session>;
  get(id: string): Promise<Session | undefined>;
  destroy(id: string): Promise<void>;
}

export interface SessionTimes {
  /** Ended after this long without a request. */
  idleSeconds: number;
  /** Ended this long after sign-in, however active. */
  maxSeconds: number;
}

export const newSecret = () => randomBytes(32).toString('base64url');

/** What a session remembers of the password it was made with (never the hash itself). */
export function credentialStamp(passwordHash: string | undefined): string {
  return createHash('sha256').update(passwordHash ?? '').digest('base64url').slice(0, 22);
}

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly times: SessionTimes,
    private readonly now: () => number = Date.now,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:session:${createHash('sha256').update(id).digest('hex')}`;
  }

  async create(userId: string, role: StoredSession['role'], credential: string): Promise<Session> {
    const id = newSecret();
    const stored: StoredSession = { userId, role, credential, csrf: newSecret(), createdAt: this.now() };
    // NX: a (vanishingly unlikely) id already in use is an error, never a shared session.
    const ok = await this.redis.set(this.key(id), JSON.stringify(stored), 'EX', this.times.idleSeconds, 'NX');
    if (ok !== 'OK') throw new Error('session id collision');
    return { id, ...stored };
  }

  async get(id: string): Promise<Session | undefined> {
    const raw = await this.redis.getex(this.key(id), 'EX', this.times.idleSeconds);
    if (!raw) return undefined;
    const parsed = StoredSession.safeParse(JSON.parse(raw));
    if (!parsed.success || this.now() - parsed.data.createdAt > this.times.maxSeconds * 1000) {
      await this.destroy(id);
      return undefined;
    }
    return { id, ...parsed.data };
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
