import type { ObjectState } from '../domain/object.ts';

/**
 * OCFL identifiers and agent addresses. The OCFL spec asks that an object's id be a URI
 * (validator warning W005) and that each version's user carry an address URI (W008); an
 * `info:` URI under our own namespace needs no domain the library may lose.
 *
 * Works ingested before ids were URIs keep their bare id: it is the name their bytes were
 * filed under (FileIngested.storage.ocflObjectId), and OCFL objects are never renamed.
 */
export const OCFL_ID_BASE = 'info:thukho/';

export const objectOcflIdFor = (objectId: string): string => `${OCFL_ID_BASE}object/${objectId}`;
export const collectionOcflIdFor = (collectionId: string): string => `${OCFL_ID_BASE}collection/${collectionId}`;
/** One OCFL object holds the seal stream, so a storage root alone carries the seals' history. */
export const SEALS_OCFL_ID = `${OCFL_ID_BASE}seals`;

/** The OCFL id a work's bytes live under: the one its first file was stored with, else the URI. */
export function objectOcflId(objectId: string, state: ObjectState): string {
  const stored = state.status === 'absent' ? undefined : state.files[0]?.storage.ocflObjectId;
  return stored ?? objectOcflIdFor(objectId);
}

/** The `user` of an OCFL version: the actor's id as name, and a URI that names the same agent. */
export function ocflUser(actor: { id: string }): { name: string; address: string } {
  return { name: actor.id, address: `${OCFL_ID_BASE}agent/${encodeURIComponent(actor.id)}` };
}

/** What an OCFL object of ours holds, from its id: a work (URI or bare legacy id), a collection, the seals. */
export function parseOcflId(ocflId: string): { kind: 'object' | 'collection'; id: string } | { kind: 'seals' } {
  if (ocflId === SEALS_OCFL_ID) return { kind: 'seals' };
  for (const kind of ['object', 'collection'] as const) {
    const prefix = `${OCFL_ID_BASE}${kind}/`;
    if (ocflId.startsWith(prefix)) return { kind, id: ocflId.slice(prefix.length) };
  }
  return { kind: 'object', id: ocflId };
}
