import { statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config.ts';

/**
 * A full disk, as every layer meets it: node reports ENOSPC/EDQUOT as an error code, libvips
 * ("No space left on device") and SQLite ("database or disk is full") only as text. A full
 * disk is a state of the machine, not of the request or the master: whatever failed on it
 * can succeed once space is freed.
 */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const NO_SPACE_TEXT = /\bENOSPC\b|\bEDQUOT\b|no space left on device|disk quota exceeded|database or disk is full/i;

export function isNoSpace(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NO_SPACE_CODES.has(code)) return true;
  return err instanceof Error && NO_SPACE_TEXT.test(err.message);
}

/** Bytes an unprivileged writer can still use on the filesystem holding `path` (or its nearest existing ancestor). */
export function freeBytes(path: string): number | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return s.bavail * s.bsize;
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

/** Less free space than this after a failed write: the write failed because the disk is full. */
export const NEARLY_FULL_BYTES = 1024 * 1024;

/** What a volume holds, by name: /health names the part, never the path. */
export type DiskRole = 'data' | 'event-log' | 'storage' | 'derivatives';

export interface DiskSpaceStatus {
  /** 'low' when any volume has less free space than the configured minimum. */
  status: 'ok' | 'low';
  volumes: Array<{ holds: DiskRole[]; freeBytes: number | null; low: boolean }>;
}

function deviceOf(path: string): number | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      return statSync(p).dev;
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

/**
 * Free space of each volume the server writes to, grouped by device so that the usual one-disk
 * installation reports one volume holding everything.
 */
export function checkDiskSpace(dirs: Array<{ role: DiskRole; path: string }>, minFreeBytes: number): DiskSpaceStatus {
  const byDevice = new Map<string, { holds: DiskRole[]; freeBytes: number | null; low: boolean }>();
  for (const { role, path } of dirs) {
    const key = String(deviceOf(path) ?? path);
    const found = byDevice.get(key);
    if (found) {
      if (!found.holds.includes(role)) found.holds.push(role);
      continue;
    }
    const free = freeBytes(path);
    byDevice.set(key, { holds: [role], freeBytes: free, low: free !== null && free < minFreeBytes });
  }
  const volumes = [...byDevice.values()];
  return { status: volumes.some((v) => v.low) ? 'low' : 'ok', volumes };
}

/** The volumes a server writes to: its data directory, the SQLite log, the masters, the derivatives. */
export function checkServerDisks(config: Pick<Config, 'dataDir' | 'eventStore' | 'storageDir' | 'derivativesDir' | 'minFreeBytes'>): DiskSpaceStatus {
  return checkDiskSpace(
    [
      { role: 'data', path: config.dataDir },
      ...(config.eventStore.kind === 'sqlite' ? [{ role: 'event-log' as const, path: dirname(config.eventStore.path) }] : []),
      { role: 'storage', path: config.storageDir },
      { role: 'derivatives', path: config.derivativesDir },
    ],
    config.minFreeBytes,
  );
}
