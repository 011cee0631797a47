import test from 'ava';
import type { ExecutionContext } from 'ava';
import {
  type CollectionCommand,
  type CollectionState,
  decideCollection,
  evolveCollection,
  initialCollectionState,
} from '../../src/domain/collection.ts';
import { DomainError, type DomainErrorCode } from '../../src/domain/errors.ts';
import type { CollectionEvent } from '../../src/domain/events.ts';

/** given / when / then tables for the collection decider, as for objects. */
interface Case {
  name: string;
  given: CollectionEvent[];
  when: CollectionCommand;
  then: CollectionEvent[] | DomainErrorCode;
}

function fold(events: CollectionEvent[]): CollectionState {
  return events.reduce<CollectionState>((state, e) => evolveCollection(state, e), initialCollectionState);
}

function check(t: ExecutionContext, c: Case): void {
  const state = fold(c.given);
  if (typeof c.then === 'string') {
    const err = t.throws(() => decideCollection(c.when, state), { instanceOf: DomainError });
    t.is(err?.code, c.then);
    t.truthy(err?.messages.vi);
    t.truthy(err?.messages.en);
  } else {
    t.deepEqual(decideCollection(c.when, state), c.then);
  }
}

function table(prefix: string, cases: Case[]): void {
  for (const c of cases) test(`${prefix}: ${c.name}`, (t) => check(t, c));
}

const ID = 'han-nom';
const created: CollectionEvent = {
  type: 'CollectionCreated',
  data: { collectionId: ID, title: 'Tư liệu Hán Nôm', description: 'Sắc phong, gia phả, hương ước' },
};
const createdBare: CollectionEvent = { type: 'CollectionCreated', data: { collectionId: ID, title: 'Tư liệu Hán Nôm' } };

table('CreateCollection', [
  {
    name: 'creates a collection with title and description',
    given: [],
    when: { type: 'CreateCollection', collectionId: ID, title: 'Tư liệu Hán Nôm', description: 'Sắc phong, gia phả, hương ước' },
    then: [created],
  },
  {
    name: 'creates a sub-collection under a parent',
    given: [],
    when: { type: 'CreateCollection', collectionId: 'sac-phong', title: 'Sắc phong', parentId: ID },
    then: [{ type: 'CollectionCreated', data: { collectionId: 'sac-phong', title: 'Sắc phong', parentId: ID } }],
  },
  {
    name: 'the command type does not leak into the event data',
    given: [],
    when: { type: 'CreateCollection', collectionId: ID, title: 'Tư liệu Hán Nôm' },
    then: [createdBare],
  },
  {
    name: 'an existing id is rejected',
    given: [created],
    when: { type: 'CreateCollection', collectionId: ID, title: 'Khác' },
    then: 'already-exists',
  },
]);

table('EditCollection', [
  {
    name: 'a new title yields CollectionEdited with the title only',
    given: [created],
    when: { type: 'EditCollection', collectionId: ID, title: 'Kho Hán Nôm' },
    then: [{ type: 'CollectionEdited', data: { collectionId: ID, title: 'Kho Hán Nôm' } }],
  },
  {
    name: 'the same title and description yield no events',
    given: [created],
    when: { type: 'EditCollection', collectionId: ID, title: 'Tư liệu Hán Nôm', description: 'Sắc phong, gia phả, hương ước' },
    then: [],
  },
  {
    name: 'an edit with no fields yields no events',
    given: [created],
    when: { type: 'EditCollection', collectionId: ID },
    then: [],
  },
  {
    name: 'only the fields that differ are in the event',
    given: [created],
    when: { type: 'EditCollection', collectionId: ID, title: 'Tư liệu Hán Nôm', description: 'Sắc phong' },
    then: [{ type: 'CollectionEdited', data: { collectionId: ID, description: 'Sắc phong' } }],
  },
  {
    name: 'null clears a description that is set',
    given: [created],
    when: { type: 'EditCollection', collectionId: ID, description: null },
    then: [{ type: 'CollectionEdited', data: { collectionId: ID, description: null } }],
  },
  {
    name: 'null on a collection without description changes nothing',
    given: [createdBare],
    when: { type: 'EditCollection', collectionId: ID, description: null },
    then: [],
  },
  {
    name: 'a first description is added',
    given: [createdBare],
    when: { type: 'EditCollection', collectionId: ID, description: 'Mới' },
    then: [{ type: 'CollectionEdited', data: { collectionId: ID, description: 'Mới' } }],
  },
  {
    name: 'the comparison is against the state after earlier edits',
    given: [created, { type: 'CollectionEdited', data: { collectionId: ID, title: 'Kho Hán Nôm', description: null } }],
    when: { type: 'EditCollection', collectionId: ID, title: 'Kho Hán Nôm', description: null },
    then: [],
  },
  {
    name: 'an absent collection cannot be edited',
    given: [],
    when: { type: 'EditCollection', collectionId: ID, title: 'Mới' },
    then: 'not-found',
  },
]);

test('evolve: CollectionCreated builds the state', (t) => {
  t.deepEqual(fold([created]), {
    status: 'active',
    collectionId: ID,
    title: 'Tư liệu Hán Nôm',
    description: 'Sắc phong, gia phả, hương ước',
  });
  t.deepEqual(fold([{ type: 'CollectionCreated', data: { collectionId: 'sac-phong', title: 'Sắc phong', parentId: ID } }]), {
    status: 'active',
    collectionId: 'sac-phong',
    title: 'Sắc phong',
    parentId: ID,
  });
});

test('evolve: CollectionEdited sets the title, keeps an absent description, and null removes it', (t) => {
  const renamed = fold([created, { type: 'CollectionEdited', data: { collectionId: ID, title: 'Kho Hán Nôm' } }]);
  t.deepEqual(renamed, {
    status: 'active',
    collectionId: ID,
    title: 'Kho Hán Nôm',
    description: 'Sắc phong, gia phả, hương ước',
  });
  const cleared = evolveCollection(renamed, { type: 'CollectionEdited', data: { collectionId: ID, description: null } });
  t.deepEqual(cleared, { status: 'active', collectionId: ID, title: 'Kho Hán Nôm' });
  t.false('description' in cleared);
  // evolve does not mutate the state it was given
  t.is(renamed.status === 'active' ? renamed.description : undefined, 'Sắc phong, gia phả, hương ước');
});

test('evolve: an edit of an absent collection leaves it absent', (t) => {
  t.deepEqual(evolveCollection(initialCollectionState, { type: 'CollectionEdited', data: { collectionId: ID, title: 'X' } }), {
    status: 'absent',
  });
});

test('decide → evolve round trip', (t) => {
  let state: CollectionState = initialCollectionState;
  const commands: CollectionCommand[] = [
    { type: 'CreateCollection', collectionId: ID, title: 'Tư liệu Hán Nôm' },
    { type: 'EditCollection', collectionId: ID, description: 'Sắc phong' },
    { type: 'EditCollection', collectionId: ID, title: 'Kho Hán Nôm', description: null },
  ];
  for (const c of commands) state = decideCollection(c, state).reduce(evolveCollection, state);
  t.deepEqual(state, { status: 'active', collectionId: ID, title: 'Kho Hán Nôm' });
});

test('"top" is reserved for the IIIF top collection', (t) => {
  const err = t.throws(() => decideCollection({ type: 'CreateCollection', collectionId: 'top', title: 'Đỉnh' }, initialCollectionState), { instanceOf: DomainError });
  t.is(err?.code, 'invalid-input');
});
