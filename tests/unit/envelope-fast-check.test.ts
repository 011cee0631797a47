import test from 'ava';
import { CorruptEventError, EventMetadataSchema, parseEventMetadata } from '../../src/eventstore/envelope.ts';

/**
 * parseEventMetadata checks the envelope by hand before it asks zod (a replay reads millions):
 * the hand check must never accept what the schema refuses. Every field of a valid envelope
 * is replaced in turn by values of the wrong kind, and both must agree.
 */
const HASH = 'a'.repeat(64);
const valid = {
  eventId: 'e-1',
  schemaVersion: 2,
  occurredAt: '2026-12-05T06:00:00.000Z',
  actor: { id: 'thu', role: 'curator', extra: 'kept' },
  correlationId: 'c-1',
  causationId: null,
  prevHash: HASH,
  hash: 'b'.repeat(64),
  extra: { kept: true },
};

const wrongValues: unknown[] = [
  undefined, null, '', ' ', 'x', 0, -1, 1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, true, [], ['x'], {}, { id: 'x' },
  { id: 'x', role: '' }, { id: '', role: 'x' }, HASH.toUpperCase(), `${HASH}0`, HASH.slice(1), `${HASH.slice(1)}g`, '1',
];

const cases: Array<[string, unknown]> = [['valid', valid], ['null', null], ['array', [valid]], ['string', 'x'], ['empty', {}]];
for (const key of Object.keys(valid)) {
  for (const v of wrongValues) {
    const m: Record<string, unknown> = { ...valid };
    if (v === undefined) delete m[key];
    else m[key] = v;
    cases.push([`${key} = ${JSON.stringify(v) ?? 'missing'}`, m]);
  }
}
for (const field of ['id', 'role']) {
  for (const v of wrongValues) cases.push([`actor.${field} = ${JSON.stringify(v) ?? 'missing'}`, { ...valid, actor: { ...valid.actor, [field]: v } }]);
}

test('the hand check and the schema agree on every envelope, valid or not', (t) => {
  let refused = 0;
  for (const [name, m] of cases) {
    const zodOk = EventMetadataSchema.safeParse(m).success;
    let ok = true;
    try {
      parseEventMetadata('object-x', 3n, m);
    } catch (err) {
      t.true(err instanceof CorruptEventError, name);
      ok = false;
    }
    t.is(ok, zodOk, name);
    if (!ok) refused++;
  }
  t.true(refused > cases.length / 2, 'most cases are invalid ones');
});

test('an accepted envelope keeps every key, unknown ones included (the chain hashes them)', (t) => {
  t.deepEqual(parseEventMetadata('object-x', 0n, structuredClone(valid)), valid);
});
