import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { parseTypesenseUrl, redactTypesenseUrl } from '../../src/search/typesense-url.ts';

test('typesense:// is HTTP, typesenses:// HTTPS, one node or a cluster, default ports', (t) => {
  t.deepEqual(parseTypesenseUrl('typesense://abc@localhost:8108'), { apiKey: 'abc', nodes: [{ host: 'localhost', port: 8108, protocol: 'http' }] });
  t.deepEqual(parseTypesenseUrl('typesense://k@ts1:8108,ts2:8109, 10.0.0.3'), {
    apiKey: 'k',
    nodes: [
      { host: 'ts1', port: 8108, protocol: 'http' },
      { host: 'ts2', port: 8109, protocol: 'http' },
      { host: '10.0.0.3', port: 8108, protocol: 'http' },
    ],
  });
  t.deepEqual(parseTypesenseUrl('typesenses://k@search.example.org').nodes, [{ host: 'search.example.org', port: 443, protocol: 'https' }]);
  t.deepEqual(parseTypesenseUrl('typesense://k@[::1]:8108').nodes, [{ host: '::1', port: 8108, protocol: 'http' }]);
  t.is(parseTypesenseUrl('typesense://a%40b%2Cc@h:1').apiKey, 'a@b,c');
});

test('a bad Typesense URL is refused with a reason that never shows the key', (t) => {
  for (const [url, reason] of [
    ['typesense://h:8108', /with a key/],
    ['typesense://@h:8108', /key is empty/],
    ['typesense://sekret@h:99999', /out of range/],
    ['typesense://sekret@h:80,', /not host:port/],
    ['typesense://sekret@h:80/path', /not host:port/],
    ['typesense://%E0%A4%A@h:1', /percent-encoding/],
    ['http://sekret@h:8108', /typesense:\/\//],
  ] as const) {
    const err = t.throws(() => parseTypesenseUrl(url), undefined, url);
    t.regex(err?.message ?? '', reason, url);
    t.false(err?.message.includes('sekret'), url);
  }
  t.is(redactTypesenseUrl('typesenses://sekret@h:1,h2:2'), 'typesenses://***@h:1,h2:2');
});

test('THUKHO_SEARCH accepts embedded and Typesense URLs and names the variable otherwise', (t) => {
  const base = { THUKHO_DATA_DIR: '/tmp/thukho-url-test' };
  t.deepEqual(loadConfig({ ...base, THUKHO_SEARCH: 'typesenses://k@a:1,b:2' }).search, { kind: 'typesense', url: 'typesenses://k@a:1,b:2' });
  t.deepEqual(loadConfig(base).search, { kind: 'embedded' });
  const err = t.throws(() => loadConfig({ ...base, THUKHO_SEARCH: 'typesense://sekret@a:1,' }), { message: /THUKHO_SEARCH/ });
  t.false(err?.message.includes('sekret'));
});
