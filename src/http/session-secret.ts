import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigError } from '../config.ts';

/**
 * The key that signs session cookies: THUKHO_SESSION_SECRET, or the file named by
 * THUKHO_SESSION_SECRET_FILE (readable by its owner only, else refused). In the embedded
 * profile (SQLite log, one server) with neither, one is made on first start in the data
 * directory, mode 0600. Several API servers (the cluster profile) must share one: there it
 * is required.
 */
export const GENERATED_SECRET_FILE = 'session-secret';

function readSecretFile(path: string, variable: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new ConfigError(`${variable}: không đọc được / cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if (mode & 0o077) {
      throw new ConfigError(
        `${variable}: tệp ${path} để nhóm hoặc người khác đọc được (mode ${mode.toString(8)}) / ${path} is readable by group or others (mode ${mode.toString(8)}): run chmod 600 ${path}`,
      );
    }
    const secret = readFileSync(fd, 'utf8').trim();
    if (secret.length < 32) throw new ConfigError(`${variable}: ${path} phải chứa ít nhất 32 ký tự / must hold at least 32 characters`);
    return Buffer.from(secret);
  } finally {
    closeSync(fd);
  }
}

export function resolveSessionSecret(config: Config): Buffer {
  const given = config.sessions.secret;
  if (given && 'value' in given) return Buffer.from(given.value);
  if (given) return readSecretFile(given.file, 'THUKHO_SESSION_SECRET_FILE');
  if (config.eventStore.kind !== 'sqlite') {
    throw new ConfigError(
      'THUKHO_SESSION_SECRET hoặc THUKHO_SESSION_SECRET_FILE là bắt buộc khi chạy nhiều máy chủ / is required in the cluster profile: every API server must sign session cookies with the same secret',
    );
  }
  const path = join(config.dataDir, GENERATED_SECRET_FILE);
  mkdirSync(config.dataDir, { recursive: true });
  try {
    // O_EXCL: made once; a later start reads it (and checks its mode like any secret file).
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, `${randomBytes(48).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readSecretFile(path, `${path}`);
}
