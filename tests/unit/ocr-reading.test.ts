import test from 'ava';
import { readsVertically, scalePage } from '../../src/application/ocr.ts';
import { OcrInputError, type OcrPage } from '../../src/ocr/port.ts';

/**
 * The OCR worker's two decisions that need no engine: which pages are read as vertical
 * columns, and how boxes read on the scaled-down image land on the full-resolution canvas.
 */
test('Han works are read in vertical columns unless the record says the pages turn left to right; Latin and mixed works in lines', (t) => {
  const cases: Array<[string[], string | undefined, boolean]> = [
    [['lzh'], undefined, true],
    [['lzh'], 'right-to-left', true],
    [['nom', 'chi'], 'top-to-bottom', true],
    [['lzh'], 'left-to-right', false],
    [['vie'], undefined, false],
    [['vie'], 'right-to-left', false],
    [['vie', 'lzh'], undefined, false],
    [['fra', 'eng'], undefined, false],
  ];
  for (const [languages, direction, vertical] of cases) t.is(readsVertically(languages, direction), vertical, `${languages.join('+')} ${direction ?? '(unset)'}`);
  const err = t.throws(() => readsVertically(['vie', 'xyz'], undefined), { instanceOf: OcrInputError });
  t.regex(err?.message ?? '', /"xyz"/);
});

test('boxes read on a scaled-down image are scaled to the canvas, in whole pixels, inside it, never empty', (t) => {
  // Read at 800 × 400, the canvas is 1000 × 500 (scale 1.25).
  const word = (x: number, y: number, w: number, h: number, text: string) => ({ x, y, w, h, text, confidence: 90 });
  const read: OcrPage = {
    width: 800,
    height: 400,
    rotation: 180,
    blocks: [{ x: 10, y: 20, w: 790, h: 380, lines: [{ x: 10, y: 20, w: 790, h: 380, words: [word(10, 20, 100, 40, 'Sổ'), word(799.6, 399.7, 0.2, 0.2, '.'), word(-3, 5.5, 10.2, 3, 'a')] }] }],
  };
  const onCanvas = scalePage(read, 1000, 500);
  t.deepEqual([onCanvas.width, onCanvas.height, onCanvas.rotation], [1000, 500, 180]);
  const [sổ, dot, a] = onCanvas.blocks[0]!.lines[0]!.words;
  t.deepEqual(sổ, { x: 13, y: 25, w: 125, h: 50, text: 'Sổ', confidence: 90 });
  // A speck at the corner keeps one pixel, inside the canvas.
  t.deepEqual([dot!.x, dot!.y, dot!.w, dot!.h], [999, 499, 1, 1]);
  // A box the engine drew past the edge is cut at the edge.
  t.deepEqual([a!.x, a!.y, a!.w, a!.h], [0, 7, 9, 4]);
  t.deepEqual(onCanvas.blocks[0]!.lines[0]!.words.map((w) => w.text), ['Sổ', '.', 'a']);
  const block = onCanvas.blocks[0]!;
  t.deepEqual([block.x, block.y, block.x + block.w, block.y + block.h], [13, 25, 1000, 500]);
});

test('OCR configuration: languages checked against the models at start, concurrency a whole number, the worker on unless off', async (t) => {
  const { ConfigError, loadConfig } = await import('../../src/config.ts');
  const base = { THUKHO_DATA_DIR: '/tmp/thukho-config-test' };
  t.deepEqual(loadConfig(base).ocr, { enabled: true, concurrency: undefined, defaultLanguages: ['vie'], idleSeconds: 120 });
  t.deepEqual(loadConfig({ ...base, THUKHO_OCR: 'off', THUKHO_OCR_CONCURRENCY: '3', THUKHO_OCR_LANGUAGES: 'vie, FRA', THUKHO_OCR_IDLE_SECONDS: '0' }).ocr, {
    enabled: false,
    concurrency: 3,
    defaultLanguages: ['vie', 'fra'],
    idleSeconds: 0,
  });
  const refused = (env: Record<string, string>, name: string) => {
    const err = t.throws(() => loadConfig({ ...base, ...env }), { instanceOf: ConfigError });
    t.true(err?.message.startsWith(`${name}:`), err?.message);
  };
  refused({ THUKHO_OCR_LANGUAGES: 'vie,xyz' }, 'THUKHO_OCR_LANGUAGES');
  refused({ THUKHO_OCR_LANGUAGES: ' , ' }, 'THUKHO_OCR_LANGUAGES');
  refused({ THUKHO_OCR_CONCURRENCY: '0' }, 'THUKHO_OCR_CONCURRENCY');
  refused({ THUKHO_OCR_CONCURRENCY: '1.5' }, 'THUKHO_OCR_CONCURRENCY');
  refused({ THUKHO_OCR: 'no' }, 'THUKHO_OCR');
  refused({ THUKHO_OCR_IDLE_SECONDS: '-1' }, 'THUKHO_OCR_IDLE_SECONDS');
});

test('thukho serve runs the OCR worker unless THUKHO_OCR=off', async (t) => {
  const { loadConfig } = await import('../../src/config.ts');
  const { workersToRun } = await import('../../workers/index.ts');
  const base = { THUKHO_DATA_DIR: '/tmp/thukho-config-test' };
  // Several workers may share a process (`a+b`, THUKHO_WORKER_PROCESSES): the workers, whatever the processes.
  const workers = (env: NodeJS.ProcessEnv) => workersToRun(loadConfig(env)).flatMap((p) => p.split('+'));
  t.true(workers(base).includes('ocr'));
  t.true(workers(base).includes('derivatives'));
  t.deepEqual(workers({ ...base, THUKHO_OCR: 'off' }), workers(base).filter((name) => name !== 'ocr'));
});
