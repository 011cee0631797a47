import sharp from 'sharp';
import { createUserWithPassword, issueToken, runUserCommand, setPassword } from '../../src/application/users.ts';
import type { UserCommand } from '../../src/domain/user.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { type Json, staffCall, uploadFile } from '../helpers/api.ts';
import { CookieBrowser } from '../helpers/browser-session.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Accounts over real HTTP with real Redis: signing in on the site, the session cookie and
 * what ends it, CSRF, throttling, and API tokens (named, scoped, revocable). Behind a
 * trusted proxy, so that a test can say the request came over TLS.
 */
const test = testWithServer({ THUKHO_TRUST_PROXY: 'true' });

const PASSWORD = 'một câu mật khẩu dài đủ';
const ADMIN = { actor: { id: 'test', role: 'admin' } };
let restrictedId = '';
let restrictedContent = '';

/** Waits until the users read model (which every request checks) has seen an account change. */
async function settle(t: { context: { server: TestServer } }, position: bigint | null) {
  const users = t.context.server.projections.find((p) => p.projection.name === 'users');
  if (users && position !== null) await users.waitForPosition(position, scaledTimeout(60_000));
}

test.serial.before(async (t) => {
  const { server } = t.context;
  let last: bigint | null = null;
  for (const [id, role] of [['lan', 'reader'], ['thu', 'curator'], ['kiem', 'auditor'], ['minh', 'reader'], ['hoa', 'curator'], ['brute', 'reader'], ['fix', 'reader']] as const) {
    last = (await createUserWithPassword(server.store, id, `Người dùng ${id}`, role, PASSWORD, ADMIN)).position;
  }
  await settle(t, last);
  const created = await staffCall(server, 'POST', '/api/objects', { title: 'Châu bản hạn chế', accessLevel: 'restricted' });
  restrictedId = created.id as string;
  // The record of a restricted work is public; its content (here the original) is what a sign-in opens.
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#d8c9a3' } }).png().toBuffer();
  const file = await uploadFile(server, restrictedId, png, 'chau-ban.png');
  restrictedContent = `/api/objects/${restrictedId}/files/${file.fileId as string}/content`;
});

const change = async (t: { context: { server: TestServer } }, command: UserCommand) => {
  const result = await runUserCommand(t.context.server.store, command, ADMIN);
  await settle(t, result.position);
};

test.serial('a reader signs in on the site: back where they came from, an HttpOnly SameSite=Lax cookie, the restricted work opens', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.request(restrictedContent)).status, 401, 'anonymous: sign in first');

  const signIn = await browser.signIn('lan', PASSWORD, `/objects/${restrictedId}`);
  t.is(signIn.status, 303);
  t.is(signIn.headers.get('location'), `/objects/${restrictedId}`);
  const cookie = browser.lastSetCookie.find((c) => c.startsWith('thukho_session='));
  t.truthy(cookie);
  t.regex(cookie ?? '', /httponly/i);
  t.regex(cookie ?? '', /samesite=lax/i);
  t.regex(cookie ?? '', /path=\//i);
  t.notRegex(cookie ?? '', /secure/i, 'not Secure over plain HTTP');

  t.is((await browser.request(restrictedContent)).status, 200, 'the cookie opens restricted material');
  const home = await (await browser.request('/')).text();
  t.regex(home, /Đã đăng nhập: <strong>Người dùng lan<\/strong>/, 'the header says who is signed in');
  const session = (await (await browser.request('/api/session')).json()) as Json;
  t.like(session, { signedIn: true, role: 'reader', user: { id: 'lan', name: 'Người dùng lan' } });
  // A reader is no writer, cookie or not.
  const write = await browser.request('/api/objects', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken as string }, body: '{"title":"x"}' });
  t.is(write.status, 403);
});

test.serial('behind TLS (trusted proxy, X-Forwarded-Proto: https) the session cookie is Secure', async (t) => {
  const browser = new CookieBrowser(t.context.server.url);
  const https = { 'x-forwarded-proto': 'https' };
  const page = await browser.request('/sign-in', { headers: https });
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const res = await browser.postForm('/sign-in', { account: 'lan', password: PASSWORD, csrf, return: '/' }, https);
  t.is(res.status, 303);
  t.regex(browser.lastSetCookie.find((c) => c.startsWith('thukho_session=')) ?? '', /;\s*secure/i);
});

test.serial('signing out ends the session: the same cookie, replayed afterwards (stolen), opens nothing', async (t) => {
  const browser = new CookieBrowser(t.context.server.url);
  t.is((await browser.signIn('lan', PASSWORD)).status, 303);
  const stolen = browser.cookies.get('thukho_session') ?? '';
  t.truthy(stolen);
  const csrf = await browser.formToken('/sign-out');
  const out = await browser.postForm('/sign-out', { csrf });
  t.is(out.status, 303);
  t.false(browser.cookies.has('thukho_session'), 'the browser is told to forget the cookie');
  const replay = await fetch(`${t.context.server.url}${restrictedContent}`, { headers: { cookie: `thukho_session=${stolen}` } });
  t.is(replay.status, 401, 'the server forgot the session, whatever the browser keeps');
});

test.serial('session fixation: the cookie after sign-in is never one the browser had before, and the old one is dead', async (t) => {
  const { server } = t.context;
  // An attacker signs in, then plants their own session cookie in the victim's browser.
  const attacker = new CookieBrowser(server.url);
  t.is((await attacker.signIn('fix', PASSWORD)).status, 303);
  const planted = attacker.cookies.get('thukho_session') ?? '';
  const victim = new CookieBrowser(server.url);
  victim.cookies.set('thukho_session', planted);
  t.is((await victim.signIn('lan', PASSWORD)).status, 303);
  const after = victim.cookies.get('thukho_session');
  t.truthy(after);
  t.not(after, planted);
  const asPlanted = (await (await fetch(`${server.url}/api/session`, { headers: { cookie: `thukho_session=${planted}` } })).json()) as Json;
  t.false(asPlanted.signedIn, 'the planted session was ended, not turned into the victim’s');
  t.like((await (await victim.request('/api/session')).json()) as Json, { signedIn: true, user: { id: 'lan' } });
  // A forged or garbled cookie is nobody.
  const forged = await fetch(`${server.url}/api/session`, { headers: { cookie: `thukho_session=${planted.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}` } });
  t.false(((await forged.json()) as Json).signedIn);
});

test.serial('CSRF: a cookie-authenticated write without the session token, or with a wrong one, is refused; with it, it is done and the event names the curator', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('thu', PASSWORD)).status, 303);
  const body = JSON.stringify({ title: 'Địa bạ làng Phú Xuân' });
  const json = { 'content-type': 'application/json' };
  const none = await browser.request('/api/objects', { method: 'POST', headers: json, body });
  t.is(none.status, 403);
  t.is(((await none.json()) as Json).type, '/problems/csrf-token-invalid');
  const wrong = await browser.request('/api/objects', { method: 'POST', headers: { ...json, 'x-csrf-token': 'x'.repeat(43) }, body });
  t.is(wrong.status, 403);
  // A cross-site form post (no token field) fails the same way.
  const form = await browser.postForm('/api/objects', { title: 'x' });
  t.is(form.status, 403);

  const { csrfToken } = (await (await browser.request('/api/session')).json()) as { csrfToken: string };
  const ok = await browser.request('/api/objects', { method: 'POST', headers: { ...json, 'x-csrf-token': csrfToken }, body });
  t.is(ok.status, 201, await ok.clone().text());
  const id = ((await ok.json()) as Json).id as string;
  const events = (await staffCall(server, 'GET', `/api/objects/${id}/events`)).events as Array<{ metadata: { actor: Json } }>;
  t.deepEqual(events[0]?.metadata.actor, { id: 'thu', role: 'curator' });
});

test.serial('login CSRF: a sign-in form without the token from our page is refused', async (t) => {
  const browser = new CookieBrowser(t.context.server.url);
  const res = await browser.postForm('/sign-in', { account: 'lan', password: PASSWORD, return: '/' });
  t.is(res.status, 403);
  t.regex(await res.text(), /Biểu mẫu đã hết hạn/);
  t.false(browser.cookies.has('thukho_session'));
});

test.serial('throttling: after 5 wrong passwords the account gets 429 with Retry-After and a reason in both languages, even with the right password', async (t) => {
  const browser = new CookieBrowser(t.context.server.url);
  for (let i = 0; i < 5; i++) {
    const res = await browser.signIn('brute', `sai mật khẩu số ${i}`);
    t.is(res.status, 401, `attempt ${i + 1}`);
    t.regex(await res.text(), /Tên tài khoản hoặc mật khẩu không đúng/);
  }
  const blocked = await browser.signIn('brute', PASSWORD);
  t.is(blocked.status, 429);
  const wait = Number(blocked.headers.get('retry-after'));
  t.true(wait > 0 && wait <= 15 * 60, `Retry-After ${wait}`);
  const text = await blocked.text();
  t.regex(text, /Đăng nhập sai quá nhiều lần/);
  t.regex(text, /Too many failed sign-ins/);
  t.false(browser.cookies.has('thukho_session'));
});

test.serial('an unknown account is refused like a wrong password', async (t) => {
  const res = await new CookieBrowser(t.context.server.url).signIn('nobody-here', PASSWORD);
  t.is(res.status, 401);
  t.regex(await res.text(), /Tên tài khoản hoặc mật khẩu không đúng/);
});

test.serial('a disabled account: its cookie and its token stop at once', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('minh', PASSWORD)).status, 303);
  const { token, position } = await issueToken(server.store, 'minh', 'script', undefined, ADMIN);
  await settle(t, position);
  const bearer = { authorization: `Bearer ${token}` };
  t.is((await browser.request(restrictedContent)).status, 200);
  t.is((await fetch(`${server.url}${restrictedContent}`, { headers: bearer })).status, 200);

  await change(t, { type: 'DisableUser', userId: 'minh' });
  t.is((await browser.request(restrictedContent)).status, 401, 'the cookie is anonymous now');
  t.false(browser.cookies.has('thukho_session'), 'and the browser is told to drop it');
  const byToken = await fetch(`${server.url}${restrictedContent}`, { headers: bearer });
  t.is(byToken.status, 401);
  t.is(((await byToken.json()) as Json).type, '/problems/invalid-token');
  t.is((await new CookieBrowser(server.url).signIn('minh', PASSWORD)).status, 401, 'nor can it sign in again');
});

test.serial('a role taken away: the session ends, a token scoped to the old role stops, an unscoped one acts with the new role', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('hoa', PASSWORD)).status, 303);
  const scoped = await issueToken(server.store, 'hoa', 'ingest', 'curator', ADMIN);
  const plain = await issueToken(server.store, 'hoa', 'plain', undefined, ADMIN);
  await settle(t, plain.position);
  const post = (token: string) =>
    fetch(`${server.url}/api/objects`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"title":"Sổ bộ"}' });
  t.is((await post(scoped.token)).status, 201);

  await change(t, { type: 'ChangeRole', userId: 'hoa', role: 'reader' });
  t.false(((await (await browser.request('/api/session')).json()) as Json).signedIn, 'signed out by the role change');
  t.is((await post(scoped.token)).status, 401, 'the curator-scoped token opens nothing now');
  t.is((await post(plain.token)).status, 403, 'the unscoped token is a reader’s now: no writes');
  t.is((await fetch(`${server.url}${restrictedContent}`, { headers: { authorization: `Bearer ${plain.token}` } })).status, 200);
});

test.serial('a new password ends the sessions signed in with the old one', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('fix', PASSWORD)).status, 303);
  t.true(((await (await browser.request('/api/session')).json()) as Json).signedIn);
  const result = await setPassword(server.store, 'fix', 'một mật khẩu mới hẳn', ADMIN);
  await settle(t, result.position);
  t.false(((await (await browser.request('/api/session')).json()) as Json).signedIn);
  t.is((await browser.signIn('fix', PASSWORD)).status, 401, 'the old password is refused');
  t.is((await browser.signIn('fix', 'một mật khẩu mới hẳn')).status, 303);
});

test.serial('API tokens: a revoked token is refused; a token scoped to reader cannot write but reads restricted', async (t) => {
  const { server } = t.context;
  const script = await issueToken(server.store, 'thu', 'script', undefined, ADMIN);
  const readOnly = await issueToken(server.store, 'thu', 'read-only', 'reader', ADMIN);
  await settle(t, readOnly.position);
  const post = (token: string) =>
    fetch(`${server.url}/api/objects`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"title":"Hương ước"}' });
  t.is((await post(script.token)).status, 201);
  const ro = await post(readOnly.token);
  t.is(ro.status, 403);
  t.regex(((await ro.json()) as Json).detail as string, /reader/);
  t.is((await fetch(`${server.url}${restrictedContent}`, { headers: { authorization: `Bearer ${readOnly.token}` } })).status, 200);
  // Provenance is for staff: a reader-scoped token of a curator does not see it.
  t.is((await fetch(`${server.url}/api/objects/${restrictedId}/events`, { headers: { authorization: `Bearer ${readOnly.token}` } })).status, 403);

  await change(t, { type: 'RevokeToken', userId: 'thu', tokenName: 'script' });
  const revoked = await post(script.token);
  t.is(revoked.status, 401);
  t.is(((await revoked.json()) as Json).type, '/problems/invalid-token');
  t.is((await post(readOnly.token)).status, 403, 'the other token is untouched');
});

test.serial('a token written to the log by another process (`thukho users token`) works at once, before this server\'s read model has polled for it; a wrong one is still refused', async (t) => {
  const { server } = t.context;
  // A second connection to the log, as the CLI has: its appends do not wake this server's
  // subscriptions, which find them on their next poll.
  const cli = new SqliteEventStore((server.config.eventStore as { path: string }).path);
  t.teardown(() => cli.close());
  for (const name of ['ansible-1', 'ansible-2', 'ansible-3']) {
    const issued = await issueToken(cli, 'hoa', name, undefined, ADMIN);
    const res = await fetch(`${server.url}/api/objects?limit=1`, { headers: { authorization: `Bearer ${issued.token}` } });
    t.is(res.status, 200, `${name}: ${await res.text()}`);
  }
  const wrong = await fetch(`${server.url}/api/objects?limit=1`, { headers: { authorization: 'Bearer thk_khongcomatnaonhuthe' } });
  t.is(wrong.status, 401);
  t.is(((await wrong.json()) as Json).type, '/problems/invalid-token');
});

test.serial('an auditor reads provenance and the event streams but changes nothing', async (t) => {
  const { server } = t.context;
  const browser = new CookieBrowser(server.url);
  t.is((await browser.signIn('kiem', PASSWORD)).status, 303);
  t.is((await browser.request(`/api/objects/${restrictedId}/events`)).status, 200);
  t.is((await browser.request(`/api/objects/${restrictedId}/provenance`)).status, 200);
  const { csrfToken } = (await (await browser.request('/api/session')).json()) as { csrfToken: string };
  const write = await browser.request(`/api/objects/${restrictedId}/withdraw`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: '{"reason":"thử"}',
  });
  t.is(write.status, 403);
  t.regex(((await write.json()) as Json).detail as string, /auditor/);
});

test.serial('the return address stays on this site: other hosts, protocol-relative and backslash tricks go home', async (t) => {
  for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/%0d%0aSet-Cookie:x=1', 'javascript:alert(1)']) {
    const res = await new CookieBrowser(t.context.server.url).signIn('lan', PASSWORD, evil);
    t.is(res.status, 303, evil);
    const location = res.headers.get('location') ?? '';
    t.true(location === '/' || (location.startsWith('/') && !location.startsWith('//') && !location.includes('\\')), `${evil} → ${location}`);
    t.false(/evil/.test(location) && !location.startsWith('/%'), `${evil} → ${location}`);
  }
});

test.serial('the sign-in page: Vietnamese by default, English on request; no inline script or style; the account name is escaped', async (t) => {
  const browser = new CookieBrowser(t.context.server.url);
  const search = await (await browser.request('/search?q=ki%E1%BB%81u')).text();
  const link = /<a href="(\/sign-in[^"]*)">Đăng nhập<\/a>/.exec(search)?.[1] ?? '';
  t.is(new URL(link, 'http://x').searchParams.get('return'), '/search?q=ki%E1%BB%81u', 'the header offers sign-in, coming back to this page');
  const vi = await (await browser.request('/sign-in')).text();
  t.regex(vi, /<html lang="vi">/);
  t.regex(vi, /Tên tài khoản/);
  const en = await (await browser.request('/sign-in?lang=en')).text();
  t.regex(en, /Account name/);
  for (const page of [vi, en]) {
    t.notRegex(page, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    t.notRegex(page, /\sstyle="/i, 'no style attribute');
  }
  t.is((await browser.request('/sign-in?return=%ZZ')).status, 200, 'a query it cannot read is ignored, not a 500');
  const csrf = await browser.formToken('/sign-in');
  const res = await browser.postForm('/sign-in', { account: '"><script>alert(1)</script>', password: 'x', csrf, return: '/' });
  t.is(res.status, 401);
  const html = await res.text();
  t.false(html.includes('<script>alert(1)</script>'));
  t.regex(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});
