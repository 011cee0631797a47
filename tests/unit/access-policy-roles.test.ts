import test from 'ava';
import { ANOTHER_LIBRARY, decideAccess } from '../../src/domain/access-decision.ts';
import { ACCOUNT_ROLES, canReadStatistics, canWrite, roleFromLog, isStaff, type Role, ROLES, roleWithin } from '../../src/domain/access-policy.ts';

/** What each role may do, as a table: one row per role, one column per helper. */
const TABLE: Array<[Role, { staff: boolean; write: boolean; statistics: boolean; restricted: boolean }]> = [
  ['public', { staff: false, write: false, statistics: false, restricted: false }],
  ['reader', { staff: false, write: false, statistics: false, restricted: true }],
  ['auditor', { staff: true, write: false, statistics: true, restricted: true }],
  ['curator', { staff: true, write: true, statistics: false, restricted: true }],
  ['admin', { staff: true, write: true, statistics: true, restricted: true }],
];

test('roles: staff, writers and statistics readers', (t) => {
  t.deepEqual(TABLE.map(([r]) => r), [...ROLES]);
  for (const [role, want] of TABLE) {
    const viewer = { role };
    t.deepEqual(
      { staff: isStaff(viewer), write: canWrite(viewer), statistics: canReadStatistics(viewer), restricted: decideAccess('restricted', 'active', viewer, 'content', ANOTHER_LIBRARY).outcome === 'allow' },
      want,
      role,
    );
    t.is(decideAccess('confidential', 'active', viewer, 'record', ANOTHER_LIBRARY).outcome === 'allow', want.staff, `${role} sees confidential only as staff`);
  }
  t.false((ACCOUNT_ROLES as readonly string[]).includes('public'));
});

test('roleWithin: admin holds every role; curator and auditor hold reader but not each other', (t) => {
  const within = (a: Role, b: Role) => roleWithin(a, b);
  for (const r of ROLES) {
    t.true(within(r, 'admin'), `${r} within admin`);
    t.true(within(r, r), `${r} within itself`);
    t.true(within('public', r));
  }
  t.true(within('reader', 'curator'));
  t.true(within('reader', 'auditor'));
  t.false(within('curator', 'auditor'));
  t.false(within('auditor', 'curator'));
  t.false(within('admin', 'curator'));
  t.false(within('reader', 'public'));
});

test('roles read back from the log: the old `staff` is a curator, an unknown role may nothing', (t) => {
  t.is(roleFromLog('staff'), 'curator');
  t.is(roleFromLog('auditor'), 'auditor');
  t.is(roleFromLog('superuser'), 'public');
  t.false(isStaff({ role: roleFromLog('superuser') }));
});
