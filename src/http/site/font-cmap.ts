import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Which Unicode code points a TrueType/OpenType font maps, read from its `cmap` table only
 * (a few hundred KB of a 30 MB font): the table directory, then the format 12 subtable
 * (OpenType `cmap` §"Format 12: Segmented coverage", the only format that reaches beyond the
 * BMP, where Nôm lives). A font without one cannot serve Nôm and is refused.
 */
export class Coverage {
  /** Ascending, non-overlapping `[first, last]` runs. */
  constructor(private readonly runs: ReadonlyArray<readonly [number, number]>) {}

  has(cp: number): boolean {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.runs[mid]!;
      if (cp < a) hi = mid - 1;
      else if (cp > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  get size(): number {
    return this.runs.reduce((n, [a, b]) => n + b - a + 1, 0);
  }
}

export class FontFileError extends Error {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'FontFileError';
  }
}

function readAt(fd: number, position: number, length: number, path: string): Buffer {
  const buf = Buffer.alloc(length);
  const got = readSync(fd, buf, 0, length, position);
  if (got !== length) throw new FontFileError(path, `truncated (wanted ${length} bytes at ${position})`);
  return buf;
}

/** The raw `cmap` table of the font at `path`. */
export function readCmapTable(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const header = readAt(fd, 0, 12, path);
    const version = header.readUInt32BE(0);
    // 0x00010000 TrueType outlines, 'OTTO' CFF outlines, 'true' old Apple TrueType.
    if (version !== 0x00010000 && version !== 0x4f54544f && version !== 0x74727565) throw new FontFileError(path, 'not a TrueType/OpenType font');
    const numTables = header.readUInt16BE(4);
    const directory = readAt(fd, 12, numTables * 16, path);
    for (let i = 0; i < numTables; i++) {
      if (directory.toString('latin1', i * 16, i * 16 + 4) !== 'cmap') continue;
      return readAt(fd, directory.readUInt32BE(i * 16 + 8), directory.readUInt32BE(i * 16 + 12), path);
    }
    throw new FontFileError(path, 'has no cmap table');
  } finally {
    closeSync(fd);
  }
}

/** Coverage from a `cmap` table: the Unicode full-repertoire format 12 subtable. */
export function coverageOf(cmap: Buffer, path = 'font'): Coverage {
  if (cmap.length < 4) throw new FontFileError(path, 'cmap table too short');
  const count = cmap.readUInt16BE(2);
  for (let i = 0; i < count; i++) {
    const rec = 4 + i * 8;
    if (rec + 8 > cmap.length) break;
    const platform = cmap.readUInt16BE(rec);
    const encoding = cmap.readUInt16BE(rec + 2);
    const offset = cmap.readUInt32BE(rec + 4);
    // Windows Unicode full repertoire (3, 10) or Unicode full repertoire (0, 4 / 0, 6).
    const full = (platform === 3 && encoding === 10) || (platform === 0 && (encoding === 4 || encoding === 6));
    if (!full || offset + 16 > cmap.length || cmap.readUInt16BE(offset) !== 12) continue;
    const groups = cmap.readUInt32BE(offset + 12);
    if (offset + 16 + groups * 12 > cmap.length) throw new FontFileError(path, 'cmap format 12 subtable overruns its table');
    const raw: Array<[number, number]> = [];
    for (let g = 0; g < groups; g++) {
      const at = offset + 16 + g * 12;
      const first = cmap.readUInt32BE(at);
      const last = cmap.readUInt32BE(at + 4);
      if (last >= first) raw.push([first, last]);
    }
    // The spec wants groups ascending; a font that breaks that still reads right.
    raw.sort((x, y) => x[0] - y[0]);
    const runs: Array<[number, number]> = [];
    for (const [first, last] of raw) {
      const prev = runs[runs.length - 1];
      if (prev && first <= prev[1] + 1) prev[1] = Math.max(prev[1], last);
      else runs.push([first, last]);
    }
    return new Coverage(runs);
  }
  throw new FontFileError(path, 'has no format 12 cmap subtable (no characters beyond the BMP)');
}
