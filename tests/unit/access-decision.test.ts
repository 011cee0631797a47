import test from 'ava';
import { ACCESS_SUBJECTS, type AccessDecision, ANOTHER_LIBRARY, WORK_STATUSES, allowedLevels, decideAccess, listScope, seesWithdrawn } from '../../src/domain/access-decision.ts';
import type { Viewer } from '../../src/domain/access-policy.ts';
import { ACCESS_LEVELS } from '../../src/domain/metadata.ts';

/**
 * The access decision as one table: every level × status × viewer × subject, written out by
 * hand from the policy (issue 15, DESIGN.md "Access levels"), not computed.
 *
 * Cells: `pub` allow, a shared cache may keep it, download allowed · `priv` allow, private,
 * download allowed · `rec` allow (the record), private, no download · `401` sign in · `404`
 * absent · `410` gone.
 */
const VIEWERS: Record<string, Viewer> = {
  anonymous: { role: 'public' },
  'reading room': { role: 'public', inReadingRoom: true },
  reader: { role: 'reader' },
  'reader in the reading room': { role: 'reader', inReadingRoom: true },
  curator: { role: 'curator' },
  auditor: { role: 'auditor' },
  admin: { role: 'admin' },
};
// `pub-no-download` is in no row: a shared cache must never keep what not everyone may take.
type Cell = 'pub' | 'pub-no-download' | 'priv' | 'rec' | '401' | '404' | '410';
//                                         anonymous reading-room reader  reader+room curator auditor admin
const TABLE: Record<string, Cell[]> = {
  'open active record':                   ['pub', 'pub', 'pub', 'pub', 'pub', 'pub', 'pub'],
  'open active content':                  ['pub', 'pub', 'pub', 'pub', 'pub', 'pub', 'pub'],
  'open withdrawn record':                ['410', '410', '410', '410', 'priv', 'priv', 'priv'],
  'open withdrawn content':               ['410', '410', '410', '410', 'priv', 'priv', 'priv'],
  'restricted active record':             ['rec', 'priv', 'priv', 'priv', 'priv', 'priv', 'priv'],
  'restricted active content':            ['401', 'priv', 'priv', 'priv', 'priv', 'priv', 'priv'],
  'restricted withdrawn record':          ['410', '410', '410', '410', 'priv', 'priv', 'priv'],
  'restricted withdrawn content':         ['410', '410', '410', '410', 'priv', 'priv', 'priv'],
  'confidential active record':           ['404', '404', '404', '404', 'priv', 'priv', 'priv'],
  'confidential active content':          ['404', '404', '404', '404', 'priv', 'priv', 'priv'],
  'confidential withdrawn record':        ['404', '404', '404', '404', 'priv', 'priv', 'priv'],
  'confidential withdrawn content':       ['404', '404', '404', '404', 'priv', 'priv', 'priv'],
};

function cell(d: AccessDecision): Cell {
  switch (d.outcome) {
    case 'absent':
      return '404';
    case 'sign-in':
      return '401';
    case 'gone':
      return '410';
    case 'allow':
      if (d.publicCache) return d.download ? 'pub' : 'pub-no-download';
      return d.download ? 'priv' : 'rec';
  }
}

test('the table covers every level × status × subject, and each row every viewer', (t) => {
  const keys = ACCESS_LEVELS.flatMap((l) => WORK_STATUSES.flatMap((s) => ACCESS_SUBJECTS.map((w) => `${l} ${s} ${w}`)));
  t.deepEqual(Object.keys(TABLE).sort(), keys.sort());
  for (const row of Object.values(TABLE)) t.is(row.length, Object.keys(VIEWERS).length);
});

for (const [key, expected] of Object.entries(TABLE)) {
  const [level, status, what] = key.split(' ') as [(typeof ACCESS_LEVELS)[number], (typeof WORK_STATUSES)[number], (typeof ACCESS_SUBJECTS)[number]];
  test(`decideAccess: ${key}`, (t) => {
    const got = Object.values(VIEWERS).map((v) => cell(decideAccess(level, status, v, what, ANOTHER_LIBRARY)));
    t.deepEqual(Object.fromEntries(Object.keys(VIEWERS).map((name, i) => [name, got[i]])), Object.fromEntries(Object.keys(VIEWERS).map((name, i) => [name, expected[i]])));
  });
}

test('list filters come from the same decision: records of restricted works are listed for everyone, confidential only for staff', (t) => {
  t.deepEqual(allowedLevels({ role: 'public' }, 'record'), ['open', 'restricted']);
  t.deepEqual(allowedLevels({ role: 'public' }, 'content'), ['open']);
  t.deepEqual(allowedLevels({ role: 'public', inReadingRoom: true }, 'content'), ['open', 'restricted']);
  t.deepEqual(allowedLevels({ role: 'reader' }, 'content'), ['open', 'restricted']);
  t.deepEqual(allowedLevels({ role: 'auditor' }, 'record'), ['open', 'restricted', 'confidential']);
  t.false(seesWithdrawn({ role: 'public', inReadingRoom: true }));
  t.false(seesWithdrawn({ role: 'reader' }));
  t.true(seesWithdrawn({ role: 'admin' }));
});

test('library scope: a library’s staff are staff for its works and readers for every other library’s; accounts without a library are unchanged', (t) => {
  const district = { role: 'curator', library: 'huyen', homeLibrary: 'tinh' } as const;
  const auditor = { role: 'auditor', library: 'huyen', homeLibrary: 'tinh' } as const;
  t.is(decideAccess('confidential', 'active', district, 'record', 'huyen').outcome, 'allow');
  t.is(decideAccess('confidential', 'active', district, 'record', 'tinh').outcome, 'absent');
  t.is(decideAccess('open', 'withdrawn', district, 'record', 'tinh').outcome, 'gone');
  t.is(decideAccess('restricted', 'active', district, 'content', 'tinh').outcome, 'allow');
  t.is(decideAccess('confidential', 'active', auditor, 'record', 'tinh').outcome, 'absent');
  t.is(decideAccess('confidential', 'active', { role: 'admin' }, 'record', 'huyen').outcome, 'allow');
  t.deepEqual(listScope(district, 'record'), {
    levels: ['open', 'restricted'],
    withdrawn: false,
    own: { library: 'huyen', levels: ['open', 'restricted', 'confidential'], withdrawn: true },
  });
  t.deepEqual(listScope({ role: 'curator' }, 'record'), { levels: ['open', 'restricted', 'confidential'], withdrawn: true });
  t.deepEqual(listScope({ role: 'reader', library: 'huyen' }, 'record'), { levels: ['open', 'restricted'], withdrawn: false });
});
