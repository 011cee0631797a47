import sharp, { type OverlayOptions } from 'sharp';
import { scriptsOf } from '../ocr/languages.ts';

/**
 * Scan-like pages for the demo collection, rendered here so that nothing is downloaded:
 * aged-paper background, a frame, the work's text and a folio. A work recorded in Han only
 * (lzh) gets vertical Han pages, columns right to left as woodblock prints are (Hanazono
 * Mincho, Debian's fonts-hanazono); every other work gets Quốc ngữ lines. A work naming both
 * scripts (Truyện Kiều's vie + lzh, Nam Phong's vie + lzh + fra) gets Quốc ngữ pages: its
 * record is not changed to fit the pages, and its OCR reads them with every language named,
 * as it would read a real scan of such a work.
 *
 * Each word (each character on a Han page) is drawn alone, trimmed to its ink and set at a
 * chosen place, so the page's layout says where every word's ink is, to the pixel: the test of
 * the demo's OCR checks Content Search boxes against it. Deterministic: same work, same folio,
 * same bytes.
 */
export interface DemoInk {
  text: string;
  /** The line (Quốc ngữ) or column (Han, the rightmost 0) the word is on, in reading order. */
  line: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DemoPage {
  tiff: Buffer;
  width: number;
  height: number;
  script: 'quoc-ngu' | 'han';
  /** Every word drawn, in reading order: the title's, the body's, then the folio's. */
  words: DemoInk[];
}

/** The size the demo pages have always had. */
const WIDTH = 1240;
const HEIGHT = 1754;
const PAPER = { r: 233, g: 220, b: 190 };

const KIEU = [
  'Trăm năm trong cõi người ta,',
  'Chữ tài chữ mệnh khéo là ghét nhau.',
  'Trải qua một cuộc bể dâu,',
  'Những điều trông thấy mà đau đớn lòng.',
  'Lạ gì bỉ sắc tư phong,',
  'Trời xanh quen thói má hồng đánh ghen.',
  'Cảo thơm lần giở trước đèn,',
  'Phong tình cổ lục còn truyền sử xanh.',
  'Rằng năm Gia Tĩnh triều Minh,',
  'Bốn phương phẳng lặng, hai kinh vững vàng.',
  'Có nhà viên ngoại họ Vương,',
  'Gia tư nghỉ cũng thường thường bậc trung.',
  'Một trai con thứ rốt lòng,',
  'Vương Quan là chữ, nối dòng nho gia.',
  'Đầu lòng hai ả tố nga,',
  'Thúy Kiều là chị, em là Thúy Vân.',
  'Mai cốt cách, tuyết tinh thần,',
  'Mỗi người một vẻ, mười phân vẹn mười.',
];

const LUC_VAN_TIEN = [
  'Trước đèn xem truyện Tây Minh,',
  'Gẫm cười hai chữ nhân tình éo le.',
  'Hỡi ai lẳng lặng mà nghe,',
  'Dữ răn việc trước, lành dè thân sau.',
  'Trai thời trung hiếu làm đầu,',
  'Gái thời tiết hạnh là câu trau mình.',
  'Có người ở quận Đông Thành,',
  'Tu nhân tích đức sớm sanh con hiền.',
  'Đặt tên là Lục Vân Tiên,',
  'Tuổi vừa hai tám nghề chuyên học hành.',
  'Theo thầy nấu sử sôi kinh,',
  'Tháng ngày bao quản sân Trình lao đao.',
];

/** The Thousand Character Classic (千字文, 6th century), its first 144 characters: 8 a column. */
const THOUSAND_CHARACTERS = [
  '天地玄黃宇宙洪荒', '日月盈昃辰宿列張', '寒來暑往秋收冬藏', '閏餘成歲律呂調陽', '雲騰致雨露結為霜', '金生麗水玉出崑岡',
  '劍號巨闕珠稱夜光', '果珍李柰菜重芥薑', '海鹹河淡鱗潛羽翔', '龍師火帝鳥官人皇', '始制文字乃服衣裳', '推位讓國有虞陶唐',
  '弔民伐罪周發殷湯', '坐朝問道垂拱平章', '愛育黎首臣伏戎羌', '遐邇一體率賓歸王', '鳴鳳在竹白駒食場', '化被草木賴及萬方',
];

/** Each Quốc ngữ work's own text; Truyện Kiều for the others (Nam Phong printed and championed it). */
const QUOC_NGU_TEXTS: Record<string, readonly string[]> = { 'luc-van-tien-1889': LUC_VAN_TIEN };

const QUOC_NGU_LINES_PER_PAGE = 6;
const HAN_COLUMNS_PER_PAGE = 6;
const HAN_NUMERALS = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

export interface DemoWork {
  id: string;
  title: string;
  /** The Han title, drawn at the head of a Han page. */
  hanTitle?: string;
  languages: readonly string[];
}

/** Han pages for a work recorded in Han only; Quốc ngữ for every other, mixed ones included. */
export function demoScript(languages: readonly string[]): DemoPage['script'] {
  const scripts = scriptsOf(languages.length > 0 ? languages : ['vie']);
  return scripts.size === 1 && scripts.has('han') ? 'han' : 'quoc-ngu';
}

/** The lines of page `folio` (1-based), taken in turn from the work's text, wrapping around. */
function pageSlice(text: readonly string[], perPage: number, folio: number): string[] {
  const start = ((folio - 1) * perPage) % text.length;
  return Array.from({ length: Math.min(perPage, text.length) }, (_, i) => text[(start + i) % text.length]!);
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Glyphs {
  png: Buffer;
  w: number;
  h: number;
  /** Rows of ink above the baseline. */
  aboveBaseline: number;
}

const drawn = new Map<string, Promise<Glyphs>>();

/** A word's ink, drawn alone through librsvg and trimmed: the same bytes every time. */
function ink(text: string, font: { family: string; px: number; bold?: boolean; fill: string }): Promise<Glyphs> {
  const key = JSON.stringify([text, font]);
  let glyphs = drawn.get(key);
  if (!glyphs) {
    glyphs = (async () => {
      const baseline = font.px * 2;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${font.px * ([...text].length + 4)}" height="${font.px * 3}"><text x="${font.px}" y="${baseline}" font-family="${font.family}" font-size="${font.px}"${font.bold ? ' font-weight="bold"' : ''} fill="${font.fill}">${escape(text)}</text></svg>`;
      const { data, info } = await sharp(Buffer.from(svg)).trim({ threshold: 10 }).png().toBuffer({ resolveWithObject: true });
      // sharp reports the trim as the (negative) offset of what was kept.
      return { png: data, w: info.width, h: info.height, aboveBaseline: baseline + (info.trimOffsetTop ?? 0) };
    })();
    drawn.set(key, glyphs);
  }
  return glyphs;
}

class Sheet {
  readonly words: DemoInk[] = [];
  readonly layers: OverlayOptions[] = [];

  place(text: string, line: number, glyphs: Glyphs, x: number, y: number): void {
    if (x < 0 || y < 0 || x + glyphs.w > WIDTH || y + glyphs.h > HEIGHT) throw new Error(`"${text}" does not fit on the demo page`);
    this.words.push({ text, line, x, y, w: glyphs.w, h: glyphs.h });
    this.layers.push({ input: glyphs.png, left: x, top: y });
  }

  /** Words on a baseline, centred on `centre` or from `left`, `gap` px of paper between them. */
  async row(text: string, line: number, font: Parameters<typeof ink>[1], baseline: number, at: { left: number } | { centre: number }): Promise<void> {
    const words = text.split(' ').filter(Boolean);
    const inks = await Promise.all(words.map((w) => ink(w, font)));
    const gap = Math.round(font.px / 3);
    const width = inks.reduce((sum, g) => sum + g.w, 0) + gap * (inks.length - 1);
    let x = 'left' in at ? at.left : Math.round(at.centre - width / 2);
    for (const [i, g] of inks.entries()) {
      this.place(words[i]!, line, g, x, baseline - g.aboveBaseline);
      x += g.w + gap;
    }
  }

  /** Characters down a column centred on `centre`, one every `pitch` px from `top`, each a word. */
  async column(text: string, line: number, font: Parameters<typeof ink>[1], centre: number, top: number, pitch: number): Promise<void> {
    for (const [i, ch] of [...text].entries()) {
      const g = await ink(ch, font);
      this.place(ch, line, g, Math.round(centre - g.w / 2), Math.round(top + i * pitch + (pitch - g.h) / 2));
    }
  }
}

const FRAME = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}"><rect x="70" y="70" width="${WIDTH - 140}" height="${HEIGHT - 140}" fill="none" stroke="#8a6d4a" stroke-width="6"/></svg>`;

async function quocNguPage(sheet: Sheet, title: string, lines: readonly string[], folio: number): Promise<void> {
  await sheet.row(title, 0, { family: 'DejaVu Serif', px: 72, bold: true, fill: '#3a2a1a' }, 300, { centre: WIDTH / 2 });
  for (const [i, line] of lines.entries()) await sheet.row(line, i + 1, { family: 'DejaVu Serif', px: 44, fill: '#2b2118' }, 520 + i * 100, { left: 140 });
  await sheet.row(`— ${folio} —`, lines.length + 1, { family: 'DejaVu Serif', px: 44, fill: '#5a4632' }, HEIGHT - 140, { centre: WIDTH / 2 });
}

/** The title's column at the right edge, the text's columns leftwards, the folio low in the title's column. */
async function hanPage(sheet: Sheet, title: string, columns: readonly string[], folio: number): Promise<void> {
  const pitch = 150;
  const right = WIDTH - 190;
  await sheet.column(title, 0, { family: 'HanaMinA', px: 100, fill: '#3a2a1a' }, right, 180, 130);
  for (const [i, column] of columns.entries()) await sheet.column(column, i + 1, { family: 'HanaMinA', px: 100, fill: '#2b2118' }, right - (i + 1) * pitch, 200, 150);
  const numeral = [...String(folio)].map((d) => HAN_NUMERALS[Number(d)]).join('');
  await sheet.column(numeral, columns.length + 1, { family: 'HanaMinA', px: 60, fill: '#5a4632' }, right, HEIGHT - 300, 80);
}

/** Page `folio` (1-based) of a demo work, in the script its languages call for, with its layout. */
export async function renderDemoWorkPage(work: DemoWork, folio: number): Promise<DemoPage> {
  const sheet = new Sheet();
  const script = demoScript(work.languages);
  if (script === 'han') await hanPage(sheet, work.hanTitle ?? '千字文', pageSlice(THOUSAND_CHARACTERS, HAN_COLUMNS_PER_PAGE, folio), folio);
  else await quocNguPage(sheet, work.title, pageSlice(QUOC_NGU_TEXTS[work.id] ?? KIEU, QUOC_NGU_LINES_PER_PAGE, folio), folio);
  const tiff = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: PAPER } })
    .composite([{ input: Buffer.from(FRAME) }, ...sheet.layers])
    .withMetadata({ density: 300 })
    .tiff({ compression: 'jpeg', quality: 88 })
    .toBuffer();
  return { tiff, width: WIDTH, height: HEIGHT, script, words: sheet.words };
}

/** A Quốc ngữ demo page (the opening of Truyện Kiều) under `title`, as a TIFF. */
export async function renderDemoPage(title: string, folio: number): Promise<Buffer> {
  return (await renderDemoWorkPage({ id: 'demo', title, languages: ['vie'] }, folio)).tiff;
}
