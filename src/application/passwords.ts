import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { DomainError } from '../domain/errors.ts';

/**
 * Passwords are kept as argon2id hashes (RFC 9106) in the PHC string format, which carries
 * its salt and costs, so the costs can be raised later without breaking older hashes.
 * m = 19 MiB, t = 2, p = 1 is OWASP's first recommended argon2id setting: about 30-60 ms a
 * hash on one core, slow enough for an offline attacker, fast enough for a sign-in page.
 */
// `algorithm: 2` is Algorithm.Argon2id: the package declares it as an ambient const enum,
// which cannot be imported under verbatimModuleSyntax.
const COSTS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** NIST SP 800-63B: at least 8 characters, long passphrases allowed; capped so a request cannot make us hash a novel. */
export const PASSWORD_MIN_CHARS = 10;
export const PASSWORD_MAX_CHARS = 1000;

export function checkPasswordRules(password: string): void {
  const chars = [...password].length;
  if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS) {
    throw new DomainError('invalid-input', {
      vi: `Mật khẩu phải dài từ ${PASSWORD_MIN_CHARS} đến ${PASSWORD_MAX_CHARS} ký tự (một câu dễ nhớ là tốt nhất).`,
      en: `A password must be ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters long (a memorable sentence is best).`,
    });
  }
}

/** The same text typed on different keyboards (precomposed or combining Vietnamese marks) is one password. */
const normalise = (password: string) => password.normalize('NFC');

export async function hashPassword(password: string): Promise<string> {
  checkPasswordRules(password);
  return hash(normalise(password), COSTS);
}

/**
 * A hash of nothing anyone knows, verified when the account does not exist or has no
 * password, so that a sign-in for an unknown name takes as long as one for a known name.
 */
let dummyHash: Promise<string> | undefined;

/** `phc` undefined: no such account (or no password): false, after the same work as a real check. */
export async function verifyPassword(phc: string | undefined, password: string): Promise<boolean> {
  // Too long to be anyone's password: refused before hashing (the cap above), timing aside.
  if ([...password].length > PASSWORD_MAX_CHARS) return false;
  const target = phc ?? (await (dummyHash ??= hash(randomBytes(32), COSTS)));
  try {
    const ok = await verify(target, normalise(password));
    return phc !== undefined && ok;
  } catch {
    return false;
  }
}
