import test from 'ava';
import { decideCollection, evolveCollection, initialCollectionState } from '../../src/domain/collection.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { parseEventData, type LibraryEvent } from '../../src/domain/events.ts';
import {
  decideLibrary,
  evolveLibrary,
  initialLibraryState,
  LibraryChangesInput,
  LibraryInput,
  type LibraryState,
} from '../../src/domain/library.ts';
import { libraryStream } from '../../src/application/streams.ts';
import {
  collectionLibraryOf,
  getLibrary,
  heldByLibrarySql,
  holdingLibraryOf,
  listLibraries,
  objectReadModel,
} from '../../src/projections/object-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { recordedEvent } from '../helpers/events.ts';

/**
 * Libraries as records: the decider (register, edit, clear), the typed input (empty name, bad
 * code, emptied fields), and the read model's holding library of collections and works
 * (inherited from parents, home by default, kept current when a collection changes library).
 */
const fold = (events: LibraryEvent[]): LibraryState => events.reduce<LibraryState>(evolveLibrary, initialLibraryState);
const registered: LibraryEvent = {
  type: 'LibraryRegistered',
  data: { libraryId: 'huyen-a', name: { vi: 'Thư viện huyện A', en: 'District A Library' }, code: 'VN-HT01', contact: { email: 'tv@huyen-a.vn' } },
};

test('a library is registered once; a second registration is refused', (t) => {
  const { type: _t, ...data } = { type: 'RegisterLibrary' as const, ...registered.data };
  t.deepEqual(decideLibrary({ type: 'RegisterLibrary', ...data }, initialLibraryState), [registered]);
  const err = t.throws(() => decideLibrary({ type: 'RegisterLibrary', ...data }, fold([registered])), { instanceOf: DomainError });
  t.is(err?.code, 'already-exists');
  t.regex(err?.messages.vi ?? '', /đã tồn tại/);
  t.regex(err?.messages.en ?? '', /already exists/);
});

test('an edit carries only what changed; null clears; nothing changed is no event', (t) => {
  const state = fold([registered]);
  t.deepEqual(decideLibrary({ type: 'EditLibrary', libraryId: 'huyen-a', code: 'VN-HT01', name: registered.data.name }, state), []);
  const events = decideLibrary({ type: 'EditLibrary', libraryId: 'huyen-a', code: null, address: 'Số 1, đường Trần Phú', contact: { email: 'tv@huyen-a.vn' } }, state);
  t.deepEqual(events, [{ type: 'LibraryEdited', data: { libraryId: 'huyen-a', code: null, address: 'Số 1, đường Trần Phú' } }]);
  const next = events.reduce(evolveLibrary, state);
  t.deepEqual(next, { status: 'active', libraryId: 'huyen-a', name: registered.data.name, contact: { email: 'tv@huyen-a.vn' }, address: 'Số 1, đường Trần Phú' });
  const err = t.throws(() => decideLibrary({ type: 'EditLibrary', libraryId: 'x', address: 'y' }, initialLibraryState), { instanceOf: DomainError });
  t.is(err?.code, 'not-found');
});

test('typed input: an empty name and a bad code are refused, emptied fields clear', (t) => {
  t.false(LibraryInput.safeParse({ name: { vi: '   ' } }).success);
  t.false(LibraryInput.safeParse({ name: { vi: 'A' }, code: 'VN HT 01 có dấu' }).success);
  t.false(LibraryInput.safeParse({ name: { vi: 'A' }, code: 'VN-0123456789012345' }).success);
  t.false(LibraryInput.safeParse({ name: { vi: 'A' }, logo: 'javascript:alert(1)' }).success);
  t.false(LibraryInput.safeParse({ name: { vi: 'A' }, contact: { email: 'không phải thư' } }).success);
  t.false(LibraryInput.safeParse({ name: { vi: 'A' }, extra: 1 }).success);
  t.deepEqual(LibraryInput.parse({ name: { vi: ' Thư viện  ', en: '' }, code: 'VN-HT01', logo: '/site/logo.png', contact: { phone: '', url: 'https://tv.vn/' } }), {
    name: { vi: 'Thư viện' },
    code: 'VN-HT01',
    logo: '/site/logo.png',
    contact: { url: 'https://tv.vn/' },
  });
  t.deepEqual(LibraryChangesInput.parse({ code: '', address: null, contact: { email: '' } }), { code: null, address: null, contact: null });
  t.deepEqual(LibraryChangesInput.parse({}), {});
});

test('the events read back through their schemas; a bad code in a payload is refused', (t) => {
  t.deepEqual(parseEventData('LibraryRegistered', 1, registered.data), registered.data);
  t.throws(() => parseEventData('LibraryRegistered', 1, { ...registered.data, code: 'có dấu' }));
  t.deepEqual(parseEventData('CollectionCreated', 1, { collectionId: 'c', title: 'C' }), { collectionId: 'c', title: 'C' });
  t.deepEqual(parseEventData('CollectionEdited', 1, { collectionId: 'c', libraryId: null }), { collectionId: 'c', libraryId: null });
  t.is(libraryStream('huyen-a'), 'library-huyen-a');
});

test('a collection sets and clears its library', (t) => {
  const created = decideCollection({ type: 'CreateCollection', collectionId: 'c', title: 'C', libraryId: 'huyen-a' }, initialCollectionState);
  t.deepEqual(created, [{ type: 'CollectionCreated', data: { collectionId: 'c', title: 'C', libraryId: 'huyen-a' } }]);
  const state = created.reduce(evolveCollection, initialCollectionState);
  t.deepEqual(decideCollection({ type: 'EditCollection', collectionId: 'c', libraryId: 'huyen-a' }, state), []);
  const cleared = decideCollection({ type: 'EditCollection', collectionId: 'c', libraryId: null }, state);
  t.deepEqual(cleared, [{ type: 'CollectionEdited', data: { collectionId: 'c', libraryId: null } }]);
  t.deepEqual(cleared.reduce(evolveCollection, state), { status: 'active', collectionId: 'c', title: 'C' });
});

function readModel() {
  const db = openReadModelDb(':memory:');
  objectReadModel.setup(db);
  let position = 0n;
  const revisions = new Map<string, bigint>();
  const ev = (stream: string, type: string, data: unknown) => {
    const rev = revisions.get(stream) ?? 0n;
    revisions.set(stream, rev + 1n);
    return recordedEvent(stream, rev, ++position, type, data);
  };
  const apply = (...events: ReturnType<typeof ev>[]) => db.transaction(() => objectReadModel.apply(db, events))();
  return { db, ev, apply };
}

const work = (objectId: string, collectionId?: string) => ({ objectId, metadata: { title: objectId, ...(collectionId ? { collectionId } : {}) }, accessLevel: 'open' });

test('read model: libraries, the implicit home library, and each work\'s holding library', (t) => {
  const { db, ev, apply } = readModel();
  const home = { id: 'tinh', name: 'Thư viện tỉnh Hà Tĩnh' };
  const first = ev('library-huyen-a', 'LibraryRegistered', registered.data);
  apply(
    first,
    // A work whose collection comes later in the log, a work in no collection, an older log's collection.
    ev('object-w1', 'ObjectRegistered', work('w1', 'ca')),
    ev('object-w0', 'ObjectRegistered', work('w0')),
    ev('collection-old', 'CollectionCreated', { collectionId: 'old', title: 'Cũ' }),
    ev('object-w2', 'ObjectRegistered', work('w2', 'old')),
  );
  apply(
    ev('collection-ca', 'CollectionCreated', { collectionId: 'ca', title: 'Bộ A', libraryId: 'huyen-a' }),
    ev('collection-ca-1', 'CollectionCreated', { collectionId: 'ca-1', title: 'Bộ A con', parentId: 'ca' }),
    ev('object-w3', 'ObjectRegistered', work('w3', 'ca-1')),
  );
  const holding = holdingLibraryOf(db, home.id);
  t.is(holding('w1'), 'huyen-a', 'a collection created after its work still takes it');
  t.is(holding('w3'), 'huyen-a', 'a child collection inherits its parent\'s library');
  t.is(holding('w0'), 'tinh');
  t.is(holding('w2'), 'tinh');
  t.is(holding('unknown'), 'tinh');
  t.is(holdingLibraryOf(db)('w0'), 'home');
  t.is(collectionLibraryOf(db, 'tinh')('ca-1'), 'huyen-a');

  t.deepEqual(listLibraries(db, home).map((l) => [l.id, l.home, l.name.vi]), [['tinh', true, 'Thư viện tỉnh Hà Tĩnh'], ['huyen-a', false, 'Thư viện huyện A']]);
  t.deepEqual(listLibraries(db).map((l) => l.id), ['huyen-a']);
  t.like(getLibrary(db, 'huyen-a', home), { id: 'huyen-a', revision: 0, code: 'VN-HT01', contact: { email: 'tv@huyen-a.vn' }, home: false });
  t.like(getLibrary(db, 'tinh', home), { id: 'tinh', revision: -1, home: true });
  t.is(getLibrary(db, 'tinh'), undefined);
  t.is(getLibrary(db, 'nope', home), undefined);

  // The parent moves back to home: the child and both works follow; the old collection moves to huyen-a.
  apply(
    ev('collection-ca', 'CollectionEdited', { collectionId: 'ca', libraryId: null }),
    ev('collection-old', 'CollectionEdited', { collectionId: 'old', libraryId: 'huyen-a' }),
    ev('library-huyen-a', 'LibraryEdited', { libraryId: 'huyen-a', code: null, logo: 'https://huyen-a.vn/logo.png' }),
  );
  t.is(holding('w1'), 'tinh');
  t.is(holding('w3'), 'tinh');
  t.is(holding('w2'), 'huyen-a');
  const lib = getLibrary(db, 'huyen-a', home);
  t.is(lib?.code, undefined);
  t.is(lib?.logo, 'https://huyen-a.vn/logo.png');
  t.is(lib?.revision, 1);

  // A work moving collection changes library with it.
  apply(ev('object-w0', 'MetadataEdited', { objectId: 'w0', changes: { collectionId: 'old' } }));
  t.is(holding('w0'), 'huyen-a');

  // The SQL condition counts home rows stored as NULL.
  const count = (libraryId: string) => {
    const c = heldByLibrarySql(libraryId, home.id);
    return db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM objects WHERE ${c.sql}`).get(...c.params)?.n;
  };
  t.is(count('tinh'), 2);
  t.is(count('huyen-a'), 2);

  // Re-delivered batches change nothing.
  apply(first);
  t.is(getLibrary(db, 'huyen-a', home)?.revision, 1);
});
