import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Bilingual } from '../domain/errors.ts';
import { BagAccession, FileRole } from '../domain/events.ts';
import { AccessLevel, Id, Metadata } from '../domain/metadata.ts';
import { idFromName } from '../domain/vietnamese-fold.ts';
import { type BagProblem, type BagValidation, byStrength, validateBag } from '../storage/bagit.ts';
import { naturalCompare } from '../storage/file-name.ts';
import { type IngestServices, type StagedUpload, commitStaged, stageUpload } from './ingest.ts';
import { BAG_OBJECT_JSON } from './bag-export.ts';
import { executeObjectCommand, loadObject, objectStream } from './object-commands.ts';

/**
 * `thukho ingest-bag DIR`. Nothing is registered until the bag is known to be good: the bag is
 * validated whole (RFC 8493: structure, bagit.txt, every manifest of every algorithm, tag
 * manifests, Payload-Oxum, no unlisted or escaping files), then every file that becomes a page
 * is staged and identified (checked once more against the SHA-512 of the validating read),
 * and only then is the work registered and its files committed as one OCFL version. A refusal
 * at any step leaves no work, no event and no stored file.
 *
 * A bag we exported carries metadata/object.json and comes back as the same work; any other
 * bag becomes one work whose pages are its payload files in natural order, described from
 * bag-info.txt (and --title/--id). The bag itself (bag-info.txt whole, the algorithms verified)
 * is kept on the work's ObjectRegistered event.
 *
 * "The same bag" is recognised by its fingerprint (SHA-256 over the sorted `<sha512>  <path>`
 * lines of its payload), or, for a work that did not come from a bag, by the work with the
 * bag's id already holding every one of the bag's files. A different bag for an id that is
 * taken is refused (no new version is made behind the librarian's back).
 */
const ExportedObject = z.object({
  id: Id,
  accessLevel: AccessLevel,
  metadata: Metadata,
  files: z.array(z.object({ path: z.string(), name: z.string(), role: FileRole })),
});

/** Why a bag was refused as a whole: the validator's problems, or what made it unfit to become a work. */
export type BagImportProblemCode = BagProblem['code'] | 'bad-object-json' | 'bad-id' | 'bad-metadata' | 'empty-bag' | 'file-not-accepted' | 'id-taken';
export interface BagImportProblem {
  code: BagImportProblemCode;
  message: Bilingual;
  /** Relative to the bag directory. */
  path?: string;
}

export class BagRefusedError extends Error {
  constructor(readonly problems: BagImportProblem[]) {
    super(`the bag is not valid: ${problems.length} problem(s)`);
    this.name = 'BagRefusedError';
  }
}

export type BagImportOutcome =
  | { status: 'ingested'; objectId: string; files: number; verified: string[]; tagVerified: string[]; resumed: boolean }
  /** Every file of the bag is already in the work `objectId`; nothing was written. */
  | { status: 'already-here'; objectId: string; files: number };

export interface BagImportOptions {
  collectionId?: string;
  /** The work's id; default: object.json's, else External-Identifier, else the folder name. */
  objectId?: string;
  /** The work's title; default: object.json's, else bag-info Title or a short External-Description, else the folder name. */
  title?: string;
  actor: { id: string; role: string };
  onProgress?: (p: { files: number; bytes: number }) => void;
}

interface Plan {
  id: string;
  accessLevel: AccessLevel;
  metadata: Metadata;
  files: Array<{ path: string; name: string; role: FileRole }>;
}

const refuse = (code: BagImportProblemCode, vi: string, en: string, path?: string): BagRefusedError =>
  new BagRefusedError([{ code, message: { vi, en }, ...(path !== undefined ? { path } : {}) }]);

/** bag-info.txt values of a label; labels are case-insensitive (RFC 8493 §2.2.2). */
function infoValues(info: Record<string, string[]>, label: string): string[] {
  const want = label.toLowerCase();
  return Object.entries(info).flatMap(([l, v]) => (l.toLowerCase() === want ? v : []));
}

function zodReason(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(gốc / root)'}: ${i.message}`).join('; ');
}

/** How a re-import is recognised: the payload's bytes and names, not the bag's folder or date. */
export function bagFingerprint(bag: Pick<BagValidation, 'payload'>): string {
  const lines = bag.payload.map((p) => `${p.digests.sha512}  ${p.path.normalize('NFC')}\n`).sort();
  return createHash('sha256').update(lines.join('')).digest('hex');
}

async function planOf(dir: string, bag: BagValidation, options: BagImportOptions): Promise<Plan> {
  const folder = basename(resolve(dir));
  const objectJson = bag.payload.find((p) => p.path.normalize('NFC') === BAG_OBJECT_JSON);
  if (objectJson) {
    const where = `data/${BAG_OBJECT_JSON}`;
    let parsed: z.infer<typeof ExportedObject>;
    try {
      const result = ExportedObject.safeParse(JSON.parse(await readFile(join(dir, 'data', objectJson.path), 'utf8')));
      if (!result.success) {
        throw refuse('bad-object-json', `${where} không đúng dạng bản ghi thukho: ${zodReason(result.error)}.`, `${where} is not a thukho record: ${zodReason(result.error)}.`, where);
      }
      parsed = result.data;
    } catch (err) {
      if (err instanceof BagRefusedError) throw err;
      const why = err instanceof Error ? err.message : String(err);
      throw refuse('bad-object-json', `${where} không phải JSON hợp lệ: ${why}.`, `${where} is not valid JSON: ${why}.`, where);
    }
    const inBag = new Set(bag.payload.map((p) => p.path.normalize('NFC')));
    const missing = parsed.files.filter((f) => !inBag.has(f.path.normalize('NFC')));
    if (missing.length > 0) {
      throw new BagRefusedError(
        missing.map((f) => ({
          code: 'bad-object-json' as const,
          path: where,
          message: {
            vi: `${where} kê tệp "${f.path}" nhưng tệp đó không có trong thư mục data/ của gói.`,
            en: `${where} names "${f.path}", which is not in the bag's data/ folder.`,
          },
        })),
      );
    }
    const payloadPath = new Map(bag.payload.map((p) => [p.path.normalize('NFC'), p.path]));
    return {
      id: options.objectId ?? parsed.id,
      accessLevel: parsed.accessLevel,
      metadata: options.title ? { ...parsed.metadata, title: options.title } : parsed.metadata,
      files: parsed.files.map((f) => ({ ...f, path: payloadPath.get(f.path.normalize('NFC'))! })),
    };
  }

  // A bag from another tool: described by bag-info.txt, paged in natural order.
  if (bag.payload.length === 0) {
    throw refuse('empty-bag', 'Thư mục data/ của gói không có tệp nào để nhập.', "The bag's data/ folder holds no file to ingest.", 'data');
  }
  const external = infoValues(bag.info, 'External-Identifier')[0];
  const descriptions = infoValues(bag.info, 'External-Description');
  const description = descriptions.join('\n').trim();
  const shortDescription = descriptions[0] && descriptions[0].length <= 300 ? descriptions[0] : undefined;
  const title = options.title ?? infoValues(bag.info, 'Title')[0] ?? shortDescription ?? folder;
  const metadata = Metadata.safeParse({
    title,
    ...(description ? { description } : {}),
    ...(external ? { identifier: external } : {}),
  });
  if (!metadata.success) {
    throw refuse(
      'bad-metadata',
      `Không lập được bản mô tả từ bag-info.txt (External-Identifier, External-Description, Title): ${zodReason(metadata.error)}. Hãy cho nhan đề bằng --title.`,
      `Could not describe the work from bag-info.txt (External-Identifier, External-Description, Title): ${zodReason(metadata.error)}. Give a title with --title.`,
      'bag-info.txt',
    );
  }
  return {
    id: options.objectId ?? idFromName(external ?? folder),
    accessLevel: 'open',
    metadata: metadata.data,
    files: bag.payload
      .map((p) => p.path)
      .sort(naturalCompare)
      .map((path) => ({ path, name: basename(path), role: 'master' as const })),
  };
}

/** The bag record an ObjectRegistered event of an existing work carries, if any. */
async function registeredBag(services: IngestServices, objectId: string): Promise<string | undefined> {
  for await (const e of services.store.readStream(objectStream(objectId), { maxCount: 1 })) {
    const data = RegisteredFingerprint.safeParse(e.data);
    return e.type === 'ObjectRegistered' && data.success ? data.data.bag?.fingerprint : undefined;
  }
  return undefined;
}

const RegisteredFingerprint = z.object({ objectId: z.string(), bag: z.object({ fingerprint: z.string() }).optional() });

/** A work registered from a bag with this fingerprint (one read of the registrations in the log). */
async function workWithFingerprint(services: IngestServices, fingerprint: string): Promise<string | undefined> {
  for await (const e of services.store.readAll({ filter: { eventTypes: ['ObjectRegistered'] } })) {
    const data = RegisteredFingerprint.safeParse(e.data);
    if (data.success && data.data.bag?.fingerprint === fingerprint) return data.data.objectId;
  }
  return undefined;
}

function messagesOf(err: unknown): Bilingual {
  if (err && typeof err === 'object' && 'messages' in err) {
    const m = (err as { messages: unknown }).messages;
    if (m && typeof m === 'object' && 'vi' in m && 'en' in m && typeof m.vi === 'string' && typeof m.en === 'string') return { vi: m.vi, en: m.en };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { vi: text, en: text };
}

export async function importBag(services: IngestServices, dir: string, options: BagImportOptions): Promise<BagImportOutcome> {
  const bag = await validateBag(dir, options.onProgress ? { onProgress: options.onProgress } : {});
  if (!bag.valid) throw new BagRefusedError(bag.problems);

  const plan = await planOf(dir, bag, options);
  if (!Id.safeParse(plan.id).success) {
    throw refuse(
      'bad-id',
      `Không lập được mã tài liệu hợp lệ từ "${plan.id}" (1–64 chữ thường, số, "-" hoặc "_"); hãy cho mã bằng --id.`,
      `"${plan.id}" does not make a valid work id (1–64 lowercase letters, digits, "-" or "_"); give one with --id.`,
      'bag-info.txt',
    );
  }
  const verified = byStrength(bag.algorithms);
  const tagVerified = byStrength(bag.tagAlgorithms);
  const fingerprint = bagFingerprint(bag);
  const record = BagAccession.safeParse({
    name: basename(resolve(dir)),
    bagitVersion: bag.version,
    verified,
    tagVerified,
    payloadOxum: bag.payloadOxum,
    fingerprint,
    info: bag.info,
  });
  if (!record.success) {
    throw refuse(
      'bad-bag-info',
      `bag-info.txt quá lớn để lưu cùng hồ sơ (${zodReason(record.error)}).`,
      `bag-info.txt is too large to keep with the record (${zodReason(record.error)}).`,
      'bag-info.txt',
    );
  }

  const digestOf = new Map(bag.payload.map((p) => [p.path, p.digests.sha512!]));
  const wanted = plan.files.map((f) => digestOf.get(f.path)!);
  let resume = false;
  const { state } = await loadObject(services.store, plan.id);
  if (state.status !== 'absent') {
    const held = new Set(state.files.map((f) => f.digests.sha512));
    const all = wanted.every((d) => held.has(d));
    if (all) return { status: 'already-here', objectId: plan.id, files: state.files.length };
    if ((await registeredBag(services, plan.id)) === fingerprint && state.status === 'active') {
      resume = true; // registered by an import of this very bag that stopped before its files were committed
    } else {
      throw refuse(
        'id-taken',
        `Kho đã có tài liệu "${plan.id}" với các tệp khác; gói này không phải bản đã nhập. Không nhập gì. Muốn nhập thành tài liệu mới thì cho mã khác bằng --id.`,
        `The repository already has a work "${plan.id}" with other files; this bag is not the one imported before. Nothing was ingested. To ingest it as a new work, give another id with --id.`,
        'bag-info.txt',
      );
    }
  } else {
    const existing = await workWithFingerprint(services, fingerprint);
    if (existing) {
      const found = await loadObject(services.store, existing);
      return { status: 'already-here', objectId: existing, files: found.state.status === 'absent' ? 0 : found.state.files.length };
    }
  }

  // Every page staged and identified before anything is registered: a file we cannot keep
  // refuses the bag here, not after an empty work is on record.
  const staged: StagedUpload[] = [];
  const problems: BagImportProblem[] = [];
  try {
    for (const f of plan.files) {
      try {
        staged.push(
          await stageUpload(services, {
            source: createReadStream(join(dir, 'data', f.path), { highWaterMark: 1 << 20 }),
            name: f.name,
            role: f.role,
            expectedDigests: [{ algorithm: 'sha-512', hex: digestOf.get(f.path)! }],
          }),
        );
      } catch (err) {
        const why = messagesOf(err);
        problems.push({
          code: 'file-not-accepted',
          path: `data/${f.path}`,
          message: { vi: `Tệp "data/${f.path}" không nhận được: ${why.vi}`, en: `"data/${f.path}" cannot be kept: ${why.en}` },
        });
      }
    }
    if (problems.length > 0) throw new BagRefusedError(problems);

    const collectionId = options.collectionId ?? plan.metadata.collectionId;
    const metadata = { ...plan.metadata, ...(collectionId ? { collectionId } : {}) };
    const context = { actor: options.actor };
    if (!resume) {
      await executeObjectCommand(
        services.store,
        { type: 'RegisterObject', objectId: plan.id, metadata, accessLevel: plan.accessLevel, bag: record.data },
        context,
      );
    }
    const files = staged.splice(0); // commitStaged consumes them
    await commitStaged(services, plan.id, files, context);
  } finally {
    for (const s of staged) await rm(s.path, { force: true });
  }
  return { status: 'ingested', objectId: plan.id, files: plan.files.length, verified, tagVerified, resumed: resume };
}
