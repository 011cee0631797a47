import anyTest, { type TestFn } from 'ava';
import { createUserWithPassword } from '../../src/application/users.ts';
import { type Json, staffCall } from '../helpers/api.ts';
import { CookieBrowser } from '../helpers/browser-session.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Every staff page × every kind of person, over a real socket with real sign-ins: who is sent
 * to sign in, who is refused, who sees the page. Written out by hand from the roles (README,
 * "Accounts"), not computed by the code under test.
 */
const test = anyTest as TestFn<{ server: TestServer; objectId: string }>;

const PASSWORD = 'mật khẩu thử nghiệm đủ dài';
const ADMIN = { actor: { id: 'test', role: 'admin' } } as const;
const PEOPLE = ['anonymous', 'reader', 'auditor', 'curator', 'admin'] as const;
type Person = (typeof PEOPLE)[number];

test.before(async (t) => {
  const server = await startTestServer();
  t.context.server = server;
  let last: bigint | null = null;
  for (const role of ['reader', 'auditor', 'curator', 'admin'] as const) {
    last = (await createUserWithPassword(server.store, `nguoi-${role}`, `Người ${role}`, role, PASSWORD, ADMIN)).position;
  }
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && last !== null) await users.waitForPosition(last, scaledTimeout(60_000));
  const created = await staffCall(server, 'POST', '/api/objects', { title: 'Hồ sơ mật về địa bạ', accessLevel: 'confidential' });
  t.context.objectId = String((created as Json).id);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

async function as(t: { context: { server: TestServer } }, person: Person): Promise<CookieBrowser> {
  const browser = new CookieBrowser(t.context.server.url);
  if (person !== 'anonymous') {
    const res = await browser.signIn(`nguoi-${person}`, PASSWORD);
    if (res.status !== 303 && res.status !== 302) throw new Error(`sign-in of ${person} answered ${res.status}`);
  }
  return browser;
}

// 'in' = sent to sign in (a redirect to /sign-in?return=…); a number = that status.
type Expect = 'in' | 200 | 403;
const PAGES: Array<{ path: (id: string) => string; expect: Record<Person, Expect> }> = [
  { path: () => '/staff/objects', expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 200, admin: 200 } },
  { path: () => '/staff/objects/new', expect: { anonymous: 'in', reader: 403, auditor: 403, curator: 200, admin: 200 } },
  { path: (id) => `/staff/objects/${id}`, expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 200, admin: 200 } },
  { path: (id) => `/staff/objects/${id}/provenance`, expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 200, admin: 200 } },
  { path: () => '/staff/preservation', expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 200, admin: 200 } },
  { path: () => '/staff/jobs', expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 200, admin: 200 } },
  { path: () => '/staff/stats', expect: { anonymous: 'in', reader: 403, auditor: 200, curator: 403, admin: 200 } },
  { path: () => '/staff/users', expect: { anonymous: 'in', reader: 403, auditor: 403, curator: 403, admin: 200 } },
  { path: () => '/staff/queues', expect: { anonymous: 'in', reader: 403, auditor: 403, curator: 403, admin: 200 } },
];

for (const person of PEOPLE) {
  test(`staff pages as ${person}: signed in, refused or shown, never cached, never a 5xx`, async (t) => {
    const browser = await as(t, person);
    for (const page of PAGES) {
      const path = page.path(t.context.objectId);
      const res = await browser.request(path);
      const body = await res.text();
      const want = page.expect[person];
      if (want === 'in') {
        t.true(res.status === 302 || res.status === 303, `${path}: ${res.status}`);
        t.is(res.headers.get('location'), `/sign-in?return=${encodeURIComponent(path)}`, path);
        continue;
      }
      t.is(res.status, want, `${path} as ${person}`);
      t.regex(res.headers.get('cache-control') ?? '', /no-store/, `${path}: staff pages and their refusals are never kept`);
      if (want === 403) {
        // The refusal says why in plain words, and shows nothing of the page (the work's title least of all).
        t.regex(body, /cán bộ|quản trị|kiểm soát/i, path);
        t.notRegex(body, /Hồ sơ mật về địa bạ/, path);
      } else if (path !== '/staff/queues') {
        t.regex(body, /<meta name="csrf-token" content="[^"]+">/, `${path}: the page's script can make changes`);
        t.regex(body, /<meta name="robots" content="noindex, nofollow">/, path);
      }
    }
  });
}

test('/staff sends staff to the objects list and visitors to sign in', async (t) => {
  const anonymous = await as(t, 'anonymous');
  const first = await anonymous.request('/staff');
  t.is(first.headers.get('location'), '/sign-in?return=%2Fstaff');
  const curator = await as(t, 'curator');
  const again = await curator.request('/staff');
  t.is(again.headers.get('location'), '/staff/objects');
});

test('the public header offers the workspace to staff only', async (t) => {
  const reader = await as(t, 'reader');
  t.notRegex(await (await reader.request('/')).text(), /href="\/staff"/);
  const auditor = await as(t, 'auditor');
  t.regex(await (await auditor.request('/')).text(), /href="\/staff"/);
});

test('a staff page switches language and stays on the same page', async (t) => {
  const curator = await as(t, 'curator');
  const vi = await (await curator.request('/staff/objects')).text();
  t.regex(vi, /<html lang="vi">/);
  t.regex(vi, /Tài liệu/);
  const en = await (await curator.request('/staff/objects?lang=en')).text();
  t.regex(en, /<html lang="en">/);
  t.regex(en, /hreflang="vi"[^>]*>|href="\?lang=vi"/);
  t.regex(en, /Objects/);
});
