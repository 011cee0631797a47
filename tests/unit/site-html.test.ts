import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { pino } from 'pino';
import { assetStore, pageAssetsFrom } from '../../src/http/site/assets.ts';
import { html, httpUrl, queryString } from '../../src/http/site/html.ts';
import { centuryLabel, chooseLanguage } from '../../src/http/site/i18n.ts';
import { segments } from '../../src/http/site/layout.ts';
import { BadRequest, parsePage, parseQuery, parseSearchQuery, validId } from '../../src/http/site/request.ts';

test('html: every interpolated value is escaped unless it is SafeHtml', (t) => {
  const evil = `<script>alert(1)</script>"'&`;
  t.is(html`<p title="${evil}">${evil}</p>`.value, '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&apos;&amp;">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&apos;&amp;</p>');
  t.is(html`<ul>${['<a>', html`<li>${'&'}</li>`]}</ul>`.value, '<ul>&lt;a&gt;<li>&amp;</li></ul>');
  t.is(html`${null}${undefined}${false}${true}${0}`.value, '0');
  t.is(html`${html`${html`<b>${'<i>'}</b>`}`}`.value, '<b>&lt;i&gt;</b>');
  // Characters HTML cannot carry are dropped, text is NFC.
  t.is(html`${'a\u0000b\uFFFEc'}`.value, 'abc');
  t.is(html`${'Kie\u0302\u0300u'}`.value, 'Kiều');
});

test('marked segments escape their text', (t) => {
  t.is(segments([{ text: '<b>', mark: false }, { text: 'Kiều & "x"', mark: true }]).value, '&lt;b&gt;<mark>Kiều &amp; &quot;x&quot;</mark>');
});

test('query strings and outside links', (t) => {
  t.is(queryString({ q: 'truyện kiều', collection: undefined, type: '', page: 2 }), '?q=truy%E1%BB%87n%20ki%E1%BB%81u&page=2');
  t.is(queryString({}), '');
  t.is(queryString({ q: 'a&b=c#d' }), '?q=a%26b%3Dc%23d');
  t.is(httpUrl('https://example.org/m.json'), 'https://example.org/m.json');
  t.is(httpUrl('javascript:alert(1)'), undefined);
  t.is(httpUrl('//example.org/x'), undefined);
  t.is(httpUrl('data:text/html,x'), undefined);
  t.is(httpUrl(undefined), undefined);
});

test('language: query wins and is remembered, then cookie, then Vietnamese', (t) => {
  t.deepEqual(chooseLanguage('en', 'vi'), { lang: 'en', remember: true });
  t.deepEqual(chooseLanguage(undefined, 'en'), { lang: 'en', remember: false });
  t.deepEqual(chooseLanguage('fr', 'xx'), { lang: 'vi', remember: false });
  t.deepEqual(chooseLanguage(undefined, undefined), { lang: 'vi', remember: false });
  t.is(centuryLabel('vi', 19), 'Thế kỷ XIX');
  t.is(centuryLabel('en', 19), '19th century');
  t.is(centuryLabel('en', 21), '21st century');
  t.is(centuryLabel('en', 12), '12th century');
  t.is(centuryLabel('vi', -3), 'Thế kỷ III TCN');
  t.is(centuryLabel('en', -1), '1st century BCE');
});

test('request parsing: strict percent-encoding, pages, ids, filters', (t) => {
  t.deepEqual([...parseQuery('q=truy%E1%BB%87n+ki%E1%BB%81u&q=second&flag&=x&')], [['q', 'truyện kiều'], ['flag', ''], ['', 'x']]);
  t.throws(() => parseQuery('q=%E0%A4%A'), { instanceOf: BadRequest });
  t.throws(() => parseQuery('q=%FF'), { instanceOf: BadRequest });
  t.throws(() => parseQuery('q=%ED%A0%80'), { instanceOf: BadRequest }, 'an encoded surrogate is not UTF-8');
  t.is(parsePage(undefined), 1);
  t.is(parsePage(''), 1);
  t.is(parsePage('7'), 7);
  for (const bad of ['0', '-1', 'abc', '1.5', '01', '9999999', ' 2']) t.throws(() => parsePage(bad), { instanceOf: BadRequest }, bad);
  t.is(validId('truyen-kieu_1'), 'truyen-kieu_1');
  for (const bad of ['..', '../x', 'UPPER', '', 'a'.repeat(65), undefined]) t.throws(() => validId(bad), { instanceOf: BadRequest }, String(bad));
  t.is(parseSearchQuery('  Kie\u0302\u0300u '), 'Kiều');
  t.throws(() => parseSearchQuery('a'.repeat(501)), { instanceOf: BadRequest });
});

test('assets: page links from the vite manifest', (t) => {
  t.deepEqual(
    pageAssetsFrom({
      'src/main.ts': { file: 'assets/main-AAAAAAAA.js', css: ['assets/main-BBBBBBBB.css'], imports: ['_osd-CCCCCCCC.js'] },
      '_osd-CCCCCCCC.js': { file: 'assets/osd-CCCCCCCC.js', css: ['assets/osd-DDDDDDDD.css'] },
      'src/site.css': { file: 'assets/site-EEEEEEEE.css' },
    }),
    {
      built: true,
      siteCss: '/assets/site-EEEEEEEE.css',
      viewer: { js: '/assets/main-AAAAAAAA.js', css: ['/assets/main-BBBBBBBB.css', '/assets/osd-DDDDDDDD.css'], preload: ['/assets/osd-CCCCCCCC.js'] },
    },
  );
});

test('assets: served from memory with a gzip copy; only plain names inside assets/', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-assets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const warnings: unknown[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const store = assetStore(logger, dir);
  t.deepEqual(store.pageAssets(), { built: false });
  t.deepEqual(store.pageAssets(), { built: false });
  t.is(warnings.length, 1, 'one warning, not one per page');

  mkdirSync(join(dir, 'assets'), { recursive: true });
  const css = 'body { color: black; }\n'.repeat(100);
  writeFileSync(join(dir, 'assets', 'site-AbCd1234.css'), css);
  writeFileSync(join(dir, 'assets', 'plain.js'), 'x');
  writeFileSync(join(dir, 'secret.txt'), 'no');
  const a = store.get('site-AbCd1234.css');
  t.truthy(a);
  t.is(a?.type, 'text/css; charset=utf-8');
  t.true(a?.immutable);
  t.regex(a?.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/);
  t.is(gunzipSync(a!.gzip!).toString(), css);
  t.is(store.get('site-AbCd1234.css'), a, 'kept in memory');
  const small = store.get('plain.js');
  t.is(small?.gzip, undefined, 'not compressed when it would grow');
  t.false(small?.immutable);
  for (const bad of ['../secret.txt', '..', '.vite', 'nope.js', 'a/b.js', '']) t.is(store.get(bad), undefined, bad);
});
