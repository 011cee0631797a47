import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A value with an HMAC-SHA256 of it, for cookies the browser keeps for us: `value.mac`.
 * `purpose` keeps a MAC made for one cookie from being accepted by another.
 */
function mac(secret: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}\n${value}`).digest('base64url');
}

export function signValue(secret: Buffer, purpose: string, value: string): string {
  return `${value}.${mac(secret, purpose, value)}`;
}

/** The value when the MAC is ours, else undefined (compared in constant time). */
export function unsignValue(secret: Buffer, purpose: string, signed: string | undefined): string | undefined {
  if (!signed) return undefined;
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  const expected = Buffer.from(mac(secret, purpose, value));
  return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
}

/** Two secrets (CSRF tokens) compared without leaking, through timing, how much of them matched. */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
