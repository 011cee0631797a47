import test from 'ava';
import {
  decodeContentState,
  encodeContentState,
  encodeShareAnnotation,
  parseContentState,
  readContentStateParam,
  shareAnnotation,
} from '../../viewer/src/content-state.ts';

const M = 'https://example.org/iiif/manifest/kieu';
const C = `${M}/canvas/f2`;

test('encoding is base64url of the URI-encoded JSON, without padding, and round-trips Vietnamese and Han', (t) => {
  const json = JSON.stringify({ label: 'Truyện Kiều 傳翹', x: '?&/' });
  const encoded = encodeContentState(json);
  t.regex(encoded, /^[A-Za-z0-9_-]+$/);
  t.is(decodeContentState(encoded), json);
  t.is(Buffer.from(encoded, 'base64url').toString('latin1'), encodeURIComponent(json));
});

test('a plain Manifest reference, encoded as the spec describes, decodes', (t) => {
  const encoded =
    'JTdCJTIyaWQlMjIlM0ElMjJodHRwcyUzQSUyRiUyRmV4YW1wbGUub3JnJTJGaWlpZiUyRml0ZW0xJTJGbWFuaWZlc3QlMjIlMkMlMjJ0eXBlJTIyJTNBJTIyTWFuaWZlc3QlMjIlN0Q';
  const decoded = decodeContentState(encoded);
  t.is(decoded, '{"id":"https://example.org/iiif/item1/manifest","type":"Manifest"}');
  t.deepEqual(parseContentState(JSON.parse(decoded ?? 'null')), { manifestId: 'https://example.org/iiif/item1/manifest' });
});

test('share annotation targets the canvas region, part of the manifest', (t) => {
  const a = shareAnnotation({ manifestId: M, canvasId: C, xywh: { x: 10, y: 20, w: 300, h: 400 } });
  t.is(a.type, 'Annotation');
  t.deepEqual(a.motivation, ['contentState']);
  t.deepEqual(a.target, { id: `${C}#xywh=10,20,300,400`, type: 'Canvas', partOf: [{ id: M, type: 'Manifest' }] });
  const back = readContentStateParam(encodeShareAnnotation({ manifestId: M, canvasId: C, xywh: { x: 10, y: 20, w: 300, h: 400 } }));
  t.is(back.kind, 'json');
  t.deepEqual(parseContentState(back.kind === 'json' ? back.value : null), { manifestId: M, canvasId: C, xywh: { x: 10, y: 20, w: 300, h: 400 } });
});

test('targets: arrays, SpecificResource with a FragmentSelector, bare canvas with partOf', (t) => {
  t.deepEqual(
    parseContentState({ type: 'Annotation', target: [{ id: 'nope' }, { id: C, type: 'Canvas', partOf: { id: M, type: 'Manifest' } }] }),
    { manifestId: M, canvasId: C },
  );
  t.deepEqual(
    parseContentState({
      type: 'Annotation',
      motivation: 'contentState',
      target: { type: 'SpecificResource', source: { id: C, type: 'Canvas', partOf: [{ id: M, type: 'Manifest' }] }, selector: { type: 'FragmentSelector', value: 'xywh=1,2,3,4' } },
    }),
    { manifestId: M, canvasId: C, xywh: { x: 1, y: 2, w: 3, h: 4 } },
  );
  t.deepEqual(parseContentState({ id: C, type: 'Canvas', partOf: [{ id: M, type: 'Manifest' }] }), { manifestId: M, canvasId: C });
  t.is(parseContentState({ id: C, type: 'Canvas' }), undefined);
  t.is(parseContentState({ type: 'Annotation', target: C }), undefined);
  t.is(parseContentState('x'), undefined);
});

test('parameter forms: base64url, plain JSON, URL, garbage', (t) => {
  t.deepEqual(readContentStateParam(`https://example.org/state.json`), { kind: 'url', url: 'https://example.org/state.json' });
  t.deepEqual(readContentStateParam(`{"id":"${M}","type":"Manifest"}`), { kind: 'json', value: { id: M, type: 'Manifest' } });
  t.deepEqual(readContentStateParam('not base64 !!'), { kind: 'invalid' });
  t.deepEqual(readContentStateParam(encodeContentState('{broken')), { kind: 'invalid' });
  t.deepEqual(readContentStateParam(encodeContentState(M)), { kind: 'url', url: M });
  t.is(decodeContentState('%%%'), undefined);
});
