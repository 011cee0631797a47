import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Metadata, type MetadataChanges } from '../domain/metadata.ts';
import type { CommandContext } from './command-handler.ts';
import { type WorkReport, reasonOf } from './import-report.ts';
import type { IngestServices, StagedUpload } from './ingest.ts';
import { executeObjectCommand, objectStream } from './object-commands.ts';

/**
 * What imports from other systems share (import-saf, import-iiif): the registration's import
 * record, the fingerprint of the files brought in, and fitting a foreign record into ours field
 * by field.
 */

const RegisteredImport = z.object({
  imported: z.object({ format: z.string(), location: z.string(), identifier: z.string().optional() }).optional(),
});

/** The import record on a work's registration, if it came from another system. */
export async function registeredImport(services: Pick<IngestServices, 'store'>, objectId: string) {
  for await (const e of services.store.readStream(objectStream(objectId), { maxCount: 1 })) {
    const data = RegisteredImport.safeParse(e.data);
    return e.type === 'ObjectRegistered' && data.success ? data.data.imported : undefined;
  }
  return undefined;
}

/** SHA-256 over the sorted `<sha512>  <name>` lines: the files as brought in (ImportAccession.fingerprint). */
export function fingerprintOf(staged: ReadonlyArray<Pick<StagedUpload, 'digests' | 'name'>>): string {
  const lines = staged.map((s) => `${s.digests.sha512}  ${s.name}\n`).sort();
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/**
 * A foreign record as our Metadata: a value our record refuses (a year out of range, an
 * over-long field, a rights text that is not a URI) drops that field, said in `notApplied`;
 * a bad title or collection refuses the record (`refusal`).
 */
export function fitMetadata(candidate: Record<string, unknown>, notApplied: WorkReport['notApplied']): { metadata: Metadata } | { refusal: string } {
  const fields = { ...candidate };
  let parsed = Metadata.safeParse(fields);
  for (let round = 0; !parsed.success && round < 5; round++) {
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')));
    if (bad.has('title') || bad.has('') || bad.has('collectionId')) break;
    for (const field of bad) {
      notApplied.push({ field, reason: parsed.error.issues.filter((i) => String(i.path[0]) === field).map((i) => i.message).join('; ') });
      delete fields[field];
    }
    parsed = Metadata.safeParse(fields);
  }
  return parsed.success ? { metadata: parsed.data } : { refusal: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

/**
 * The record changes a run asks of a work already here, as one edit pinned to the revision the
 * run read: a curator's edit meanwhile is a conflict, not overwritten. The fields changed, or
 * not applied and why, go into the work's report; a dry run only says what would change.
 * Returns the work's revision after the edit.
 */
export async function editFromImport(
  services: Pick<IngestServices, 'store'>,
  report: WorkReport,
  edit: { objectId: string; changes: MetadataChanges; reason: string },
  context: CommandContext,
  revision: bigint,
  dryRun: boolean,
): Promise<bigint> {
  const fields = Object.keys(edit.changes);
  if (!fields.length) return revision;
  if (dryRun) {
    report.changed.push(...fields);
    return revision;
  }
  try {
    const result = await executeObjectCommand(services.store, { type: 'EditMetadata', ...edit }, context, revision);
    for (const e of result.events) if (e.type === 'MetadataEdited') report.changed.push(...Object.keys(e.data.changes));
    return result.revision;
  } catch (err) {
    for (const field of fields) report.notApplied.push({ field, reason: reasonOf(err) });
    return revision;
  }
}
