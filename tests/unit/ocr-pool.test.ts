import test from 'ava';
import { OcrPool } from '../../src/ocr/pool.ts';
import type { Engines } from '../../src/ocr/choose-engine.ts';
import { type OcrEngine, OcrInputError, type OcrPage, type OcrRequest } from '../../src/ocr/port.ts';

/**
 * The pool's scheduling: how many pages are read at once, when engine sets are made, what a
 * failing page or a failing start does to the pages behind it. The engines are stand-ins that
 * finish when the test says so (a real engine's timing cannot be held); the real engines are
 * pooled in bench/ocr, which measures pages per minute against one worker.
 */
class HeldEngine implements OcrEngine {
  readonly info = { name: 'held', version: '1', models: [] };
  static running = 0;
  static maxRunning = 0;
  static closed = 0;
  readonly pending: Array<{ request: OcrRequest; finish: (err?: Error) => void }> = [];
  static all: HeldEngine[] = [];

  constructor() {
    HeldEngine.all.push(this);
  }

  accepts(): boolean {
    return true;
  }

  recognize(request: OcrRequest): Promise<OcrPage> {
    HeldEngine.running++;
    HeldEngine.maxRunning = Math.max(HeldEngine.maxRunning, HeldEngine.running);
    return new Promise((resolve, reject) => {
      this.pending.push({
        request,
        finish: (err) => {
          HeldEngine.running--;
          if (err) reject(err);
          else resolve({ width: 10, height: 10, blocks: [] });
        },
      });
    });
  }

  async close(): Promise<void> {
    HeldEngine.closed++;
  }
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

function reset(): void {
  HeldEngine.running = 0;
  HeldEngine.maxRunning = 0;
  HeldEngine.closed = 0;
  HeldEngine.all = [];
}

const page = (n: number): OcrRequest => ({ image: Buffer.from([n]), languages: ['vie'] });

test.serial('at most `size` pages are read at once; engine sets are made only while pages wait', async (t) => {
  reset();
  let made = 0;
  const pool = new OcrPool({ size: 2, createEngines: async (): Promise<Engines> => (made++, { tesseract: new HeldEngine() }) });
  const one = pool.read(page(1));
  await settle();
  t.is(pool.engineSets, 1, 'one page waiting makes one set');
  const rest = [2, 3, 4, 5].map((n) => pool.read(page(n)));
  await settle();
  t.is(made, 2);
  t.is(HeldEngine.running, 2);
  // Finish pages one by one: the next waiting page takes the freed set.
  for (let done = 0; done < 5; done++) {
    const busy = HeldEngine.all.find((e) => e.pending.length > 0);
    busy!.pending.shift()!.finish();
    await settle();
  }
  await Promise.all([one, ...rest]);
  t.is(HeldEngine.maxRunning, 2);
  t.is(made, 2);
  await pool.close();
  t.is(HeldEngine.closed, 2);
});

test.serial('a page that fails frees its set for the next page; the failure reaches its caller only', async (t) => {
  reset();
  const pool = new OcrPool({ size: 1, createEngines: async () => ({ tesseract: new HeldEngine() }) });
  const bad = pool.read(page(1));
  const good = pool.read(page(2));
  await settle();
  HeldEngine.all[0]!.pending.shift()!.finish(new OcrInputError('blank strip'));
  await t.throwsAsync(bad, { instanceOf: OcrInputError });
  await settle();
  HeldEngine.all[0]!.pending.shift()!.finish();
  t.deepEqual((await good).page.blocks, []);
  await pool.close();
});

test.serial('engines that cannot start fail the waiting pages with the reason; a later start that works serves later pages', async (t) => {
  reset();
  let attempt = 0;
  const pool = new OcrPool({
    size: 1,
    createEngines: async () => {
      attempt++;
      if (attempt === 1) throw new Error('traineddata missing');
      return { tesseract: new HeldEngine() };
    },
  });
  await t.throwsAsync(pool.read(page(1)), { message: 'traineddata missing' });
  const later = pool.read(page(2));
  await settle();
  HeldEngine.all[0]!.pending.shift()!.finish();
  await t.notThrowsAsync(later);
  await pool.close();
  await t.throwsAsync(pool.read(page(3)), { message: /closed/ });
});
