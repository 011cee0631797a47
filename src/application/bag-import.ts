import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { FileRole } from '../domain/events.ts';
import { AccessLevel, Id, Metadata } from '../domain/metadata.ts';
import { idFromName } from '../domain/vietnamese-fold.ts';
import { type BagProblem, validateBag } from '../storage/bagit.ts';
import { naturalCompare } from '../storage/file-name.ts';
import { type IngestServices, ingestFile } from './ingest.ts';
import { BAG_OBJECT_JSON } from './bag-export.ts';
import { executeObjectCommand, loadObject } from './object-commands.ts';

/**
 * `thukho ingest-bag DIR`: validate a bag completely (every file present and listed, every
 * digest right) before anything is written; then register the object and ingest its files
 * in order, each checked once more against the bag's SHA-512 as it streams in. A bag we
 * exported carries metadata/object.json and comes back as the same object; any other bag
 * becomes one object whose pages are its payload files in natural order.
 */
const ExportedObject = z.object({
  id: Id,
  accessLevel: AccessLevel,
  metadata: Metadata,
  files: z.array(z.object({ path: z.string(), name: z.string(), role: FileRole })),
});

export class BagRefusedError extends Error {
  constructor(readonly problems: BagProblem[]) {
    super(`the bag is not valid: ${problems.length} problem(s)`);
    this.name = 'BagRefusedError';
  }
}

export async function importBag(
  services: IngestServices,
  dir: string,
  options: { collectionId?: string; actor: { id: string; role: string }; onProgress?: (p: { files: number; bytes: number }) => void },
): Promise<{ objectId: string; files: number }> {
  const bag = await validateBag(dir, options.onProgress ? { onProgress: options.onProgress } : {});
  if (!bag.valid) throw new BagRefusedError(bag.problems);
  const sha512 = new Map(bag.payload.map((p) => [p.path, p.digests.sha512]));

  let plan: z.infer<typeof ExportedObject>;
  const exported = bag.payload.find((p) => p.path === BAG_OBJECT_JSON);
  if (exported) {
    plan = ExportedObject.parse(JSON.parse(await readFile(join(dir, 'data', BAG_OBJECT_JSON), 'utf8')));
  } else {
    const external = bag.info['External-Identifier']?.[0];
    const title = bag.info.Title?.[0] ?? bag.info['External-Description']?.[0] ?? basename(dir);
    const id = idFromName(external ?? basename(dir));
    plan = {
      id: Id.parse(id),
      accessLevel: 'open',
      metadata: Metadata.parse({ title, ...(external ? { identifier: external } : {}) }),
      files: bag.payload
        .map((p) => p.path)
        .sort(naturalCompare)
        .map((path) => ({ path, name: basename(path), role: 'master' as const })),
    };
  }
  const collectionId = options.collectionId ?? plan.metadata.collectionId;
  const metadata = { ...plan.metadata, ...(collectionId ? { collectionId } : {}) };
  const context = { actor: options.actor };
  const { state } = await loadObject(services.store, plan.id);
  if (state.status === 'absent') {
    await executeObjectCommand(services.store, { type: 'RegisterObject', objectId: plan.id, metadata, accessLevel: plan.accessLevel }, context);
  }
  for (const f of plan.files) {
    const expected = sha512.get(f.path);
    if (!expected) throw new Error(`${BAG_OBJECT_JSON} names ${f.path}, which is not in the bag's payload`);
    await ingestFile(services, {
      objectId: plan.id,
      source: createReadStream(join(dir, 'data', f.path), { highWaterMark: 1 << 20 }),
      name: f.name,
      role: f.role,
      expectedDigests: [{ algorithm: 'sha-512', hex: expected }],
      ...context,
    });
  }
  return { objectId: plan.id, files: plan.files.length };
}
