import { DomainError } from './errors.ts';
import type { CollectionEvent } from './events.ts';

/**
 * The collection aggregate: a titled grouping that objects name in `collectionId`. `libraryId`:
 * the library holding its works when set here; else its parent's, else the home library.
 */
export type CollectionState =
  | { status: 'absent' }
  | { status: 'active'; collectionId: string; title: string; description?: string; parentId?: string; libraryId?: string };

export const initialCollectionState: CollectionState = { status: 'absent' };

export type CollectionCommand =
  | { type: 'CreateCollection'; collectionId: string; title: string; description?: string; parentId?: string; libraryId?: string }
  | { type: 'EditCollection'; collectionId: string; title?: string; description?: string | null; libraryId?: string | null };

export const RESERVED_COLLECTION_IDS: readonly string[] = ['top'];

export function decideCollection(command: CollectionCommand, state: CollectionState): CollectionEvent[] {
  switch (command.type) {
    case 'CreateCollection': {
      // The IIIF top collection is /iiif/collection/top: no collection may take that name.
      if (RESERVED_COLLECTION_IDS.includes(command.collectionId)) {
        throw new DomainError(
          'invalid-input',
          {
            vi: `Mã "${command.collectionId}" được dành riêng cho hệ thống; hãy chọn mã khác.`,
            en: `The id "${command.collectionId}" is reserved; choose another id.`,
          },
          { collectionId: command.collectionId },
        );
      }
      if (state.status !== 'absent') {
        throw new DomainError(
          'already-exists',
          {
            vi: `Bộ sưu tập "${command.collectionId}" đã tồn tại.`,
            en: `Collection "${command.collectionId}" already exists.`,
          },
          { collectionId: command.collectionId },
        );
      }
      const { type: _type, ...data } = command;
      return [{ type: 'CollectionCreated', data }];
    }
    case 'EditCollection': {
      if (state.status === 'absent') {
        throw new DomainError(
          'not-found',
          {
            vi: `Không tìm thấy bộ sưu tập "${command.collectionId}".`,
            en: `Collection "${command.collectionId}" does not exist.`,
          },
          { collectionId: command.collectionId },
        );
      }
      const data: { collectionId: string; title?: string; description?: string | null; libraryId?: string | null } = {
        collectionId: command.collectionId,
      };
      if (command.title !== undefined && command.title !== state.title) data.title = command.title;
      if (command.description !== undefined && command.description !== (state.description ?? null)) {
        data.description = command.description;
      }
      if (command.libraryId !== undefined && command.libraryId !== (state.libraryId ?? null)) data.libraryId = command.libraryId;
      if (Object.keys(data).length === 1) return [];
      return [{ type: 'CollectionEdited', data }];
    }
  }
}

export function evolveCollection(state: CollectionState, event: CollectionEvent): CollectionState {
  switch (event.type) {
    case 'CollectionCreated':
      return { status: 'active', ...event.data };
    case 'CollectionEdited': {
      if (state.status === 'absent') return state;
      const next = { ...state };
      if (event.data.title !== undefined) next.title = event.data.title;
      if (event.data.description === null) delete next.description;
      else if (event.data.description !== undefined) next.description = event.data.description;
      if (event.data.libraryId === null) delete next.libraryId;
      else if (event.data.libraryId !== undefined) next.libraryId = event.data.libraryId;
      return next;
    }
  }
}
