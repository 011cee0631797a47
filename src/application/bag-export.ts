import type { EventStore } from '../eventstore/port.ts';
import { writeBag } from '../storage/bagit.ts';
import { dublinCoreXml } from '../formats/dublin-core.ts';
import type { OcflStorageRoot } from '../storage/ocfl.ts';
import { loadObject } from './object-commands.ts';
import { eventJsonLine } from './work-description.ts';
import { readWork } from './work-history.ts';

/**
 * An object as a BagIt 1.0 bag, readable without thukho: the current files under
 * data/files/<fileId>/<name> (their OCFL logical paths), and beside them the Dublin Core
 * record, the object as JSON (metadata, access level, file order and roles) and its full
 * event history (both its streams) with hashes, one JSON object per line.
 */
export const BAG_OBJECT_JSON = 'metadata/object.json';

export async function exportBag(
  deps: { store: EventStore; ocfl: OcflStorageRoot; institution: string },
  objectId: string,
  outDir: string,
) {
  const { state } = await loadObject(deps.store, objectId);
  if (state.status === 'absent') throw new Error(`không có tài liệu "${objectId}" / no object "${objectId}"`);
  const files = [...state.files].sort((a, b) => a.sequence - b.sequence);
  // Both of the work's streams, in log order: what people decided and what machines found out.
  // A bag must carry the whole history: an unreadable event stops the export.
  const work = await readWork(deps.store, objectId);
  const corrupt = work.object.corrupt ?? work.facts.corrupt;
  if (corrupt) throw corrupt;
  const events = work.merged.map(eventJsonLine);
  const objectJson = {
    id: objectId,
    status: state.status,
    accessLevel: state.accessLevel,
    metadata: state.metadata,
    files: files.map((f) => ({ ...f, path: `files/${f.fileId}/${f.name}` })),
    exportedAt: new Date().toISOString(),
  };
  const payload = [
    ...(await Promise.all(
      files.map(async (f) => ({ path: `files/${f.fileId}/${f.name}`, source: await deps.ocfl.contentFile(f.storage.ocflObjectId, `${f.fileId}/${f.name}`) })),
    )),
    { path: 'metadata/dc.xml', content: dublinCoreXml(state.metadata, objectId) },
    { path: BAG_OBJECT_JSON, content: `${JSON.stringify(objectJson, null, 2)}\n` },
    { path: 'metadata/events.jsonl', content: `${events.join('\n')}\n` },
  ];
  return writeBag(outDir, payload, {
    sourceOrganization: deps.institution,
    externalIdentifier: objectId,
    externalDescription: state.metadata.title,
  });
}
