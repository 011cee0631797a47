import test from 'ava';
import { DomainError } from '../../src/domain/errors.ts';
import type { DerivativeInfo, PreservationEvent } from '../../src/domain/events.ts';
import {
  combineSummaries,
  evolvePreservationSummary,
  initialPreservationSummary,
  type PreservationSummary,
  preservationFact,
} from '../../src/domain/preservation.ts';

const hex = (c: string, n: number) => c.repeat(n);
const info = (seed: string): DerivativeInfo => ({
  masterSha512: hex('a', 128),
  width: 100,
  height: 80,
  pyramid: { sha256: hex(seed, 64), size: 1000, levels: 1 },
  tileSize: 256,
  scaleFactors: [1],
  tiles: 1,
  sizes: [{ width: 100, height: 80 }],
  software: 'test',
});
const created = (fileId: string, seed: string): PreservationEvent => ({ type: 'DerivativeCreated', data: { ...info(seed), objectId: 'o', fileId } });
const failed = (fileId: string): PreservationEvent => ({
  type: 'DerivativeFailed',
  data: { objectId: 'o', fileId, masterSha512: hex('a', 128), reason: 'cannot decode', attempts: 3 },
});
const replicated = (label: string, version: string): PreservationEvent => ({
  type: 'FileReplicated',
  data: { objectId: 'o', version, replica: { label, path: `/mnt/${label}` }, files: 1, bytes: 1 },
});
const fold = (events: PreservationEvent[]): PreservationSummary => events.reduce(evolvePreservationSummary, initialPreservationSummary);

test('a fact goes only on the stream of the work it is about', (t) => {
  const fact = replicated('nas', 'v1');
  t.is(preservationFact('o', fact), fact);
  const err = t.throws(() => preservationFact('other', fact), { instanceOf: DomainError });
  t.is(err?.code, 'invalid-input');
  t.regex(err?.messages.vi ?? '', /tài liệu "o"/);
});

test('the summary keeps the latest derivative of each file, and a success clears a failure', (t) => {
  const s = fold([failed('p1'), created('p1', 'b'), created('p2', 'c'), created('p1', 'd'), failed('p3')]);
  t.is(s.derivatives.p1?.pyramid.sha256, hex('d', 64));
  t.is(s.derivatives.p2?.pyramid.sha256, hex('c', 64));
  t.deepEqual(Object.keys(s.derivativeFailures), ['p3']);
});

test('the summary keeps the highest version each replica holds, whatever the order of the facts', (t) => {
  const s = fold([replicated('nas', 'v2'), replicated('nas', 'v1'), replicated('tape', 'v1'), replicated('nas', 'v10')]);
  t.deepEqual(s.replicated, { nas: 10, tape: 1 });
});

test('facts an older log kept on the object stream count under the newer ones', (t) => {
  const legacy = fold([created('p1', 'b'), created('p2', 'c'), replicated('nas', 'v3'), failed('p3')]);
  const current = fold([created('p1', 'e'), replicated('nas', 'v2'), replicated('tape', 'v1'), created('p3', 'f')]);
  const s = combineSummaries(legacy, current);
  t.is(s.derivatives.p1?.pyramid.sha256, hex('e', 64));
  t.is(s.derivatives.p2?.pyramid.sha256, hex('c', 64));
  t.is(s.derivatives.p3?.pyramid.sha256, hex('f', 64));
  t.deepEqual(s.derivativeFailures, {});
  t.deepEqual(s.replicated, { nas: 3, tape: 1 });
});

test('fixity checks, repairs and damage do not change the summary', (t) => {
  const before = fold([created('p1', 'b')]);
  const check: PreservationEvent = {
    type: 'FixityChecked',
    data: { objectId: 'o', fileId: 'p1', target: 'master', path: 'x', storageRoot: { label: 'primary', path: '/' }, outcome: 'pass', algorithm: 'sha512', expected: {}, actual: {}, bytes: 1, durationMs: 1 },
  };
  t.is(evolvePreservationSummary(before, check), before);
});
