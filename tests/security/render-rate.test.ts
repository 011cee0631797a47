import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';

/**
 * One client asking, one request after another, for renders nobody else needs (large sizes,
 * arbitrary rotations) never has more than one in flight, so the in-flight budget never
 * stops it. Its allowance over time does: a 429 with Retry-After and a reason in both
 * languages, for that client only; tiles and answers already made stay free.
 * 3 megapixels a minute: a handful of renders of a 1200 × 1600 page.
 */
const test = testWithServer({ THUKHO_IIIF_RENDER_MP_PER_MINUTE: '3' });

let fileId: string;

test.serial.before(async (t) => {
  const s = t.context.server;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Xoay tự do', accessLevel: 'open' })).id as string;
  fileId = (await uploadFile(s, objectId, await page('Xoay — 轉', { width: 1200, height: 1600 }), 'trang.tif')).fileId as string;
  await poll('the image', 30_000, async () => ((await fetch(`${s.url}/iiif/3/${fileId}/info.json`)).status === 200 ? true : undefined));
});

test.serial('rotated and large renders in a row: 429 with Retry-After and a bilingual reason, once the allowance is spent', async (t) => {
  const s = t.context.server;
  const statuses: number[] = [];
  let refused: Response | undefined;
  // Each a different angle: no answer comes from a cache.
  for (let degrees = 1; degrees <= 20 && !refused; degrees++) {
    const res = await fetch(`${s.url}/iiif/3/${fileId}/full/800,/${degrees}/default.jpg`, { headers: { 'accept-language': 'en' } });
    statuses.push(res.status);
    if (res.status === 429) refused = res;
    else await res.arrayBuffer();
  }
  t.truthy(refused, `statuses: ${statuses.join(' ')}`);
  t.is(statuses[0], 200, 'the first render is within the allowance');
  const body = (await refused!.json()) as Json;
  t.is(body.type, '/problems/render-rate-exceeded');
  t.regex((body.messages as Json).vi as string, /thử lại sau \d+ giây/);
  t.regex(body.detail as string, /retry in \d+ seconds/);
  const retryAfter = Number(refused!.headers.get('retry-after'));
  t.true(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
  t.is(refused!.headers.get('cache-control'), 'no-store');
});

test.serial('a refused client still gets answers already made; another client may render', async (t) => {
  const s = t.context.server;
  // Rendered (and cached) before the allowance ran out, in the test above.
  const cached = await fetch(`${s.url}/iiif/3/${fileId}/full/800,/1/default.jpg`);
  t.is(cached.status, 200);
  const fresh = await fetch(`${s.url}/iiif/3/${fileId}/full/800,/45/default.jpg`);
  await fresh.arrayBuffer();
  t.is(fresh.status, 429, 'the same client is still over its allowance');
  // A signed-in user is another client than the address.
  const reader = await fetch(`${s.url}/iiif/3/${fileId}/full/800,/45/default.jpg`, { headers: { authorization: `Bearer ${s.readerToken}` } });
  await reader.arrayBuffer();
  t.is(reader.status, 200);
});
