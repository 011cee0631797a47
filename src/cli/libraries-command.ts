import { Command, InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { executeCheckedCollectionCommand, executeLibraryCommand, libraryDecider } from '../application/libraries.ts';
import { foldStream } from '../application/stream-fold.ts';
import { libraryStream } from '../application/streams.ts';
import { DomainError } from '../domain/errors.ts';
import { LibraryChangesInput, LibraryInput } from '../domain/library.ts';
import { ID_PATTERN } from '../domain/metadata.ts';
import type { EventStore } from '../eventstore/port.ts';
import { openEventStore } from '../eventstore/open.ts';
import { listLibraries, objectReadModel } from '../projections/object-read-model.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { requireRepository, withCaughtUpReadModels } from './repository.ts';

/**
 * `thukho libraries …`: the libraries sharing this instance (issue 21), and `thukho
 * collections create|edit` to put a collection (and so its works) in one of them.
 *
 * - libraries add ID --name-vi N [--name-en N] [--code C] [--address A] [--email E] [--phone P] [--url U] [--logo L]
 * - libraries edit ID [same options]: what is given changes, an empty value ("") clears it.
 * - libraries list [--json]: the home library (THUKHO_LIBRARY_ID, named THUKHO_INSTITUTION) first.
 * - collections create ID --title T [--description D] [--parent P] [--library L]
 * - collections edit ID [--title T] [--description D] [--library L]: `--library ""` puts it
 *   back in its parent's (or the home) library.
 * An unknown library, a duplicate id, an empty name or a bad code: a message in both
 * languages and exit code 1, nothing written.
 */
const parseId = (what: string) => (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError(`${what}: chữ thường, số, "-" hoặc "_" (tối đa 64) / lowercase letters, digits, "-" or "_" (64 at most)`);
  return value;
};

const say = (vi: string, en: string) => process.stderr.write(`${vi} / ${en}\n`);

/** Input the schema refuses, as the CLI says it: every field with its reason, in both languages. */
function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
  throw new DomainError('invalid-input', { vi: `Dữ liệu không hợp lệ: ${reasons}`, en: `Invalid input: ${reasons}` });
}

async function withStore<T>(command: string, run: (store: EventStore, homeLibraryId: string) => Promise<T>): Promise<T> {
  const cfg = loadCliConfig();
  await requireRepository(cfg, command);
  const store = await openEventStore(cfg.eventStore);
  try {
    return await run(store, cfg.libraryId);
  } finally {
    await store.close();
  }
}

interface LibraryOptions {
  nameVi?: string;
  nameEn?: string;
  code?: string;
  address?: string;
  email?: string;
  phone?: string;
  url?: string;
  logo?: string;
}

function withLibraryOptions(c: Command): Command {
  return c
    .option('--name-vi <name>', 'tên tiếng Việt / the name in Vietnamese')
    .option('--name-en <name>', 'tên tiếng Anh / the name in English')
    .option('--code <code>', 'mã kiểu ISIL, ví dụ VN-HT01 / an ISIL-style code, e.g. VN-HT01')
    .option('--address <text>', 'địa chỉ / postal address')
    .option('--email <email>', 'thư điện tử liên hệ / contact e-mail')
    .option('--phone <phone>', 'điện thoại / phone')
    .option('--url <url>', 'trang web của thư viện / its web site (the manifests\' provider homepage)')
    .option('--logo <url-or-path>', 'biểu trưng: địa chỉ http(s) hoặc đường dẫn trên trang / logo: an http(s) URL or a site path');
}

export function librariesCommand(): Command {
  const libraries = new Command('libraries').description('Các thư viện dùng chung hệ thống / the libraries sharing this instance');

  withLibraryOptions(
    libraries.command('add').description('đăng ký một thư viện / register a library').argument('<id>', 'mã thư viện, ví dụ "huyen-cam-xuyen" / library id', parseId('id')),
  ).action(async (id: string, o: LibraryOptions) => {
    const contact = { ...(o.email !== undefined ? { email: o.email } : {}), ...(o.phone !== undefined ? { phone: o.phone } : {}), ...(o.url !== undefined ? { url: o.url } : {}) };
    const fields = parseInput(LibraryInput, {
      name: { vi: o.nameVi ?? '', ...(o.nameEn !== undefined ? { en: o.nameEn } : {}) },
      ...(o.code !== undefined ? { code: o.code } : {}),
      ...(o.address !== undefined ? { address: o.address } : {}),
      ...(Object.keys(contact).length ? { contact } : {}),
      ...(o.logo !== undefined ? { logo: o.logo } : {}),
    });
    await withStore('libraries add', (store) => executeLibraryCommand(store, { type: 'RegisterLibrary', libraryId: id, ...fields }, { actor: CLI_ACTOR }));
    say(`Đã đăng ký thư viện "${id}" (${fields.name.vi}).`, `registered library "${id}".`);
  });

  withLibraryOptions(
    libraries.command('edit').description('sửa hồ sơ thư viện; giá trị rỗng ("") xoá trường / edit a library; an empty value clears a field').argument('<id>', 'library id', parseId('id')),
  ).action(async (id: string, o: LibraryOptions) => {
    const result = await withStore('libraries edit', async (store) => {
      const current = (await foldStream(store, libraryStream(id), libraryDecider)).state;
      if (current.status === 'absent') {
        throw new DomainError('not-found', { vi: `Không tìm thấy thư viện "${id}"; đăng ký bằng "thukho libraries add ${id}".`, en: `Library "${id}" does not exist; register it with "thukho libraries add ${id}".` });
      }
      const contactGiven = o.email !== undefined || o.phone !== undefined || o.url !== undefined;
      // The contact is one field of the record: the parts not given stay as they were.
      const contact = { ...current.contact, ...(o.email !== undefined ? { email: o.email } : {}), ...(o.phone !== undefined ? { phone: o.phone } : {}), ...(o.url !== undefined ? { url: o.url } : {}) };
      const nameGiven = o.nameVi !== undefined || o.nameEn !== undefined;
      const changes = parseInput(LibraryChangesInput, {
        ...(nameGiven ? { name: { vi: o.nameVi ?? current.name.vi, ...(o.nameEn !== undefined ? { en: o.nameEn } : current.name.en ? { en: current.name.en } : {}) } } : {}),
        ...(o.code !== undefined ? { code: o.code } : {}),
        ...(o.address !== undefined ? { address: o.address } : {}),
        ...(contactGiven ? { contact } : {}),
        ...(o.logo !== undefined ? { logo: o.logo } : {}),
      });
      return executeLibraryCommand(store, { type: 'EditLibrary', libraryId: id, ...changes }, { actor: CLI_ACTOR });
    });
    if (result.events.length) say(`Đã sửa thư viện "${id}".`, `library "${id}" edited.`);
    else say(`Thư viện "${id}" không có gì thay đổi.`, `library "${id}": nothing changed.`);
  });

  libraries
    .command('list')
    .description('các thư viện, thư viện chính trước / the libraries, the home library first')
    .option('--json', 'JSON, one library a line')
    .action(async (o: { json?: boolean }) => {
      const cfg = loadCliConfig();
      await requireRepository(cfg, 'libraries list');
      const items = await withCaughtUpReadModels(cfg, [objectReadModel], (db) => listLibraries(db, { id: cfg.libraryId, name: cfg.institution }));
      for (const l of items) {
        if (o.json) process.stdout.write(`${JSON.stringify(l)}\n`);
        else process.stdout.write(`${l.id}\t${l.code ?? '-'}\t${l.name.vi}${l.name.en ? ` / ${l.name.en}` : ''}${l.home ? '\t(thư viện chính / home)' : ''}\n`);
      }
    });

  return libraries;
}

export function collectionsCommand(): Command {
  const collections = new Command('collections').description('Bộ sưu tập / collections');

  collections
    .command('create')
    .description('tạo bộ sưu tập / create a collection')
    .argument('<id>', 'collection id', parseId('id'))
    .requiredOption('--title <title>', 'nhan đề / title')
    .option('--description <text>', 'mô tả / description')
    .option('--parent <id>', 'bộ sưu tập cha / parent collection', parseId('parent'))
    .option('--library <id>', 'thư viện lưu giữ (mặc định: của bộ cha, hoặc thư viện chính) / holding library (default: the parent\'s, else the home library)', parseId('library'))
    .action(async (id: string, o: { title: string; description?: string; parent?: string; library?: string }) => {
      const title = o.title.normalize('NFC').trim();
      if (!title) throw new DomainError('invalid-input', { vi: 'Nhan đề không được để trống.', en: 'The title must not be empty.' });
      await withStore('collections create', (store, home) =>
        executeCheckedCollectionCommand(
          store,
          {
            type: 'CreateCollection',
            collectionId: id,
            title,
            ...(o.description ? { description: o.description.normalize('NFC').trim() } : {}),
            ...(o.parent ? { parentId: o.parent } : {}),
            ...(o.library ? { libraryId: o.library } : {}),
          },
          { actor: CLI_ACTOR },
          home,
        ),
      );
      say(`Đã tạo bộ sưu tập "${id}".`, `created collection "${id}".`);
    });

  collections
    .command('edit')
    .description('sửa bộ sưu tập / edit a collection')
    .argument('<id>', 'collection id', parseId('id'))
    .option('--title <title>', 'nhan đề / title')
    .option('--description <text>', 'mô tả ("" xoá) / description ("" clears)')
    .option('--library <id>', 'thư viện lưu giữ ("" về thư viện của bộ cha / thư viện chính) / holding library ("" back to the parent\'s or home)', (v: string) => (v === '' ? '' : parseId('library')(v)))
    .action(async (id: string, o: { title?: string; description?: string; library?: string }) => {
      const title = o.title?.normalize('NFC').trim();
      if (title === '') throw new DomainError('invalid-input', { vi: 'Nhan đề không được để trống.', en: 'The title must not be empty.' });
      const description = o.description?.normalize('NFC').trim();
      const result = await withStore('collections edit', (store, home) =>
        executeCheckedCollectionCommand(
          store,
          {
            type: 'EditCollection',
            collectionId: id,
            ...(title ? { title } : {}),
            ...(description !== undefined ? { description: description === '' ? null : description } : {}),
            ...(o.library !== undefined ? { libraryId: o.library === '' ? null : o.library } : {}),
          },
          { actor: CLI_ACTOR },
          home,
        ),
      );
      if (result.events.length) say(`Đã sửa bộ sưu tập "${id}".`, `collection "${id}" edited.`);
      else say(`Bộ sưu tập "${id}" không có gì thay đổi.`, `collection "${id}": nothing changed.`);
    });

  return collections;
}
