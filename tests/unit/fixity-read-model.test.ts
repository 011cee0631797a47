import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { EventData, EventType } from '../../src/domain/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { type AuditRow, auditReport, damagedFiles, dueChecks, fixityReadModel, spreadOf } from '../../src/projections/fixity-read-model.ts';
import { FIXITY_STATES, type FixityState, fixityStates, listObjects, objectReadModel } from '../../src/projections/object-read-model.ts';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.ts';
import { applyBatch, prepareProjection } from '../../src/projections/runtime.ts';

/**
 * The fixity read model from hand-made logs with pinned clocks: when copies come due (the
 * spread of a bulk ingest over one cycle, the cycle after a check, per-collection cycles,
 * replicas) and an audit report whose numbers add up.
 */
const DAY = 86_400_000;
const T0 = Date.parse('2024-01-01T00:00:00.000Z');
const at = (days: number) => new Date(T0 + days * DAY);

/** A log under construction: per-stream revisions, global positions, chosen times. */
class Log {
  readonly events: RecordedEvent[] = [];
  private readonly revisions = new Map<string, bigint>();

  add<T extends EventType>(objectId: string, type: T, data: EventData<T>, when: Date): RecordedEvent {
    const streamId = `object-${objectId}`;
    const revision = (this.revisions.get(streamId) ?? -1n) + 1n;
    this.revisions.set(streamId, revision);
    const id = randomUUID();
    const e: RecordedEvent = {
      id,
      streamId,
      revision,
      position: BigInt(this.events.length + 1),
      type,
      data,
      metadata: {
        eventId: id,
        schemaVersion: 1,
        occurredAt: when.toISOString(),
        actor: { id: 'test', role: 'admin' },
        correlationId: id,
        causationId: null,
        prevHash: '',
        hash: '',
      },
      created: when,
    };
    this.events.push(e);
    return e;
  }
}

function freshDb(): ReadModelDb {
  const db = openReadModelDb(':memory:');
  prepareProjection(db, fixityReadModel);
  return db;
}

/** Applies the events not applied yet (through the runtime, as a server would). */
function project(db: ReadModelDb, log: Log): void {
  const row = db.prepare<[], { position: number | null }>("SELECT position FROM projection_checkpoints WHERE name = 'fixity'").get();
  const from = row?.position === null || row?.position === undefined ? null : BigInt(row.position);
  const outcome = applyBatch(db, fixityReadModel, from, log.events);
  if (outcome.kind !== 'applied') throw new Error('checkpoint moved');
}

const digest = (c: string, n: number) => c.repeat(n);
const hexOf = (i: number, n: number) => i.toString(16).padStart(8, '0').repeat(n / 8).slice(0, n);

function register(log: Log, objectId: string, when: Date, collectionId?: string) {
  log.add(objectId, 'ObjectRegistered', { objectId, metadata: { title: `Tài liệu ${objectId}`, ...(collectionId ? { collectionId } : {}) }, accessLevel: 'open' }, when);
}

function ingest(log: Log, objectId: string, fileId: string, when: Date, options: { version?: string; size?: number; n?: number } = {}) {
  const n = options.n ?? 1;
  const version = options.version ?? 'v1';
  log.add(
    objectId,
    'FileIngested',
    {
      objectId,
      sequence: 0,
      fileId,
      name: `${fileId}.tif`,
      role: 'master',
      size: options.size ?? 1000,
      mediaType: 'image/tiff',
      digests: { sha512: hexOf(n, 128), sha256: hexOf(n, 64) },
      storage: { ocflObjectId: `thukho:${objectId}`, version, path: `${version}/content/${fileId}/${fileId}.tif` },
    },
    when,
  );
}

const PRIMARY = { label: 'primary', path: '/srv/thukho/ocfl' };
const REPLICA = { label: 'nas', path: '/mnt/nas/ocfl' };

function checked(log: Log, objectId: string, fileId: string | undefined, when: Date, outcome: 'pass' | 'fail', options: { root?: { label: string; path: string }; bytes?: number; target?: 'master' | 'inventory' | 'derivative' } = {}) {
  const target = options.target ?? (fileId ? 'master' : 'inventory');
  log.add(
    objectId,
    'FixityChecked',
    {
      objectId,
      ...(fileId ? { fileId } : {}),
      target,
      path: `x/${fileId ?? 'inventory.json'}`,
      storageRoot: options.root ?? PRIMARY,
      outcome,
      ...(outcome === 'fail' ? { failure: 'changed' as const } : {}),
      algorithm: 'sha512',
      expected: { sha512: digest('a', 128) },
      actual: { sha512: digest(outcome === 'pass' ? 'a' : 'b', 128) },
      bytes: options.bytes ?? 1000,
      durationMs: 3,
    },
    when,
  );
}

function repaired(log: Log, objectId: string, fileId: string, when: Date, root = PRIMARY) {
  log.add(objectId, 'FileRepaired', { objectId, fileId, target: 'master', path: `x/${fileId}`, storageRoot: root, from: REPLICA, sha512: digest('a', 128), failure: 'changed' }, when);
}

function damaged(log: Log, objectId: string, fileId: string, when: Date, root = PRIMARY) {
  log.add(objectId, 'FileDamaged', { objectId, fileId, target: 'master', path: `x/${fileId}`, storageRoot: root, failure: 'changed', tried: [{ root: REPLICA, reason: 'also changed' }] }, when);
}

const POLICY = { cycleDays: 90, collectionCycleDays: {} as Record<string, number>, roots: ['primary'], limit: 1_000_000 };

// ---------------------------------------------------------------------------------------------
// due checks

test('a bulk ingest comes due spread over one cycle, not all on one day', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'kho', at(0), 'han-nom');
  // 5,000 files ingested in the same minute.
  for (let i = 0; i < 5000; i++) ingest(log, 'kho', `f${i}`, at(0), { n: i + 1 });
  project(db, log);

  const masters = (days: number) => dueChecks(db, at(days), POLICY).filter((d) => d.target === 'master');
  t.is(masters(0).length, 0, 'nothing is due at the moment of ingest');
  const all = masters(90);
  t.is(all.length, 5000, 'every file is due within one cycle');
  const byDay = new Array<number>(90).fill(0);
  for (const d of all) byDay[Math.floor((d.dueAt.getTime() - T0) / DAY)]! += 1;
  // Evenly: one day's share is 5000/90 ≈ 56; no day may carry much more than that.
  const busiest = Math.max(...byDay);
  t.true(busiest < 120, `the busiest day has ${busiest} of 5,000 first checks`);
  const half = masters(45).length;
  t.true(half > 2000 && half < 3000, `half a cycle in, ${half} are due`);
  // Due order: the most overdue first.
  const due = dueChecks(db, at(30), POLICY);
  for (let i = 1; i < due.length; i++) t.true(due[i - 1]!.dueAt <= due[i]!.dueAt);
});

test('the spread is a hash of the copy: the same after a rebuild, different per root', (t) => {
  t.is(spreadOf('kho', 'f1', 'master', 'primary'), spreadOf('kho', 'f1', 'master', 'primary'));
  t.not(spreadOf('kho', 'f1', 'master', 'primary'), spreadOf('kho', 'f1', 'master', 'nas'));
  const a = freshDb();
  const b = freshDb();
  const log = new Log();
  register(log, 'kho', at(0));
  for (let i = 0; i < 50; i++) ingest(log, 'kho', `f${i}`, at(0), { n: i + 1 });
  project(a, log);
  project(b, log);
  t.deepEqual(
    dueChecks(a, at(90), POLICY).map((d) => [d.fileId, d.dueAt.getTime()]),
    dueChecks(b, at(90), POLICY).map((d) => [d.fileId, d.dueAt.getTime()]),
  );
});

test('a checked copy is due one cycle after its check; its collection may have its own cycle', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0), 'bao-chi');
  register(log, 'b', at(0), 'han-nom');
  ingest(log, 'a', 'fa', at(0), { n: 1 });
  ingest(log, 'b', 'fb', at(0), { n: 2 });
  checked(log, 'a', 'fa', at(100), 'pass');
  checked(log, 'b', 'fb', at(100), 'pass');
  checked(log, 'a', undefined, at(100), 'pass');
  checked(log, 'b', undefined, at(100), 'pass');
  project(db, log);
  const policy = { ...POLICY, collectionCycleDays: { 'han-nom': 30 } };
  t.deepEqual(dueChecks(db, at(129), policy), []);
  const at130 = dueChecks(db, at(130), policy);
  t.deepEqual(at130.map((d) => [d.objectId, d.target]).sort(), [['b', 'inventory'], ['b', 'master']]);
  t.is(at130.find((d) => d.target === 'master')?.dueAt.getTime(), at(130).getTime());
  t.is(dueChecks(db, at(189), policy).length, 2);
  t.is(dueChecks(db, at(190), policy).length, 4);
  // The expected facts come from the FileIngested event.
  const fa = dueChecks(db, at(190), policy).find((d) => d.fileId === 'fa');
  t.deepEqual(fa?.expected, { sha512: hexOf(1, 128), sha256: hexOf(1, 64), size: 1000 });
  t.is(fa?.contentPath, 'v1/content/fa/fa.tif');
  t.is(fa?.ocflObjectId, 'thukho:a');
  t.is(fa?.collectionId, 'bao-chi');
});

test('the collection follows MetadataEdited; a withdrawn object is still checked', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0), 'bao-chi');
  ingest(log, 'a', 'fa', at(0));
  log.add('a', 'MetadataEdited', { objectId: 'a', changes: { collectionId: 'han-nom' } }, at(1));
  log.add('a', 'ObjectWithdrawn', { objectId: 'a', reason: 'trùng lặp' }, at(2));
  project(db, log);
  const due = dueChecks(db, at(90), POLICY);
  t.is(due.length, 2);
  t.true(due.every((d) => d.collectionId === 'han-nom'));
  log.add('a', 'MetadataEdited', { objectId: 'a', changes: { collectionId: null } }, at(3));
  project(db, log);
  t.true(dueChecks(db, at(90), POLICY).every((d) => d.collectionId === null));
});

test('replica copies exist from FileReplicated on, for the versions it names, and only configured roots are due', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0));
  ingest(log, 'a', 'f1', at(0), { version: 'v1', n: 1 });
  ingest(log, 'a', 'f2', at(1), { version: 'v2', n: 2 });
  log.add('a', 'FileReplicated', { objectId: 'a', version: 'v1', replica: REPLICA, files: 1, bytes: 1000 }, at(1));
  project(db, log);
  const both = { ...POLICY, roots: ['primary', 'nas'] };
  const onNas = () => dueChecks(db, at(400), both).filter((d) => d.root === 'nas');
  t.deepEqual(onNas().map((d) => d.fileId ?? 'inventory').sort(), ['f1', 'inventory']);
  t.deepEqual(dueChecks(db, at(400), POLICY).filter((d) => d.root === 'nas'), [], 'a root not configured is never due');
  log.add('a', 'FileReplicated', { objectId: 'a', version: 'v2', replica: REPLICA, files: 1, bytes: 1000 }, at(2));
  project(db, log);
  t.deepEqual(onNas().map((d) => d.fileId ?? 'inventory').sort(), ['f1', 'f2', 'inventory']);
  const f2 = onNas().find((d) => d.fileId === 'f2');
  t.deepEqual(f2?.expected, { sha512: hexOf(2, 128), sha256: hexOf(2, 64), size: 1000 });
});

test('derivative pyramids are due with the primary root; one made again starts a cycle of its own', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0));
  ingest(log, 'a', 'f1', at(0), { n: 1 });
  const derivative = (sha256: string, when: Date) =>
    log.add(
      'a',
      'DerivativeCreated',
      {
        objectId: 'a',
        fileId: 'f1',
        masterSha512: hexOf(1, 128),
        width: 10,
        height: 10,
        pyramid: { sha256, size: 5000, levels: 1 },
        tileSize: 256,
        scaleFactors: [1],
        tiles: 1,
        sizes: [{ width: 10, height: 10 }],
        software: 'test',
      },
      when,
    );
  derivative(digest('c', 64), at(0));
  checked(log, 'a', 'f1', at(10), 'fail', { target: 'derivative', root: { label: 'derivatives', path: '/srv/derivatives' } });
  project(db, log);
  const pyramid = () => dueChecks(db, at(12), POLICY).find((d) => d.target === 'derivative');
  // A failed copy is looked at again a day later, not a cycle later.
  t.is(pyramid()?.dueAt.getTime(), at(11).getTime());
  t.deepEqual(pyramid()?.expected, { sha512: hexOf(1, 128), sha256: digest('c', 64), size: 5000 });
  t.is(dueChecks(db, at(12), { ...POLICY, roots: ['nas'] }).find((d) => d.target === 'derivative'), undefined);
  derivative(digest('d', 64), at(11));
  project(db, log);
  const remade = dueChecks(db, at(11 + 90), POLICY).find((d) => d.target === 'derivative');
  t.is(remade?.expected.sha256, digest('d', 64));
  t.is(remade?.state, 'unchecked');
  t.is(remade?.lastCheckedAt, null);
  t.true(remade!.dueAt >= at(11) && remade!.dueAt < at(11 + 90));
});

test('damaged files are listed until a check passes again', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0), 'han-nom');
  ingest(log, 'a', 'f1', at(0), { n: 1 });
  ingest(log, 'a', 'f2', at(0), { n: 2 });
  checked(log, 'a', 'f1', at(5), 'fail');
  damaged(log, 'a', 'f1', at(5));
  checked(log, 'a', 'f2', at(5), 'fail');
  repaired(log, 'a', 'f2', at(5));
  project(db, log);
  t.deepEqual(damagedFiles(db), [{ objectId: 'a', fileId: 'f1', target: 'master', root: 'primary', collectionId: 'han-nom', failure: 'changed', since: at(5).toISOString() }]);
  // Damaged: asked about again the next day; repaired: next cycle.
  const due = dueChecks(db, at(6), POLICY);
  t.deepEqual(due.filter((d) => d.target === 'master').map((d) => d.fileId), ['f1']);
  checked(log, 'a', 'f1', at(6), 'pass');
  project(db, log);
  t.deepEqual(damagedFiles(db), []);
});

test('applying the same events twice changes nothing (at-least-once delivery)', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0));
  ingest(log, 'a', 'f1', at(0));
  checked(log, 'a', 'f1', at(5), 'fail');
  damaged(log, 'a', 'f1', at(5));
  db.transaction(() => fixityReadModel.apply(db, log.events))();
  const before = auditReport(db, { from: at(0), to: at(10) });
  db.transaction(() => fixityReadModel.apply(db, log.events))();
  t.deepEqual(auditReport(db, { from: at(0), to: at(10) }), before);
  t.is(before.total.checks, 1);
  t.is(damagedFiles(db).length, 1);
});

// ---------------------------------------------------------------------------------------------
// audit report

function addsUp(t: { is: (a: unknown, b: unknown, m?: string) => void; true: (v: boolean, m?: string) => void }, report: ReturnType<typeof auditReport>) {
  const rows: Array<Omit<AuditRow, 'collectionId'> & { collectionId?: string | null }> = [...report.collections, report.total];
  for (const r of rows) {
    const name = r.collectionId === undefined ? 'total' : String(r.collectionId);
    t.is(r.files, r.checked + r.checkedBefore + r.neverChecked, `${name}: files = checked + checked before + never checked`);
    t.is(r.checked, r.passed + r.failed + r.repaired + r.damaged, `${name}: checked = passed + failed + repaired + damaged`);
    t.true(r.overdue <= r.files, `${name}: overdue ≤ files`);
    t.true(r.checks >= r.checked, `${name}: at least one check per checked copy`);
  }
  for (const k of ['files', 'checked', 'passed', 'failed', 'repaired', 'damaged', 'checkedBefore', 'neverChecked', 'overdue', 'checks', 'bytesVerified'] as const) {
    t.is(report.total[k], report.collections.reduce((sum, r) => sum + r[k], 0), `total ${k} = the sum over collections`);
  }
}

test('the audit report counts each copy once per period, and its numbers add up', (t) => {
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0), 'han-nom');
  register(log, 'b', at(0), 'bao-chi');
  register(log, 'c', at(0));
  for (let i = 1; i <= 5; i++) ingest(log, 'a', `a${i}`, at(0), { n: i });
  for (let i = 1; i <= 3; i++) ingest(log, 'b', `b${i}`, at(0), { n: 10 + i });
  ingest(log, 'c', 'c1', at(0), { n: 20 });
  // Before the period (January): a1, a2 checked.
  checked(log, 'a', 'a1', at(20), 'pass', { bytes: 1000 });
  checked(log, 'a', 'a2', at(20), 'pass', { bytes: 1000 });
  // The period: days 100–130.
  checked(log, 'a', 'a1', at(101), 'pass', { bytes: 1000 });
  checked(log, 'a', 'a1', at(102), 'pass', { bytes: 1000 }); // twice: one copy, two checks
  checked(log, 'a', 'a3', at(103), 'fail', { bytes: 1000 });
  repaired(log, 'a', 'a3', at(103));
  checked(log, 'a', 'a4', at(104), 'fail', { bytes: 400 });
  damaged(log, 'a', 'a4', at(104));
  checked(log, 'a', undefined, at(104), 'pass', { bytes: 2000 }); // the inventory
  checked(log, 'b', 'b1', at(105), 'fail', { bytes: 1000 }); // not resolved (yet)
  checked(log, 'b', 'b2', at(106), 'pass', { bytes: 1000 });
  checked(log, 'c', 'c1', at(107), 'pass', { bytes: 1000 });
  // After the period: does not count.
  checked(log, 'b', 'b3', at(140), 'pass', { bytes: 1000 });
  // An object ingested after the period is not in it.
  register(log, 'd', at(135), 'han-nom');
  ingest(log, 'd', 'd1', at(135), { n: 30 });
  project(db, log);

  const report = auditReport(db, { from: at(100), to: at(130), cycleDays: 90 });
  addsUp(t, report);
  const row = (id: string | null) => report.collections.find((r) => r.collectionId === id)!;
  t.deepEqual(report.collections.map((r) => r.collectionId), ['bao-chi', 'han-nom', null]);
  // han-nom: 5 masters + 1 inventory.
  t.like(row('han-nom'), { files: 6, checked: 4, passed: 2, failed: 0, repaired: 1, damaged: 1, checkedBefore: 1, neverChecked: 1, checks: 5, bytesVerified: 5400 });
  // bao-chi: 3 masters + 1 inventory, nothing checked before.
  t.like(row('bao-chi'), { files: 4, checked: 2, passed: 1, failed: 1, repaired: 0, damaged: 0, checkedBefore: 0, neverChecked: 2, checks: 2, bytesVerified: 2000 });
  t.like(row(null), { files: 2, checked: 1, passed: 1, neverChecked: 1, bytesVerified: 1000 });
  t.like(report.total, { files: 12, checked: 7, checks: 8, bytesVerified: 8400 });
  // Overdue at day 130 on a 90-day cycle: a2 (checked day 20, due day 110) for certain, and
  // never-checked copies whose spread put them before day 130 (each is due by day 90).
  t.true(row('han-nom').overdue >= 1);
  t.is(row('han-nom').overdue, 2, 'a2 and the never-checked a5 (due within the first 90 days)');
  t.is(row('bao-chi').overdue, 2, 'b3 and the inventory, never checked and past their first cycle');

  // A longer cycle for a collection makes fewer of its copies overdue.
  const lenient = auditReport(db, { from: at(100), to: at(130), cycleDays: 90, collectionCycleDays: { 'han-nom': 365 } });
  addsUp(t, lenient);
  t.true(lenient.collections.find((r) => r.collectionId === 'han-nom')!.overdue < 2);

  // The whole year: every copy that exists, including d.
  const year = auditReport(db, { from: at(0), to: at(365) });
  addsUp(t, year);
  t.is(year.total.files, 14);
  t.is(year.total.checks, 11);
  t.is(year.total.checkedBefore, 0);

  t.throws(() => auditReport(db, { from: at(10), to: at(5) }), { instanceOf: RangeError });
});

test('the scheduled worker takes the most overdue copies that fit in one period\'s read budget', async (t) => {
  const { withinBudget } = await import('../../workers/fixity.ts');
  const db = freshDb();
  const log = new Log();
  register(log, 'a', at(0));
  for (let i = 0; i < 20; i++) ingest(log, 'a', `f${i}`, at(0), { n: i + 1, size: 1_000_000 });
  project(db, log);
  const due = dueChecks(db, at(400), POLICY);
  t.is(due.length, 21);
  // 5.5 MB of budget: five 1 MB masters (and any inventory, of unknown size, before them).
  const chosen = withinBudget(due, 5_500_000);
  t.deepEqual(chosen, due.slice(0, chosen.length), 'in due order');
  t.is(chosen.filter((d) => d.target === 'master').length, 5);
  t.true(chosen.reduce((n, d) => n + (d.expected.size ?? 0), 0) <= 5_500_000);
  // A file larger than the whole budget still goes, alone, rather than blocking the queue.
  t.is(withinBudget(due.filter((d) => d.target === 'master'), 10).length, 1);
  t.is(withinBudget(due, Number.POSITIVE_INFINITY).length, 21);
});

// ---------------------------------------------------------------------------------------------
// the staff list's fixity filter (over fixity_work_states)

test('each work\'s fixity state in the staff list follows its worst copy at any clock, filter and label alike', (t) => {
  const db = freshDb();
  prepareProjection(db, objectReadModel);
  const log = new Log();
  const work = (id: string, files: string[]) => {
    register(log, id, at(0));
    files.forEach((f, n) => ingest(log, id, f, at(0), { n: id.length * 100 + n + 1 }));
  };
  work('ok', ['f1']);
  checked(log, 'ok', 'f1', at(10), 'pass');
  checked(log, 'ok', undefined, at(10), 'pass');
  work('un', ['f1']);
  work('bad', ['f1']);
  checked(log, 'bad', 'f1', at(10), 'fail');
  work('fix', ['f1']);
  checked(log, 'fix', 'f1', at(10), 'fail');
  repaired(log, 'fix', 'f1', at(11));
  work('dmg', ['f1']);
  checked(log, 'dmg', 'f1', at(10), 'fail');
  damaged(log, 'dmg', 'f1', at(11));
  work('mix', ['f1', 'f2']);
  checked(log, 'mix', 'f1', at(10), 'pass');
  checked(log, 'mix', undefined, at(10), 'pass');
  work('none', []);
  project(db, log);
  const objects = applyBatch(db, objectReadModel, null, log.events);
  t.is(objects.kind, 'applied');

  const viewer = { role: 'curator' } as const;
  const ids = ['ok', 'un', 'bad', 'fix', 'dmg', 'mix', 'none'];
  const expect = (days: number, states: Record<string, FixityState>) => {
    const clock = { nowMs: at(days).getTime(), cycleMs: 90 * DAY };
    t.deepEqual(Object.fromEntries(fixityStates(db, ids, clock)), states, `labels on day ${days}`);
    for (const state of FIXITY_STATES) {
      const listed = listObjects(db, { viewer, limit: 50, fixity: state, fixityAt: clock });
      const wanted = ids.filter((id) => states[id] === state).sort();
      t.deepEqual(listed.items.map((o) => o.id).sort(), wanted, `fixity=${state} on day ${days}`);
      t.is(listed.total, wanted.length);
    }
  };
  expect(20, { ok: 'passed', un: 'unchecked', bad: 'failed', fix: 'repaired', dmg: 'damaged', mix: 'unchecked', none: 'unchecked' });
  // A cycle after ingest: copies never checked are overdue; the checked work is not yet.
  expect(95, { ok: 'passed', un: 'overdue', bad: 'failed', fix: 'repaired', dmg: 'damaged', mix: 'overdue', none: 'unchecked' });
  expect(105, { ok: 'overdue', un: 'overdue', bad: 'failed', fix: 'repaired', dmg: 'damaged', mix: 'overdue', none: 'unchecked' });
  // A later passing check of the failed copy: the work is sound again.
  checked(log, 'bad', 'f1', at(106), 'pass');
  checked(log, 'bad', undefined, at(106), 'pass');
  project(db, log);
  t.is(fixityStates(db, ['bad'], { nowMs: at(107).getTime(), cycleMs: 90 * DAY }).get('bad'), 'passed');
});
