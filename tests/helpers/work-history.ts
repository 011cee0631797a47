import { createHash } from 'node:crypto';
import type { IngestedFile, PreservationEvent } from '../../src/domain/events.ts';

/**
 * A digitised book's files and the machine facts years of preservation leave on its
 * `preservation-<id>` stream, with the payloads the workers write (digests, paths, roots):
 * no bytes behind them, only the log. Deterministic, so two works built from the same
 * numbers differ only where asked.
 */
const hex = (seed: string, bytes: 32 | 64) => createHash(bytes === 64 ? 'sha512' : 'sha256').update(seed).digest('hex');

export const ROOTS = [
  { label: 'primary', path: '/srv/thukho/ocfl' },
  { label: 'replica-1', path: '/mnt/nas-a/thukho-ocfl' },
  { label: 'replica-2', path: '/mnt/nas-b/thukho-ocfl' },
] as const;
export const DERIVATIVES = { label: 'derivatives', path: '/srv/thukho/derivatives' } as const;

/** Page `i` (0-based) of a book scanned at 400 dpi: a ~60 MB TIFF master in the work's OCFL v1. */
export function pageFile(objectId: string, i: number): IngestedFile {
  const n = String(i + 1).padStart(4, '0');
  const fileId = `p${n}`;
  return {
    fileId,
    name: `trang-${n}.tif`,
    role: 'master',
    size: 58_000_000 + ((i * 7919) % 9_000_000),
    mediaType: 'image/tiff',
    digests: { sha512: hex(`${objectId}/${fileId}`, 64), sha256: hex(`${objectId}/${fileId}`, 32) },
    image: { width: 4912 + (i % 7), height: 7360, bitDepth: 8, dpi: 400, iccProfile: 'Adobe RGB (1998)' },
    storage: { ocflObjectId: objectId, version: 'v1', path: `v1/content/${fileId}/trang-${n}.tif` },
  };
}

export function derivativeFact(objectId: string, file: IngestedFile): PreservationEvent {
  const width = file.image?.width ?? 1000;
  const height = file.image?.height ?? 1000;
  return {
    type: 'DerivativeCreated',
    data: {
      objectId,
      fileId: file.fileId,
      masterSha512: file.digests.sha512,
      width,
      height,
      pyramid: { sha256: hex(`pyramid/${file.digests.sha512}`, 32), size: 21_000_000, levels: 6 },
      tileSize: 512,
      scaleFactors: [1, 2, 4, 8, 16, 32],
      tiles: 180,
      sizes: [150, 300, 600, 1200].map((w) => ({ width: w, height: Math.round((height * w) / width) })),
      software: 'libvips 8.15.1 (sharp 0.35.5)',
    },
  };
}

export function replicationFact(objectId: string, replica: (typeof ROOTS)[number], files: number): PreservationEvent {
  return { type: 'FileReplicated', data: { objectId, version: 'v1', replica: { ...replica }, files, bytes: files * 62_000_000 } };
}

function objectRoot(objectId: string): string {
  const h = hex(objectId, 32);
  return `${h.slice(0, 3)}/${h.slice(3, 6)}/${h.slice(6, 9)}/${objectId}`;
}

/** A passing check of one master (or, without a file, the inventory) on one root. */
export function fixityFact(objectId: string, root: (typeof ROOTS)[number] | typeof DERIVATIVES, file?: IngestedFile): PreservationEvent {
  if (root.label === DERIVATIVES.label && file) {
    const sha256 = hex(`pyramid/${file.digests.sha512}`, 32);
    return {
      type: 'FixityChecked',
      data: {
        objectId, fileId: file.fileId, target: 'derivative', path: `${file.digests.sha512.slice(0, 2)}/${file.digests.sha512.slice(2, 4)}/${file.digests.sha512}/pyramid.tif`,
        storageRoot: { ...root }, outcome: 'pass', algorithm: 'sha256', expected: { sha256 }, actual: { sha256 }, bytes: 21_000_000, durationMs: 61.5,
      },
    };
  }
  if (!file) {
    const sha512 = hex(`inventory/${objectId}`, 64);
    return {
      type: 'FixityChecked',
      data: {
        objectId, target: 'inventory', path: `${objectRoot(objectId)}/inventory.json`, storageRoot: { ...root }, outcome: 'pass',
        algorithm: 'sha512', expected: { sha512 }, actual: { sha512 }, bytes: 412_000, durationMs: 2.1,
      },
    };
  }
  return {
    type: 'FixityChecked',
    data: {
      objectId, fileId: file.fileId, target: 'master', path: `${objectRoot(objectId)}/${file.storage.path}`, storageRoot: { ...root }, outcome: 'pass',
      algorithm: 'sha512', expected: { sha512: file.digests.sha512 }, actual: { sha512: file.digests.sha512 }, bytes: file.size, durationMs: 148.3,
    },
  };
}

/** What a work has a day after ingest: one derivative per page, v1 verified on each replica. */
export function firstFacts(objectId: string, files: IngestedFile[]): PreservationEvent[] {
  return [...files.map((f) => derivativeFact(objectId, f)), ...ROOTS.slice(1).map((r) => replicationFact(objectId, r, files.length))];
}

/**
 * `count` facts of the following years, in the order cycles write them: every master and the
 * inventory on the three roots and every pyramid checked, the replicas re-verified, now and
 * then a pyramid re-made (same bytes: the work looks the same). None of them changes the
 * work's state, so a work with them shows exactly what one without them does.
 */
export function* laterFacts(objectId: string, files: IngestedFile[], count: number): Generator<PreservationEvent> {
  let n = 0;
  for (let cycle = 0; ; cycle++) {
    const one: PreservationEvent[] = [];
    for (const root of ROOTS) {
      for (const f of files) one.push(fixityFact(objectId, root, f));
      one.push(fixityFact(objectId, root));
    }
    for (const f of files) one.push(fixityFact(objectId, DERIVATIVES, f));
    for (const r of ROOTS.slice(1)) one.push(replicationFact(objectId, r, files.length));
    for (let k = 0; k < 3 && files.length > 0; k++) one.push(derivativeFact(objectId, files[(cycle * 37 + k * 101) % files.length] as IngestedFile));
    for (const fact of one) {
      if (n++ >= count) return;
      yield fact;
    }
  }
}
