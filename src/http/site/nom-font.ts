import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import subsetFont from 'subset-font';
import type { Bilingual } from '../../domain/errors.ts';
import { DiskCache, MemoryLru } from '../../iiif/response-cache.ts';
import { type Coverage, coverageOf, readCmapTable } from './font-cmap.ts';
import { CodePointList, MAX_SUBSET_CODE_POINTS, formatCodePoints, nomCodePoints, unicodeRange } from './nom-text.ts';

/**
 * Nôm on screen: a page whose text holds Nôm-range characters (see nom-text.ts) gets
 * `@font-face` rules for a free font that has them (Debian's fonts-hanazono: HanaMinA for
 * the BMP and part of Ext B, HanaMinB for the rest of the ideographic planes), subset to
 * exactly the characters of that page. Each rule's `unicode-range` lists its characters, so
 * the browser uses the face for those and nothing else, and fetches it only when they are
 * on screen. A page without such characters gets no rule at all.
 *
 * A subset's URL carries its characters (`?c=`) and a key: a hash of the installed font's
 * identity and that list. The URL is therefore content-addressed (cacheable for a year)
 * and needs no server-side state; a forged or stale key is refused. Subsets are cut with
 * harfbuzz (subset-font) on first request and kept in memory and on disk.
 *
 * Missing font files never break a page: one warning in the log, and pages render without
 * the rules (Nôm then shows in whatever font the reader's system has).
 */
export const NOM_FONT_FAMILY = 'Thukho Nom';
export const DEFAULT_NOM_FONT_DIR = '/usr/share/fonts/truetype/hanazono';
/** Tried in this order for each character: the first file whose cmap has it serves it. */
export const NOM_FONT_FILES = ['HanaMinA.ttf', 'HanaMinB.ttf'] as const;
export const NOM_FONT_PATH = '/fonts/nom/';
export const WOFF2 = 'font/woff2';

const KEY = /^[A-Za-z0-9_-]{22}$/;

interface Face {
  path: string;
  coverage: Coverage;
  /** Changes when the installed file does (package upgrade): old URLs stop matching. */
  version: string;
}

export type SubsetResult = { ok: true; body: Buffer; key: string } | { ok: false; status: 400 | 404 | 503; code: string; messages: Bilingual };

export interface NomFonts {
  /** `@font-face` rules for the Nôm characters of `text` the fonts have; '' when there are none. */
  fontFaceCss(text: string): string;
  /** The subset a font URL names (`key` from the path, `list` from `?c=`), validated. */
  subset(key: string, list: string | undefined): Promise<SubsetResult>;
}

export interface NomFontOptions {
  dir: string;
  /** Where cut subsets are kept across restarts. */
  cacheDir: string;
  logger: Logger;
  memoryCacheBytes?: number;
  diskCacheBytes?: number;
  /** Distinct subsets being cut or waiting at once; more are refused (503) until some finish. */
  maxPendingCuts?: number;
}

function loadFaces(dir: string, logger: Logger): Face[] {
  const faces: Face[] = [];
  const problems: string[] = [];
  for (const file of NOM_FONT_FILES) {
    const path = join(dir, file);
    try {
      const cmap = readCmapTable(path);
      const s = statSync(path);
      const version = createHash('sha256').update(`${file}\n${s.size}\n${s.mtimeMs}\n`).update(cmap).digest('hex');
      faces.push({ path, coverage: coverageOf(cmap, path), version });
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  }
  if (problems.length) {
    logger.warn(
      { problems, install: 'apt-get install fonts-hanazono' },
      faces.length ? 'some Nôm font files are unusable: their characters show in the reader\'s own fonts' : 'no Nôm font installed (fonts-hanazono): pages are served without a Nôm web font',
    );
  }
  return faces;
}

const keyOf = (face: Face, list: string) => createHash('sha256').update(`${face.version}\n${list}`).digest('base64url').slice(0, 22);

function fontFace(url: string, cps: readonly number[]): string {
  return `@font-face{font-family:"${NOM_FONT_FAMILY}";src:url(${url}) format("woff2");unicode-range:${unicodeRange(cps)};font-display:swap}`;
}

export function nomFonts(options: NomFontOptions): NomFonts {
  const { dir, logger } = options;
  let faces: Face[] | undefined;
  // Read on first use (a few hundred KB of cmap), once: installing the font needs a restart.
  const loaded = () => (faces ??= loadFaces(dir, logger));
  const faceOf = (cp: number) => loaded().find((f) => f.coverage.has(cp));
  const memory = new MemoryLru(options.memoryCacheBytes ?? 16 * 1024 * 1024);
  const disk = new DiskCache(options.cacheDir, options.diskCacheBytes ?? 256 * 1024 * 1024);
  const cutting = new Map<string, Promise<Buffer>>();
  // A search page echoes its query, so anyone can make a page with any Nôm characters, and so
  // a valid URL for any subset; each cut reads the font and takes harfbuzz about a second.
  // A bounded queue keeps that from piling up: a refused face falls back to the reader's fonts.
  const maxPending = options.maxPendingCuts ?? 8;

  async function cut(face: Face, key: string, cps: readonly number[]): Promise<Buffer> {
    const stored = await disk.get(key, WOFF2);
    if (stored) return stored.body;
    const font = await readFile(face.path);
    const body = await subsetFont(font, String.fromCodePoint(...cps), { targetFormat: 'woff2' });
    await disk.set(key, { body, contentType: WOFF2 });
    return body;
  }

  return {
    fontFaceCss(text) {
      const cps = nomCodePoints(text);
      if (cps.length === 0 || loaded().length === 0) return '';
      const byFace = new Map<Face, number[]>();
      for (const cp of cps) {
        const face = faceOf(cp);
        if (!face) continue;
        const list = byFace.get(face);
        if (list) list.push(cp);
        else byFace.set(face, [cp]);
      }
      const rules: string[] = [];
      for (const [face, all] of byFace) {
        for (let i = 0; i < all.length; i += MAX_SUBSET_CODE_POINTS) {
          const chunk = all.slice(i, i + MAX_SUBSET_CODE_POINTS);
          const list = formatCodePoints(chunk);
          rules.push(fontFace(`${NOM_FONT_PATH}${keyOf(face, list)}.woff2?c=${list}`, chunk));
        }
      }
      return rules.join('\n');
    },

    async subset(key, list) {
      if (!KEY.test(key)) {
        return { ok: false, status: 400, code: 'invalid-font-key', messages: { vi: 'Tên tệp phông phải là 22 ký tự base64url rồi .woff2.', en: 'The font file name must be 22 base64url characters followed by .woff2.' } };
      }
      const parsed = CodePointList.safeParse(list);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((i) => i.message).join('; ');
        return { ok: false, status: 400, code: 'invalid-code-points', messages: { vi: `Danh sách ký tự không hợp lệ — ${reason}`, en: `Invalid character list — ${reason}` } };
      }
      if (loaded().length === 0) {
        return { ok: false, status: 404, code: 'nom-font-missing', messages: { vi: 'Máy chủ chưa cài phông chữ Nôm (fonts-hanazono).', en: 'No Nôm font is installed on this server (fonts-hanazono).' } };
      }
      const cps = parsed.data;
      const face = faceOf(cps[0]!);
      const stray = cps.find((cp) => faceOf(cp) !== face);
      if (!face || stray !== undefined) {
        const cp = (face ? stray! : cps[0]!).toString(16).toUpperCase();
        return { ok: false, status: 400, code: 'invalid-code-points', messages: { vi: `U+${cp} không có trong phông của bộ này.`, en: `U+${cp} is not in this subset's font file.` } };
      }
      if (keyOf(face, list!) !== key) {
        return {
          ok: false,
          status: 404,
          code: 'font-key-mismatch',
          messages: { vi: 'Khóa không khớp danh sách ký tự với phông đang cài (trang có thể cũ hơn phông: hãy tải lại trang).', en: 'The key does not match this character list for the installed font (the page may be older than the font: reload it).' },
        };
      }
      const hit = memory.get(key);
      if (hit) return { ok: true, body: hit.body, key };
      let job = cutting.get(key);
      if (!job && cutting.size >= maxPending) {
        return { ok: false, status: 503, code: 'nom-font-busy', messages: { vi: 'Máy chủ đang cắt nhiều phông chữ Nôm; hãy thử lại sau ít giây.', en: 'The server is busy cutting other Nôm font subsets; try again in a few seconds.' } };
      }
      if (!job) {
        job = cut(face, key, cps).finally(() => cutting.delete(key));
        cutting.set(key, job);
      }
      try {
        const body = await job;
        memory.set(key, { body, contentType: WOFF2 });
        return { ok: true, body, key };
      } catch (err) {
        logger.error({ err, font: face.path }, 'cutting a Nôm font subset failed');
        return { ok: false, status: 503, code: 'nom-font-unavailable', messages: { vi: 'Không cắt được phông chữ Nôm lúc này.', en: 'The Nôm font subset could not be made right now.' } };
      }
    },
  };
}
