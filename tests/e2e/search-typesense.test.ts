import anyTest, { type TestFn } from 'ava';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { TypesenseDouble } from '../typesense-double/server.ts';

/**
 * The cluster profile's search, end to end: `thukho serve` with THUKHO_SEARCH naming a
 * Typesense server (here the protocol double, not Typesense: see tests/typesense-double) feeds
 * it from the log and answers /api/search and the site's /search from it; when the server
 * stops answering, search is a 503 with a reason and /health says so, never a 500, and the
 * key never shows.
 */
const KEY = 'cluster-key-5150';
const test = anyTest as TestFn<{ server: TestServer; double: TypesenseDouble }>;

test.serial.before(async (t) => {
  t.context.double = await TypesenseDouble.start(KEY);
  t.context.server = await startTestServer({ THUKHO_SEARCH: t.context.double.url });
});
test.after.always(async (t) => {
  await t.context.server?.close();
  await t.context.double?.stop().catch(() => {});
});

async function searchStatus(server: TestServer, q: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${server.url}/api/search?q=${encodeURIComponent(q)}`);
  return { status: res.status, body: (await res.json()) as Json };
}

test.serial('a work registered through the API is found through Typesense, folded', async (t) => {
  const { server } = t.context;
  await staffCall(server, 'POST', '/api/objects', { id: 'dia-ba-dong-lo', title: 'Địa bạ xã Đông Lỗ, Bắc Giang', language: ['vie'] });
  const found = await poll('the work in the Typesense index', 30_000, async () => {
    const r = await searchStatus(server, 'bac giang dia ba');
    return r.status === 200 && (r.body.total as number) > 0 ? r.body : undefined;
  });
  const hits = found.hits as Array<{ work: { id: string } }>;
  t.deepEqual(hits.map((h) => h.work.id), ['dia-ba-dong-lo']);
  const site = await fetch(`${server.url}/search?q=${encodeURIComponent('Đông Lỗ')}`);
  t.is(site.status, 200);
  t.true((await site.text()).includes('dia-ba-dong-lo'));
});

test.serial('Typesense gone: 503 with a reason on /api/search and /search, /health says so, no key anywhere', async (t) => {
  const { server, double } = t.context;
  await double.stop();
  const api = await searchStatus(server, 'bac giang');
  t.is(api.status, 503);
  t.is(api.body.type, '/problems/search-unavailable');
  t.truthy((api.body.messages as { vi: string }).vi);
  const site = await fetch(`${server.url}/search?q=bac+giang`);
  t.is(site.status, 503);
  const page = await site.text();
  t.true(page.includes('Tìm kiếm tạm ngừng'));
  const health = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${server.staffToken}` } });
  const body = (await health.json()) as { checks?: Json } & Json;
  const text = JSON.stringify(body);
  t.not(body.status, 'ok', text);
  for (const answer of [JSON.stringify(api.body), page, text]) t.false(answer.includes(KEY));
});
