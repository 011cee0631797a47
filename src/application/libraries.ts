import type { CollectionCommand, CollectionState } from '../domain/collection.ts';
import { DomainError } from '../domain/errors.ts';
import type { CollectionEvent, LibraryEvent } from '../domain/events.ts';
import { decideLibrary, evolveLibrary, initialLibraryState, type LibraryCommand, type LibraryState } from '../domain/library.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type CommandContext, type CommandResult, type Decider, handleCommand, streamExists } from './command-handler.ts';
import { executeCollectionCommand } from './object-commands.ts';
import { libraryStream } from './streams.ts';

/** The libraries sharing this instance: their records, and the library each collection names. */
export const libraryDecider: Decider<LibraryState, LibraryCommand, LibraryEvent> = {
  initial: initialLibraryState,
  evolve: evolveLibrary,
  decide: decideLibrary,
};

export function executeLibraryCommand(
  store: EventStore,
  command: LibraryCommand,
  context: CommandContext,
  expectedRevision?: bigint,
): Promise<CommandResult<LibraryState, LibraryEvent>> {
  return handleCommand(store, libraryStream(command.libraryId), libraryDecider, command, context, expectedRevision);
}

/**
 * Refuses a library id that is neither the home library (which exists unregistered) nor a
 * registered one. Read from the log, not the read model: a library registered a moment ago
 * is known at once.
 */
export async function requireKnownLibrary(store: EventStore, libraryId: string, homeLibraryId: string): Promise<void> {
  if (libraryId === homeLibraryId || (await streamExists(store, libraryStream(libraryId)))) return;
  throw new DomainError(
    'invalid-input',
    {
      vi: `Không có thư viện "${libraryId}"; hãy đăng ký thư viện trước (thukho libraries add ${libraryId}, hoặc trang Thư viện của cán bộ).`,
      en: `There is no library "${libraryId}"; register it first (thukho libraries add ${libraryId}, or the staff Libraries page).`,
    },
    { libraryId },
  );
}

/** A collection command whose library, when it names one, must exist. */
export async function executeCheckedCollectionCommand(
  store: EventStore,
  command: CollectionCommand,
  context: CommandContext,
  homeLibraryId: string,
  expectedRevision?: bigint,
): Promise<CommandResult<CollectionState, CollectionEvent>> {
  if (typeof command.libraryId === 'string') await requireKnownLibrary(store, command.libraryId, homeLibraryId);
  return executeCollectionCommand(store, command, context, expectedRevision);
}
