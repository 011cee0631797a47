import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import sharp from 'sharp';
import { renderDemoPage } from '../../src/cli/demo-pages.ts';

/**
 * Somebody else's IIIF: a static web server on its own origin, as a small museum would run
 * one — a hand-written Presentation 3 manifest in the IIIF cookbook's style, level-0 image
 * services whose tiles are plain files cut by sharp (Image API 3 and 2 layouts), a canned
 * Content Search 2 answer, and the broken manifests a viewer meets in the wild.
 */
export interface StaticIiifSite {
  url: string;
  /** Every request path the site answered, in order (tests look for tile requests). */
  requests: string[];
  close(): Promise<void>;
}

/** Words the canned search finds, each with where it lies on page 2 (canvas pixels). */
export const SEARCH_HITS = [
  { word: 'kiều', prefix: 'Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau. ', exact: 'Kiều', suffix: ' càng sắc sảo mặn mà', xywh: [180, 420, 260, 90] },
  { word: 'kiều', prefix: 'Vân xem trang trọng khác vời, ', exact: 'Kiều', suffix: ' càng sắc sảo', xywh: [520, 900, 240, 90] },
] as const;

const PAGE_TITLE = 'Sách mẫu của bảo tàng';
const PAGES = 2;

/** The cookbook's "simplest book" shape, with level-0 services and a search service. */
function cookbookManifest(base: string, options: { tiles: string; version: 2 | 3; search: boolean }): object {
  const canvases = Array.from({ length: PAGES }, (_, i) => {
    const n = i + 1;
    const canvas = `${base}/cookbook/canvas/p${n}`;
    const service = `${base}/${options.tiles}/page-${n}`;
    return {
      id: canvas,
      type: 'Canvas',
      label: { en: [`Folio ${n}`] },
      width: 1240,
      height: 1754,
      thumbnail: [{ id: `${base}/thumbs/page-${n}.jpg`, type: 'Image', format: 'image/jpeg', width: 106, height: 150 }],
      items: [
        {
          id: `${canvas}/page`,
          type: 'AnnotationPage',
          items: [
            {
              id: `${canvas}/page/image`,
              type: 'Annotation',
              motivation: 'painting',
              target: canvas,
              body: {
                id: `${service}/full/max/0/default.jpg`,
                type: 'Image',
                format: 'image/jpeg',
                width: 1240,
                height: 1754,
                service: [
                  options.version === 3
                    ? { id: service, type: 'ImageService3', profile: 'level0' }
                    : { '@id': service, '@type': 'ImageService2', profile: 'http://iiif.io/api/image/2/level0.json' },
                ],
              },
            },
          ],
        },
      ],
    };
  });
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: `${base}/cookbook/manifest.json`,
    type: 'Manifest',
    label: { en: ['A museum book, served as static files'] },
    summary: { en: ['<p>Two folios, <b>level 0</b> tiles, no server software.</p>'] },
    metadata: [
      { label: { en: ['Date'] }, value: { none: ['1871'] } },
      { label: { en: ['Note'] }, value: { en: ['<span>Kept in <i>the museum</i> <script>window.__xss = 1</script></span>'] } },
    ],
    requiredStatement: { label: { en: ['Attribution'] }, value: { en: ['Provided by a small museum'] } },
    rights: 'http://creativecommons.org/licenses/by/4.0/',
    behavior: ['individuals'],
    ...(options.search ? { service: [{ id: `${base}/search/cookbook`, type: 'SearchService2' }] } : {}),
    items: canvases,
  };
}

function presentation2(base: string): object {
  return {
    '@context': 'http://iiif.io/api/presentation/2/context.json',
    '@id': `${base}/bad/p2.json`,
    '@type': 'sc:Manifest',
    label: 'An old Presentation 2 manifest',
    sequences: [{ '@type': 'sc:Sequence', canvases: [] }],
  };
}

function withoutServices(base: string): object {
  const m = cookbookManifest(base, { tiles: 'tiles3', version: 3, search: false }) as { items: Array<{ items: Array<{ items: Array<{ body: Record<string, unknown> }> }> }> };
  for (const c of m.items) delete c.items[0]!.items[0]!.body.service;
  return { ...m, id: `${base}/bad/no-service.json` };
}

/** Three pages: a good one, one painted without a service, one whose info.json is missing. */
function mixed(base: string): object {
  const m = cookbookManifest(base, { tiles: 'tiles3', version: 3, search: false }) as { items: Array<Record<string, unknown> & { id: string; items: Array<{ items: Array<{ body: Record<string, unknown> }> }> }> };
  const [good, second] = m.items;
  const noService = structuredClone(second!);
  delete noService.items[0]!.items[0]!.body.service;
  const brokenService = structuredClone(second!);
  brokenService.id = `${base}/cookbook/canvas/p3`;
  brokenService.items[0]!.items[0]!.body.service = [{ id: `${base}/tiles3/gone`, type: 'ImageService3', profile: 'level0' }];
  return { ...m, id: `${base}/mixed/manifest.json`, items: [good, noService, brokenService] };
}

function searchAnswer(base: string, q: string): object {
  const wanted = q.trim().toLowerCase();
  const hits = SEARCH_HITS.filter((h) => wanted.length > 0 && h.word.includes(wanted));
  const canvas = `${base}/cookbook/canvas/p2`;
  return {
    '@context': 'http://iiif.io/api/search/2/context.json',
    id: `${base}/search/cookbook?q=${encodeURIComponent(q)}`,
    type: 'AnnotationPage',
    items: hits.map((h, i) => ({
      id: `${base}/search/cookbook/hit/${i}`,
      type: 'Annotation',
      motivation: 'highlighting',
      target: `${canvas}#xywh=${h.xywh.join(',')}`,
    })),
    annotations: [
      {
        type: 'AnnotationPage',
        items: hits.map((h, i) => ({
          id: `${base}/search/cookbook/match/${i}`,
          type: 'Annotation',
          motivation: 'contextualizing',
          target: {
            type: 'SpecificResource',
            source: `${base}/search/cookbook/hit/${i}`,
            selector: [{ type: 'TextQuoteSelector', prefix: h.prefix, exact: h.exact, suffix: h.suffix }],
          },
        })),
      },
    ],
  };
}

/** Half the tiles fail, always the same half (so retries fail too). */
function failsHalf(path: string): boolean {
  return createHash('sha256').update(path).digest()[0]! % 2 === 0;
}

export async function startStaticIiifSite(): Promise<StaticIiifSite> {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-static-iiif-'));
  const requests: string[] = [];
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Tile trees as sharp's level-0 layouts write them, under the ids the manifests name.
  for (const sub of ['tiles3', 'tiles2', 'failing-tiles', 'thumbs']) mkdirSync(join(dir, sub), { recursive: true });
  for (let n = 1; n <= PAGES; n++) {
    const png = await renderDemoPage(PAGE_TITLE, n);
    await sharp(png).tile({ size: 256, layout: 'iiif3', id: `${base}/tiles3` }).toFile(join(dir, 'tiles3', `page-${n}`));
    await sharp(png).tile({ size: 256, layout: 'iiif', id: `${base}/tiles2` }).toFile(join(dir, 'tiles2', `page-${n}`));
    await sharp(png).tile({ size: 256, layout: 'iiif3', id: `${base}/failing-tiles` }).toFile(join(dir, 'failing-tiles', `page-${n}`));
    await sharp(png).resize({ height: 150 }).jpeg().toFile(join(dir, 'thumbs', `page-${n}.jpg`));
  }

  const json = (body: object) => ({ status: 200, type: 'application/ld+json', body: JSON.stringify(body) });
  const documents: Record<string, () => { status: number; type: string; body: string }> = {
    '/cookbook/manifest.json': () => json(cookbookManifest(base, { tiles: 'tiles3', version: 3, search: true })),
    '/image-api-2/manifest.json': () => json({ ...cookbookManifest(base, { tiles: 'tiles2', version: 2, search: false }), id: `${base}/image-api-2/manifest.json` }),
    '/failing/manifest.json': () => json({ ...cookbookManifest(base, { tiles: 'failing-tiles', version: 3, search: false }), id: `${base}/failing/manifest.json` }),
    '/mixed/manifest.json': () => json(mixed(base)),
    '/bad/not-json.json': () => ({ status: 200, type: 'text/html', body: '<!doctype html><title>Oops</title><p>Not a manifest' }),
    '/bad/p2.json': () => json(presentation2(base)),
    '/bad/zero.json': () => json({ ...cookbookManifest(base, { tiles: 'tiles3', version: 3, search: false }), id: `${base}/bad/zero.json`, items: [] }),
    '/bad/no-service.json': () => json(withoutServices(base)),
  };

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const path = decodeURIComponent(url.pathname);
    requests.push(path);
    const cors = { 'access-control-allow-origin': '*' };
    const doc = documents[path];
    if (doc) {
      const d = doc();
      res.writeHead(d.status, { ...cors, 'content-type': d.type }).end(d.body);
      return;
    }
    if (path === '/search/cookbook') {
      res.writeHead(200, { ...cors, 'content-type': 'application/ld+json' }).end(JSON.stringify(searchAnswer(base, url.searchParams.get('q') ?? '')));
      return;
    }
    if (path.startsWith('/failing-tiles/') && !path.endsWith('/info.json') && failsHalf(path)) {
      res.writeHead(500, { ...cors, 'content-type': 'text/plain' }).end('tile server error');
      return;
    }
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + '/')) {
      res.writeHead(400, cors).end();
      return;
    }
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      const body = readFileSync(file);
      const type = file.endsWith('.json') ? 'application/json' : 'image/jpeg';
      res.writeHead(200, { ...cors, 'content-type': type, 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404, { ...cors, 'content-type': 'text/plain' }).end('not found');
    }
  });

  return {
    url: base,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
