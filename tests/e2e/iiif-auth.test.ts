import sharp from 'sharp';
import { createUserWithPassword } from '../../src/application/users.ts';
import { type Json, staffCall, uploadFile } from '../helpers/api.ts';
import { CookieBrowser } from '../helpers/browser-session.ts';
import { startTestServer, type TestServer, testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * IIIF Authorization Flow 2.0 (and Authentication 1.0 beside it, for Mirador 4) over real
 * HTTP with real Redis: what a restricted image declares, the probe, the access service, the
 * token service's message, and what its token and cookie open (a reader's view, for reading,
 * from the page it was given to, while the session lasts). The browsers' side of the flow is
 * in mirador-auth.test.ts and viewer-auth.test.ts.
 */
const test = testWithServer();

const PASSWORD = 'mật khẩu của bạn đọc phòng đọc';
const ADMIN = { actor: { id: 'test', role: 'admin' } };
const VIEWER = 'http://viewer.example:8000';
let restricted = { objectId: '', fileId: '' };
let confidential = { objectId: '', fileId: '' };
let open = { objectId: '', fileId: '' };

async function work(server: TestServer, title: string, accessLevel: string): Promise<{ objectId: string; fileId: string }> {
  const created = await staffCall(server, 'POST', '/api/objects', { title, accessLevel });
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#d8c9a3' } }).png().toBuffer();
  const file = await uploadFile(server, created.id as string, png, 'trang-1.png');
  return { objectId: created.id as string, fileId: file.fileId as string };
}

test.serial.before(async (t) => {
  const { server } = t.context;
  let last: bigint | null = null;
  for (const [id, role] of [['ban-doc', 'reader'], ['bien-muc', 'curator']] as const) {
    last = (await createUserWithPassword(server.store, id, `Người dùng ${id}`, role, PASSWORD, ADMIN)).position;
  }
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && last !== null) await users.waitForPosition(last, scaledTimeout(60_000));
  restricted = await work(server, 'Sắc phong hạn chế', 'restricted');
  confidential = await work(server, 'Hồ sơ mật', 'confidential');
  open = await work(server, 'Sách mở', 'open');
});

/** The message the token page posts, and to which origin (read from the page, as its script does). */
async function tokenPage(res: Response): Promise<{ message: Json; target: string; csp: string; frameOptions: string | null }> {
  const text = await res.text();
  const m = /<script type="application\/json" id="iiif-message">([\s\S]*?)<\/script>/.exec(text);
  if (!m?.[1]) throw new Error(`no message in the token page (status ${res.status}): ${text.slice(0, 300)}`);
  const data = JSON.parse(m[1]) as { message: Json; target: string };
  return { ...data, csp: res.headers.get('content-security-policy') ?? '', frameOptions: res.headers.get('x-frame-options') };
}

const infoPath = (fileId: string) => `/iiif/3/${fileId}/info.json`;
const tilePath = (fileId: string) => `/iiif/3/${fileId}/full/100,/0/default.jpg`;
const probePath = (fileId: string) => `/iiif/auth/probe/${fileId}`;

test.serial('a restricted page image declares the Auth 2.0 probe, access, token and logout services, and its image service the Auth 1.0 login (golden)', async (t) => {
  const { server } = t.context;
  const base = server.url;
  const res = await fetch(`${base}/iiif/manifest/${restricted.objectId}`);
  t.is(res.status, 200, 'the record, manifest included, is public');
  const manifest = (await res.json()) as Json;
  t.deepEqual(manifest['@context'], ['http://iiif.io/api/auth/2/context.json', 'http://iiif.io/api/presentation/3/context.json']);
  const canvas = (manifest.items as Json[])[0]!;
  const body = ((canvas.items as Json[])[0]!.items as Json[])[0]!.body as Json;
  const [imageService, probe, ...more] = body.service as Json[];
  t.is(more.length, 0);
  const token = { id: `${base}/iiif/auth/token`, type: 'AuthAccessTokenService2' };
  // Written out from the Authorization Flow 2.0 spec's examples (§2.1-2.4) and Authentication
  // 1.0's (§2.1.1, §2.2.1, §2.3): the types, profiles and nesting are the contract.
  t.like(probe, {
    id: `${base}/iiif/auth/probe/${restricted.fileId}`,
    type: 'AuthProbeService2',
    service: [
      {
        id: `${base}/iiif/auth/access`,
        type: 'AuthAccessService2',
        profile: 'active',
        service: [token, { id: `${base}/iiif/auth/logout`, type: 'AuthLogoutService2' }],
      },
      { id: `${base}/iiif/auth/reading-room`, type: 'AuthAccessService2', profile: 'external', service: [token] },
    ],
  });
  const access = (probe!.service as Json[])[0]!;
  for (const key of ['label', 'heading', 'note', 'confirmLabel', 'errorHeading', 'errorNote']) {
    const map = access[key] as Record<string, string[]>;
    t.true(Array.isArray(map.vi) && Array.isArray(map.en), `${key} is a language map in Vietnamese and English`);
  }
  t.deepEqual(access.confirmLabel, { vi: ['Đăng nhập'], en: ['Sign in'] });
  const login = {
    '@id': `${base}/iiif/auth/access`,
    '@type': 'AuthCookieService1',
    profile: 'http://iiif.io/api/auth/1/login',
    service: [
      { '@id': `${base}/iiif/auth/v1/token`, '@type': 'AuthTokenService1', profile: 'http://iiif.io/api/auth/1/token' },
      { '@id': `${base}/iiif/auth/logout`, '@type': 'AuthLogoutService1', profile: 'http://iiif.io/api/auth/1/logout' },
    ],
  };
  t.like(imageService, { id: `${base}/iiif/3/${restricted.fileId}`, type: 'ImageService3', profile: 'level2', service: [login] });
  // Mirador 4.0 stops loading an image whose service holds a service without `profile` (every
  // Auth 2.0 service but the access service): none is inside the image service.
  t.notRegex(JSON.stringify(imageService), /AuthProbeService2|AuthAccessTokenService2|AuthLogoutService2/);

  const info = await fetch(`${base}${infoPath(restricted.fileId)}`);
  t.is(info.status, 401, 'anonymous: the image is refused');
  t.is(info.headers.get('cache-control'), 'no-store');
  t.is(info.headers.get('access-control-allow-origin'), '*', 'a viewer on another site reads the 401 body');
  const infoJson = (await info.json()) as Json;
  t.is(infoJson.id, `${base}/iiif/3/${restricted.fileId}`, 'the 401 body is the image information itself (Auth 1.0 §3)');
  t.like(infoJson, { service: [login] });

  // Open images declare nothing; confidential ones do not exist.
  const openManifest = await (await fetch(`${base}/iiif/manifest/${open.objectId}`)).text();
  t.notRegex(openManifest, /AuthProbeService2|AuthCookieService1/);
  const openInfo = (await (await fetch(`${base}${infoPath(open.fileId)}`)).json()) as Json;
  t.is(openInfo.service, undefined);
  t.is((await fetch(`${base}${infoPath(confidential.fileId)}`)).status, 404);
  t.is((await fetch(`${base}${probePath(confidential.fileId)}`)).status, 404, 'no probe reveals a confidential image');
  t.is((await fetch(`${base}${probePath('khong-co')}`)).status, 404);
});

test.serial('the probe answers with the status the image would get: 401 with a heading and note for anonymous visitors', async (t) => {
  const res = await fetch(`${t.context.server.url}${probePath(restricted.fileId)}`, { headers: { origin: VIEWER } });
  t.is(res.status, 200, 'the probe itself always answers');
  t.is(res.headers.get('access-control-allow-origin'), '*');
  t.is(res.headers.get('cache-control'), 'no-store');
  const result = (await res.json()) as Json;
  t.like(result, { '@context': 'http://iiif.io/api/auth/2/context.json', type: 'AuthProbeResult2', status: 401 });
  t.deepEqual((result.heading as Json).vi, ['Tài liệu hạn chế']);
  // The preflight a cross-origin probe with a token needs.
  const pre = await fetch(`${t.context.server.url}${probePath(restricted.fileId)}`, {
    method: 'OPTIONS',
    headers: { origin: VIEWER, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
  t.is(pre.status, 204);
  t.regex(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
});

test.serial('without a session the token service posts missingAspect; with a bad origin invalidOrigin, to nobody in particular', async (t) => {
  const { server } = t.context;
  const none = await tokenPage(await fetch(`${server.url}/iiif/auth/token?messageId=m1&origin=${encodeURIComponent(VIEWER)}`));
  t.like(none.message, { type: 'AuthAccessTokenError2', profile: 'missingAspect', messageId: 'm1' });
  t.is(none.target, VIEWER);
  t.regex(none.csp, /frame-ancestors \*/, 'viewers on any site frame the token page');
  t.regex(none.csp, /script-src 'self'/);
  t.is(none.frameOptions, null);

  for (const bad of ['javascript:alert(1)', 'http://viewer.example:8000/path', 'not a url', '']) {
    const page = await tokenPage(await fetch(`${server.url}/iiif/auth/token?messageId=m2&origin=${encodeURIComponent(bad)}`));
    t.like(page.message, { type: 'AuthAccessTokenError2', profile: 'invalidOrigin' }, bad);
    t.is(page.target, '*', 'an error holds no secret');
  }
  const noMessageId = await fetch(`${server.url}/iiif/auth/token?origin=${encodeURIComponent(VIEWER)}`);
  t.is(noMessageId.status, 400);
  t.is((await noMessageId.json() as Json).type, '/problems/invalid-token-request');

  // A messageId is echoed inside a <script> element: it cannot end the element.
  const evil = await fetch(`${server.url}/iiif/auth/token?messageId=${encodeURIComponent('</script><script>alert(1)</script>')}&origin=${encodeURIComponent(VIEWER)}`);
  const text = await evil.text();
  t.notRegex(text, /<\/script><script>alert/);
  t.regex(text, /\\u003c\/script>/);
});

test.serial('after sign-in: the access service sets the IIIF cookie, the token service posts a token to the viewer, and the token opens the image', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  const back = `/iiif/auth/access?origin=${encodeURIComponent(VIEWER)}`;
  const first = await browser.request(back);
  t.is(first.status, 303, 'not signed in: to the sign-in page');
  t.is(first.headers.get('location'), `/sign-in?return=${encodeURIComponent(back)}`);
  const signIn = await browser.signIn('ban-doc', PASSWORD, back);
  t.is(signIn.status, 303);
  t.is(signIn.headers.get('location'), back, 'and back to the access service');
  const access = await browser.request(back);
  t.is(access.status, 200);
  t.regex(await access.text(), /<script src="\/iiif\/auth\/access\/close\.js"><\/script>/, 'the window closes itself');
  const cookie = browser.lastSetCookie.find((c) => c.startsWith('thukho_iiif=')) ?? '';
  t.regex(cookie, /httponly/i);
  t.regex(cookie, /samesite=lax/i, 'over plain HTTP: Lax (SameSite=None must be Secure)');

  const page = await tokenPage(await browser.request(`/iiif/auth/token?messageId=abc-1&origin=${encodeURIComponent(VIEWER)}`));
  t.like(page.message, { '@context': 'http://iiif.io/api/auth/2/context.json', type: 'AuthAccessToken2', messageId: 'abc-1', expiresIn: 3600 });
  t.is(page.target, VIEWER, 'posted to the viewer that asked, and nowhere else');
  const token = page.message.accessToken as string;
  t.regex(token, /^iiif_[A-Za-z0-9_-]{40,}$/);
  const bearer = { authorization: `Bearer ${token}`, origin: VIEWER };

  const probe = (await (await fetch(`${server.url}${probePath(restricted.fileId)}`, { headers: bearer })).json()) as Json;
  t.is(probe.status, 200, 'the probe says the image will show');
  t.is((await fetch(`${server.url}${infoPath(restricted.fileId)}`, { headers: bearer })).status, 200, 'info.json with the token (Auth 1.0 clients)');
  const tile = await fetch(`${server.url}${tilePath(restricted.fileId)}`, { headers: { cookie: `thukho_iiif=${browser.cookies.get('thukho_iiif')}` } });
  t.is(tile.status, 200, 'tiles with the IIIF cookie alone (a viewer loads them as images)');
  t.is(tile.headers.get('cache-control'), 'private, no-cache');

  // Used from another page than the one it was posted to, it is no token at all.
  t.is((await fetch(`${server.url}${infoPath(restricted.fileId)}`, { headers: { ...bearer, origin: 'http://other.example' } })).status, 401);
  // Only for reading.
  const write = await fetch(`${server.url}/api/objects`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: '{"title":"x"}' });
  t.is(write.status, 401);
  t.is(((await write.json()) as Json).type, '/problems/invalid-token');
  // The IIIF cookie is not a session: the API does not take it as one.
  const session = (await (await fetch(`${server.url}/api/session`, { headers: { cookie: `thukho_iiif=${browser.cookies.get('thukho_iiif')}` } })).json()) as Json;
  t.is(session.signedIn, false);

  // Signing out ends the token and the cookie with the session.
  const csrf = ((await (await browser.request('/api/session')).json()) as Json).csrfToken as string;
  t.is((await browser.postForm('/sign-out', { csrf })).status, 303);
  const after = (await (await fetch(`${server.url}${probePath(restricted.fileId)}`, { headers: bearer })).json()) as Json;
  t.is(after.status, 401, 'signed out: the token is dead');
  t.is((await fetch(`${server.url}${tilePath(restricted.fileId)}`, { headers: { cookie: `thukho_iiif=${browser.cookies.get('thukho_iiif') ?? 'x'}` } })).status, 401);
});

test.serial('a curator’s IIIF token is a reader’s: restricted images yes, confidential ones still do not exist', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('bien-muc', PASSWORD, '/')).status, 303);
  t.is((await browser.request(infoPath(confidential.fileId))).status, 200, 'on our own site, with the session, staff see it');
  const page = await tokenPage(await browser.request(`/iiif/auth/token?messageId=c&origin=${encodeURIComponent(VIEWER)}`));
  const bearer = { authorization: `Bearer ${page.message.accessToken as string}` };
  t.is((await fetch(`${server.url}${infoPath(restricted.fileId)}`, { headers: bearer })).status, 200);
  t.is((await fetch(`${server.url}${infoPath(confidential.fileId)}`, { headers: bearer })).status, 404);
  // Staff-only reads are refused to it before any lookup, whatever the id.
  t.is((await fetch(`${server.url}/api/objects/${confidential.objectId}/provenance`, { headers: bearer })).status, 403);
});

test.serial('Auth 1.0: the token service posts {accessToken, expiresIn, messageId}, or answers JSON to a program', async (t) => {
  const { server } = t.context;
  const anonymous = await tokenPage(await fetch(`${server.url}/iiif/auth/v1/token?messageId=7&origin=${encodeURIComponent(VIEWER)}`));
  t.like(anonymous.message, { error: 'missingCredentials', messageId: '7' });
  const json = await fetch(`${server.url}/iiif/auth/v1/token`);
  t.is(json.status, 401);
  t.like((await json.json()) as Json, { error: 'missingCredentials' });

  const browser = new CookieBrowser(server.url);
  await browser.signIn('ban-doc', PASSWORD, '/');
  const page = await tokenPage(await browser.request(`/iiif/auth/v1/token?messageId=8&origin=${encodeURIComponent(VIEWER)}`));
  t.like(page.message, { messageId: '8', expiresIn: 3600 });
  t.is(page.target, VIEWER);
  const programmatic = (await (await browser.request('/iiif/auth/v1/token')).json()) as Json;
  t.regex(programmatic.accessToken as string, /^iiif_/);
  const headers = { authorization: `Bearer ${programmatic.accessToken as string}` };
  t.is((await fetch(`${server.url}${infoPath(restricted.fileId)}`, { headers })).status, 200);
  t.is((await fetch(`${server.url}${infoPath(restricted.fileId)}`, { headers: { ...headers, origin: VIEWER } })).status, 401, 'a program’s token is not for a page');
});

test.serial('the logout service is the site’s sign-out; the reading-room service explains itself', async (t) => {
  const { server } = t.context;
  const logout = await fetch(`${server.url}/iiif/auth/logout`, { redirect: 'manual' });
  t.is(logout.status, 303);
  t.is(logout.headers.get('location'), '/sign-out');
  const room = await fetch(`${server.url}/iiif/auth/reading-room`);
  t.is(room.status, 200);
  t.regex(await room.text(), /phòng đọc/);
});

test('from the reading room’s addresses: the probe says 200 without a token, and the token service gives one without signing in', async (t) => {
  const room = await startTestServer({ THUKHO_READING_ROOM_CIDRS: '127.0.0.1/32' });
  try {
    const w = await work(room, 'Địa bạ hạn chế', 'restricted');
    const probe = (await (await fetch(`${room.url}${probePath(w.fileId)}`)).json()) as Json;
    t.is(probe.status, 200);
    const page = await tokenPage(await fetch(`${room.url}/iiif/auth/token?messageId=rr&origin=${encodeURIComponent(VIEWER)}`));
    t.like(page.message, { type: 'AuthAccessToken2', messageId: 'rr' });
  } finally {
    await room.close();
  }
});

test('THUKHO_IIIF_AUTH_ORIGINS: only the listed viewer sites get tokens', async (t) => {
  const limited = await startTestServer({ THUKHO_IIIF_AUTH_ORIGINS: 'https://mirador.thuvien.example', THUKHO_READING_ROOM_CIDRS: '127.0.0.1/32' });
  try {
    const other = await tokenPage(await fetch(`${limited.url}/iiif/auth/token?messageId=a&origin=${encodeURIComponent(VIEWER)}`));
    t.like(other.message, { type: 'AuthAccessTokenError2', profile: 'invalidOrigin' });
    const listed = await tokenPage(await fetch(`${limited.url}/iiif/auth/token?messageId=b&origin=${encodeURIComponent('https://mirador.thuvien.example')}`));
    t.like(listed.message, { type: 'AuthAccessToken2' });
  } finally {
    await limited.close();
  }
});
