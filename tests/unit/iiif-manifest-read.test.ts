import { readFileSync } from 'node:fs';
import test from 'ava';
import { iiifWorkId, metadataOfManifest } from '../../src/application/iiif-import.ts';
import { IiifReadError, fullImageUrl, readIiifDocument } from '../../src/formats/iiif-manifest-read.ts';
import { LANGUAGE_NAMES, languageNames } from '../../src/iiif/manifest.ts';

/**
 * The IIIF reader of `thukho import-iiif` on golden fixtures: a hand-made Presentation 2.1
 * manifest (the shape most institutions still serve: @language values, attribution, license,
 * a level-1 Image API 2 service and a canvas without one) and a Presentation 3 manifest with
 * an Image API 2 and 3 service side by side. The expected files are what the reader and the
 * record mapping give; a change to either is a change of what imports bring in.
 */
const dir = new URL('../fixtures/iiif-import/', import.meta.url);
const json = (name: string) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as unknown;

for (const name of ['p2-manifest', 'p3-manifest']) {
  test(`${name}: read and mapped as the golden file says`, (t) => {
    const read = readIiifDocument(json(`${name}.json`));
    const mapped = read.kind === 'manifest' ? metadataOfManifest(read, undefined) : undefined;
    t.deepEqual(JSON.parse(JSON.stringify({ read, mapped })), json(`${name}.expected.json`));
  });
}

test('P2: Vietnamese and Han labels both kept, full/full from the Image API 2 service, the body id without one', (t) => {
  const read = readIiifDocument(json('p2-manifest.json'));
  if (read.kind !== 'manifest') return t.fail();
  t.deepEqual(read.label, { vi: ['Truyện Kiều'], 'zh-Hant': ['金雲翹新傳'] });
  t.deepEqual(read.canvases.map((c) => c.image?.url), [
    'http://bao-tang.example.vn/iiif/2/kieu-1/full/full/0/default.jpg',
    'http://bao-tang.example.vn/images/kieu-2.png',
  ]);
});

test('P3: the Image API 3 service is preferred to a 2.x one beside it (full/max)', (t) => {
  const read = readIiifDocument(json('p3-manifest.json'));
  if (read.kind !== 'manifest') return t.fail();
  t.deepEqual(read.canvases[0]?.image?.service, { id: 'https://thuvien.example.vn/iiif/3/f1', version: 3 });
  t.is(fullImageUrl({ id: 'https://x.example/iiif/2/a', version: 2 }), 'https://x.example/iiif/2/a/full/full/0/default.jpg');
});

test('collections of both versions list their manifests and nested collections', (t) => {
  const p3 = readIiifDocument({
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://a.example/c',
    type: 'Collection',
    label: { vi: ['Sách Hán Nôm'] },
    items: [
      { id: 'https://a.example/m1', type: 'Manifest' },
      { id: 'https://a.example/c2', type: 'Collection' },
    ],
  });
  t.like(p3, { kind: 'collection', manifests: ['https://a.example/m1'], collections: ['https://a.example/c2'] });
  const p2 = readIiifDocument({
    '@context': 'http://iiif.io/api/presentation/2/context.json',
    '@id': 'https://a.example/c',
    '@type': 'sc:Collection',
    manifests: [{ '@id': 'https://a.example/m1', '@type': 'sc:Manifest' }],
    members: [{ '@id': 'https://a.example/m2', '@type': 'sc:Manifest' }],
  });
  t.like(p2, { kind: 'collection', manifests: ['https://a.example/m1', 'https://a.example/m2'] });
});

test('what is not a manifest is a clear error in both languages', (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[1, 2], /not a JSON object/],
    [{ hello: 'world' }, /not a IIIF Presentation document/],
    [{ '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'https://a.example/c1', type: 'Canvas' }, /a IIIF "Canvas", not a Manifest/],
    [{ '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'https://a.example/m', type: 'Manifest', items: [] }, /has no label/],
    [{ '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'not a url', type: 'Manifest', label: { vi: ['x'] }, items: [] }, /invalid Presentation 3 manifest: id/],
    [{ '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'https://a.example/m', type: 'Manifest', label: { vi: ['x'] }, items: [{ type: 'Range' }] }, /items\[0\] is not a Canvas/],
    [{ '@context': 'http://iiif.io/api/presentation/2/context.json', '@id': 'https://a.example/m', '@type': 'sc:Manifest', label: 'x' }, /invalid Presentation 2 manifest: sequences/],
  ];
  for (const [doc, en] of cases) {
    const err = t.throws(() => readIiifDocument(doc), { instanceOf: IiifReadError });
    t.regex(err?.messages.en ?? '', en);
    t.true((err?.messages.vi.length ?? 0) > 0);
  }
});

test('a Choice paints its first item; a canvas painting no image has none', (t) => {
  const read = readIiifDocument({
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://a.example/m',
    type: 'Manifest',
    label: 'Bản đồ',
    items: [
      { id: 'https://a.example/c1', type: 'Canvas', items: [{ items: [{ motivation: 'painting', body: { type: 'Choice', items: [{ id: 'https://a.example/a.jpg', type: 'Image' }, { id: 'https://a.example/b.jpg', type: 'Image' }] } }] }] },
      { id: 'https://a.example/c2', type: 'Canvas', items: [{ items: [{ motivation: 'painting', body: { id: 'https://a.example/v.mp4', type: 'Video' } }] }] },
    ],
  });
  if (read.kind !== 'manifest') return t.fail();
  t.deepEqual(read.label, { none: ['Bản đồ'] }, 'a plain string label (seen in the wild) is read');
  t.is(read.canvases[0]?.image?.url, 'https://a.example/a.jpg');
  t.is(read.canvases[1]?.image, undefined);
});

test('a value the record refuses is dropped and said; the work id depends on the URL only', (t) => {
  const read = readIiifDocument(json('p3-manifest.json'));
  if (read.kind !== 'manifest') return t.fail();
  const mapped = metadataOfManifest({ ...read, metadata: [...read.metadata, { label: { en: ['Language'] }, value: { en: ['Klingon'] } }], rights: 'see our terms' }, undefined);
  t.deepEqual(mapped.notApplied.map((n) => n.field), ['language', 'rights']);
  t.is(mapped.metadata?.title, 'Đại Nam thực lục');
  t.is(iiifWorkId('https://a.example/m'), iiifWorkId('https://a.example/m'));
  t.not(iiifWorkId('https://a.example/m'), iiifWorkId('https://a.example/m2'));
  t.regex(iiifWorkId('https://a.example/m'), /^iiif-[0-9a-f]{16}$/);
});

test('every language our manifests name reads back as its code, in either interface language', (t) => {
  const read = readIiifDocument(json('p3-manifest.json'));
  if (read.kind !== 'manifest') return t.fail();
  const codes = Object.keys(LANGUAGE_NAMES);
  const names = languageNames(codes);
  for (const lang of ['vi', 'en'] as const) {
    const language = { label: { en: ['Language'] }, value: { [lang]: [(names[lang] ?? []).join('; ')] } };
    const mapped = metadataOfManifest({ ...read, metadata: [...read.metadata.filter((m) => !JSON.stringify(m.label).includes('Language')), language] }, undefined);
    t.deepEqual(mapped.metadata?.language, codes, lang);
    t.deepEqual(mapped.notApplied.filter((n) => n.field === 'language'), [], lang);
  }
});
