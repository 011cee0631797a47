import { DomainError } from './errors.ts';
import type { DerivativeInfo, IngestedFile, ObjectEvent, ObjectHistoryEvent } from './events.ts';
import {
  type AccessLevel,
  type Metadata,
  type MetadataChanges,
  applyChanges,
  effectiveChanges,
} from './metadata.ts';
import { normaliseYearRange } from './year-range.ts';

/**
 * The object aggregate as a Decider: `decide(command, state)` returns the events a command
 * causes (possibly none), `evolve(state, event)` folds one event into the state. No I/O,
 * no clock, no id generation: ids and facts arrive in the command.
 *
 * It decides only what people and ingest decide (the `object-<id>` stream). Machine facts
 * live on `preservation-<id>` (see preservation.ts) so that a worker never makes a person's
 * edit conflict; `evolveObject` still folds the derivative facts, from either stream, for the
 * read models that show a work with its access copies.
 */
export interface StoredFile extends IngestedFile {
  sequence: number;
  /** Access derivatives, once made (images only). */
  derivative?: DerivativeInfo;
  /** Why the last attempt to make derivatives failed, until one succeeds. */
  derivativeFailure?: { reason: string; attempts: number };
  /**
   * Pages 2… of a multi-page master, in page order, once their derivatives were made or
   * failed (a page's size is known only from its derivative). Page 1 is the file itself.
   */
  laterPages?: LaterPage[];
}

export interface LaterPage {
  page: number;
  derivative?: DerivativeInfo;
  derivativeFailure?: { reason: string; attempts: number };
}

/** A later page's facts changed by `change`, kept in page order. */
function withLaterPage(file: StoredFile, page: number, change: (p: LaterPage) => LaterPage): StoredFile {
  const pages = file.laterPages ?? [];
  const current = pages.find((p) => p.page === page) ?? { page };
  const laterPages = [...pages.filter((p) => p.page !== page), change(current)].sort((a, b) => a.page - b.page);
  return { ...file, laterPages };
}

export type ObjectState =
  | { status: 'absent' }
  | {
      status: 'active' | 'withdrawn';
      objectId: string;
      metadata: Metadata;
      accessLevel: AccessLevel;
      files: StoredFile[];
      withdrawnReason?: string;
    };

export const initialObjectState: ObjectState = { status: 'absent' };

export type ObjectCommand =
  | { type: 'RegisterObject'; objectId: string; metadata: Metadata; accessLevel: AccessLevel }
  | { type: 'EditMetadata'; objectId: string; changes: MetadataChanges; accessLevel?: AccessLevel }
  | { type: 'RecordFileIngested'; objectId: string; file: IngestedFile }
  | { type: 'ReorderFiles'; objectId: string; order: string[] }
  | { type: 'ChangeAccessPolicy'; objectId: string; accessLevel: AccessLevel; reason?: string }
  | { type: 'WithdrawObject'; objectId: string; reason: string };

function notFound(objectId: string): DomainError {
  return new DomainError(
    'not-found',
    { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` },
    { objectId },
  );
}

function requireActive(state: ObjectState, objectId: string) {
  if (state.status === 'absent') throw notFound(objectId);
  if (state.status === 'withdrawn') {
    throw new DomainError(
      'withdrawn',
      {
        vi: `Tài liệu "${objectId}" đã bị rút khỏi kho và không nhận thêm thay đổi.`,
        en: `Object "${objectId}" has been withdrawn and takes no more changes.`,
      },
      { objectId },
    );
  }
  return state;
}

function checkYearOrder(metadata: Metadata): void {
  if (metadata.yearFrom !== undefined && metadata.yearTo !== undefined && metadata.yearFrom > metadata.yearTo) {
    throw new DomainError(
      'invalid-input',
      {
        vi: `Năm bắt đầu (${metadata.yearFrom}) lớn hơn năm kết thúc (${metadata.yearTo}).`,
        en: `yearFrom (${metadata.yearFrom}) is after yearTo (${metadata.yearTo}).`,
      },
      { field: 'yearFrom' },
    );
  }
}

/** Fill yearFrom/yearTo from the free-text date when the cataloguer gave none. */
function withYearRange(metadata: Metadata): Metadata {
  if (metadata.date === undefined || metadata.yearFrom !== undefined || metadata.yearTo !== undefined) return metadata;
  const range = normaliseYearRange(metadata.date);
  return range ? { ...metadata, ...range } : metadata;
}

function policyChange(objectId: string, from: AccessLevel, to: AccessLevel, reason?: string): ObjectEvent[] {
  if (from === to) return [];
  return [{ type: 'AccessPolicyChanged', data: { objectId, from, to, ...(reason ? { reason } : {}) } }];
}

export function decideObject(command: ObjectCommand, state: ObjectState): ObjectEvent[] {
  switch (command.type) {
    case 'RegisterObject': {
      if (state.status !== 'absent') {
        throw new DomainError(
          'already-exists',
          {
            vi: `Mã tài liệu "${command.objectId}" đã tồn tại; hãy chọn mã khác.`,
            en: `Object id "${command.objectId}" already exists; choose another id.`,
          },
          { objectId: command.objectId },
        );
      }
      const metadata = withYearRange(command.metadata);
      checkYearOrder(metadata);
      return [
        { type: 'ObjectRegistered', data: { objectId: command.objectId, metadata, accessLevel: command.accessLevel } },
      ];
    }
    case 'EditMetadata': {
      const current = requireActive(state, command.objectId);
      let changes = effectiveChanges(current.metadata, command.changes);
      const dateChanged = 'date' in changes && !('yearFrom' in command.changes) && !('yearTo' in command.changes);
      if (dateChanged) {
        // A new free-text date re-derives the normalised range unless the editor set it too.
        const range = changes.date ? normaliseYearRange(changes.date) : undefined;
        changes = effectiveChanges(current.metadata, {
          ...command.changes,
          yearFrom: range?.yearFrom ?? null,
          yearTo: range?.yearTo ?? null,
        });
      }
      checkYearOrder(applyChanges(current.metadata, changes));
      const events: ObjectEvent[] = [];
      if (Object.keys(changes).length > 0) {
        events.push({ type: 'MetadataEdited', data: { objectId: command.objectId, changes } });
      }
      if (command.accessLevel !== undefined) {
        events.push(...policyChange(command.objectId, current.accessLevel, command.accessLevel));
      }
      return events;
    }
    case 'RecordFileIngested': {
      const current = requireActive(state, command.objectId);
      // The same bytes twice in one object are stored once: ingest is idempotent by digest.
      if (current.files.some((f) => f.digests.sha512 === command.file.digests.sha512)) return [];
      if (current.files.some((f) => f.fileId === command.file.fileId)) {
        throw new DomainError(
          'already-exists',
          {
            vi: `Tệp "${command.file.fileId}" đã có trong tài liệu với nội dung khác.`,
            en: `File "${command.file.fileId}" already exists in this object with different content.`,
          },
          { fileId: command.file.fileId },
        );
      }
      return [
        {
          type: 'FileIngested',
          data: { ...command.file, objectId: command.objectId, sequence: current.files.length },
        },
      ];
    }
    case 'ReorderFiles': {
      const current = requireActive(state, command.objectId);
      const have = current.files.map((f) => f.fileId);
      const unique = new Set(command.order);
      if (unique.size !== command.order.length || unique.size !== have.length || !have.every((id) => unique.has(id))) {
        throw new DomainError(
          'invalid-order',
          {
            vi: 'Thứ tự mới phải liệt kê mỗi tệp của tài liệu đúng một lần.',
            en: 'The new order must list every file of the object exactly once.',
          },
          { expected: have, given: command.order },
        );
      }
      if (command.order.every((id, i) => id === have[i])) return [];
      return [{ type: 'FilesReordered', data: { objectId: command.objectId, order: command.order } }];
    }
    case 'ChangeAccessPolicy': {
      const current = requireActive(state, command.objectId);
      return policyChange(command.objectId, current.accessLevel, command.accessLevel, command.reason);
    }
    case 'WithdrawObject': {
      requireActive(state, command.objectId);
      return [{ type: 'ObjectWithdrawn', data: { objectId: command.objectId, reason: command.reason } }];
    }
  }
}

export function evolveObject(state: ObjectState, event: ObjectHistoryEvent): ObjectState {
  switch (event.type) {
    case 'ObjectRegistered':
      return {
        status: 'active',
        objectId: event.data.objectId,
        metadata: event.data.metadata,
        accessLevel: event.data.accessLevel,
        files: [],
      };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'MetadataEdited':
      return { ...state, metadata: applyChanges(state.metadata, event.data.changes) };
    case 'FileIngested': {
      const { objectId: _objectId, ...file } = event.data;
      return { ...state, files: [...state.files, file] };
    }
    case 'FilesReordered': {
      const byId = new Map(state.files.map((f) => [f.fileId, f]));
      const files = event.data.order.flatMap((id, sequence) => {
        const f = byId.get(id);
        return f ? [{ ...f, sequence }] : [];
      });
      return { ...state, files };
    }
    case 'AccessPolicyChanged':
      return { ...state, accessLevel: event.data.to };
    case 'ObjectWithdrawn':
      return { ...state, status: 'withdrawn', withdrawnReason: event.data.reason };
    case 'DerivativeCreated': {
      const { objectId: _o, fileId, ...derivative } = event.data;
      return {
        ...state,
        files: state.files.map((f) => {
          if (f.fileId !== fileId) return f;
          if (derivative.page !== undefined) return withLaterPage(f, derivative.page, ({ derivativeFailure: _failure, ...p }) => ({ ...p, derivative }));
          const { derivativeFailure: _failure, ...rest } = f;
          return { ...rest, derivative };
        }),
      };
    }
    case 'DerivativeFailed': {
      const { fileId, page, reason, attempts } = event.data;
      return {
        ...state,
        files: state.files.map((f) => {
          if (f.fileId !== fileId) return f;
          if (page !== undefined) return withLaterPage(f, page, (p) => ({ ...p, derivativeFailure: { reason, attempts } }));
          return { ...f, derivativeFailure: { reason, attempts } };
        }),
      };
    }
    // Preservation facts change nothing a command decides on; the fixity read model keeps them.
    case 'FixityChecked':
    case 'FileReplicated':
    case 'FileRepaired':
    case 'FileDamaged':
    case 'PageTextRecorded':
    case 'OcrCompleted':
    case 'OcrFailed':
      return state;
  }
}
