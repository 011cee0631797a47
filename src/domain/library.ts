import { z } from 'zod';
import { DomainError } from './errors.ts';
import type { LibraryEvent } from './events.ts';
import { wellFormedText } from './well-formed-text.ts';

/**
 * The library aggregate: one of the libraries sharing this instance (the provincial library
 * and the district libraries linked to it), on a `library-<id>` stream. Collections name the
 * library holding their works; the home library (config THUKHO_LIBRARY_ID, named
 * THUKHO_INSTITUTION) exists without a stream and holds everything no other library does.
 */

/** The home library's id when THUKHO_LIBRARY_ID is not set. */
export const DEFAULT_LIBRARY_ID = 'home';

/**
 * An ISIL-style code (ISO 15511: a prefix such as "VN-", then up to 11 letters, digits, "-",
 * ":" or "/"); 16 characters at most, as ISIL allows.
 */
export const LIBRARY_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:/-]{0,15}$/;
const LibraryCode = z
  .string()
  .regex(LIBRARY_CODE_PATTERN, 'mã thư viện kiểu ISIL: chữ, số, "-", ":" hoặc "/", tối đa 16 ký tự (ví dụ "VN-HT01") / an ISIL-style code: letters, digits, "-", ":" or "/", 16 at most (e.g. "VN-HT01")');

const HttpUrl = z
  .string()
  .max(2000)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !/\s/.test(s);
    } catch {
      return false;
    }
  }, 'một địa chỉ http(s):// đầy đủ / a full http(s):// URL');

/** A logo: a full http(s) URL, or a path on this site (under /site/ or /static/, say) that readers' browsers can load. */
const LogoRef = z
  .string()
  .max(2000)
  .refine((s) => HttpUrl.safeParse(s).success || (/^\/[^\s/][^\s]*$/.test(s) && !s.split('/').includes('..')), 'địa chỉ http(s):// hoặc đường dẫn trên trang bắt đầu bằng "/" / an http(s):// URL or a site path starting with "/"');

const Email = z.string().max(320).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'địa chỉ thư điện tử / an e-mail address');
const Phone = z.string().max(50).regex(/^[0-9+()./ -]{3,50}$/, 'số điện thoại: chữ số, "+", "(", ")", ".", "/", "-" và dấu cách / a phone number: digits, "+", "(", ")", ".", "/", "-" and spaces');

/** The payload fields as the log keeps them (read back from logs of any age: no typed-text checks). */
export const StoredLibraryFields = {
  name: z.object({ vi: z.string().min(1).max(500), en: z.string().min(1).max(500).optional() }).strict(),
  code: LibraryCode,
  address: z.string().min(1).max(2000),
  contact: z
    .object({ email: Email.optional(), phone: Phone.optional(), url: HttpUrl.optional() })
    .strict()
    .refine((c) => c.email !== undefined || c.phone !== undefined || c.url !== undefined, 'ít nhất một cách liên hệ / at least one way to get in touch'),
  logo: LogoRef,
} as const;

export type LibraryName = z.infer<typeof StoredLibraryFields.name>;
export type LibraryContact = z.infer<typeof StoredLibraryFields.contact>;

/** What a person typed: well-formed Unicode, NFC, trimmed; an empty optional field means "none". */
const typed = (max: number) => z.string().max(max).superRefine(wellFormedText).transform((s) => s.normalize('NFC').trim());
const NameVi = typed(500).pipe(z.string().min(1, 'tên thư viện (tiếng Việt) không được để trống / the library\'s (Vietnamese) name must not be empty'));
const optionalTyped = (max: number) => typed(max).transform((s) => (s === '' ? undefined : s));

export const LibraryNameInput = z
  .object({ vi: NameVi, en: optionalTyped(500).optional() })
  .strict()
  .transform(({ vi, en }) => (en ? { vi, en } : { vi }));

const ContactInput = z
  .object({
    email: optionalTyped(320).pipe(Email.optional()).optional(),
    phone: optionalTyped(50).pipe(Phone.optional()).optional(),
    url: optionalTyped(2000).pipe(HttpUrl.optional()).optional(),
  })
  .strict()
  .transform((c) => {
    const out: LibraryContact = {};
    if (c.email) out.email = c.email;
    if (c.phone) out.phone = c.phone;
    if (c.url) out.url = c.url;
    return Object.keys(out).length > 0 ? out : undefined;
  });

/** A new library as the API, the CLI and the staff form take it. */
export const LibraryInput = z
  .object({
    name: LibraryNameInput,
    code: optionalTyped(16).pipe(LibraryCode.optional()).optional(),
    address: optionalTyped(2000).optional(),
    contact: ContactInput.optional(),
    logo: optionalTyped(2000).pipe(LogoRef.optional()).optional(),
  })
  .strict();
export type LibraryInput = z.infer<typeof LibraryInput>;

/** A text field of an edit: `null` or an emptied text clears it. */
const clearable = <T extends z.ZodType<string, string>>(max: number, schema: T) =>
  z.union([z.null(), typed(max).transform((s) => (s === '' ? null : s)).pipe(schema.nullable())]).optional();

/** Changes to a library: a field left out stays, `null` (or an emptied text) clears it. */
export const LibraryChangesInput = z
  .object({
    name: LibraryNameInput.optional(),
    code: clearable(16, LibraryCode),
    address: clearable(2000, z.string()),
    contact: z.union([z.null(), ContactInput.transform((c) => c ?? null)]).optional(),
    logo: clearable(2000, LogoRef),
  })
  .strict();
export type LibraryChangesInput = z.infer<typeof LibraryChangesInput>;

export interface LibraryFields {
  name: LibraryName;
  code?: string;
  address?: string;
  contact?: LibraryContact;
  logo?: string;
}

export type LibraryState = { status: 'absent' } | ({ status: 'active'; libraryId: string } & LibraryFields);

export const initialLibraryState: LibraryState = { status: 'absent' };

export type LibraryCommand =
  | ({ type: 'RegisterLibrary'; libraryId: string } & LibraryFields)
  | {
      type: 'EditLibrary';
      libraryId: string;
      name?: LibraryName;
      code?: string | null;
      address?: string | null;
      contact?: LibraryContact | null;
      logo?: string | null;
    };

const OPTIONAL_FIELDS = ['code', 'address', 'contact', 'logo'] as const;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function decideLibrary(command: LibraryCommand, state: LibraryState): LibraryEvent[] {
  switch (command.type) {
    case 'RegisterLibrary': {
      if (state.status !== 'absent') {
        throw new DomainError(
          'already-exists',
          { vi: `Thư viện "${command.libraryId}" đã tồn tại.`, en: `Library "${command.libraryId}" already exists.` },
          { libraryId: command.libraryId },
        );
      }
      const { type: _type, ...data } = command;
      return [{ type: 'LibraryRegistered', data }];
    }
    case 'EditLibrary': {
      if (state.status === 'absent') {
        throw new DomainError(
          'not-found',
          { vi: `Không tìm thấy thư viện "${command.libraryId}".`, en: `Library "${command.libraryId}" does not exist.` },
          { libraryId: command.libraryId },
        );
      }
      const data: Extract<LibraryEvent, { type: 'LibraryEdited' }>['data'] = { libraryId: command.libraryId };
      if (command.name !== undefined && !same(command.name, state.name)) data.name = command.name;
      for (const f of OPTIONAL_FIELDS) {
        const value = command[f];
        if (value === undefined || same(value, state[f])) continue;
        (data as Record<string, unknown>)[f] = value;
      }
      if (Object.keys(data).length === 1) return [];
      return [{ type: 'LibraryEdited', data }];
    }
  }
}

export function evolveLibrary(state: LibraryState, event: LibraryEvent): LibraryState {
  switch (event.type) {
    case 'LibraryRegistered':
      return { status: 'active', ...event.data };
    case 'LibraryEdited': {
      if (state.status === 'absent') return state;
      const next: Record<string, unknown> = { ...state };
      if (event.data.name !== undefined) next.name = event.data.name;
      for (const f of OPTIONAL_FIELDS) {
        const value = event.data[f];
        if (value === null) delete next[f];
        else if (value !== undefined) next[f] = value;
      }
      return next as LibraryState;
    }
  }
}
