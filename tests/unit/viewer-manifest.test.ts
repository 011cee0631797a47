import test from 'ava';
import { imageRendering, parseManifest, type ViewerManifest } from '../../viewer/src/manifest.ts';

const P3 = 'http://iiif.io/api/presentation/3/context.json';

function canvas(n: number, service?: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `https://example.org/iiif/m/canvas/${n}`;
  return {
    id,
    type: 'Canvas',
    label: { vi: [`Trang ${n}`], en: [`Page ${n}`] },
    width: 2000,
    height: 3000,
    items: [
      {
        id: `${id}/page`,
        type: 'AnnotationPage',
        items: [
          {
            id: `${id}/page/image`,
            type: 'Annotation',
            motivation: 'painting',
            target: id,
            body: { id: `https://example.org/img/${n}/full/max/0/default.jpg`, type: 'Image', format: 'image/jpeg', ...(service ? { service: [service] } : {}) },
          },
        ],
      },
    ],
    ...extra,
  };
}

const v3 = (n: number): Record<string, unknown> => ({ id: `https://example.org/iiif/3/f${n}`, type: 'ImageService3', profile: 'level2' });

function manifest(items: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { '@context': P3, id: 'https://example.org/iiif/m', type: 'Manifest', label: { vi: ['Truyện Kiều'] }, items, ...extra };
}

function ok(json: unknown): ViewerManifest {
  const r = parseManifest(json);
  if (!r.ok) throw new Error(`expected a manifest, got ${r.error.code}`);
  return r.manifest;
}

test('reads canvases, image services, thumbnails and properties', (t) => {
  const m = ok(
    manifest([canvas(1, v3(1)), canvas(2, v3(2), { thumbnail: [{ id: 'https://example.org/t2.jpg', type: 'Image' }] })], {
      viewingDirection: 'right-to-left',
      behavior: ['paged'],
      summary: { vi: ['Tóm tắt'] },
      metadata: [{ label: { vi: ['Tác giả'] }, value: { vi: ['Nguyễn Du'] } }, { label: { en: ['Empty'] } }],
      requiredStatement: { label: { vi: ['Nơi lưu giữ'] }, value: { vi: ['Thư viện'] } },
      rights: 'http://creativecommons.org/publicdomain/mark/1.0/',
      service: [{ id: 'https://example.org/search/m', type: 'SearchService2' }],
      homepage: [{ id: 'https://example.org/objects/m', type: 'Text', label: { vi: ['Trang'] } }],
      provider: [{ id: 'https://example.org/', type: 'Agent', label: { vi: ['Thư viện'] }, homepage: [{ id: 'https://example.org/', type: 'Text' }] }],
    }),
  );
  t.is(m.canvases.length, 2);
  t.deepEqual(m.canvases[0]?.service, { id: 'https://example.org/iiif/3/f1', version: 3, level: 2 });
  t.is(m.canvases[0]?.thumbnail, 'https://example.org/iiif/3/f1/full/,150/0/default.jpg');
  t.is(m.canvases[1]?.thumbnail, 'https://example.org/t2.jpg');
  t.is(m.viewingDirection, 'right-to-left');
  t.deepEqual(m.behavior, ['paged']);
  t.is(m.metadata.length, 1);
  t.is(m.searchService, 'https://example.org/search/m');
  t.is(m.rights, 'http://creativecommons.org/publicdomain/mark/1.0/');
  t.is(m.homepage[0]?.id, 'https://example.org/objects/m');
  t.is(m.provider[0]?.homepage[0]?.id, 'https://example.org/');
  t.deepEqual(m.requiredStatement?.value, { vi: ['Thư viện'] });
});

test('Image API 2 services by @type, profile or @context; level 0 gets no generated thumbnail', (t) => {
  const m = ok(
    manifest([
      canvas(1, { '@id': 'https://x.org/iiif/2/a/', '@type': 'ImageService2', profile: 'http://iiif.io/api/image/2/level1.json' }),
      canvas(2, { '@id': 'https://x.org/iiif/2/b', '@context': 'http://iiif.io/api/image/2/context.json', profile: ['http://iiif.io/api/image/2/level0.json', {}] }),
      canvas(3, { id: 'https://x.org/iiif/3/c', type: 'ImageService3', profile: 'level0' }),
    ]),
  );
  t.deepEqual(m.canvases[0]?.service, { id: 'https://x.org/iiif/2/a', version: 2, level: 1 });
  t.is(m.canvases[0]?.thumbnail, 'https://x.org/iiif/2/a/full/,150/0/default.jpg');
  t.deepEqual(m.canvases[1]?.service, { id: 'https://x.org/iiif/2/b', version: 2, level: 0 });
  t.is(m.canvases[1]?.thumbnail, undefined);
  t.is(m.canvases[2]?.service?.level, 0);
});

test('a Choice body takes its first item; a canvas without service is kept without one', (t) => {
  const c = canvas(1);
  const page = (c.items as Record<string, unknown>[])[0] as { items: Record<string, unknown>[] };
  (page.items[0] as Record<string, unknown>).body = { type: 'Choice', items: [{ id: 'https://x/1.jpg', type: 'Image', service: v3(9) }, { id: 'https://x/2.jpg', type: 'Image' }] };
  const m = ok(manifest([c, canvas(2)]));
  t.is(m.canvases[0]?.service?.id, 'https://example.org/iiif/3/f9');
  t.is(m.canvases[1]?.service, undefined);
});

test('the manifest thumbnail stands in for page 1 only', (t) => {
  const m = ok(manifest([canvas(1, { id: 'https://x/s1', type: 'ImageService3', profile: 'level0' }), canvas(2)], { thumbnail: [{ id: 'https://x/t.jpg' }] }));
  t.is(m.canvases[0]?.thumbnail, 'https://x/t.jpg');
  t.is(m.canvases[1]?.thumbnail, undefined);
});

test('renderings: the first image format is the download', (t) => {
  const m = ok(
    manifest([
      canvas(1, v3(1), {
        rendering: [
          { id: 'https://x/1.pdf', type: 'Text', format: 'application/pdf', label: { en: ['PDF'] } },
          { id: 'https://x/1.jpg', type: 'Image', format: 'image/jpeg', label: { vi: ['Ảnh trang'] } },
        ],
      }),
      canvas(2, v3(2)),
    ]),
  );
  t.is(imageRendering(m.canvases[0]!)?.id, 'https://x/1.jpg');
  t.is(imageRendering(m.canvases[1]!), undefined);
});

test('errors: Presentation 2, not a manifest, no canvases, no image service', (t) => {
  const code = (json: unknown): string | undefined => {
    const r = parseManifest(json);
    return r.ok ? undefined : r.error.code;
  };
  t.is(code({ '@context': 'http://iiif.io/api/presentation/2/context.json', '@id': 'x', '@type': 'sc:Manifest' }), 'presentation-2');
  t.is(code({ '@id': 'x', '@type': 'sc:Manifest' }), 'presentation-2');
  t.is(code([1, 2]), 'not-a-manifest');
  t.is(code('text'), 'not-a-manifest');
  t.is(code({ '@context': P3, id: 'x', type: 'Collection', items: [] }), 'not-a-manifest');
  t.is(code({ '@context': 'http://schema.org', id: 'x', type: 'Manifest', items: [canvas(1, v3(1))] }), 'not-a-manifest');
  t.is(code(manifest([])), 'no-canvases');
  t.is(code(manifest([canvas(1), canvas(2)])), 'no-image-service');
});

test('sloppy values: string labels, single objects where arrays belong', (t) => {
  const c = canvas(1);
  c.label = 'Tờ 1';
  const m = ok(manifest([c, canvas(2, v3(2))], { label: 'Plain title', viewingDirection: 'sideways' }));
  t.deepEqual(m.label, { none: ['Plain title'] });
  t.deepEqual(m.canvases[0]?.label, { none: ['Tờ 1'] });
  t.is(m.viewingDirection, 'left-to-right');
});

// ---------------------------------------------------------------------------------------
// Our own server's manifests must read without loss.

test('reads a manifest built by the server (src/iiif/manifest.ts)', async (t) => {
  const { buildManifest } = await import('../../src/iiif/manifest.ts');
  const file = (fileId: string, sequence: number) => ({
    fileId,
    name: `${fileId}.tif`,
    role: 'master' as const,
    size: 1,
    mediaType: 'image/tiff',
    digests: { sha512: 'a'.repeat(128), sha256: 'b'.repeat(64) },
    image: { width: 3000, height: 4000 },
    storage: { ocflObjectId: 'obj', version: 'v1', path: `${fileId}/${fileId}.tif` },
    sequence,
  });
  const doc = buildManifest({
    base: 'https://thukho.example.vn',
    objectId: 'hn-0001',
    institution: 'Thư viện tỉnh Nam Định',
    state: {
      status: 'active',
      objectId: 'hn-0001',
      accessLevel: 'open',
      metadata: { title: 'Đại Nam thực lục', language: ['lzh'] },
      files: [file('f1', 1), file('f2', 2), file('f3', 3)],
    } as Parameters<typeof buildManifest>[0]['state'],
  });
  const m = ok(JSON.parse(JSON.stringify(doc)));
  t.is(m.canvases.length, 3);
  t.is(m.viewingDirection, 'right-to-left');
  t.true(m.behavior.includes('paged'));
  t.deepEqual(m.canvases[0]?.service, { id: 'https://thukho.example.vn/iiif/3/f1', version: 3, level: 2 });
  t.is(m.canvases[1]?.width, 3000);
  t.truthy(m.canvases[0]?.thumbnail);
  t.is(m.searchService, undefined);
  t.is(imageRendering(m.canvases[2]!)?.id, 'https://thukho.example.vn/iiif/3/f3/full/max/0/default.jpg');
});

test('structures: top-level Ranges become the contents, each at its first canvas (nested Ranges and SpecificResources followed)', (t) => {
  const canvas = (n: number) => ({
    id: `https://x.example/c${n}`,
    type: 'Canvas',
    width: 10,
    height: 10,
    items: [{ id: `https://x.example/c${n}/p`, type: 'AnnotationPage', items: [{ id: `https://x.example/c${n}/a`, type: 'Annotation', motivation: 'painting', target: `https://x.example/c${n}`, body: { id: `https://x.example/i${n}/full/max/0/default.jpg`, type: 'Image', service: [{ id: `https://x.example/i${n}`, type: 'ImageService3', profile: 'level2' }] } }] }],
  });
  const result = parseManifest({
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://x.example/m',
    type: 'Manifest',
    label: { vi: ['Sách'] },
    items: [canvas(1), canvas(2), canvas(3)],
    structures: [
      { id: 'https://x.example/r1', type: 'Range', label: { vi: ['Bìa'] }, items: [{ id: 'https://x.example/c1', type: 'Canvas' }] },
      { id: 'https://x.example/r2', type: 'Range', label: { vi: ['Hồi 1'] }, items: [{ id: 'https://x.example/r2a', type: 'Range', items: [{ type: 'SpecificResource', source: 'https://x.example/c3#xywh=0,0,5,5' }] }] },
      { id: 'https://x.example/r3', type: 'Range', label: { vi: ['Ngoài'] }, items: [{ id: 'https://elsewhere.example/c9', type: 'Canvas' }] },
      'rác',
    ],
  });
  if (!result.ok) return t.fail(JSON.stringify(result.error));
  t.deepEqual(result.manifest.contents, [
    { label: { vi: ['Bìa'] }, canvas: 0 },
    { label: { vi: ['Hồi 1'] }, canvas: 2 },
  ]);
});
