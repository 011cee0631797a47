import type { Inventory } from '../../src/storage/ocfl.ts';
import { DESCRIPTION_DIR } from '../../src/application/work-description.ts';

/** The digests of an object's stored files other than its own description (thukho/…). */
export function mastersIn(inventory: Inventory | null): string[] {
  if (!inventory) return [];
  return Object.entries(inventory.manifest)
    .filter(([, paths]) => paths.some((p) => !p.split('/').slice(2).join('/').startsWith(`${DESCRIPTION_DIR}/`)))
    .map(([digest]) => digest);
}
