import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { OcrOutputError, OcrOutputStore } from '../../src/storage/ocr-outputs.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/** OCR outputs stored by digest: the layout, idempotence, the history kept, damage refused. */
const tempDir = tempDirs(test, 'thukho-ocr-outputs-');
const ALTO = '<?xml version="1.0" encoding="UTF-8"?>\n<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"/>\n';

test('an output is stored under ocr/ab/{sha256}.{ext}, read back whole; the same bytes again change nothing', async (t) => {
  const root = tempDir();
  const store = new OcrOutputStore(root);
  const sha256 = createHash('sha256').update(ALTO).digest('hex');
  t.deepEqual(await store.put('alto', ALTO), { sha256, size: Buffer.byteLength(ALTO) });
  t.is(await readFile(join(root, 'ocr', sha256.slice(0, 2), `${sha256}.alto`), 'utf8'), ALTO);
  t.deepEqual(await store.put('alto', ALTO), { sha256, size: Buffer.byteLength(ALTO) });
  t.deepEqual(await readdir(join(root, 'ocr', sha256.slice(0, 2))), [`${sha256}.alto`], 'no temp file left, one copy');
  t.is((await store.read('alto', sha256)).toString('utf8'), ALTO);
});

test('a new reading adds a file and leaves the older one readable', async (t) => {
  const store = new OcrOutputStore(tempDir());
  const old = await store.put('text', 'Bắc Giang');
  const next = await store.put('text', 'Bắc Giang, tổng Yên Thế');
  t.not(old.sha256, next.sha256);
  t.is((await store.read('text', old.sha256)).toString('utf8'), 'Bắc Giang');
  t.is((await store.read('text', next.sha256)).toString('utf8'), 'Bắc Giang, tổng Yên Thế');
});

test('a damaged output is refused with the digest it has; a bad digest is no path', async (t) => {
  const store = new OcrOutputStore(tempDir());
  const { sha256 } = await store.put('hocr', '<html/>');
  await writeFile(store.path('hocr', sha256), '<html>changed</html>');
  await t.throwsAsync(store.read('hocr', sha256), { instanceOf: OcrOutputError, message: /damaged/ });
  t.throws(() => store.path('text', '../../etc/passwd'), { instanceOf: OcrOutputError });
});
