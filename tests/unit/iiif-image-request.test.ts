import test, { type ExecutionContext } from 'ava';
import {
  FORMATS,
  ImageRequestError,
  QUALITIES,
  parseImageRequest,
  type ImageLimits,
  type ImageRequest,
} from '../../src/iiif/image-request.ts';

/**
 * IIIF Image API 3.0 requests as viewers send them, and what the server must make of them.
 * SPEC is the 300×200 image of the spec's own examples (https://iiif.io/api/image/3.0/),
 * PAGE a portrait scan. Limits are generous unless a case is about limits.
 */
type Dim = [width: number, height: number];
const SPEC: Dim = [300, 200];
const PAGE: Dim = [1000, 1400];
const LIMITS: ImageLimits = { maxWidth: 10_000, maxHeight: 10_000, maxArea: 100_000_000 };
/** maxHeight inferred from maxWidth, no area limit: as the spec's size examples assume. */
const width = (w: number): ImageLimits => ({ maxWidth: w, maxHeight: w, maxArea: Infinity });

function parse(path: string, image: Dim, limits: ImageLimits = LIMITS): ImageRequest {
  const [region = '', size = '', rotation = '', qualityFormat = ''] = path.split('/');
  return parseImageRequest({ region, size, rotation, qualityFormat }, { width: image[0], height: image[1] }, limits);
}

function label(path: string, image: Dim, limits?: ImageLimits): string {
  const l = limits ? ` limits ${limits.maxWidth}×${limits.maxHeight}/${limits.maxArea}` : '';
  return `${path} on ${image[0]}×${image[1]}${l}`;
}

interface Ok {
  path: string;
  image: Dim;
  limits?: ImageLimits;
  canonical: string;
  /** Region in pixels after cropping, and output size, when worth pinning down. */
  region?: [number, number, number, number];
  size?: [number, number];
}

const ok: Ok[] = [
  // Spec §4.1 region examples (returned sizes as the spec states them)
  { path: 'full/max/0/default.jpg', image: SPEC, canonical: 'full/max/0/default.jpg', region: [0, 0, 300, 200], size: [300, 200] },
  { path: 'square/max/0/default.jpg', image: SPEC, canonical: '50,0,200,200/max/0/default.jpg', size: [200, 200] },
  { path: '125,15,120,140/max/0/default.jpg', image: SPEC, canonical: '125,15,120,140/max/0/default.jpg', size: [120, 140] },
  { path: 'pct:41.6,7.5,40,70/max/0/default.jpg', image: SPEC, canonical: '125,15,120,140/max/0/default.jpg', size: [120, 140] },
  { path: '125,15,200,200/max/0/default.jpg', image: SPEC, canonical: '125,15,175,185/max/0/default.jpg', size: [175, 185] },
  { path: 'pct:41.6,7.5,66.6,100/max/0/default.jpg', image: SPEC, canonical: '125,15,175,185/max/0/default.jpg', size: [175, 185] },

  // Spec §4.2 size examples
  { path: 'full/max/0/default.jpg', image: SPEC, limits: width(200), canonical: 'full/max/0/default.jpg', size: [200, 133] },
  { path: 'full/^max/0/default.jpg', image: SPEC, limits: width(360), canonical: 'full/^max/0/default.jpg', size: [360, 240] },
  { path: 'full/150,/0/default.jpg', image: SPEC, canonical: 'full/150,100/0/default.jpg', size: [150, 100] },
  { path: 'full/^360,/0/default.jpg', image: SPEC, canonical: 'full/^360,240/0/default.jpg', size: [360, 240] },
  // …and at the limits it is the upscaled maximum, whose canonical form is ^max
  { path: 'full/^360,/0/default.jpg', image: SPEC, limits: width(360), canonical: 'full/^max/0/default.jpg', size: [360, 240] },
  { path: 'full/,150/0/default.jpg', image: SPEC, canonical: 'full/225,150/0/default.jpg', size: [225, 150] },
  // The spec prints this one as ",^240", which its own grammar (^,h) does not allow: see the errors
  { path: 'full/^,240/0/default.jpg', image: SPEC, canonical: 'full/^360,240/0/default.jpg', size: [360, 240] },
  { path: 'full/pct:50/0/default.jpg', image: SPEC, canonical: 'full/150,100/0/default.jpg', size: [150, 100] },
  // The spec prints "pct:120" for upscaling; without ^ it is refused (see the errors)
  { path: 'full/^pct:120/0/default.jpg', image: SPEC, canonical: 'full/^360,240/0/default.jpg', size: [360, 240] },
  { path: 'full/225,100/0/default.jpg', image: SPEC, canonical: 'full/225,100/0/default.jpg', size: [225, 100] },
  { path: 'full/^360,360/0/default.jpg', image: SPEC, canonical: 'full/^360,360/0/default.jpg', size: [360, 360] },
  { path: 'full/!225,100/0/default.jpg', image: SPEC, canonical: 'full/150,100/0/default.jpg', size: [150, 100] },
  { path: 'full/^!360,360/0/default.jpg', image: SPEC, canonical: 'full/^360,240/0/default.jpg', size: [360, 240] },

  // Spec §4.3 rotation, §4.4 quality, §4.5 format, §4.6 order of implementation
  { path: 'full/max/180/default.jpg', image: SPEC, canonical: 'full/max/180/default.jpg' },
  { path: 'full/max/90/default.jpg', image: SPEC, canonical: 'full/max/90/default.jpg' },
  { path: 'full/max/22.5/default.png', image: SPEC, canonical: 'full/max/22.5/default.png' },
  { path: 'full/max/!0/default.jpg', image: SPEC, canonical: 'full/max/!0/default.jpg' },
  { path: 'full/max/!180/default.jpg', image: SPEC, canonical: 'full/max/!180/default.jpg' },
  { path: 'full/max/0/color.jpg', image: SPEC, canonical: 'full/max/0/color.jpg' },
  { path: 'full/max/0/gray.jpg', image: SPEC, canonical: 'full/max/0/gray.jpg' },
  { path: 'full/max/0/bitonal.jpg', image: SPEC, canonical: 'full/max/0/bitonal.jpg' },
  { path: 'full/max/0/default.png', image: SPEC, canonical: 'full/max/0/default.png' },
  { path: 'full/max/0/default.webp', image: SPEC, canonical: 'full/max/0/default.webp' },
  { path: '125,15,120,140/90,/!345/gray.jpg', image: SPEC, canonical: '125,15,120,140/90,105/!345/gray.jpg', size: [90, 105] },

  // Spec §9 URI examples, on a page
  { path: '0,10,100,200/pct:50/90/default.png', image: PAGE, canonical: '0,10,100,200/50,100/90/default.png' },
  { path: 'pct:10,10,80,80/50,/22.5/color.jpg', image: PAGE, canonical: '100,140,800,1120/50,70/22.5/color.jpg' },
  { path: 'full/max/270/gray.jpg', image: PAGE, canonical: 'full/max/270/gray.jpg' },

  // Canonical forms this server's tile store depends on
  { path: '0,0,512,512/256,/0/default.jpg', image: PAGE, canonical: '0,0,512,512/256,256/0/default.jpg' },
  { path: '512,1024,600,600/244,/0/default.jpg', image: PAGE, canonical: '512,1024,488,376/244,188/0/default.jpg', region: [512, 1024, 488, 376], size: [244, 188] },
  { path: 'full/max/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: '0,0,1000,1400/1000,/0/gray.png', image: PAGE, canonical: 'full/max/0/gray.png' },
  { path: 'square/100,/!90/bitonal.webp', image: PAGE, canonical: '0,200,1000,1000/100,100/!90/bitonal.webp', region: [0, 200, 1000, 1000] },
  // libvips' top tile at s = 8: plain rounding of 126 × 1403 / 1001 would say 177
  { path: 'full/126,/0/default.jpg', image: [1001, 1403], canonical: 'full/126,176/0/default.jpg' },
  { path: 'full/,176/0/default.jpg', image: [1001, 1403], canonical: 'full/126,176/0/default.jpg' },
  // A scale-1 tile stays w,h: it is a file of the grid, not "max"
  { path: '256,512,256,256/256,/0/default.jpg', image: PAGE, canonical: '256,512,256,256/256,256/0/default.jpg' },
  { path: '256,512,256,256/max/0/default.jpg', image: PAGE, canonical: '256,512,256,256/max/0/default.jpg' },

  // Regions
  { path: '0,0,5000,5000/max/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg', region: [0, 0, 1000, 1400] },
  { path: '0,0,2147483647,2147483647/max/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'pct:0,0,100,100/max/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'pct:0,0,1000,1000/max/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'square/max/0/default.jpg', image: [800, 800], canonical: 'full/max/0/default.jpg' },
  { path: 'square/max/0/default.jpg', image: [1400, 1000], canonical: '200,0,1000,1000/max/0/default.jpg' },
  { path: 'square/max/0/default.jpg', image: [1001, 1400], canonical: '0,199,1001,1001/max/0/default.jpg' },
  { path: '999,1399,10,10/max/0/default.jpg', image: PAGE, canonical: '999,1399,1,1/max/0/default.jpg', size: [1, 1] },
  { path: '0010,0020,0030,0040/max/0/default.jpg', image: PAGE, canonical: '10,20,30,40/max/0/default.jpg' },
  { path: 'pct:50.5,0,10,10/max/0/default.jpg', image: [100, 100], canonical: '51,0,10,10/max/0/default.jpg' },
  { path: 'pct:12.5,25,50,50/max/0/default.jpg', image: PAGE, canonical: '125,350,500,700/max/0/default.jpg' },
  { path: 'pct:99.94,0,10,10/max/0/default.jpg', image: PAGE, canonical: '999,0,1,140/max/0/default.jpg' },

  // max and ^max against the limits
  { path: 'full/max/0/default.jpg', image: PAGE, limits: { maxWidth: 10_000, maxHeight: 10_000, maxArea: 350_000 }, canonical: 'full/max/0/default.jpg', size: [500, 700] },
  { path: 'full/max/0/default.jpg', image: PAGE, limits: { maxWidth: 10_000, maxHeight: 10_000, maxArea: 1_000_000 }, canonical: 'full/max/0/default.jpg', size: [845, 1183] },
  // area-limited rounding that would exceed maxArea by 4 pixels rounds down instead
  { path: 'full/max/0/default.jpg', image: SPEC, limits: { maxWidth: 10_000, maxHeight: 10_000, maxArea: 10_000 }, canonical: 'full/max/0/default.jpg', size: [122, 81] },
  { path: 'full/max/0/default.jpg', image: PAGE, limits: width(500), canonical: 'full/max/0/default.jpg', size: [357, 500] },
  { path: 'full/^max/0/default.jpg', image: PAGE, limits: width(500), canonical: 'full/max/0/default.jpg', size: [357, 500] },
  { path: 'full/^max/0/default.jpg', image: PAGE, limits: width(2000), canonical: 'full/^max/0/default.jpg', size: [1429, 2000] },
  { path: 'full/^max/0/default.jpg', image: PAGE, limits: { maxWidth: 10_000, maxHeight: 10_000, maxArea: 5_600_000 }, canonical: 'full/^max/0/default.jpg', size: [2000, 2800] },
  { path: '0,0,100,100/^max/0/default.jpg', image: PAGE, limits: width(2000), canonical: '0,0,100,100/^max/0/default.jpg', size: [2000, 2000] },
  { path: 'full/500,700/0/default.jpg', image: PAGE, limits: width(700), canonical: 'full/max/0/default.jpg' },

  // Sizes by width, height, percentage
  { path: 'full/500,/0/default.jpg', image: PAGE, canonical: 'full/500,700/0/default.jpg' },
  { path: 'full/1000,/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'full/^1000,/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'full/^1001,/0/default.jpg', image: PAGE, canonical: 'full/^1001,1401/0/default.jpg' },
  { path: 'full/,700/0/default.jpg', image: PAGE, canonical: 'full/500,700/0/default.jpg' },
  { path: 'full/333,/0/default.jpg', image: PAGE, canonical: 'full/333,466/0/default.jpg' },
  { path: 'full/0333,/0/default.jpg', image: PAGE, canonical: 'full/333,466/0/default.jpg' },
  { path: 'full/pct:100/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'full/pct:12.5/0/default.jpg', image: PAGE, canonical: 'full/125,175/0/default.jpg' },
  { path: 'full/^pct:150/0/default.jpg', image: PAGE, canonical: 'full/^1500,2100/0/default.jpg' },
  { path: '0,0,10,10/^pct:100.01/0/default.jpg', image: PAGE, canonical: '0,0,10,10/10,10/0/default.jpg' },
  { path: 'full/^pct:0.1/0/default.jpg', image: PAGE, canonical: 'full/1,1/0/default.jpg', size: [1, 1] },
  // Derived sides never round to 0
  { path: 'full/151,/0/default.jpg', image: [10_000, 10], canonical: 'full/151,1/0/default.jpg', size: [151, 1] },
  { path: 'full/10,/0/default.jpg', image: [1000, 10], canonical: 'full/10,1/0/default.jpg' },
  { path: 'full/,1/0/default.jpg', image: [10, 1000], canonical: 'full/1,1/0/default.jpg' },

  // Sizes w,h (distorting) and !w,h (fitting)
  { path: 'full/500,500/0/default.jpg', image: PAGE, canonical: 'full/500,500/0/default.jpg' },
  { path: 'full/1000,1400/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'full/^500,500/0/default.jpg', image: PAGE, canonical: 'full/500,500/0/default.jpg' },
  { path: 'full/^1000,1401/0/default.jpg', image: PAGE, canonical: 'full/^1000,1401/0/default.jpg' },
  { path: 'full/^2000,10/0/default.jpg', image: PAGE, canonical: 'full/^2000,10/0/default.jpg' },
  { path: 'full/!500,500/0/default.jpg', image: PAGE, canonical: 'full/357,500/0/default.jpg' },
  { path: 'full/!500,10000/0/default.jpg', image: PAGE, canonical: 'full/500,700/0/default.jpg' },
  { path: 'full/!2000,2000/0/default.jpg', image: PAGE, canonical: 'full/max/0/default.jpg' },
  { path: 'full/^!2000,2000/0/default.jpg', image: PAGE, canonical: 'full/^1429,2000/0/default.jpg' },
  // !w,h is fitted to the server's limits, never refused for them
  { path: 'full/^!5000,5000/0/default.jpg', image: PAGE, limits: width(2000), canonical: 'full/^max/0/default.jpg', size: [1429, 2000] },
  { path: 'full/!5000,5000/0/default.jpg', image: PAGE, limits: width(700), canonical: 'full/max/0/default.jpg', size: [500, 700] },

  // Rotation: canonical numbers, mirroring, 360 kept
  { path: 'full/max/360/default.jpg', image: SPEC, canonical: 'full/max/360/default.jpg' },
  { path: 'full/max/!360/default.jpg', image: SPEC, canonical: 'full/max/!360/default.jpg' },
  { path: 'full/max/360.000/default.jpg', image: SPEC, canonical: 'full/max/360/default.jpg' },
  { path: 'full/max/090/default.jpg', image: SPEC, canonical: 'full/max/90/default.jpg' },
  { path: 'full/max/22.50/default.jpg', image: SPEC, canonical: 'full/max/22.5/default.jpg' },
  { path: 'full/max/0.0/default.jpg', image: SPEC, canonical: 'full/max/0/default.jpg' },
  { path: 'full/max/00.50/default.jpg', image: SPEC, canonical: 'full/max/0.5/default.jpg' },
  { path: 'full/max/0.0000001/default.jpg', image: SPEC, canonical: 'full/max/0.0000001/default.jpg' },
  { path: 'full/max/!359.999/default.jpg', image: SPEC, canonical: 'full/max/!359.999/default.jpg' },
];

for (const c of ok) {
  test(`ok: ${label(c.path, c.image, c.limits)} → ${c.canonical}`, (t) => {
    const req = parse(c.path, c.image, c.limits);
    t.is(req.canonical, c.canonical);
    if (c.region) t.deepEqual([req.region.x, req.region.y, req.region.w, req.region.h], c.region);
    if (c.size) t.deepEqual([req.size.width, req.size.height], c.size);
    t.is(req.fullRegion, req.canonical.startsWith('full/'));
    t.is(req.size.upscaled, req.canonical.split('/')[1]!.startsWith('^'));
    // The canonical form is a fixed point: parsing it again gives the same request.
    t.deepEqual(parse(req.canonical, c.image, c.limits), req);
  });
}

type Code = ImageRequestError['code'];
const bad: Array<[path: string, code: Code, image?: Dim, limits?: ImageLimits]> = [
  // Regions outside the image, or of no size
  ['1000,0,10,10/max/0/default.jpg', 'region-outside-image'],
  ['0,1400,10,10/max/0/default.jpg', 'region-outside-image'],
  ['2147483647,0,10,10/max/0/default.jpg', 'region-outside-image'],
  ['pct:100,0,10,10/max/0/default.jpg', 'region-outside-image'],
  ['pct:0,100,10,10/max/0/default.jpg', 'region-outside-image'],
  ['pct:99.96,0,10,10/max/0/default.jpg', 'region-outside-image'], // starts at pixel 1000 of 1000
  ['0,0,0,10/max/0/default.jpg', 'invalid-region'],
  ['0,0,10,0/max/0/default.jpg', 'invalid-region'],
  ['pct:0,0,0,10/max/0/default.jpg', 'invalid-region'],
  ['pct:0,0,0.01,10/max/0/default.jpg', 'invalid-region'], // a tenth of a pixel wide
  // Malformed regions
  ['-1,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['+1,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['1e3,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['0x10,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['1.5,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['0,0,10/max/0/default.jpg', 'invalid-region'],
  ['0,0,10,10,10/max/0/default.jpg', 'invalid-region'],
  ['0,0,10,10,/max/0/default.jpg', 'invalid-region'],
  ['0,,10,10/max/0/default.jpg', 'invalid-region'],
  [' 0,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['0, 0,10,10/max/0/default.jpg', 'invalid-region'],
  ['x0,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['99999999999,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['0,0,99999999999999999999999999,10/max/0/default.jpg', 'invalid-region'],
  [`${'9'.repeat(400)},0,10,10/max/0/default.jpg`, 'invalid-region'],
  ['/max/0/default.jpg', 'invalid-region'],
  ['FULL/max/0/default.jpg', 'invalid-region'],
  ['max/max/0/default.jpg', 'invalid-region'],
  ['pct:/max/0/default.jpg', 'invalid-region'],
  ['pct:1,2,3/max/0/default.jpg', 'invalid-region'],
  ['pct:-1,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['pct:.5,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['pct:1.,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['pct:1e1,0,10,10/max/0/default.jpg', 'invalid-region'],
  ['PCT:0,0,10,10/max/0/default.jpg', 'invalid-region'],

  // Upscaling without ^
  ['full/1001,/0/default.jpg', 'upscale-not-allowed'],
  ['full/,1401/0/default.jpg', 'upscale-not-allowed'],
  ['full/pct:100.5/0/default.jpg', 'upscale-not-allowed'],
  ['full/pct:120/0/default.jpg', 'upscale-not-allowed', SPEC], // spec example printed without ^
  ['full/1000,1401/0/default.jpg', 'upscale-not-allowed'],
  ['0,0,10,10/pct:100.01/0/default.jpg', 'upscale-not-allowed'], // 10.001 px rounds to 10, still over 100%
  ['full/1001,1/0/default.jpg', 'upscale-not-allowed'],
  ['0,0,256,256/512,/0/default.jpg', 'upscale-not-allowed'],
  // Over the server's limits
  ['full/^2001,/0/default.jpg', 'size-too-large', PAGE, width(2000)],
  ['full/^1500,/0/default.jpg', 'size-too-large', PAGE, width(2000)],
  ['full/1000,1400/0/default.jpg', 'size-too-large', PAGE, { maxWidth: 10_000, maxHeight: 10_000, maxArea: 1_000_000 }],
  ['full/^pct:2147483647/0/default.jpg', 'size-too-large'],
  ['full/^2147483647,2147483647/0/default.jpg', 'size-too-large'],
  // Sizes of nothing
  ['full/0,/0/default.jpg', 'invalid-size'],
  ['full/,0/0/default.jpg', 'invalid-size'],
  ['full/0,0/0/default.jpg', 'invalid-size'],
  ['full/!0,100/0/default.jpg', 'invalid-size'],
  ['full/pct:0/0/default.jpg', 'invalid-size'],
  ['full/pct:0.01/0/default.jpg', 'invalid-size'], // 0.1 × 0.14 px
  ['0,0,10,10/pct:4/0/default.jpg', 'invalid-size'], // 0.4 px
  // Malformed sizes
  ['full//0/default.jpg', 'invalid-size'],
  ['full/full/0/default.jpg', 'invalid-size'], // Image API 2 syntax
  ['full/MAX/0/default.jpg', 'invalid-size'],
  ['full/^/0/default.jpg', 'invalid-size'],
  ['full/^^max/0/default.jpg', 'invalid-size'],
  ['full/,^240/0/default.jpg', 'invalid-size', SPEC], // as printed in the spec's examples
  ['full/-1,/0/default.jpg', 'invalid-size'],
  ['full/+1,/0/default.jpg', 'invalid-size'],
  ['full/1e2,/0/default.jpg', 'invalid-size'],
  ['full/0x10,/0/default.jpg', 'invalid-size'],
  ['full/100.5,/0/default.jpg', 'invalid-size'],
  ['full/,/0/default.jpg', 'invalid-size'],
  ['full/100/0/default.jpg', 'invalid-size'],
  ['full/1,2,3/0/default.jpg', 'invalid-size'],
  ['full/ 100,/0/default.jpg', 'invalid-size'],
  ['full/100, /0/default.jpg', 'invalid-size'],
  ['full/!100,/0/default.jpg', 'invalid-size'],
  ['full/!,100/0/default.jpg', 'invalid-size'],
  ['full/!^100,100/0/default.jpg', 'invalid-size'],
  ['full/^!100/0/default.jpg', 'invalid-size'],
  ['full/pct:/0/default.jpg', 'invalid-size'],
  ['full/pct:-5/0/default.jpg', 'invalid-size'],
  ['full/pct:5./0/default.jpg', 'invalid-size'],
  ['full/pct:.5/0/default.jpg', 'invalid-size'],
  ['full/pct:1e2/0/default.jpg', 'invalid-size'],
  ['full/pct:50,50/0/default.jpg', 'invalid-size'],
  ['full/99999999999,/0/default.jpg', 'invalid-size'],
  [`full/^pct:${'9'.repeat(400)}/0/default.jpg`, 'invalid-size'],

  // Rotation
  ['full/max/361/default.jpg', 'invalid-rotation'],
  ['full/max/360.01/default.jpg', 'invalid-rotation'],
  ['full/max/3600/default.jpg', 'invalid-rotation'],
  ['full/max/-90/default.jpg', 'invalid-rotation'],
  ['full/max/+90/default.jpg', 'invalid-rotation'],
  ['full/max/!/default.jpg', 'invalid-rotation'],
  ['full/max/!!90/default.jpg', 'invalid-rotation'],
  ['full/max/90!/default.jpg', 'invalid-rotation'],
  ['full/max/90./default.jpg', 'invalid-rotation'],
  ['full/max/.5/default.jpg', 'invalid-rotation'],
  ['full/max/abc/default.jpg', 'invalid-rotation'],
  ['full/max//default.jpg', 'invalid-rotation'],
  ['full/max/1e2/default.jpg', 'invalid-rotation'],
  ['full/max/ 90/default.jpg', 'invalid-rotation'],
  [`full/max/${'9'.repeat(400)}/default.jpg`, 'invalid-rotation'],

  // Quality and format
  ['full/max/0/default.jpg.jpg', 'invalid-format'],
  ['full/max/0/default.', 'invalid-format'],
  ['full/max/0/default', 'invalid-format'],
  ['full/max/0/default.JPG', 'invalid-format'],
  ['full/max/0/default.tif', 'invalid-format'],
  ['full/max/0/default.jpeg', 'invalid-format'],
  ['full/max/0/.jpg', 'invalid-quality'],
  ['full/max/0/grey.jpg', 'invalid-quality'],
  ['full/max/0/Default.jpg', 'invalid-quality'],
  ['full/max/0/native.jpg', 'invalid-quality'], // Image API 1
  ['full/max/0/', 'invalid-quality'],

  // A malformed segment is reported before what the valid ones would mean
  ['5000,0,10,10/max/0/default.tif', 'invalid-format'],
  ['full/2000,/0/grey.jpg', 'invalid-quality'],
];

for (const [path, code, image = PAGE, limits] of bad) {
  test(`400 ${code}: ${label(path.length > 80 ? `${path.slice(0, 60)}…` : path, image, limits)}`, (t) => {
    const err = t.throws(() => parse(path, image, limits), { instanceOf: ImageRequestError });
    t.is(err?.code, code);
    t.is(err?.status, 400);
  });
}

test('error messages name the bad segment in Vietnamese and English', (t) => {
  const cases: Array<[path: string, shown: string, vi: RegExp]> = [
    ['0,0,0,10/max/0/default.jpg', '0,0,0,10', /vùng ảnh/i],
    ['5000,0,10,10/max/0/default.jpg', '5000,0,10,10', /nằm hoàn toàn ngoài ảnh 1000×1400/],
    ['full/abc/0/default.jpg', 'abc', /kích thước/i],
    ['full/1001,/0/default.jpg', '1001,', /phóng to/],
    ['full/^20000,/0/default.jpg', '^20000,', /vượt giới hạn/],
    ['full/max/361/default.jpg', '361', /xoay/],
    ['full/max/0/grey.jpg', 'grey', /chất lượng/i],
    ['full/max/0/default.tif', 'tif', /định dạng/i],
  ];
  for (const [path, shown, vi] of cases) {
    const err = t.throws(() => parse(path, PAGE), { instanceOf: ImageRequestError });
    t.true(err!.messages.vi.includes(`"${shown}"`), err!.messages.vi);
    t.true(err!.messages.en.includes(`"${shown}"`), err!.messages.en);
    t.regex(err!.messages.vi, vi);
    t.is(err!.message, err!.messages.en);
  }
});

test('a long bad segment is shortened in the messages', (t) => {
  const err = t.throws(() => parse(`${'1'.repeat(5000)},0,1,1/max/0/default.jpg`, PAGE), { instanceOf: ImageRequestError });
  t.true(err!.messages.en.length < 400);
  t.true(err!.messages.vi.length < 400);
});

test('QUALITIES and FORMATS are what the parser accepts', (t) => {
  t.deepEqual([...QUALITIES], ['default', 'color', 'gray', 'bitonal']);
  t.deepEqual([...FORMATS], ['jpg', 'png', 'webp']);
  for (const q of QUALITIES) for (const f of FORMATS) t.is(parse(`full/max/0/${q}.${f}`, PAGE).canonical, `full/max/0/${q}.${f}`);
});

test('the request carries rotation, quality and format as values', (t) => {
  const req = parse('10,20,300,400/pct:50/!22.5/gray.webp', PAGE);
  t.deepEqual(req, {
    region: { x: 10, y: 20, w: 300, h: 400 },
    fullRegion: false,
    size: { width: 150, height: 200, upscaled: false },
    rotation: { mirror: true, degrees: 22.5 },
    quality: 'gray',
    format: 'webp',
    canonical: '10,20,300,400/150,200/!22.5/gray.webp',
  });
});

test('pct regions that share an edge tile the image without gap or overlap', (t) => {
  const cuts = ['0', '12.5', '25.05', '33.3', '50', '66.6', '77.7', '99.9', '100'];
  for (const side of [7, 100, 333, 1000, 1001, 4097]) {
    let expectedX = 0;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const from = cuts[i]!;
      const w = (Number(cuts[i + 1]) - Number(from)).toFixed(2).replace(/\.?0+$/, '');
      let req: ImageRequest;
      try {
        req = parse(`pct:${from},0,${w},100/max/0/default.jpg`, [side, 10]);
      } catch (err) {
        // A sliver narrower than half a pixel is refused, and the next region starts where it would have.
        t.true(['invalid-region', 'region-outside-image'].includes((err as ImageRequestError).code));
        continue;
      }
      t.is(req.region.x, expectedX, `side ${side}, from ${from}%`);
      expectedX = req.region.x + req.region.w;
    }
    t.is(expectedX, side, `side ${side}: the last region ends at the image edge`);
  }
});

/**
 * The standard tile grid (Implementation Notes §3), as libvips' iiif3 layout writes it: at
 * scale factor s a tile covers t·s pixels of the full image, clipped at the edges, and is
 * ceil(w/s) × ceil(h/s) pixels. Viewers ask for it as `w,` or `w,h`; its canonical path must
 * be the file's name.
 */
function gridCanonicals(t: ExecutionContext, W: number, H: number, tile: number, scales: number[], byHeight = true): number {
  let checked = 0;
  const failures: string[] = [];
  for (const s of scales) {
    const step = tile * s;
    for (let y = 0; y < H; y += step) {
      for (let x = 0; x < W; x += step) {
        const w = Math.min(step, W - x);
        const h = Math.min(step, H - y);
        const sw = Math.ceil(w / s);
        const sh = Math.ceil(h / s);
        const region = x === 0 && y === 0 && w === W && h === H ? 'full' : `${x},${y},${w},${h}`;
        const expected = `${region}/${sw},${sh}/0/default.jpg`;
        for (const size of [`${sw},`, `${sw},${sh}`, ...(byHeight ? [`,${sh}`] : [])]) {
          const got = parse(`${x},${y},${w},${h}/${size}/0/default.jpg`, [W, H]).canonical;
          if (got !== expected) failures.push(`s=${s} ${x},${y},${w},${h}/${size} → ${got}, want ${expected}`);
          checked++;
        }
      }
    }
  }
  t.deepEqual(failures.slice(0, 10), []);
  return checked;
}

const POWERS = [1, 2, 4, 8, 16, 32, 64];

test('every tile of a 10000×14000 grid (256 px, s = 1…64) has the grid file name as canonical path', (t) => {
  // 40×55 + 20×28 + 10×14 + 5×7 + 3×4 + 2×2 + 1 tiles, each asked for three ways
  t.is(gridCanonicals(t, 10_000, 14_000, 256, POWERS), 3 * 2952);
});

test('grids of odd-sized images (as named by libvips 8.18 dzsave --layout iiif3, via sharp 0.35)', (t) => {
  // `,h` is left out where the grid has a strip only a pixel or a few tall: see the next test.
  const images: Array<[W: number, H: number, byHeight: boolean]> = [
    [1001, 1403, true],
    [777, 1333, true],
    [2500, 3500, true],
    [3000, 7, false],
    [4095, 2049, false],
  ];
  for (const [W, H, byHeight] of images) {
    for (const tile of [256, 512]) {
      const scales = POWERS.filter((s, i) => i === 0 || Math.max(W, H) / POWERS[i - 1]! > tile);
      gridCanonicals(t, W, H, tile, scales, byHeight);
    }
  }
});

test('a strip thinner than the scale factor keeps its aspect ratio rather than a grid name', (t) => {
  // At s = 16 libvips names this tile full/188,1 (3000/16 rounded up by 7/16 rounded up), but
  // ",1" fits every s from 7 up: the request means the nearest scale, 1/7.
  t.is(parse('full/,1/0/default.jpg', [3000, 7]).canonical, 'full/429,1/0/default.jpg');
  // Asked as the viewer does, by width, it is the grid's tile.
  t.is(parse('full/188,/0/default.jpg', [3000, 7]).canonical, 'full/188,1/0/default.jpg');
});

test('arbitrary input never escapes as anything but ImageRequestError, and results are whole pixels', (t) => {
  // Mostly well-formed numbers, so that the arithmetic is reached, with some junk.
  const valid = ['0', '1', '2', '7', '99', '100', '256', '1000', '1001', '1400', '2147483647', '0.5', '33.3', '150.5'];
  const junk = ['', '2147483648', '-1', '1e3', ' ', '.', '!', '^', ','];
  let seed = 42;
  const pick = <T>(xs: readonly T[]): T => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return xs[(seed >>> 8) % xs.length]!;
  };
  const num = () => (pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) === 0 ? pick(junk) : pick(valid));
  const numbers = (n: number) => Array.from({ length: n }, num).join(',');
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const region = pick(['full', 'square', `pct:${numbers(4)}`, numbers(4), numbers(4), numbers(pick([3, 5]))]);
    const form = pick(['max', `pct:${num()}`, `${num()},`, `,${num()}`, numbers(2), `!${numbers(2)}`, numbers(pick([1, 3]))]);
    const size = `${pick(['', '^'])}${form}`;
    const rotation = `${pick(['', '!'])}${pick(['0', '90', '22.5', '360', '361', num()])}`;
    const qualityFormat = `${pick([...QUALITIES, ...QUALITIES, 'grey'])}.${pick([...FORMATS, ...FORMATS, 'tif'])}`;
    const image = pick<Dim>([PAGE, SPEC, [1, 1], [7, 3000]]);
    const limits = pick([LIMITS, width(500), { maxWidth: 300, maxHeight: 300, maxArea: 5000 }]);
    const at = `${region}/${size}/${rotation}/${qualityFormat} on ${image.join('×')}`;
    try {
      const req = parseImageRequest({ region, size, rotation, qualityFormat }, { width: image[0], height: image[1] }, limits);
      outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
      const pixels = [req.region.x, req.region.y, req.region.w, req.region.h, req.size.width, req.size.height];
      if (!pixels.every(Number.isSafeInteger) || Math.min(req.region.w, req.region.h, req.size.width, req.size.height) < 1) {
        t.fail(`${at}: ${JSON.stringify(req)}`);
      }
      if (req.size.width > limits.maxWidth || req.size.height > limits.maxHeight || req.size.width * req.size.height > limits.maxArea) {
        t.fail(`${at} exceeds the limits: ${JSON.stringify(req.size)}`);
      }
      if (req.region.x + req.region.w > image[0] || req.region.y + req.region.h > image[1]) t.fail(`${at}: not clipped`);
      if (!req.size.upscaled && (req.size.width > req.region.w || req.size.height > req.region.h)) t.fail(`${at}: upscaled unflagged`);
    } catch (err) {
      if (!(err instanceof ImageRequestError)) t.fail(`${at}: ${String(err)}`);
      else outcomes.set(err.code, (outcomes.get(err.code) ?? 0) + 1);
    }
  }
  // Every outcome is reached, successes included.
  t.deepEqual(
    [...outcomes.keys()].sort(),
    ['invalid-format', 'invalid-quality', 'invalid-region', 'invalid-rotation', 'invalid-size', 'ok', 'region-outside-image', 'size-too-large', 'upscale-not-allowed'],
  );
  t.true(outcomes.get('ok')! > 1000, JSON.stringify([...outcomes]));
});
