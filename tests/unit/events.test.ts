import { createHash } from 'node:crypto';
import test from 'ava';
import {
  CURRENT_SCHEMA_VERSION,
  EVENT_TYPES,
  EventSchemaError,
  type EventType,
  PREMIS_EVENT_TYPE,
  isEventType,
  parseEventData,
  upcasters,
} from '../../src/domain/events.ts';

const hex = (algorithm: string, s: string) => createHash(algorithm).update(s).digest('hex');

test('a valid payload parses to the same data', (t) => {
  const data = { objectId: 'hn-0001', reason: 'Trả lại cho chủ sở hữu' };
  t.deepEqual(parseEventData('ObjectWithdrawn', 1, data), data);

  const registered = {
    objectId: 'hn-0001',
    metadata: { title: 'Đại Nam thực lục', language: ['lzh', 'vie'], yearFrom: 1820, yearTo: 1840 },
    accessLevel: 'restricted',
  };
  t.deepEqual(parseEventData('ObjectRegistered', 1, registered), registered);

  const file = {
    objectId: 'hn-0001',
    sequence: 0,
    fileId: 'page-1',
    name: 'trang 1.tif',
    role: 'master',
    size: 123456,
    mediaType: 'image/tiff',
    digests: { sha512: hex('sha512', 'x'), sha256: hex('sha256', 'x'), md5: hex('md5', 'x') },
    storage: { ocflObjectId: 'urn:thukho:hn-0001', version: 'v1', path: 'content/page-1.tif' },
  };
  t.deepEqual(parseEventData('FileIngested', 1, file), file);
});

test('a payload from a newer schema version throws EventSchemaError', (t) => {
  const current = CURRENT_SCHEMA_VERSION.ObjectWithdrawn;
  const err = t.throws(() => parseEventData('ObjectWithdrawn', current + 1, { objectId: 'hn-0001', reason: 'x' }), {
    instanceOf: EventSchemaError,
  });
  t.is(err?.type, 'ObjectWithdrawn');
  t.is(err?.schemaVersion, current + 1);
  t.regex(err?.message ?? '', /newer/);
});

test('an invalid payload throws EventSchemaError naming the type', (t) => {
  const cases: Array<[EventType, unknown]> = [
    ['ObjectWithdrawn', { objectId: 'hn-0001' }], // reason missing
    ['ObjectWithdrawn', { objectId: 'HN 0001', reason: 'x' }], // bad id
    ['ObjectWithdrawn', { objectId: 'hn-0001', reason: '' }], // empty reason
    ['AccessPolicyChanged', { objectId: 'hn-0001', from: 'open', to: 'secret' }],
    ['ObjectRegistered', { objectId: 'hn-0001', metadata: { title: 'x', publisher: 'y' }, accessLevel: 'open' }],
    ['FileIngested', { objectId: 'hn-0001', sequence: -1 }],
    ['FilesReordered', { objectId: 'hn-0001', order: 'page-1' }],
    ['CollectionCreated', { collectionId: 'han-nom', title: '' }],
    ['MetadataEdited', null],
  ];
  for (const [type, data] of cases) {
    const err = t.throws(() => parseEventData(type, 1, data), { instanceOf: EventSchemaError }, type);
    t.is(err?.type, type);
    t.is(err?.schemaVersion, 1);
    t.true(err?.message.includes(type), err?.message);
    t.truthy(err?.issues);
  }
});

test('every event type has a current schema version and a PREMIS event type', (t) => {
  t.true(EVENT_TYPES.length > 0);
  for (const type of EVENT_TYPES) {
    t.true(Number.isInteger(CURRENT_SCHEMA_VERSION[type]) && CURRENT_SCHEMA_VERSION[type] >= 1, type);
    t.truthy(PREMIS_EVENT_TYPE[type], type);
    t.true(isEventType(type));
  }
  t.false(isEventType('NoSuchEvent'));
  t.false(isEventType('toString')); // not fooled by Object.prototype
});

/**
 * Run `body` with ObjectWithdrawn bumped to `version` and the given upcasters registered,
 * then put both back as they were. ava runs each test file in its own process, and these
 * tests are serial and synchronous, so no other test sees the change.
 */
function withUpcasters(version: number, steps: Record<number, (data: unknown) => unknown>, body: () => void): void {
  const type = 'ObjectWithdrawn';
  const hadOwn = Object.hasOwn(upcasters, type);
  const savedUpcasters = upcasters[type];
  const savedVersion = CURRENT_SCHEMA_VERSION[type];
  try {
    CURRENT_SCHEMA_VERSION[type] = version;
    upcasters[type] = steps;
    body();
  } finally {
    CURRENT_SCHEMA_VERSION[type] = savedVersion;
    if (hadOwn) upcasters[type] = savedUpcasters;
    else delete upcasters[type];
  }
}

// A hypothetical v1 payload called the reason `why`; v2 renamed it to `reason`.
const v1ToV2 = (data: unknown) => {
  const { why, ...rest } = data as { why: string };
  return { ...rest, reason: why };
};

test.serial('an upcaster lifts an old payload to the current version before it is parsed', (t) => {
  const before = CURRENT_SCHEMA_VERSION.ObjectWithdrawn;
  const upcastersBefore = upcasters.ObjectWithdrawn;
  withUpcasters(2, { 1: v1ToV2 }, () => {
    t.deepEqual(parseEventData('ObjectWithdrawn', 1, { objectId: 'hn-0001', why: 'Trả lại' }), {
      objectId: 'hn-0001',
      reason: 'Trả lại',
    });
    // A current payload is parsed as is, without the upcaster.
    t.deepEqual(parseEventData('ObjectWithdrawn', 2, { objectId: 'hn-0001', reason: 'Mới' }), {
      objectId: 'hn-0001',
      reason: 'Mới',
    });
    // The lifted payload is still validated.
    const err = t.throws(() => parseEventData('ObjectWithdrawn', 1, { objectId: 'hn-0001' }), {
      instanceOf: EventSchemaError,
    });
    t.is(err?.schemaVersion, 1);
    // v3 is still newer than this build.
    t.throws(() => parseEventData('ObjectWithdrawn', 3, { objectId: 'hn-0001', reason: 'x' }), {
      instanceOf: EventSchemaError,
    });
  });
  t.is(CURRENT_SCHEMA_VERSION.ObjectWithdrawn, before, 'restored');
  t.is(upcasters.ObjectWithdrawn, upcastersBefore, 'restored');
});

test.serial('upcasters are applied in order, one version step at a time', (t) => {
  const calls: number[] = [];
  withUpcasters(
    3,
    {
      1: (d) => {
        calls.push(1);
        return v1ToV2(d);
      },
      2: (d) => {
        calls.push(2);
        const data = d as { reason: string };
        return { ...data, reason: data.reason.toUpperCase() };
      },
    },
    () => {
      t.deepEqual(parseEventData('ObjectWithdrawn', 1, { objectId: 'hn-0001', why: 'lost' }), {
        objectId: 'hn-0001',
        reason: 'LOST',
      });
      t.deepEqual(calls, [1, 2]);
      calls.length = 0;
      t.deepEqual(parseEventData('ObjectWithdrawn', 2, { objectId: 'hn-0001', reason: 'lost' }), {
        objectId: 'hn-0001',
        reason: 'LOST',
      });
      t.deepEqual(calls, [2]);
    },
  );
});

test.serial('a missing step in the upcaster chain throws EventSchemaError', (t) => {
  withUpcasters(3, { 2: (d) => d }, () => {
    const err = t.throws(() => parseEventData('ObjectWithdrawn', 1, { objectId: 'hn-0001', reason: 'x' }), {
      instanceOf: EventSchemaError,
    });
    t.regex(err?.message ?? '', /no upcaster from v1/);
  });
});

test.serial('the mechanism is really restored after a throwing body', (t) => {
  const before = CURRENT_SCHEMA_VERSION.ObjectWithdrawn;
  const upcastersBefore = upcasters.ObjectWithdrawn;
  t.throws(() =>
    withUpcasters(5, {}, () => {
      throw new Error('boom');
    }),
  );
  t.is(CURRENT_SCHEMA_VERSION.ObjectWithdrawn, before);
  t.is(upcasters.ObjectWithdrawn, upcastersBefore);
  t.deepEqual(parseEventData('ObjectWithdrawn', 1, { objectId: 'hn-0001', reason: 'x' }), {
    objectId: 'hn-0001',
    reason: 'x',
  });
});
