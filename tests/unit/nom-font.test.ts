import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import fontverter from 'fontverter';
import { Blob, Face, Font } from 'harfbuzzjs';
import { pino } from 'pino';
import { coverageOf, readCmapTable } from '../../src/http/site/font-cmap.ts';
import { DEFAULT_NOM_FONT_DIR, NOM_FONT_FILES, type NomFonts, nomFonts } from '../../src/http/site/nom-font.ts';
import { CodePointList, nomCodePoints } from '../../src/http/site/nom-text.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The Nôm font on the server side, against the real fonts-hanazono files (scripts/test.sh
 * installs the package): our cmap reader agrees with harfbuzz's own, subsets hold exactly
 * the asked characters with real outlines, and a machine without the font renders pages
 * without the rules and says so once.
 */

const A = join(DEFAULT_NOM_FONT_DIR, 'HanaMinA.ttf');
const B = join(DEFAULT_NOM_FONT_DIR, 'HanaMinB.ttf');
const ch = (cp: number) => String.fromCodePoint(cp);
const tempDir = tempDirs(test, 'thukho-nom-font-');

test.before(() => {
  for (const f of NOM_FONT_FILES) {
    if (!existsSync(join(DEFAULT_NOM_FONT_DIR, f))) throw new Error(`${f} is missing: install fonts-hanazono (scripts/ensure-system.sh fonts-hanazono)`);
  }
});

function harfbuzzUnicodes(bytes: Uint8Array): Uint32Array {
  return new Face(new Blob(bytes)).collectUnicodes();
}

test('the cmap reader finds exactly the code points harfbuzz finds (HanaMinA and HanaMinB)', async (t) => {
  for (const path of [A, B]) {
    const coverage = coverageOf(readCmapTable(path), path);
    const reference = harfbuzzUnicodes(await readFile(path));
    t.is(coverage.size, reference.length, path);
    for (const cp of reference) if (!coverage.has(cp)) t.fail(`${path}: U+${cp.toString(16)} missed`);
    // And nothing more: a sample of holes (code points harfbuzz does not list) stays a hole.
    const listed = new Set(reference);
    let holes = 0;
    for (let cp = 0x20000; cp < 0x2b000 && holes < 2000; cp += 7) {
      if (listed.has(cp)) continue;
      holes++;
      if (coverage.has(cp)) t.fail(`${path}: U+${cp.toString(16)} claimed but not in the font`);
    }
  }
  // The two facts the design rests on.
  t.true(coverageOf(readCmapTable(B)).has(0x21982), '𡦂 is in HanaMinB');
  t.true(coverageOf(readCmapTable(A)).has(0x340c), 'Ext A is in HanaMinA');
});

test('a file that is not a font, or a font without a format 12 cmap, is refused with a reason', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.ttf'), 'not a font at all');
  t.throws(() => readCmapTable(join(dir, 'x.ttf')), { message: /not a TrueType\/OpenType font/ });
  // A cmap with only a format 4 (BMP) subtable: version 0, one record (3,1) → format 4.
  const cmap = Buffer.alloc(4 + 8 + 16);
  cmap.writeUInt16BE(1, 2);
  cmap.writeUInt16BE(3, 4);
  cmap.writeUInt16BE(1, 6);
  cmap.writeUInt32BE(12, 8);
  cmap.writeUInt16BE(4, 12);
  t.throws(() => coverageOf(cmap, 'bmp-only.ttf'), { message: /no format 12/ });
});

function fonts(cacheDir: string, dir = DEFAULT_NOM_FONT_DIR, logger = pino({ level: 'silent' }), maxPendingCuts?: number): NomFonts {
  return nomFonts({ dir, cacheDir, logger, ...(maxPendingCuts ? { maxPendingCuts } : {}) });
}

type Url = { key: string; list: string };
const urls = (css: string): Url[] => [...css.matchAll(/url\(\/fonts\/nom\/([A-Za-z0-9_-]{22})\.woff2\?c=([0-9a-f,-]+)\)/g)].map((m) => ({ key: m[1]!, list: m[2]! }));

test('no Nôm-range characters, no rules: Vietnamese and URO Han pages get nothing', (t) => {
  const f = fonts(tempDir());
  t.is(f.fontFaceCss('Đại Nam nhất thống chí 大南一統志 傳'), '');
  // U+30000 (Ext G) is in the range but in neither file: nothing to serve for it.
  t.is(f.fontFaceCss(`Ext G ${ch(0x30000)}`), '');
});

test('rules name the family, carry a unicode-range, and group characters by the file that has them', (t) => {
  const f = fonts(tempDir());
  const css = f.fontFaceCss(`Truyện ${ch(0x21982)} ${ch(0x340c)} ${ch(0x2a700)} 傳`);
  const rules = css.split('\n');
  t.is(rules.length, 2);
  for (const r of rules) t.regex(r, /^@font-face\{font-family:"Thukho Nom";src:url\(\/fonts\/nom\/[A-Za-z0-9_-]{22}\.woff2\?c=[0-9a-f,-]+\) format\("woff2"\);unicode-range:U\+[0-9a-f,U+-]+;font-display:swap\}$/);
  // HanaMinA has Ext A; HanaMinB has 𡦂 and Ext C (A lacks them).
  t.deepEqual(urls(css).map((u) => u.list).sort(), ['21982,2a700', '340c']);
  t.true(css.includes('unicode-range:U+21982,U+2a700;'));
  t.false(css.includes('50b3'), 'URO Han is not in any range');
  // Same text, same URLs (cacheable); different text, different key.
  t.is(f.fontFaceCss(`${ch(0x2a700)} ${ch(0x340c)} ${ch(0x21982)}`), css);
  t.not(urls(f.fontFaceCss(ch(0x21982)))[0]!.key, urls(css).find((u) => u.list.startsWith('21982'))!.key);
});

test('many characters are split into several faces of at most 256 each, together covering every one the files have', (t) => {
  const f = fonts(tempDir());
  const inFiles = [coverageOf(readCmapTable(A)), coverageOf(readCmapTable(B))];
  let text = '';
  for (let cp = 0x20000; cp < 0x20000 + 600; cp++) text += ch(cp);
  const lists = urls(f.fontFaceCss(text)).map((u) => CodePointList.parse(u.list));
  t.true(lists.length >= 3);
  t.true(lists.every((l) => l.length <= 256));
  const served = lists.flat().sort((a, b) => a - b);
  t.is(new Set(served).size, served.length, 'no character in two faces');
  t.deepEqual(served, nomCodePoints(text).filter((cp) => inFiles.some((c) => c.has(cp))));
  t.true(served.length > 500, 'HanaMinA/B cover almost all of the first 600 Ext B characters');
});

test('a subset is a small WOFF2 whose cmap holds exactly the asked characters, each with an outline', async (t) => {
  const cacheDir = tempDir();
  const f = fonts(cacheDir);
  // Characters HanaMinB has and HanaMinA does not, so that they make one subset.
  const a = coverageOf(readCmapTable(A));
  const asked = [0x20001, 0x21982, 0x2a6d6, 0x2a700, 0x2b740, 0x2f800].filter((cp) => !a.has(cp));
  t.true(asked.length >= 4);
  const [u] = urls(f.fontFaceCss(asked.map(ch).join('')));
  t.truthy(u);
  const r = await f.subset(u!.key, u!.list);
  if (!r.ok) return t.fail(JSON.stringify(r));
  t.is(r.body.subarray(0, 4).toString('latin1'), 'wOF2');
  t.true(r.body.length > 200, 'not empty');
  t.true(r.body.length < statSync(B).size / 1000, `${r.body.length} bytes: a thousandth of the font at most`);
  const ttf: Buffer = await fontverter.convert(r.body, 'truetype');
  const unicodes = [...harfbuzzUnicodes(ttf)].sort((a, b) => a - b);
  t.deepEqual(unicodes, asked);
  const font = new Font(new Face(new Blob(ttf)));
  for (const cp of asked) {
    const glyph = font.nominalGlyph(cp);
    t.truthy(glyph, `U+${cp.toString(16)} maps to a glyph`);
    t.true(font.glyphToPath(glyph!).length > 20, `U+${cp.toString(16)} has an outline`);
  }
  // Kept on disk: a new process (a new instance) answers without cutting again, same bytes.
  t.is(readdirSync(cacheDir).length, 1);
  const again = await fonts(cacheDir).subset(u!.key, u!.list);
  t.true(again.ok && again.body.equals(r.body));
});

test('subset requests that do not match the installed font are refused, with a reason', async (t) => {
  const f = fonts(tempDir());
  const [u] = urls(f.fontFaceCss(ch(0x21982)));
  const other = urls(f.fontFaceCss(ch(0x340c)))[0]!;
  const cases: Array<[string, string | undefined, 400 | 404, string]> = [
    [u!.key, '21983', 404, 'font-key-mismatch'],
    [other.key, u!.list, 404, 'font-key-mismatch'],
    [u!.key.slice(1), u!.list, 400, 'invalid-font-key'],
    ['../../etc/passwd', u!.list, 400, 'invalid-font-key'],
    [u!.key, undefined, 400, 'invalid-code-points'],
    [u!.key, '4e00', 400, 'invalid-code-points'],
    // One list, two files: 340c is HanaMinA's, 21982 HanaMinB's; we never make such a URL.
    [u!.key, '340c,21982', 400, 'invalid-code-points'],
    // Ext G: in the range, in no file.
    [u!.key, '30000', 400, 'invalid-code-points'],
  ];
  for (const [key, list, status, code] of cases) {
    const r = await f.subset(key, list);
    t.false(r.ok, `${key} ${list}`);
    if (!r.ok) {
      t.is(r.status, status, `${key} ${list}`);
      t.is(r.code, code, `${key} ${list}`);
      t.true(r.messages.vi.length > 10 && r.messages.en.length > 10);
    }
  }
});

test('fonts missing: no rules, subsets answer 404, and the log says so once', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(s) });
  const f = fonts(tempDir(), join(tempDir(), 'no-such-dir'), logger);
  t.is(f.fontFaceCss(ch(0x21982)), '');
  t.is(f.fontFaceCss(`${ch(0x21982)} ${ch(0x340c)}`), '');
  const r = await f.subset('AAAAAAAAAAAAAAAAAAAAAA', '21982');
  t.false(r.ok);
  if (!r.ok) t.is(r.status, 404);
  t.is(lines.length, 1);
  t.regex(lines[0]!, /fonts-hanazono/);
});

test('cutting is a bounded queue: past the limit a new subset is refused with 503, asking again for one being cut joins it', async (t) => {
  const f = fonts(tempDir(), DEFAULT_NOM_FONT_DIR, undefined, 2);
  const [one, two, three] = [0x21982, 0x2a700, 0x2a701].map((cp) => urls(f.fontFaceCss(ch(cp)))[0]!) as [Url, Url, Url];
  // Started in one tick: nothing is awaited before a cut is queued.
  const [a, b, c, d] = await Promise.all([one, two, one, three].map((u) => f.subset(u.key, u.list)));
  t.deepEqual([a, b, c, d].map((r) => (r!.ok ? 200 : r!.status)), [200, 200, 200, 503]);
  t.true(a?.ok === true && c?.ok === true && a.body === c.body, 'the second ask for the same subset shared the first cut');
  // Once the queue has drained, the refused one is cut.
  const later = await f.subset(three.key, three.list);
  t.true(later.ok);
});
