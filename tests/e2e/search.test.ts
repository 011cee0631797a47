import { recordFact } from '../../src/application/machine-facts.ts';
import { rebuildSearchIndex } from '../../src/projections/search-runner.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * Search over real HTTP, fed by the search projection from the log: folding, page text with
 * snippets and reading-room links, edits, withdrawals and policy changes reaching the index,
 * access inside every part of the answer, bad input, and a rebuild giving the same answers.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

const ids = { land: 'dia-ba-bac-giang', poem: 'tho-nom', secret: 'ho-so-mat', locked: 'so-han-che', gone: 'sach-rut' };
const files: Record<string, string[]> = {};

interface Hit {
  work: { id: string; accessLevel: string; metadata: { title: string } };
  title: Array<{ text: string; mark: boolean }>;
  pageMatches: number;
  pageHits: Array<{ pageId: string; canvasId: string; label: string; order: number; snippet: Array<{ text: string; mark: boolean }>; xywh?: string; readerUrl: string }>;
}
interface Result {
  total: number;
  hits: Hit[];
  facets: Record<string, Array<{ value: string; count: number }>>;
}

async function api(t: Ctx, query: string, token?: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${t.context.server.url}/api/search?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Json };
}

async function search(t: Ctx, q: string, token?: string): Promise<Result> {
  const r = await api(t, `q=${encodeURIComponent(q)}`, token);
  if (r.status !== 200) throw new Error(`search ${q}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as unknown as Result;
}

const workIds = (r: Result) => r.hits.map((h) => h.work.id).sort();

/** Until the search projection has applied everything in the log (it is idle and live). */
async function settled(t: Ctx): Promise<void> {
  const s = t.context.server;
  await poll('search projection to catch up', 20_000, async () => {
    const head = await s.store.headPosition();
    return head !== null && s.search.lagBehind(head) === 0 && s.search.status().state === 'live' ? true : undefined;
  }, 20);
}

async function pageText(t: Ctx, objectId: string, fileId: string, text: string, words?: Array<{ start: number; end: number; x: number; y: number; w: number; h: number }>) {
  await recordFact(
    t.context.server.store,
    objectId,
    { type: 'PageTextRecorded', data: { objectId, fileId, text, source: 'ocr', engine: 'test', ...(words ? { words } : {}) } },
    { actor: { id: 'worker:ocr', role: 'admin' } },
  );
}

test.serial('set-up: works, pages and their text', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'dia-ba', title: 'Địa bạ' });
  const works: Array<[string, Json]> = [
    [ids.land, { title: 'Địa bạ xã Đông Lỗ, Bắc Giang', language: ['vie'], type: 'Địa bạ', yearFrom: 1805, collectionId: 'dia-ba' }],
    [ids.poem, { title: 'Thơ Nôm Hồ Xuân Hương', language: ['vie'], type: 'Sách', yearFrom: 1820, description: 'Bản chép tay.' }],
    [ids.secret, { title: 'Hồ sơ mật Bắc Giang', accessLevel: 'confidential', collectionId: 'dia-ba', type: 'Địa bạ' }],
    [ids.locked, { title: 'Sổ hạn chế', accessLevel: 'restricted', type: 'Sách' }],
    [ids.gone, { title: 'Sách Bắc Giang đã rút', type: 'Sách' }],
  ];
  for (const [id, body] of works) {
    const made = await staffCall(s, 'POST', '/api/objects', { id, ...body });
    t.is(made.id, id);
  }
  for (const id of [ids.land, ids.secret, ids.locked]) {
    for (const n of [1, 2, 3]) await uploadFile(s, id, await scan(`${id} ${n}`, { width: 300, height: 400 }), `${id}_${n}.tif`);
    const object = await staffCall(s, 'GET', `/api/objects/${id}`);
    files[id] = (object.files as Array<{ fileId: string }>).map((f) => f.fileId);
  }
  const [first, second] = files[ids.land] as [string, string];
  await pageText(t, ids.land, first, 'Xã Đông Lỗ, tổng Yên Thế. Ruộng công điền ba mẫu.');
  const page2 = 'Ruộng tư điền. Chủ: Nguyễn Văn Sửu, năm mẫu hai sào, xứ Đồng Cửa. 北江 田';
  const box = (word: string, x: number) => ({ start: page2.indexOf(word), end: page2.indexOf(word) + word.length, x, y: 340, w: 50, h: 24 });
  await pageText(t, ids.land, second, page2, [box('Nguyễn', 40), box('Văn', 100), box('Sửu', 160)]);
  await pageText(t, ids.secret, files[ids.secret]![0]!, 'Mật lệnh về ruộng Sửu.');
  await pageText(t, ids.locked, files[ids.locked]![0]!, 'Văn tự bán ruộng cho ông Sửu.');
  await settled(t);
  t.pass();
});

test.serial('diacritics, đ and case fold: bac giang, Bắc Giang, BẮC GIANG find the same works; dia ba finds địa bạ', async (t) => {
  const forms = await Promise.all(['bac giang', 'Bắc Giang', 'BẮC GIANG', 'Ba\u0306\u0301c Giang'].map((q) => search(t, q)));
  t.deepEqual(workIds(forms[0]!), [ids.gone, ids.land].sort());
  for (const r of forms) t.deepEqual(workIds(r), workIds(forms[0]!));
  const diaBa = await search(t, 'dia ba');
  t.true(workIds(diaBa).includes(ids.land));
  const hit = diaBa.hits.find((h) => h.work.id === ids.land)!;
  t.true(hit.title.some((s) => s.mark && s.text === 'Địa'), 'marked as written, with its diacritics');
});

test.serial('page text: a word on a page finds the work, with the page, a snippet and a link that opens it there', async (t) => {
  const r = await search(t, 'nguyen van suu');
  t.deepEqual(workIds(r), [ids.land]);
  const hit = r.hits[0]!;
  t.is(hit.pageMatches, 1);
  const p = hit.pageHits[0]!;
  t.is(p.pageId, files[ids.land]![1] as string);
  t.is(p.label, '2');
  t.is(p.order, 1);
  t.is(p.canvasId, `${t.context.server.url}/iiif/manifest/${ids.land}/canvas/${files[ids.land]![1]}`);
  // The box of the first match in the snippet.
  t.is(p.xywh, '40,340,50,24');
  t.is(p.readerUrl, `${t.context.server.url}/objects/${ids.land}?page=2&xywh=40,340,50,24`);
  t.deepEqual(p.snippet.filter((s) => s.mark).map((s) => s.text), ['Nguyễn', 'Văn', 'Sửu']);
  // A Han character on the page finds it too.
  t.deepEqual(workIds(await search(t, '北江')), [ids.land]);
  // The site shows it: the page link, the snippet with <mark>, escaped.
  const html = await (await fetch(`${t.context.server.url}/search?q=${encodeURIComponent('nguyen van suu')}`)).text();
  t.true(html.includes(`href="/objects/${ids.land}?page=2&amp;xywh=40,340,50,24"`));
  t.true(html.includes('<mark>Nguyễn</mark> <mark>Văn</mark> <mark>Sửu</mark>'));
  t.true(html.includes('Trang 2'));
});

test.serial('an edit re-indexes the record; a reorder moves the page hit; a withdrawal removes the work', async (t) => {
  const s = t.context.server;
  const before = await staffCall(s, 'GET', `/api/objects/${ids.poem}`);
  const res = await fetch(`${s.url}/api/objects/${ids.poem}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': `"${String(before.revision)}"` },
    body: JSON.stringify({ subject: 'Cánh diều' }),
  });
  t.is(res.status, 200);
  await settled(t);
  t.deepEqual(workIds(await search(t, 'canh dieu')), [ids.poem]);

  const land = files[ids.land]!;
  await staffCall(s, 'PUT', `/api/objects/${ids.land}/files/order`, { order: [land[1], land[0], land[2]] });
  await settled(t);
  const moved = (await search(t, 'nguyen van suu')).hits[0]!.pageHits[0]!;
  t.is(moved.label, '1');
  t.true(moved.readerUrl.includes('?page=1'));

  t.true(workIds(await search(t, 'da rut')).includes(ids.gone));
  await staffCall(s, 'POST', `/api/objects/${ids.gone}/withdraw`, { reason: 'Trả lại' });
  await settled(t);
  t.deepEqual(workIds(await search(t, 'da rut')), []);
  t.false(workIds(await search(t, 'bac giang')).includes(ids.gone));
});

test.serial('confidential: absent from the public’s hits, facets and totals; staff find it', async (t) => {
  const s = t.context.server;
  const pub = await search(t, 'bac giang');
  t.false(workIds(pub).includes(ids.secret));
  t.is(pub.total, pub.hits.length);
  t.deepEqual(workIds(await search(t, 'mat lenh')), []);
  const browse = (await api(t, '')).body as unknown as Result;
  t.false(browse.facets.accessLevel!.some((v) => v.value === 'confidential'));
  t.is(browse.facets.collection!.find((v) => v.value === 'dia-ba')?.count, 1);
  const staff = await search(t, 'bac giang', s.staffToken);
  t.true(workIds(staff).includes(ids.secret));
  t.deepEqual(workIds(await search(t, 'mat lenh', s.staffToken)), [ids.secret]);

  // An open work made confidential leaves the public's answers.
  const poem = await staffCall(s, 'GET', `/api/objects/${ids.poem}`);
  const res = await fetch(`${s.url}/api/objects/${ids.poem}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': `"${String(poem.revision)}"` },
    body: JSON.stringify({ accessLevel: 'confidential' }),
  });
  t.is(res.status, 200);
  await settled(t);
  t.deepEqual(workIds(await search(t, 'ho xuan huong')), []);
  const after = (await api(t, '')).body as unknown as Result;
  t.is(after.total, browse.total - 1);
  t.false(after.facets.type!.some((v) => v.value === 'Sách' && v.count > 1), 'the facet count dropped with it');
  t.deepEqual(workIds(await search(t, 'ho xuan huong', s.staffToken)), [ids.poem]);
});

test.serial('restricted: the record is found by everyone, its page text only by a signed-in reader', async (t) => {
  const s = t.context.server;
  t.deepEqual(workIds(await search(t, 'so han che')), [ids.locked]);
  const anon = await search(t, 'van tu ban ruong');
  t.deepEqual(workIds(anon), []);
  const suu = await search(t, 'suu');
  t.false(workIds(suu).includes(ids.locked));
  const reader = await search(t, 'van tu ban ruong', s.readerToken);
  t.deepEqual(workIds(reader), [ids.locked]);
  t.is(reader.hits[0]!.pageHits.length, 1);
  // The record's own hit carries no page text to the public.
  const record = await search(t, 'so han che');
  t.deepEqual(record.hits[0]!.pageHits, []);
});

test.serial('bad input: a correct answer or a 400 with a reason in both languages, never a 500', async (t) => {
  const queries = [
    `q=${encodeURIComponent('"')}`,
    `q=${encodeURIComponent('bac* NEAR(giang')}`,
    `q=${encodeURIComponent('a AND (b OR')}`,
    `q=${encodeURIComponent("'; DROP TABLE works; --")}`,
    // Emoji, a Nôm character, and a lone surrogate as it would be encoded (CESU-8: not UTF-8).
    `q=${encodeURIComponent('📜 𡦂')}%ED%A0%80`,
    `q=${'x'.repeat(2000)}`,
    `q=${'ab '.repeat(700)}`,
    `q=${'x'.repeat(2001)}`,
    'filter[nope]=1',
    'filter[century]=abc',
    'filter[accessLevel]=secret',
    'filter[hasText]=maybe',
    'per_page=1000',
    'page=0',
    'sort=random',
    'unknown=1',
    'q=%FF',
  ];
  for (const q of queries) {
    const r = await api(t, q);
    t.true(r.status === 200 || r.status === 400, `${q.slice(0, 40)}: ${r.status}`);
    if (r.status === 400) {
      const messages = r.body.messages as { vi: string; en: string };
      t.truthy(messages.vi && messages.en, q.slice(0, 40));
      t.false(/fts5|sqlite|syntax error/i.test(JSON.stringify(r.body)), `no engine error: ${q.slice(0, 40)}`);
    }
  }
  t.is((await api(t, 'filter[nope]=1')).status, 400);
  t.is((await api(t, `q=${'x'.repeat(2001)}`)).status, 400);
  t.is((await api(t, 'filter[collection]=dia-ba&filter[collection]=khac')).status, 200);
  const site = await fetch(`${t.context.server.url}/search?q=${encodeURIComponent('NEAR( " *')}`);
  t.is(site.status, 200);
});

test.serial('a rebuild from the log gives the same answers; /health names the search index for staff only', async (t) => {
  const s = t.context.server;
  const queries = ['bac giang', 'nguyen van suu', 'dia ba', '北江', 'sach', ''];
  const before = await Promise.all(queries.map((q) => search(t, q, s.staffToken)));
  const { events } = await rebuildSearchIndex(s.store, s.search.index);
  t.true(events > 0);
  const after = await Promise.all(queries.map((q) => search(t, q, s.staffToken)));
  t.deepEqual(after, before);

  const pub = (await (await fetch(`${s.url}/health`)).json()) as { search: Record<string, unknown> };
  t.is(pub.search.status, 'ok');
  t.is(pub.search.engine, 'embedded');
  t.false('path' in pub.search);
  const staff = (await (await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${s.staffToken}` } })).json()) as { search: Record<string, unknown> };
  t.regex(String(staff.search.path), /search\.sqlite$/);
});
