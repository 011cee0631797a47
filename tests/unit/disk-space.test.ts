import test from 'ava';
import { EventStoreFullError } from '../../src/eventstore/port.ts';
import { toProblem } from '../../src/http/problem.ts';
import { checkDiskSpace, isNoSpace } from '../../src/storage/disk-space.ts';

/** A full disk as each layer reports it, and what is not one. */
const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
const full: Array<[string, unknown]> = [
  ['node ENOSPC', errno('ENOSPC', "ENOSPC: no space left on device, write '…/x'")],
  ['node EDQUOT', errno('EDQUOT', 'EDQUOT: disk quota exceeded, write')],
  ['SQLite SQLITE_FULL', errno('SQLITE_FULL', 'database or disk is full')],
  ['the log adapter', new EventStoreFullError('the event log’s disk is full (SQLITE_FULL): nothing was written')],
  ['libvips text only', new Error('…/pyramid.tif: write error\nsystem error: No space left on device\nvips2tiff: TIFF write tile failed')],
];
const notFull: Array<[string, unknown]> = [
  ['a missing file', errno('ENOENT', 'ENOENT: no such file or directory')],
  ['a corrupt JPEG', new Error('VipsJpeg: premature end of JPEG image')],
  ['SQLite busy', errno('SQLITE_BUSY', 'database is locked')],
  ['not an error', 'ENOSPC'],
];

test('nothing thrown is no full disk', (t) => {
  t.false(isNoSpace(undefined));
  t.false(isNoSpace(null));
});

for (const [what, err] of full) {
  test(`a full disk: ${what} → 507 insufficient-storage`, (t) => {
    t.true(isNoSpace(err));
    const problem = toProblem(err);
    t.is(problem.status, 507);
    t.is(problem.code, 'insufficient-storage');
    t.regex(problem.messages.vi, /đầy/);
  });
}
for (const [what, err] of notFull) {
  test(`not a full disk: ${what}`, (t) => {
    t.false(isNoSpace(err));
    t.not(toProblem(err).status, 507);
  });
}

test('the disk check groups what one volume holds and says low below the minimum, naming no path', (t) => {
  const dirs = [
    { role: 'data' as const, path: process.cwd() },
    { role: 'event-log' as const, path: `${process.cwd()}/not-made-yet/events` },
  ];
  const ok = checkDiskSpace(dirs, 0);
  t.is(ok.status, 'ok');
  t.deepEqual(ok.volumes.map((v) => v.holds), [['data', 'event-log']]);
  const low = checkDiskSpace(dirs, Number.MAX_SAFE_INTEGER);
  t.is(low.status, 'low');
  t.false(JSON.stringify(low).includes(process.cwd()));
});
