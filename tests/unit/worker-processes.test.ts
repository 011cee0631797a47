import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { workerMemoryEnv } from '../../src/queue/supervisor.ts';
import { WORKERS, workersToRun } from '../../workers/index.ts';

/**
 * How `thukho serve` groups its workers into processes (THUKHO_WORKER_PROCESSES, issue 20's
 * memory part): each Node process with thukho loaded holds ~180 MB, so by default one process
 * runs them all; `thukho worker a+b` is how that process is named and started.
 */
const base = { THUKHO_DATA_DIR: '/tmp/thukho-worker-processes-test' };
const layout = (env: Record<string, string> = {}) => workersToRun(loadConfig({ ...base, ...env }));
const ALL = ['audit', 'derivatives', 'ocr', 'seal', 'replication', 'fixity'];

test('one process for every worker by default; split keeps derivatives and OCR apart; each is one per worker', (t) => {
  t.deepEqual(layout(), [ALL.join('+')]);
  t.deepEqual(layout({ THUKHO_WORKER_PROCESSES: 'one' }), [ALL.join('+')]);
  t.deepEqual(layout({ THUKHO_WORKER_PROCESSES: 'split' }), ['derivatives', 'ocr', 'audit+seal+replication+fixity']);
  t.deepEqual(layout({ THUKHO_WORKER_PROCESSES: 'each' }), ALL);
  // OCR off: not run, whatever the layout.
  for (const processes of ['one', 'split', 'each']) {
    const names = layout({ THUKHO_WORKER_PROCESSES: processes, THUKHO_OCR: 'off' }).flatMap((p) => p.split('+'));
    t.deepEqual(names.sort(), ALL.filter((n) => n !== 'ocr').sort(), processes);
  }
});

test('every process serve starts is one `thukho worker NAME` takes; a bad layout is refused with the variable named', (t) => {
  for (const processes of ['one', 'split', 'each']) {
    for (const name of layout({ THUKHO_WORKER_PROCESSES: processes })) t.is(typeof WORKERS[name], 'function', name);
  }
  t.throws(() => layout({ THUKHO_WORKER_PROCESSES: 'two' }), { message: /THUKHO_WORKER_PROCESSES/ });
});

test('WORKERS lists each worker once; a combination names known workers, each once', (t) => {
  t.deepEqual(Object.keys(WORKERS).sort(), [...ALL].sort());
  t.is(typeof WORKERS['seal+fixity'], 'function');
  t.is(WORKERS['seal+seal'], undefined);
  t.is(WORKERS['seal+nope'], undefined);
  t.is(WORKERS['seal+'], undefined);
  t.is(WORKERS.nope, undefined);
});

test('worker children get two malloc arenas and a small V8 young generation, unless the operator says otherwise', (t) => {
  const plain = workerMemoryEnv({ PATH: '/usr/bin' });
  t.is(plain.MALLOC_ARENA_MAX, '2');
  t.is(plain.NODE_OPTIONS, '--max-semi-space-size=2');
  t.is(plain.PATH, '/usr/bin');
  const operator = workerMemoryEnv({ MALLOC_ARENA_MAX: '8', NODE_OPTIONS: '--max-semi-space-size=16 --enable-source-maps' });
  t.is(operator.MALLOC_ARENA_MAX, '8');
  // V8 takes the last of a repeated flag: the operator's.
  t.is(operator.NODE_OPTIONS, '--max-semi-space-size=2 --max-semi-space-size=16 --enable-source-maps');
});
