import { randomBytes } from 'node:crypto';
import { type CollectionCommand, type CollectionState, decideCollection, evolveCollection, initialCollectionState } from '../domain/collection.ts';
import type { CollectionEvent, ObjectEvent, ObjectHistoryEvent } from '../domain/events.ts';
import { decideObject, evolveObject, initialObjectState, type ObjectCommand, type ObjectState } from '../domain/object.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type CommandContext, type CommandResult, type Decider, handleCommand } from './command-handler.ts';
import { foldStream } from './stream-fold.ts';
import { collectionStream, objectStream } from './streams.ts';

export { collectionStream, objectStream, preservationStream } from './streams.ts';

export const objectDecider: Decider<ObjectState, ObjectCommand, ObjectHistoryEvent, ObjectEvent> = {
  initial: initialObjectState,
  evolve: evolveObject,
  decide: decideObject,
};

export const collectionDecider: Decider<CollectionState, CollectionCommand, CollectionEvent> = {
  initial: initialCollectionState,
  evolve: evolveCollection,
  decide: decideCollection,
};

/**
 * New ids: 12 characters of lowercase base32 (60 bits), short enough to read aloud over the
 * phone and to print on a call slip, long enough never to collide in a library's lifetime.
 */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
export function newId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % 32];
  return id;
}

export function executeObjectCommand(
  store: EventStore,
  command: ObjectCommand,
  context: CommandContext,
  expectedRevision?: bigint,
): Promise<CommandResult<ObjectState, ObjectHistoryEvent>> {
  return handleCommand(store, objectStream(command.objectId), objectDecider, command, context, expectedRevision);
}

export function executeCollectionCommand(
  store: EventStore,
  command: CollectionCommand,
  context: CommandContext,
  expectedRevision?: bigint,
): Promise<CommandResult<CollectionState, CollectionEvent>> {
  return handleCommand(store, collectionStream(command.collectionId), collectionDecider, command, context, expectedRevision);
}

export function loadObject(store: EventStore, objectId: string) {
  return foldStream(store, objectStream(objectId), objectDecider);
}
