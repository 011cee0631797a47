import { Agent, request } from 'node:http';
import { pino } from 'pino';
import sharp from 'sharp';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { derivativeOf, type Json, staffCall, uploadFile } from '../helpers/api.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Fuzzing the IIIF Image API over a real socket: a few thousand generated request paths
 * (valid and invalid regions, sizes, rotations, qualities and formats, percent-encoded junk,
 * 5,000-character segments, bad identifiers, missing and extra segments, GET and HEAD) for a
 * real ingested image whose derivative exists, 16 in flight. Every answer must be either a
 * 200 image of the requested type (a sample decoded with sharp, and held to the canonical
 * size and the server's limits) or a 4xx problem+json; never a 5xx, a dropped connection or
 * anything else. The generator is seeded: set THUKHO_FUZZ_SEED to replay a run (the seed is
 * printed), THUKHO_FUZZ_COUNT to change the number of generated requests.
 *
 * The server is started with limits below the image's size (max height 1000 for an
 * 800 × 1100 page, max area 1,000,000), so that `max`, `^max`, `!w,h` and the size checks all
 * meet a binding limit, and renders stay cheap.
 */
const W = 800;
const H = 1100;
const LIMITS = { maxWidth: 1500, maxHeight: 1000, maxArea: 1_000_000 };
const COUNT = Number(process.env.THUKHO_FUZZ_COUNT ?? 3000);
const IN_FLIGHT = 16;
const DECODE_EVERY = Number(process.env.THUKHO_FUZZ_DECODE_EVERY ?? 20);
const SEED = process.env.THUKHO_FUZZ_SEED ? Number(process.env.THUKHO_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

const test = testWithServer({
  THUKHO_IIIF_MAX_WIDTH: String(LIMITS.maxWidth),
  THUKHO_IIIF_MAX_HEIGHT: String(LIMITS.maxHeight),
  THUKHO_IIIF_MAX_AREA: String(LIMITS.maxArea),
});

let worker: DerivativesWorker | undefined;
let fileIdForLater = '';
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
test.after.always(async () => {
  agent.destroy();
  await worker?.close();
});

// ---------------------------------------------------------------------------------------
// Seeded randomness


class Gen {
  constructor(readonly rand: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }
  /** Weighted choice among generators. */
  one(options: Array<[number, () => string]>): string {
    const total = options.reduce((s, [w]) => s + w, 0);
    let r = this.rand() * total;
    for (const [w, f] of options) {
      r -= w;
      if (r < 0) return f();
    }
    return options[options.length - 1]![1]();
  }
  /** A decimal in [lo, hi] written with 0–3 fraction digits, sometimes with trailing zeros. */
  dec(lo: number, hi: number): string {
    const digits = this.int(0, 3);
    const v = lo + this.rand() * (hi - lo);
    let s = v.toFixed(digits);
    if (digits > 0 && this.chance(0.1)) s += '00';
    return s;
  }
}

const HUGE = ['2147483647', '2147483648', '4294967296', '99999999999', '1' + '0'.repeat(30), '9'.repeat(400)];
const NUMBERISH = ['NaN', 'Infinity', '-0', '1e2', '.5', '5.', '0x10', '+5', '%EF%BC%91%EF%BC%90' /* full-width 10 */, '%D9%A3' /* Arabic-Indic 3 */, '5%20', '', '-'];
const JUNK = ['%2F', '%00', '%FF', '%25', '%', '%G1', '%2e%2e', '%C0%AF', '%E2%80%AE', '%uFFFF', '%%', '%0A', '%0D%0A', '%3F', '%23', '%5C', '%E1%BA%A3'];
const LONG = [
  () => '1'.repeat(5000),
  () => ','.repeat(5000),
  () => 'a'.repeat(5000),
  () => 'pct:' + '9'.repeat(4996),
  () => '%41'.repeat(1666),
  () => `0,0,${'1'.repeat(4990)},1`,
  () => '0.' + '0'.repeat(4998),
  () => '1.' + '0'.repeat(4997) + '1',
  () => '^' + '9'.repeat(4999),
  () => '!' + '1,'.repeat(2499) + '1',
  () => 'default.' + 'j'.repeat(4992),
  () => '%FF'.repeat(1666),
];

function region(g: Gen): string {
  return g.one([
    [25, () => 'full'],
    [5, () => 'square'],
    [40, () => `${g.int(0, W - 1)},${g.int(0, H - 1)},${g.int(1, W)},${g.int(1, H)}`],
    [15, () => `pct:${g.dec(0, 99)},${g.dec(0, 99)},${g.dec(0.1, 100)},${g.dec(0.1, 100)}`],
    [
      18,
      () =>
        g.pick<() => string>([
          () => `-${g.int(1, 100)},0,100,100`,
          () => `0,-${g.int(0, 100)},100,100`,
          () => `0,0,0,${g.int(1, 100)}`,
          () => `0,0,${g.int(1, 100)},0`,
          () => `0,0,-${g.int(1, 100)},10`,
          () => `${W + g.int(0, 1000)},0,10,10`,
          () => `0,${H + g.int(0, 1000)},10,10`,
          () => `${W - 1},${H - 1},${g.pick(HUGE)},${g.pick(HUGE)}`,
          () => `${g.pick(HUGE)},${g.pick(HUGE)},${g.pick(HUGE)},${g.pick(HUGE)}`,
          () => `${g.int(0, 500)}.${g.int(0, 9)},0,100,100`,
          () => `0,0,100,100.${g.int(1, 9)}`,
          () => g.pick(['0,0,100,100,', ',0,0,100,100', '0,,100,100', '0,0,100', '0,0,100,100,5', ',,,', ',', '0,0,,', '0%200%20100%20100', '0;0;100;100']),
          () => `pct:${g.int(101, 1000)},0,10,10`,
          () => `pct:0,0,${g.int(101, 100000)},${g.int(101, 100000)}`,
          () => `pct:-${g.dec(0, 50)},0,10,10`,
          () => `pct:${g.pick(NUMBERISH)},0,50,50`,
          () => `pct:0,0,${g.pick(NUMBERISH)},50`,
          () => g.pick(['pct:0,0,0,0', 'pct:0,0,0.0001,0.0001', 'pct:99.99,99.99,50,50', 'pct:100,100,1,1', 'pct:', 'pct:,,,', 'pct:0,0,50']),
          () => g.pick(['PCT:0,0,10,10', 'Full', 'FULL', 'squares', 'full%20', 'max', 'pct', 'square:', 'full,']),
          () => `${g.pick(NUMBERISH)},0,10,10`,
          () => `0,0,${g.pick(HUGE)},1`,
        ])(),
    ],
  ]);
}

function size(g: Gen): string {
  const w = () => g.int(1, 400);
  return g.one([
    [10, () => 'max'],
    [3, () => '^max'],
    [12, () => `${w()},`],
    [8, () => `,${w()}`],
    [6, () => `pct:${g.dec(0.5, 100)}`],
    [3, () => `^pct:${g.dec(0.5, 150)}`],
    [10, () => `${w()},${w()}`],
    [10, () => `!${w()},${w()}`],
    [4, () => `^!${g.int(1, 1200)},${g.int(1, 1200)}`],
    [4, () => `^${g.int(1, 1200)},`],
    [3, () => `^,${g.int(1, 1200)}`],
    [4, () => `^${g.int(1, 900)},${g.int(1, 900)}`],
    [
      18,
      () =>
        g.pick<() => string>([
          () => g.pick(['!0,0', '0,', ',0', '0,0', '^0,', '^,0', '!0,10', '!10,0', '^!0,0', 'pct:0', '^pct:0', 'pct:0.0001', '^pct:0.0001']),
          () => g.pick([',', '', '^', '^^max', '^^100,', 'max,', 'full', 'MAX', 'Max', '^MAX', 'pct:', '^pct:', 'pct:,', 'pct:10,10', '!', '!,', '!10,', '!,10', '10,10,', ',10,10', '10', '^10', '!max']),
          () => `pct:${g.pick(NUMBERISH)}`,
          () => `pct:-${g.dec(1, 50)}`,
          () => `${g.pick(NUMBERISH)},`,
          () => `,${g.pick(NUMBERISH)}`,
          () => `${g.int(1, 400)}.${g.int(1, 9)},`,
          () => `-${g.int(1, 400)},`,
          () => `${g.pick(HUGE)},`,
          () => `^${g.pick(HUGE)},`,
          () => `^,${g.pick(HUGE)}`,
          () => `^${g.pick(HUGE)},${g.pick(HUGE)}`,
          () => `^!${g.pick(HUGE)},${g.pick(HUGE)}`,
          () => `!${g.pick(HUGE)},${g.pick(HUGE)}`,
          () => `^pct:${g.pick(HUGE)}`,
          () => `pct:${g.int(101, 100000)}`,
          // Beyond the limits: width, height, area.
          () => `^${g.int(LIMITS.maxWidth + 1, 20000)},`,
          () => `^,${g.int(LIMITS.maxHeight + 1, 20000)}`,
          () => `^${g.int(1100, 1500)},${g.int(800, 1000)}`,
          () => `${g.int(W + 1, 5000)},`,
          () => `,${g.int(H + 1, 5000)}`,
        ])(),
    ],
  ]);
}

function rotation(g: Gen): string {
  return g.one([
    [50, () => '0'],
    [10, () => g.pick(['90', '180', '270', '360', '!0', '!90', '!180'])],
    [15, () => `${g.chance(0.2) ? '!' : ''}${g.int(0, 360)}`],
    [10, () => `${g.chance(0.2) ? '!' : ''}${g.dec(0, 359.9)}`],
    [
      15,
      () =>
        g.pick([
          '361', '-1', '-0', '!', '!!0', '!-0', '360.0', '360.5', '360.0000001', '1e2', 'NaN', 'Infinity', '+90', '90.', '.5',
          '0x10', '00090', '!360', '0'.repeat(50) + '90', '1.' + '0'.repeat(100) + '1', '%2090', '90%20', '%D9%A3', '1000', '9999999999',
          '359.99999999999999999999', '0.0000001', '', 'r90', '90deg', '!%21', '%2190', '%2D1',
        ]),
    ],
  ]);
}

function qualityFormat(g: Gen): string {
  const quality = g.one([
    [45, () => 'default'],
    [15, () => 'color'],
    [10, () => 'gray'],
    [8, () => 'bitonal'],
    [12, () => g.pick(['native', 'Default', 'DEFAULT', 'GRAY', 'grey', 'colour', 'Color', '', 'bitonal%20', 'default%00', 'color%2F', 'default.', 'gray%2Ejpg', 'd%C3%A9fault'])],
  ]);
  const format = g.one([
    [45, () => 'jpg'],
    [15, () => 'png'],
    [15, () => 'webp'],
    [12, () => g.pick(['tif', 'tiff', 'gif', 'JPG', 'Jpg', 'PNG', 'jpeg', 'jp2', 'pdf', '', 'jpg.jpg', 'png.jpg', 'jpg%00', 'jpg%20', 'jpg.', '.jpg', 'webp%2Fx', 'svg'])],
  ]);
  return g.one([
    [92, () => `${quality}.${format}`],
    [3, () => `${quality}${format}`],
    [3, () => `${quality}..${format}`],
    [2, () => `${quality}`],
  ]);
}

function fileIdOf(g: Gen, real: string): string {
  if (g.chance(0.85)) return real;
  return g.pick([
    'f-nosuchfile',
    real.slice(0, -1) + (real.endsWith('a') ? 'b' : 'a'),
    real.toUpperCase(),
    `${real}%00`,
    `${real}%20`,
    `${real}%2F`,
    'a%2Fb',
    '..',
    '.',
    '%2e%2e',
    '%2E',
    'x'.repeat(5000),
    encodeURIComponent('ảnh-trang-một'),
    encodeURIComponent('漢喃'),
    '\u00e9t\u00e9', // raw Latin-1 bytes in the request line
    '%FF',
    '%',
    '%E2%80%AE' + real,
    'a'.repeat(64),
    'a'.repeat(65),
    '-leadingdash',
    'info.json',
  ]);
}

interface Case {
  method: 'GET' | 'HEAD';
  path: string;
  /** Hand-written cases may state the status they must get ('4xx': any client error). */
  expect?: number | '4xx';
  /** … and the exact size of the image (before rotation), for 200s. */
  dims?: [number, number];
}

function generate(g: Gen, id: string): Case {
  const segs = [fileIdOf(g, id), region(g), size(g), rotation(g), qualityFormat(g)];
  if (g.chance(0.08)) {
    // Percent-encoded junk inside one segment.
    const i = g.int(0, segs.length - 1);
    const s = segs[i]!;
    const at = g.int(0, s.length);
    segs[i] = s.slice(0, at) + g.pick(JUNK) + s.slice(at);
  }
  if (g.chance(0.03)) segs[g.int(1, segs.length - 1)] = g.pick(LONG)();
  let path = `/iiif/3/${segs.join('/')}`;
  if (g.chance(0.08)) {
    path = g.pick<() => string>([
      () => `/iiif/3/${[...segs.slice(0, 1), ...segs.slice(2)].join('/')}`, // a segment missing
      () => `/iiif/3/${segs.slice(0, g.int(1, 4)).join('/')}`,
      () => `/iiif/3/${segs.join('/')}/${g.pick(['extra', '..', '.', '', 'info.json', '%2F', 'default.jpg'])}`,
      () => `/iiif/3/${segs.slice(0, 2).join('/')}/${segs.slice(1).join('/')}`, // a segment twice
      () => `/iiif/3/${segs.join('//')}`,
      () => `/iiif/3/${segs.join('/')}/`,
      () => `/iiif/3//${segs.join('/')}`,
      () => `/iiif/3/${segs[0]}`,
      () => `/iiif/3/${segs[0]}/`,
      () => `/iiif/3/${segs[0]}/info.json`,
      () => `/iiif/3/${segs[0]}/info.json/extra`,
      () => `/iiif/3/${segs[0]}/info.${g.pick(['xml', 'JSON', 'json%00', 'json.json'])}`,
      () => `/${g.pick(['iiif/2', 'iiif/3.0', 'IIIF/3', 'iiif', 'iiif/3%2F', 'iiif/%33'])}/${segs.join('/')}`,
      () => `/iiif/3/${segs.join('/')}?${g.pick(['%FF', 'a=b', '', '%', 'x=' + 'y'.repeat(2000)])}`,
      () => `/iiif/3/${segs.join('/')}#frag`,
      () => `/iiif/3/${segs.join('%2F')}`,
    ])();
  }
  return { method: g.chance(0.15) ? 'HEAD' : 'GET', path };
}

/** Hand-written cases that run every time, whatever the seed. */
function nasty(id: string): Case[] {
  const p = (path: string, expect?: Case['expect'], dims?: [number, number]): Case => ({ method: 'GET', path: `/iiif/3/${id}/${path}`, expect, dims });
  const raw = (path: string, expect?: Case['expect']): Case => ({ method: 'GET', path, expect });
  return [
    // The limits bind: max height 1000 for an 800 × 1100 image.
    p('full/max/0/default.jpg', 200, [727, 1000]),
    p('full/max/0/default.png', 200, [727, 1000]),
    p('full/^max/0/default.jpg', 200, [727, 1000]),
    p('full/800,/0/default.jpg', 400),
    p('full/!800,1100/0/default.jpg', 200, [727, 1000]),
    p('full/^!99999999999,99999999999/0/default.jpg', 400),
    p('full/^!2147483647,2147483647/0/default.jpg', 200, [727, 1000]),
    p('0,0,800,500/^max/0/default.jpg', 200),
    p('0,0,800,200/^max/0/default.jpg', 200),
    p('full/^1500,1000/0/default.jpg', 400),
    p('full/^1,1000/0/default.jpg', 200, [1, 1000]),
    p('full/!0,0/0/default.jpg', 400),
    p('full/0,/0/default.jpg', 400),
    p('full/,0/0/default.jpg', 400),
    p('full/^2147483647,/0/default.jpg', 400),
    p('full/^2147483648,/0/default.jpg', 400),
    p('full/^pct:2147483647/0/default.jpg', 400),
    p('full/pct:0.0001/0/default.jpg', 400),
    p('full/pct:100.0000000001/0/default.jpg', 400),
    p('full/,1/0/default.jpg', 200, [1, 1]),
    p('full/1,/0/default.jpg', 200, [1, 2]),
    p('full/!1,1/0/default.jpg', 200, [1, 1]),
    p('0,0,1,1/pct:50/0/default.jpg', 200, [1, 1]),
    p('0,0,1,1/pct:49/0/default.jpg', 400),
    // Regions at and past the edges, and numbers past 32 bits.
    p('pct:0,0,2147483647,2147483647/100,/0/default.jpg', 200),
    p('0,0,2147483647,2147483647/100,/0/default.jpg', 200),
    p('2147483646,0,1,1/max/0/default.jpg', 400),
    p('2147483648,0,1,1/max/0/default.jpg', 400),
    p('799,1099,1,1/^max/0/default.jpg', 200, [1000, 1000]),
    p('799,1099,1,1/max/360/default.png', 200, [1, 1]),
    p('799,1099,100,100/max/0/default.jpg', 200, [1, 1]),
    p('800,0,1,1/max/0/default.jpg', 400),
    p('0,1100,1,1/max/0/default.jpg', 400),
    p('pct:100,0,1,1/max/0/default.jpg', 400),
    p('pct:99.99,99.99,50,50/max/0/default.jpg', 400),
    p('pct:0,0,0.0001,0.0001/max/0/default.jpg', 400),
    p('-0,-0,10,10/max/0/default.jpg', 400),
    p('0,0,1,1000/1,/45/default.png', 200),
    p('0,0,1,1100/1,/0/default.png', 400),
    p('full/1,/359.999999/bitonal.webp', 200),
    p('square/^!1,1/!0/gray.webp', 200, [1, 1]),
    p('full/max/-0/default.jpg', 400),
    p('full/max/1e2/default.jpg', 400),
    p('full/max/%2090/default.jpg', 400),
    p('full/max/360.0000001/default.jpg', 400),
    p('full/100,/359.99999999999999999999/default.jpg', 200),
    p(`full/100,/1.${'0'.repeat(4990)}1/default.jpg`, 200),
    p(`full/100,/0.${'0'.repeat(4990)}/default.jpg`, 200),
    p(`${'1'.repeat(5000)}/max/0/default.jpg`, 400),
    p(`pct:${'9'.repeat(4996)}/max/0/default.jpg`, 400),
    p(`full/${'9'.repeat(5000)},/0/default.jpg`, 400),
    p(`full/max/0/default.${'j'.repeat(4990)}`, 400),
    // Escapes: decoded escapes of valid characters are the same request; junk is a 400.
    p('full/%5Emax/0/default.jpg', 200, [727, 1000]),
    p('full/100,/%21180/default.jpg', 200),
    p('pct%3A10,10,10,10/max/0/default.jpg', 200),
    p('full/100,/0/default%2Ejpg', 200),
    p('full/max/0/default.jpg%00', 400),
    p('full/max/0/default.jpg%2F..%2F..%2F..%2Fetc%2Fpasswd', 400),
    p('..%2F..%2F/max/0/default.jpg', 400),
    p('full/max/%FF/default.jpg', 400),
    p('full/max/0/%FF.jpg', 400),
    p('full/max/0/default.%FF', 400),
    p('full/max/0/default.%', 400),
    p('full/max/0/d\u00e9fault.jpg', 400),
    p('full/100,/0/default.jpg?%FF', 200),
    p('full/100,/0/default.jpg#x', 200),
    // Quality and format spellings.
    p('full/100,/0/default.JPG', 400),
    p('full/100,/0/Default.jpg', 400),
    p('full/100,/0/default.jpeg', 400),
    p('full/100,/0/default.tif', 400),
    p('full/100,/0/default.gif', 400),
    p('full/100,/0/default.jpg.jpg', 400),
    p('full/100,/0/default..jpg', 400),
    p('full/100,/0/default.', 400),
    p('full/100,/0/.jpg', 400),
    p('full/100,/0/default', 400),
    p('full/100,/0/defaultjpg', 400),
    p('full/100,/0/native.jpg', 400),
    // Structure.
    p('full/max/0/default.jpg/extra', '4xx'),
    p('full/max/0', '4xx'),
    p('full/max', '4xx'),
    p('full', '4xx'),
    raw(`/iiif/3/${id}//max/0/default.jpg`, '4xx'),
    raw(`/iiif/3//full/max/0/default.jpg`, '4xx'),
    raw(`/iiif/3/${id}/info.json%00`, '4xx'),
    raw(`/iiif/3/${id}%2Ffull/max/0/default.jpg`, '4xx'),
    // Identifiers.
    raw(`/iiif/3/f-nosuchfile/full/max/0/default.jpg`, 404),
    raw(`/iiif/3/f-nosuchfile/info.json`, 404),
    raw(`/iiif/3/%2e%2e/full/max/0/default.jpg`, 404),
    raw(`/iiif/3/../full/max/0/default.jpg`, '4xx'),
    raw(`/iiif/3/a%2Fb/info.json`, 404),
    raw(`/iiif/3/%FF/info.json`, 404),
    raw(`/iiif/3/%/info.json`, 404),
    raw(`/iiif/3/${'x'.repeat(5000)}/full/max/0/default.jpg`, 404),
    raw(`/iiif/3/${encodeURIComponent('ảnh-một')}/info.json`, 404),
    raw(`/iiif/3/${id.toUpperCase()}/info.json`, 404),
    raw(`/iiif/3/${id}%00/info.json`, 404),
    raw(`/iiif/3/${'x'.repeat(5000)}`, 404),
    { method: 'HEAD', path: `/iiif/3/${id}/full/100,/0/default.jpg`, expect: 200 },
    { method: 'HEAD', path: `/iiif/3/${id}/full/0,/0/default.jpg`, expect: 400 },
    { method: 'HEAD', path: `/iiif/3/f-nosuchfile/full/max/0/default.jpg`, expect: 404 },
  ];
}

// ---------------------------------------------------------------------------------------
// HTTP over a raw socket: node:http sends the path exactly as written (no URL normalisation,
// unlike fetch), so "..", "%2F" and raw Latin-1 bytes reach the server as they are.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(base: URL, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method: c.method, path: c.path, agent, timeout: scaledTimeout(30_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer (a hang guard, scaled)')));
    req.on('error', reject);
    req.end();
  });
}

const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
const SHARP_FORMATS: Record<string, string> = { jpg: 'jpeg', png: 'png', webp: 'webp' };

/** The path as the router sees it: no query or fragment, escapes decoded where they decode. */
function routePath(path: string): string {
  const bare = path.split(/[?#]/)[0]!;
  try {
    return decodeURIComponent(bare);
  } catch {
    return bare;
  }
}

/** Check one answer; return what is wrong with it, or undefined. */
async function judge(c: Case, a: Answer, decode: boolean): Promise<string | undefined> {
  const type = String(a.headers['content-type'] ?? '');
  if (a.status >= 500) return `${a.status} ${type} ${a.body.toString('utf8').slice(0, 300)}`;
  if (c.expect === '4xx' && !(a.status >= 400 && a.status < 500)) return `expected a 4xx, got ${a.status} ${type}`;
  if (typeof c.expect === 'number' && a.status !== c.expect) return `expected ${c.expect}, got ${a.status} ${type} ${a.body.toString('utf8').slice(0, 300)}`;
  const bare = path0(c.path);

  if (a.status >= 400 && a.status < 500) {
    if (!/^application\/problem\+json/.test(type)) return `${a.status} without problem+json (${type || 'no content type'})`;
    if (c.method === 'HEAD') return a.body.length ? `HEAD ${a.status} with a body` : undefined;
    let problem: Json;
    try {
      problem = JSON.parse(a.body.toString('utf8')) as Json;
    } catch {
      return `${a.status} problem+json that does not parse: ${a.body.toString('utf8').slice(0, 200)}`;
    }
    if (problem.status !== a.status) return `${a.status} whose problem says status ${String(problem.status)}`;
    if (typeof problem.type !== 'string' || typeof problem.detail !== 'string') return `${a.status} problem without type or detail`;
    return undefined;
  }
  if (a.status === 303) {
    // Only the image's base URI redirects, to its info.json.
    if (!/^\/iiif\/3\/[^/]+\/?$/i.test(bare)) return `303 for a path that is not an image's base URI`;
    if (!String(a.headers.location ?? '').endsWith('/info.json')) return `303 to ${String(a.headers.location)}`;
    return undefined;
  }
  if (a.status !== 200) return `unexpected status ${a.status} ${type}`;

  if (/^application\/(ld\+)?json/.test(type)) {
    // The router matches paths case-insensitively, so INFO.JSON is info.json too.
    if (!/\/info\.json\/?$/i.test(routePath(c.path))) return `200 JSON for a path that is not info.json`;
    if (c.method === 'GET') {
      const info = JSON.parse(a.body.toString('utf8')) as Json;
      if (info.width !== W || info.height !== H) return `info.json says ${String(info.width)}×${String(info.height)}`;
    }
    return undefined;
  }
  // A 200 image: of the requested format.
  const last = routePath(c.path).replace(/\/$/, '').split('/').pop() ?? '';
  const format = last.slice(last.indexOf('.') + 1);
  const wanted = IMAGE_TYPES[format];
  if (!wanted) return `200 ${type} for a request whose format is ${JSON.stringify(format.slice(0, 40))}`;
  if (type !== wanted) return `200 with content type ${JSON.stringify(type)}, expected ${wanted}`;
  if (c.method === 'HEAD') {
    if (a.body.length) return 'HEAD 200 with a body';
    if (!(Number(a.headers['content-length']) > 0)) return `HEAD 200 with content-length ${String(a.headers['content-length'])}`;
    return undefined;
  }
  if (!a.body.length) return '200 with an empty body';
  if (!decode && !c.dims) return undefined;
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(a.body).metadata();
  } catch (err) {
    return `200 ${type} that sharp cannot decode: ${(err as Error).message}`;
  }
  if (meta.format !== SHARP_FORMATS[format]) return `200 ${type} whose bytes are ${meta.format}`;
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!(w > 0 && h > 0)) return `200 image of ${w}×${h}`;
  // The canonical Link header names the size that was drawn; a quarter-turn swaps it.
  const canonical = /<[^>]*\/iiif\/3\/[^/]+\/([^/]+)\/([^/]+)\/([^/]+)\/([^/>]+)>;rel="canonical"/.exec(String(a.headers.link ?? ''));
  if (!canonical) return `200 image without a canonical Link header (${String(a.headers.link)})`;
  const degrees = Number(canonical[3]!.replace(/^!/, ''));
  const quarter = degrees % 90 === 0;
  const [bw, bh] = quarter && (degrees / 90) % 2 === 1 ? [h, w] : [w, h];
  if (quarter && (bw > LIMITS.maxWidth || bh > LIMITS.maxHeight || bw * bh > LIMITS.maxArea)) {
    return `200 image of ${bw}×${bh} (before rotation), over the limits ${JSON.stringify(LIMITS)} (canonical ${canonical.slice(1).join('/')})`;
  }
  const sized = /^\^?(\d+),(\d+)$/.exec(canonical[2]!);
  if (quarter && sized && (bw !== Number(sized[1]) || bh !== Number(sized[2]))) {
    return `200 image of ${bw}×${bh}, but the canonical size is ${canonical[2]}`;
  }
  if (c.dims && quarter && (bw !== c.dims[0] || bh !== c.dims[1])) return `200 image of ${bw}×${bh}, expected ${c.dims.join('×')}`;
  // gray and bitonal have no colour; bitonal PNGs (lossless) hold only black and white.
  const quality = canonical[4]!.split('.')[0];
  if (quality === 'gray' || quality === 'bitonal') {
    const { data, info } = await sharp(a.body).raw().toBuffer({ resolveWithObject: true });
    const ch = info.channels;
    const colour = ch >= 3;
    const lossless = format === 'png';
    for (let i = 0; i < data.length; i += ch) {
      if (ch === 2 || ch === 4) {
        if (data[i + ch - 1] === 0) continue; // transparent corner of a rotated image
      }
      if (colour && (Math.abs(data[i]! - data[i + 1]!) > (lossless ? 0 : 12) || Math.abs(data[i]! - data[i + 2]!) > (lossless ? 0 : 12))) {
        return `200 ${quality} image with colour: pixel ${i / ch} is ${data[i]},${data[i + 1]},${data[i + 2]}`;
      }
      if (quality === 'bitonal' && lossless && data[i] !== 0 && data[i] !== 255) return `200 bitonal PNG with grey ${data[i]} at pixel ${i / ch}`;
    }
  }
  return undefined;
}

/** Failures grouped by what went wrong (numbers aside), a few paths of each. */
function describe(failures: Array<{ c: Case; why: string }>): string {
  const groups = new Map<string, Array<{ c: Case; why: string }>>();
  for (const f of failures) {
    const key = f.why.replace(/\d+/g, 'N').slice(0, 60);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const show = (path: string) => (path.length > 300 ? `${path.slice(0, 300)}… (${path.length} chars)` : path);
  const lines: string[] = [];
  for (const [, fs] of [...groups.entries()].slice(0, 30)) {
    lines.push(`  [${fs.length}×] ${fs[0]!.why}`);
    for (const { c, why } of fs.slice(0, 6)) lines.push(`      ${c.method} ${show(c.path)}${why === fs[0]!.why ? '' : `\n          → ${why}`}`);
    if (fs.length > 6) lines.push(`      … and ${fs.length - 6} more`);
  }
  return lines.join('\n');
}

function path0(path: string): string {
  return path.split(/[?#]/)[0]!;
}

// ---------------------------------------------------------------------------------------

async function ingest(s: TestServer): Promise<string> {
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Châu bản triều Nguyễn', accessLevel: 'open' })).id as string;
  const bytes = await page('Châu bản triều Nguyễn — tờ thử nghiệm (thử lỗi đường dẫn IIIF)', { width: W, height: H });
  const fileId = (await uploadFile(s, objectId, bytes, 'chau_ban_001.tif')).fileId as string;
  const d = await derivativeOf(s, objectId, fileId);
  if (d.failed) throw new Error(`derivative failed: ${JSON.stringify(d.failed)}`);
  return fileId;
}

test.serial('thousands of generated Image API paths: 200 images or 4xx problems, never a 5xx', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = t.context.server;
  const seedLine = `iiif fuzz seed ${SEED} (replay: THUKHO_FUZZ_SEED=${SEED} npx ava tests/e2e/iiif-fuzz.test.ts)`;
  console.log(seedLine);
  t.log(seedLine);
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const fileId = await ingest(s);
  fileIdForLater = fileId;

  const g = new Gen(mulberry32(SEED));
  const cases = [...nasty(fileId)];
  for (let i = 0; i < COUNT; i++) cases.push(generate(g, fileId));

  const base = new URL(s.url);
  const failures: Array<{ c: Case; why: string }> = [];
  const statuses = new Map<number, number>();
  let okImages = 0;
  let decoded = 0;
  let next = 0;
  const started = Date.now();
  const runner = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      const c = cases[i]!;
      let why: string | undefined;
      try {
        const a = await send(base, c);
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        const isImage = a.status === 200 && c.method === 'GET' && String(a.headers['content-type']).startsWith('image/');
        const decode = isImage && okImages++ % DECODE_EVERY === 0;
        if (decode || (isImage && c.dims)) decoded++;
        why = await judge(c, a, decode);
      } catch (err) {
        why = `no answer: ${(err as Error).message}`;
      }
      if (why) failures.push({ c, why });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, runner));
  const seconds = (Date.now() - started) / 1000;
  const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(', ');
  t.log(`${cases.length} requests in ${seconds.toFixed(1)} s (${summary}); ${okImages} images, ${decoded} decoded`);

  // The server still answers normally afterwards.
  const after = await send(base, { method: 'GET', path: `/iiif/3/${fileId}/full/200,/0/default.jpg` });
  t.is(after.status, 200);

  if (failures.length) {
    const report = `${failures.length} of ${cases.length} answers were wrong (seed ${SEED}):\n${describe(failures)}`;
    console.log(report);
    t.fail(report);
  } else {
    t.pass();
  }
  // The generator must actually reach both sides: many rendered images and many refusals.
  t.true(okImages > cases.length / 7, `only ${okImages} images among ${cases.length} answers`);
  t.true((statuses.get(400) ?? 0) > cases.length / 5, `only ${statuses.get(400) ?? 0} 400s among ${cases.length} answers`);
});

test.serial('every size and tile that info.json advertises can be fetched as a viewer asks for it', async (t) => {
  const s = t.context.server;
  const fileId = fileIdForLater;
  t.truthy(fileId, 'the fuzz test ingested the image');
  const info = (await (await fetch(`${s.url}/iiif/3/${fileId}/info.json`)).json()) as Json;
  const wrong: string[] = [];
  const paths: string[] = [];
  for (const { width, height } of info.sizes as Array<{ width: number; height: number }>) {
    if (width > LIMITS.maxWidth || height > LIMITS.maxHeight || width * height > LIMITS.maxArea) {
      wrong.push(`info.json lists size ${width}×${height}, over its own limits ${JSON.stringify(LIMITS)}`);
    }
    paths.push(`full/${width},${height}/0/default.jpg`, `full/${width},/0/default.jpg`);
  }
  // The tile grid as OpenSeadragon requests it (Image API 3 implementation notes §3).
  for (const tiles of info.tiles as Array<{ width: number; height?: number; scaleFactors: number[] }>) {
    const tw = tiles.width;
    const th = tiles.height ?? tiles.width;
    for (const sf of tiles.scaleFactors) {
      for (let y = 0; y < H; y += th * sf) {
        for (let x = 0; x < W; x += tw * sf) {
          const w = Math.min(tw * sf, W - x);
          const h = Math.min(th * sf, H - y);
          const region = x === 0 && y === 0 && w === W && h === H ? 'full' : `${x},${y},${w},${h}`;
          paths.push(`${region}/${Math.ceil(w / sf)},${Math.ceil(h / sf)}/0/default.jpg`, `${region}/${Math.ceil(w / sf)},/0/default.jpg`);
        }
      }
    }
  }
  for (const p of paths) {
    const res = await fetch(`${s.url}/iiif/3/${fileId}/${p}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) {
      wrong.push(`${p} → ${res.status} ${body.toString('utf8').slice(0, 200)}`);
      continue;
    }
    const m = await sharp(body).metadata();
    const size = /^(\d+),(\d*)/.exec(p.split('/')[1]!)!;
    if (m.width !== Number(size[1]) || (size[2] && m.height !== Number(size[2]))) wrong.push(`${p} → ${m.width}×${m.height}`);
  }
  t.log(`${paths.length} advertised sizes and tiles fetched`);
  t.deepEqual(wrong, []);
});
