import { DomainError } from './errors.ts';
import type { DerivativeInfo, IngestedFile, ObjectEvent } from './events.ts';
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
 */
export interface StoredFile extends IngestedFile {
  sequence: number;
  /** Access derivatives, once made (images only). */
  derivative?: DerivativeInfo;
  /** Why the last attempt to make derivatives failed, until one succeeds. */
  derivativeFailure?: { reason: string; attempts: number };
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
  | { type: 'WithdrawObject'; objectId: string; reason: string }
  | { type: 'RecordDerivative'; objectId: string; fileId: string; derivative: DerivativeInfo }
  | { type: 'RecordDerivativeFailure'; objectId: string; fileId: string; masterSha512: string; reason: string; attempts: number }
  | { type: 'RecordPreservation'; objectId: string; event: PreservationEvent };

/** Facts that preservation work finds out; recorded for withdrawn objects too (they are still kept). */
export type PreservationEvent = Extract<ObjectEvent, { type: 'FixityChecked' | 'FileReplicated' | 'FileRepaired' | 'FileDamaged' }>;

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
    case 'RecordDerivative': {
      const file = requireImageFile(requireActive(state, command.objectId), command.fileId, command.derivative.masterSha512);
      // Re-made derivatives of the same master with the same pyramid are the same fact.
      if (file.derivative?.pyramid.sha256 === command.derivative.pyramid.sha256) return [];
      return [{ type: 'DerivativeCreated', data: { ...command.derivative, objectId: command.objectId, fileId: command.fileId } }];
    }
    case 'RecordPreservation': {
      if (state.status === 'absent') throw notFound(command.objectId);
      const data = command.event.data;
      const fileId = 'fileId' in data ? data.fileId : undefined;
      if (data.objectId !== command.objectId || (fileId !== undefined && !state.files.some((f) => f.fileId === fileId))) {
        throw new DomainError(
          'invalid-input',
          {
            vi: `Sự kiện bảo quản không thuộc về tài liệu "${command.objectId}" hoặc nhắc đến tệp không có.`,
            en: `The preservation event is not about object "${command.objectId}" or names a file it does not have.`,
          },
          { objectId: command.objectId, fileId },
        );
      }
      return [command.event];
    }
    case 'RecordDerivativeFailure': {
      const file = requireImageFile(requireActive(state, command.objectId), command.fileId, command.masterSha512);
      if (file.derivative) return [];
      const { type: _type, ...data } = command;
      return [{ type: 'DerivativeFailed', data }];
    }
  }
}

function requireImageFile(state: Exclude<ObjectState, { status: 'absent' }>, fileId: string, sha512: string): StoredFile {
  const file = state.files.find((f) => f.fileId === fileId);
  if (!file) {
    throw new DomainError(
      'not-found',
      { vi: `Không có tệp "${fileId}" trong tài liệu "${state.objectId}".`, en: `Object "${state.objectId}" has no file "${fileId}".` },
      { objectId: state.objectId, fileId },
    );
  }
  if (file.digests.sha512 !== sha512) {
    throw new DomainError(
      'invalid-input',
      {
        vi: `Bản phái sinh được tạo từ nội dung khác với tệp gốc "${fileId}".`,
        en: `The derivative was made from other bytes than master "${fileId}".`,
      },
      { fileId },
    );
  }
  return file;
}

export function evolveObject(state: ObjectState, event: ObjectEvent): ObjectState {
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
          const { derivativeFailure: _failure, ...rest } = f;
          return { ...rest, derivative };
        }),
      };
    }
    case 'DerivativeFailed': {
      const { fileId, reason, attempts } = event.data;
      return { ...state, files: state.files.map((f) => (f.fileId === fileId ? { ...f, derivativeFailure: { reason, attempts } } : f)) };
    }
    // Preservation facts change nothing a command decides on; the fixity read model keeps them.
    case 'FixityChecked':
    case 'FileReplicated':
    case 'FileRepaired':
    case 'FileDamaged':
      return state;
  }
}
