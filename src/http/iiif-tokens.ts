import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Access tokens of the IIIF authorization services (see iiif/auth-services.ts), kept in Redis
 * under a SHA-256 of the token, like sessions. A token stands for what the browser could show
 * when it asked: a signed-in session (checked again at every use, so signing out, disabling the
 * account or changing its role ends its tokens too), or nobody (asked from the reading room:
 * the address is checked at every use anyway). It is never more than a reader's: see auth.ts.
 *
 * The token is posted to the viewer's page, which sends it back in `Authorization: Bearer`:
 * the `iiif_` prefix tells it from a script's API token before any lookup.
 */
export const IIIF_TOKEN_PREFIX = 'iiif_';

const StoredGrant = z.object({
  /** The session the token was issued to; absent for one issued to the reading room. */
  sessionId: z.string().min(1).optional(),
  /**
   * The origin of the viewer page it was posted to: a request from another page's origin does
   * not get to use it. Empty for a token a program asked for (Auth 1.0's JSON answer).
   */
  origin: z.string(),
});
export type IiifGrant = z.infer<typeof StoredGrant>;

export interface IiifTokenStore {
  issue(grant: IiifGrant): Promise<{ accessToken: string; expiresIn: number }>;
  find(token: string): Promise<IiifGrant | undefined>;
}

export function isIiifToken(token: string): boolean {
  return token.startsWith(IIIF_TOKEN_PREFIX);
}

export class RedisIiifTokenStore implements IiifTokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Lifetime of a token; a client asks for a new one when it runs out. */
    private readonly seconds: number,
  ) {}

  private key(token: string): string {
    return `${this.prefix}:iiif-token:${createHash('sha256').update(token).digest('hex')}`;
  }

  async issue(grant: IiifGrant): Promise<{ accessToken: string; expiresIn: number }> {
    const accessToken = `${IIIF_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    await this.redis.set(this.key(accessToken), JSON.stringify(grant), 'EX', this.seconds);
    return { accessToken, expiresIn: this.seconds };
  }

  async find(token: string): Promise<IiifGrant | undefined> {
    if (!isIiifToken(token) || token.length > 100) return undefined;
    const raw = await this.redis.get(this.key(token));
    if (!raw) return undefined;
    const parsed = StoredGrant.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }
}
