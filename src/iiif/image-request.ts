import type { Bilingual } from '../domain/errors.ts';

/**
 * IIIF Image API 3.0 image requests (https://iiif.io/api/image/3.0/#4-image-requests),
 * compliance level 2 plus upscaling (`^`), arbitrary rotation and mirroring: the four path
 * segments after the identifier are checked, resolved against the image's pixel size and the
 * server's limits, and given their canonical form (the spec's "Canonical URI Syntax"
 * section). Pure: no I/O, no image library.
 *
 * Choices the spec leaves open ("the rounding method is implementation specific", Floating
 * Point Values), made here so that canonical paths name the files of the standard tile grid
 * as libvips' `iiif3` layout writes them (derivative-store.ts):
 *
 * - pct regions: each EDGE is rounded to the nearest pixel, then width = right − left.
 *   Regions that share an edge (pct:0,0,50,100 and pct:50,0,50,100) share that pixel
 *   column, so they tile without gap or overlap, which rounding x and w separately does not
 *   guarantee.
 * - `w,` / `,h` / `!w,h` / `max`: the other side keeps the region's aspect ratio, rounded to
 *   the nearest pixel (never below 1), EXCEPT when the given side is ceil(side / s) for an
 *   integer scale factor s: then the other side is ceil(other / s), as the spec's tile
 *   calculation and libvips' pyramid levels size it (see `otherSide`). So the viewer's
 *   `x,y,w,h/ceil(w/s),` names the grid tile `x,y,w,h/ceil(w/s),ceil(h/s)`.
 * - Canonical size `max` (or `^max`) is used when the result is the max (upscaled max) size
 *   AND either that form was requested or the region is the full image. Explicit sizes of a
 *   cropped region stay `w,h` even when they equal the region: the grid's scale-1 tiles are
 *   files named `x,y,w,h/w,h`, and making them `max` would send every such tile through the
 *   renderer instead of the file store.
 * - Rotation 360 stays 360 in the canonical form: the spec allows "0 to 360" and its
 *   canonical rule only asks for an integer where possible, it never equates 360 with 0.
 */

export type Quality = 'default' | 'color' | 'gray' | 'bitonal';
export type Format = 'jpg' | 'png' | 'webp';
export const QUALITIES: readonly Quality[] = ['default', 'color', 'gray', 'bitonal'];
export const FORMATS: readonly Format[] = ['jpg', 'png', 'webp'];

export interface ImageLimits {
  maxWidth: number;
  maxHeight: number;
  maxArea: number;
}

export interface ImageRequest {
  /** Integer pixels in the full image, already clipped to the image. */
  region: { x: number; y: number; w: number; h: number };
  /** The region covers the whole image. */
  fullRegion: boolean;
  /** Integer output size before rotation; `upscaled` when larger than the region either way. */
  size: { width: number; height: number; upscaled: boolean };
  rotation: { mirror: boolean; degrees: number };
  quality: Quality;
  format: Format;
  /** Canonical "{region}/{size}/{rotation}/{quality}.{format}" per Image API 3 §4.7 (no leading slash). */
  canonical: string;
}

export type ImageRequestErrorCode =
  | 'invalid-region'
  | 'invalid-size'
  | 'invalid-rotation'
  | 'invalid-quality'
  | 'invalid-format'
  | 'region-outside-image'
  | 'upscale-not-allowed'
  | 'size-too-large';

export class ImageRequestError extends Error {
  readonly status = 400;
  readonly code: ImageRequestErrorCode;
  readonly messages: Bilingual;
  readonly detail: Record<string, unknown>;

  constructor(code: ImageRequestErrorCode, messages: Bilingual, detail: Record<string, unknown> = {}) {
    super(messages.en);
    this.name = 'ImageRequestError';
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}

/** Pixel values beyond a signed 32-bit int are refused: no image is that large, and it keeps
 * every later product (w × h) exact in a double. */
const MAX_INT = 2 ** 31 - 1;

const INTEGER = /^[0-9]+$/;
/** Digits with an optional fraction; no sign, exponent, leading or trailing dot (spec,
 * "Floating Point Values": "only decimal digits and '.'", "0.9 not .9"). */
const DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/;

type Box = { x: number; y: number; w: number; h: number };
type Size = { width: number; height: number };

type RegionSpec = { kind: 'full' } | { kind: 'square' } | { kind: 'px'; v: Box } | { kind: 'pct'; v: Box };
type SizeForm =
  | { kind: 'max' }
  | { kind: 'w'; w: number }
  | { kind: 'h'; h: number }
  | { kind: 'pct'; n: number }
  | { kind: 'wh'; w: number; h: number }
  | { kind: 'confined'; w: number; h: number };
type SizeSpec = SizeForm & { up: boolean };

export function parseImageRequest(
  segments: { region: string; size: string; rotation: string; qualityFormat: string },
  image: { width: number; height: number },
  limits: ImageLimits,
): ImageRequest {
  if (!isPositiveInt(image.width) || !isPositiveInt(image.height)) {
    throw new RangeError(`image size must be positive integers, got ${image.width}×${image.height}`);
  }
  // Syntax of every segment first, so a malformed URL is reported as such rather than as
  // whatever semantic check happens to come first.
  const regionSpec = parseRegion(segments.region);
  const sizeSpec = parseSize(segments.size);
  const rotation = parseRotation(segments.rotation);
  const { quality, format } = parseQualityFormat(segments.qualityFormat);

  const region = resolveRegion(regionSpec, segments.region, image);
  const fullRegion = region.x === 0 && region.y === 0 && region.w === image.width && region.h === image.height;
  const size = resolveSize(sizeSpec, segments.size, region, limits);

  const regionText = fullRegion ? 'full' : `${region.x},${region.y},${region.w},${region.h}`;
  const sizeText = canonicalSize(sizeSpec, size, region, fullRegion, limits);
  const rotationText = `${rotation.mirror ? '!' : ''}${rotation.text}`;
  return {
    region,
    fullRegion,
    size,
    rotation: { mirror: rotation.mirror, degrees: rotation.degrees },
    quality,
    format,
    canonical: `${regionText}/${sizeText}/${rotationText}/${quality}.${format}`,
  };
}

// ---------------------------------------------------------------------------------------
// Syntax

function parseRegion(text: string): RegionSpec {
  if (text === 'full') return { kind: 'full' };
  if (text === 'square') return { kind: 'square' };
  const pct = text.startsWith('pct:');
  const parts = (pct ? text.slice(4) : text).split(',');
  const values = parts.map((p) => (pct ? decimal(p) : integer(p)));
  const [x, y, w, h] = values;
  if (values.length !== 4 || x === undefined || y === undefined || w === undefined || h === undefined || w <= 0 || h <= 0) {
    throw regionError(text);
  }
  return { kind: pct ? 'pct' : 'px', v: { x, y, w, h } };
}

function parseSize(text: string): SizeSpec {
  const up = text.startsWith('^');
  const body = up ? text.slice(1) : text;
  const form = sizeForm(body);
  if (!form) throw sizeError(text);
  return { ...form, up };
}

function sizeForm(body: string): SizeForm | undefined {
  if (body === 'max') return { kind: 'max' };
  if (body.startsWith('pct:')) {
    const n = decimal(body.slice(4));
    return n === undefined || n === 0 ? undefined : { kind: 'pct', n };
  }
  const confined = body.startsWith('!');
  const parts = (confined ? body.slice(1) : body).split(',');
  if (parts.length !== 2) return undefined;
  const [ws = '', hs = ''] = parts;
  const w = integer(ws);
  const h = integer(hs);
  if (w === 0 || h === 0) return undefined;
  if (w !== undefined && h !== undefined) return confined ? { kind: 'confined', w, h } : { kind: 'wh', w, h };
  if (confined) return undefined;
  if (w !== undefined && hs === '') return { kind: 'w', w };
  if (h !== undefined && ws === '') return { kind: 'h', h };
  return undefined;
}

function parseRotation(text: string): { mirror: boolean; degrees: number; text: string } {
  const mirror = text.startsWith('!');
  const body = mirror ? text.slice(1) : text;
  if (!DECIMAL.test(body)) throw rotationError(text);
  // Canonicalised as text, not via Number → String, which would write 1e-7 for 0.0000001.
  const [intPart = '', fracPart = ''] = body.split('.');
  const int = intPart.replace(/^0+(?=\d)/, '');
  const frac = fracPart.replace(/0+$/, '');
  if (int.length > 3 || Number(int) > 360 || (Number(int) === 360 && frac !== '')) throw rotationError(text);
  const canonical = frac ? `${int}.${frac}` : int;
  return { mirror, degrees: Number(canonical), text: canonical };
}

function parseQualityFormat(text: string): { quality: Quality; format: Format } {
  const dot = text.indexOf('.');
  const quality = dot < 0 ? text : text.slice(0, dot);
  const format = dot < 0 ? '' : text.slice(dot + 1);
  if (!isQuality(quality)) {
    throw new ImageRequestError(
      'invalid-quality',
      {
        vi: `Chất lượng ảnh (quality) không hợp lệ: ${quote(quality)} trong ${quote(text)}; chỉ nhận ${QUALITIES.join(', ')}.`,
        en: `Invalid quality ${quote(quality)} in ${quote(text)}; expected one of ${QUALITIES.join(', ')}.`,
      },
      { segment: 'quality', value: text },
    );
  }
  if (!isFormat(format)) {
    throw new ImageRequestError(
      'invalid-format',
      {
        vi: `Định dạng ảnh (format) không hợp lệ: ${quote(format)} trong ${quote(text)}; chỉ nhận ${FORMATS.join(', ')}.`,
        en: `Invalid format ${quote(format)} in ${quote(text)}; expected one of ${FORMATS.join(', ')}.`,
      },
      { segment: 'format', value: text },
    );
  }
  return { quality, format };
}

function isQuality(s: string): s is Quality {
  return (QUALITIES as readonly string[]).includes(s);
}

function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}

function integer(s: string): number | undefined {
  if (!INTEGER.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_INT ? n : undefined;
}

function decimal(s: string): number | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_INT ? n : undefined;
}

function isPositiveInt(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

// ---------------------------------------------------------------------------------------
// Region

function resolveRegion(spec: RegionSpec, text: string, image: { width: number; height: number }): Box {
  const W = image.width;
  const H = image.height;
  if (spec.kind === 'full') return { x: 0, y: 0, w: W, h: H };
  if (spec.kind === 'square') {
    const side = Math.min(W, H);
    return { x: Math.floor((W - side) / 2), y: Math.floor((H - side) / 2), w: side, h: side };
  }
  let left: number, top: number, right: number, bottom: number;
  if (spec.kind === 'px') {
    ({ x: left, y: top } = spec.v);
    right = left + spec.v.w;
    bottom = top + spec.v.h;
  } else {
    const { x, y, w, h } = spec.v;
    left = pctEdge(x, W);
    top = pctEdge(y, H);
    right = pctEdge(x + w, W);
    bottom = pctEdge(y + h, H);
  }
  if (left >= W || top >= H) {
    throw new ImageRequestError(
      'region-outside-image',
      {
        vi: `Vùng ảnh (region) ${quote(text)} nằm hoàn toàn ngoài ảnh ${W}×${H} điểm ảnh.`,
        en: `Region ${quote(text)} lies entirely outside the ${W}×${H} pixel image.`,
      },
      { segment: 'region', value: text, width: W, height: H },
    );
  }
  // Cropped at the image's edge rather than padded (§4.1).
  right = Math.min(right, W);
  bottom = Math.min(bottom, H);
  if (right <= left || bottom <= top) {
    // Only a pct region can get here: a sliver that rounds to no pixel at all.
    throw new ImageRequestError(
      'invalid-region',
      {
        vi: `Vùng ảnh (region) ${quote(text)} nhỏ hơn một điểm ảnh trên ảnh ${W}×${H}.`,
        en: `Region ${quote(text)} is smaller than one pixel of the ${W}×${H} image.`,
      },
      { segment: 'region', value: text, width: W, height: H },
    );
  }
  return { x: left, y: top, w: right - left, h: bottom - top };
}

/**
 * A percentage of a side, as a pixel edge. The product is first snapped to 1e-6 px so that
 * the same edge written two ways (33.3 + 33.3 and 66.6) cannot round to different pixels.
 */
function pctEdge(pct: number, side: number): number {
  return Math.round(Math.round((pct * side) / 100 * 1e6) / 1e6);
}

// ---------------------------------------------------------------------------------------
// Size

function resolveSize(spec: SizeSpec, text: string, region: Box, limits: ImageLimits): ImageRequest['size'] {
  let size: Size;
  switch (spec.kind) {
    case 'max':
      // `^max` with no finite limit has nothing to scale up to: it is the region's size.
      size = (spec.up ? upscaledMax(region, limits) : undefined) ?? maxSize(region, limits);
      break;
    case 'confined': {
      // Fitted, never refused: "as large as possible but not larger than [the region,] w, h,
      // or server-imposed limits".
      const boxW = Math.min(spec.w, limits.maxWidth, spec.up ? Infinity : region.w);
      const boxH = Math.min(spec.h, limits.maxHeight, spec.up ? Infinity : region.h);
      size = fitInside(region, boxW, boxH, limits.maxArea);
      break;
    }
    case 'w':
      size = { width: spec.w, height: otherSide(spec.w, region.w, region.h) };
      break;
    case 'h':
      size = { width: otherSide(spec.h, region.h, region.w), height: spec.h };
      break;
    case 'wh':
      size = { width: spec.w, height: spec.h };
      break;
    case 'pct':
      size = { width: Math.round((region.w * spec.n) / 100), height: Math.round((region.h * spec.n) / 100) };
      if (size.width < 1 || size.height < 1) {
        throw new ImageRequestError(
          'invalid-size',
          {
            vi: `Kích thước (size) ${quote(text)} cho ảnh nhỏ hơn một điểm ảnh (vùng ảnh ${region.w}×${region.h}).`,
            en: `Size ${quote(text)} gives an image smaller than one pixel (region ${region.w}×${region.h}).`,
          },
          { segment: 'size', value: text },
        );
      }
      break;
  }
  const upscaled = size.width > region.w || size.height > region.h;
  // pct:n over 100 is refused even when rounding hides it ("MUST NOT be greater than 100").
  if (!spec.up && (upscaled || (spec.kind === 'pct' && spec.n > 100))) {
    throw new ImageRequestError(
      'upscale-not-allowed',
      {
        vi: `Kích thước (size) ${quote(text)} lớn hơn vùng ảnh ${region.w}×${region.h}; muốn phóng to thì thêm tiền tố ^.`,
        en: `Size ${quote(text)} is larger than the ${region.w}×${region.h} region; prefix it with ^ to upscale.`,
      },
      { segment: 'size', value: text, regionWidth: region.w, regionHeight: region.h },
    );
  }
  if (size.width > limits.maxWidth || size.height > limits.maxHeight || size.width * size.height > limits.maxArea) {
    throw new ImageRequestError(
      'size-too-large',
      {
        vi: `Kích thước (size) ${quote(text)} cho ảnh ${size.width}×${size.height}, vượt giới hạn của máy chủ (rộng tối đa ${limits.maxWidth}, cao tối đa ${limits.maxHeight}, diện tích tối đa ${limits.maxArea} điểm ảnh).`,
        en: `Size ${quote(text)} gives a ${size.width}×${size.height} image, over the server's limits (width ${limits.maxWidth}, height ${limits.maxHeight}, area ${limits.maxArea} pixels).`,
      },
      { segment: 'size', value: text, width: size.width, height: size.height, ...limits },
    );
  }
  return { ...size, upscaled };
}

/** `max`: the region, scaled down only as far as the limits require. */
function maxSize(region: Box, limits: ImageLimits): Size {
  return fitInside(region, Math.min(region.w, limits.maxWidth), Math.min(region.h, limits.maxHeight), limits.maxArea);
}

/** `^max`: the region scaled to the limits, up or down; undefined when nothing limits it. */
function upscaledMax(region: Box, limits: ImageLimits): Size | undefined {
  if (![limits.maxWidth, limits.maxHeight, limits.maxArea].some(Number.isFinite)) return undefined;
  return fitInside(region, limits.maxWidth, limits.maxHeight, limits.maxArea);
}

/**
 * The largest size with the region's aspect ratio that fits boxW × boxH and maxArea. The
 * binding constraint gets its exact value and the other side follows by `otherSide`, so a
 * box that is a grid tile's size yields exactly that tile.
 */
function fitInside(region: Box, boxW: number, boxH: number, maxArea: number): Size {
  const scaleW = boxW / region.w;
  const scaleH = boxH / region.h;
  const scaleA = Math.sqrt(maxArea / (region.w * region.h));
  let size: Size;
  if (scaleW <= scaleH && scaleW <= scaleA) {
    size = { width: boxW, height: Math.min(boxH, otherSide(boxW, region.w, region.h)) };
  } else if (scaleH <= scaleA) {
    size = { width: Math.min(boxW, otherSide(boxH, region.h, region.w)), height: boxH };
  } else {
    size = {
      width: Math.max(1, Math.min(boxW, Math.round(region.w * scaleA))),
      height: Math.max(1, Math.min(boxH, Math.round(region.h * scaleA))),
    };
  }
  if (size.width * size.height > maxArea) {
    // Rounding up pushed it over the area limit: round down instead, and as a last resort
    // (limits too small for the aspect ratio) give up the ratio rather than the limit.
    const scale = Math.min(scaleW, scaleH, scaleA);
    size = {
      width: Math.max(1, Math.min(boxW, Math.floor(region.w * scale))),
      height: Math.max(1, Math.min(boxH, Math.floor(region.h * scale))),
    };
    if (size.width * size.height > maxArea) size.width = Math.max(1, Math.floor(maxArea / size.height));
  }
  return size;
}

/**
 * The side that keeps the region's aspect ratio when the other is `given` pixels.
 *
 * When `given` is ceil(side / s) for an integer scale factor s, the answer is
 * ceil(other / s): the region scaled by 1/s with both sides rounded up, which is how the
 * spec's own tile calculation sizes edge tiles (Implementation Notes §3) and how every
 * pyramid level is made (each level the previous one halved, rounding up). Both sides are
 * then within a pixel of the same exact scale, so the aspect ratio is as close as whole
 * pixels allow, but the result can differ from rounding given × other / side (1001×1403 at
 * s = 8: the grid says 126×176, rounding says 126×177). The s used is the smallest that fits,
 * i.e. the scale nearest to given / side; a few-pixel-wide edge strip, where many s fit, may
 * then differ from the grid's file, which costs a render, not a wrong image.
 *
 * Otherwise: the nearest pixel, never below 1.
 */
function otherSide(given: number, side: number, other: number): number {
  if (given < side) {
    const s = Math.ceil(side / given);
    if (Math.ceil(side / s) === given) return Math.ceil(other / s);
  }
  return Math.max(1, Math.round((given * other) / side));
}

function canonicalSize(spec: SizeSpec, size: ImageRequest['size'], region: Box, fullRegion: boolean, limits: ImageLimits): string {
  const askedMax = spec.kind === 'max';
  if (askedMax || fullRegion) {
    const target = size.upscaled ? upscaledMax(region, limits) : maxSize(region, limits);
    if (target && target.width === size.width && target.height === size.height) return size.upscaled ? '^max' : 'max';
  }
  return `${size.upscaled ? '^' : ''}${size.width},${size.height}`;
}

// ---------------------------------------------------------------------------------------
// Errors

function quote(s: string): string {
  // The segment comes from a URL: keep messages readable whatever was sent.
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function regionError(text: string): ImageRequestError {
  return new ImageRequestError(
    'invalid-region',
    {
      vi: `Tham số vùng ảnh (region) không hợp lệ: ${quote(text)}; dùng full, square, x,y,w,h hoặc pct:x,y,w,h (số không âm, w và h lớn hơn 0).`,
      en: `Invalid region ${quote(text)}; use full, square, x,y,w,h or pct:x,y,w,h (non-negative numbers, w and h above 0).`,
    },
    { segment: 'region', value: text },
  );
}

function sizeError(text: string): ImageRequestError {
  return new ImageRequestError(
    'invalid-size',
    {
      vi: `Tham số kích thước (size) không hợp lệ: ${quote(text)}; dùng max, w,, ,h, pct:n, w,h hoặc !w,h (có thể thêm tiền tố ^), với số lớn hơn 0.`,
      en: `Invalid size ${quote(text)}; use max, w,, ,h, pct:n, w,h or !w,h (optionally prefixed with ^), with numbers above 0.`,
    },
    { segment: 'size', value: text },
  );
}

function rotationError(text: string): ImageRequestError {
  return new ImageRequestError(
    'invalid-rotation',
    {
      vi: `Tham số xoay (rotation) không hợp lệ: ${quote(text)}; phải là số độ từ 0 đến 360, có thể có tiền tố ! để lật gương.`,
      en: `Invalid rotation ${quote(text)}; expected degrees from 0 to 360, optionally prefixed with ! to mirror.`,
    },
    { segment: 'rotation', value: text },
  );
}
