import type { IngestIntent } from './ingest-journal.ts';
import type { IngestServices } from './ingest.ts';
import { executeObjectCommand } from './object-commands.ts';

/** Append the event for an OCFL version that is already committed (also used by reconcile). */
export async function completeIntent(services: IngestServices, intent: IngestIntent, version: string, contentPath: string) {
  const context = { actor: intent.actor, correlationId: intent.correlationId };
  const result = await executeObjectCommand(
    services.store,
    { type: 'RecordFileIngested', objectId: intent.objectId, file: { ...intent.file, storage: { ocflObjectId: intent.ocflObjectId ?? intent.objectId, version, path: contentPath } } },
    context,
  );
  let state = result.state;
  let position = result.position;
  if (intent.sequence !== undefined && state.status === 'active') {
    const order = state.files.map((f) => f.fileId).filter((id) => id !== intent.file.fileId);
    order.splice(Math.min(intent.sequence - 1, order.length), 0, intent.file.fileId);
    const reordered = await executeObjectCommand(services.store, { type: 'ReorderFiles', objectId: intent.objectId, order }, context);
    state = reordered.state;
    position = reordered.position ?? position;
  }
  const file = state.status === 'absent' ? undefined : state.files.find((f) => f.digests.sha512 === intent.file.digests.sha512);
  return { file, position };
}

