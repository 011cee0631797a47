import { DomainError } from './errors.ts';
import type { BagAccession, DerivativeInfo, HarvestSource, ImportAccession, IngestedFile, ObjectEvent, ObjectHistoryEvent } from './events.ts';
import {
  type AccessLevel,
  type Metadata,
  type MetadataChanges,
  applyChanges,
  effectiveChanges,
} from './metadata.ts';
import { normaliseYearRange } from './year-range.ts';
import {
  addressOf,
  checkLabel,
  findPage,
  labelsFromPattern,
  type PageLabel,
  readingPages,
  STRUCTURE_MAX_RANGES,
  type StructureRange,
} from './page-structure.ts';
import { pageImageId } from './page-image.ts';

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
      /** Page labels by image id (see page-image.ts); a page without one is shown by its number. */
      pageLabels?: Record<string, string>;
      /** The table of contents, in reading order. */
      structure?: StructureRange[];
    };

export const initialObjectState: ObjectState = { status: 'absent' };

export type ObjectCommand =
  | { type: 'RegisterObject'; objectId: string; metadata: Metadata; accessLevel: AccessLevel; bag?: BagAccession; harvest?: HarvestSource; imported?: ImportAccession }
  | { type: 'EditMetadata'; objectId: string; changes: MetadataChanges; accessLevel?: AccessLevel; reason?: string }
  | { type: 'RecordFileIngested'; objectId: string; file: IngestedFile }
  | { type: 'ReorderFiles'; objectId: string; order: string[] }
  | { type: 'ChangeAccessPolicy'; objectId: string; accessLevel: AccessLevel; reason?: string }
  | { type: 'WithdrawObject'; objectId: string; reason: string }
  /** Either `labels` (each listed page's label; empty clears it) or `pattern` (every page, from `start`). */
  | { type: 'SetPageLabels'; objectId: string; labels?: PageLabel[]; pattern?: string; start?: number }
  | { type: 'SetStructure'; objectId: string; ranges: StructureRange[] };

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
        {
          type: 'ObjectRegistered',
          data: { objectId: command.objectId, metadata, accessLevel: command.accessLevel, ...(command.bag ? { bag: command.bag } : {}), ...(command.harvest ? { harvest: command.harvest } : {}), ...(command.imported ? { imported: command.imported } : {}) },
        },
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
      const reason = command.reason?.trim() ? { reason: command.reason.trim() } : {};
      if (Object.keys(changes).length > 0) {
        events.push({ type: 'MetadataEdited', data: { objectId: command.objectId, changes, ...reason } });
      }
      if (command.accessLevel !== undefined) {
        events.push(...policyChange(command.objectId, current.accessLevel, command.accessLevel, reason.reason));
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
    case 'SetPageLabels':
      return decidePageLabels(command, requireActive(state, command.objectId));
    case 'SetStructure':
      return decideStructure(command, requireActive(state, command.objectId));
  }
}

type ActiveState = Exclude<ObjectState, { status: 'absent' }>;

function decidePageLabels(command: Extract<ObjectCommand, { type: 'SetPageLabels' }>, current: ActiveState): ObjectEvent[] {
  const pages = readingPages(current.files);
  let wanted: Array<{ imageId: string; address: ReturnType<typeof addressOf>; label: string }>;
  if (command.pattern !== undefined) {
    if (pages.length === 0) {
      throw new DomainError('invalid-input', {
        vi: 'Tài liệu chưa có trang nào (tệp ảnh hoặc PDF) để gắn nhãn.',
        en: 'The object has no pages (image or PDF files) to label yet.',
      }, { field: 'pattern' });
    }
    const labels = labelsFromPattern(command.pattern, pages.length, command.start ?? 1);
    wanted = pages.map((p, i) => ({ imageId: p.imageId, address: addressOf(p), label: labels[i] as string }));
  } else {
    const seen = new Set<string>();
    wanted = (command.labels ?? []).map((l, i) => {
      const page = findPage(pages, l, `labels.${i}`);
      if (seen.has(page.imageId)) {
        throw new DomainError('invalid-input', {
          vi: `Trang "${page.imageId}" được gắn nhãn hai lần trong cùng một yêu cầu.`,
          en: `Page "${page.imageId}" is labelled twice in one request.`,
        }, { field: `labels.${i}` });
      }
      seen.add(page.imageId);
      return { imageId: page.imageId, address: addressOf(page), label: checkLabel(l.label, `labels.${i}.label`, true) };
    });
  }
  const have = current.pageLabels ?? {};
  const changed = wanted.filter((w) => (have[w.imageId] ?? '') !== w.label);
  if (changed.length === 0) return [];
  return [
    {
      type: 'PageLabelsSet',
      data: {
        objectId: command.objectId,
        labels: changed.map((w) => ({ ...w.address, label: w.label })),
        ...(command.pattern !== undefined ? { pattern: command.pattern.trim(), ...(command.start !== undefined ? { start: command.start } : {}) } : {}),
      },
    },
  ];
}

function decideStructure(command: Extract<ObjectCommand, { type: 'SetStructure' }>, current: ActiveState): ObjectEvent[] {
  if (command.ranges.length > STRUCTURE_MAX_RANGES) {
    throw new DomainError('invalid-input', {
      vi: `Mục lục có quá ${STRUCTURE_MAX_RANGES} mục.`,
      en: `The table of contents has more than ${STRUCTURE_MAX_RANGES} entries.`,
    }, { field: 'ranges' });
  }
  const pages = readingPages(current.files);
  const position = new Map(pages.map((p, i) => [p.imageId, i]));
  let previous = -1;
  const ranges = command.ranges.map((r, i): StructureRange => {
    const page = findPage(pages, r, `ranges.${i}`);
    const at = position.get(page.imageId) as number;
    if (at <= previous) {
      throw new DomainError('invalid-order', {
        vi: `Mục ${i + 1} của mục lục phải bắt đầu sau trang bắt đầu của mục trước (các mục theo thứ tự đọc, mỗi trang mở đầu nhiều nhất một mục).`,
        en: `Entry ${i + 1} of the table of contents must start after the previous entry's first page (entries in reading order, at most one starting on a page).`,
      }, { field: `ranges.${i}` });
    }
    previous = at;
    return { label: checkLabel(r.label, `ranges.${i}.label`, false), ...addressOf(page) };
  });
  const have = current.structure ?? [];
  const same = have.length === ranges.length && have.every((h, i) => {
    const r = ranges[i] as StructureRange;
    return h.label === r.label && h.fileId === r.fileId && (h.page ?? 1) === (r.page ?? 1);
  });
  if (same) return [];
  return [{ type: 'StructureSet', data: { objectId: command.objectId, ranges } }];
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
    case 'PageLabelsSet': {
      const pageLabels = { ...state.pageLabels };
      for (const l of event.data.labels) {
        const imageId = pageImageId(l.fileId, l.page ?? 1);
        if (l.label) pageLabels[imageId] = l.label;
        else delete pageLabels[imageId];
      }
      const { pageLabels: _old, ...rest } = state;
      return Object.keys(pageLabels).length > 0 ? { ...rest, pageLabels } : rest;
    }
    case 'StructureSet': {
      const { structure: _old, ...rest } = state;
      return event.data.ranges.length > 0 ? { ...rest, structure: event.data.ranges } : rest;
    }
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
