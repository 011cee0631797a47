import { Queue } from 'bullmq';
import { pino } from 'pino';
import { createUser } from '../../src/application/users.ts';
import { openFixityRoots } from '../../src/application/fixity.ts';
import { fixityObjectJobId, QUEUES, queueConnection } from '../../src/queue/queues.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { startFixityWorker } from '../../workers/fixity.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { flipByte } from '../helpers/damage.ts';
import { page } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The API under the staff admin screens, over a real socket: accounts and tokens (admins
 * only), the preservation summary and a re-check of one work (staff), the job queues (staff).
 * Each route's auth matrix: anonymous 401, the roles it is not for 403, bad bodies 400,
 * unknown accounts 404; and what keeps one working admin (409).
 */
const test = testWithServer();
const ADMIN_CTX = { actor: { id: 'test', role: 'admin' } };
const PASSWORD = 'một mật khẩu đủ dài cho thử nghiệm';
const tokens: Record<'admin' | 'auditor' | 'curator' | 'reader', string> = { admin: '', auditor: '', curator: '', reader: '' };

test.serial.before(async (t) => {
  const s = t.context.server;
  tokens.admin = (await createUser(s.store, 'quan-tri', 'Quản trị viên', 'admin', ADMIN_CTX)).token;
  const auditor = await createUser(s.store, 'kiem-soat', 'Kiểm soát viên', 'auditor', ADMIN_CTX);
  tokens.auditor = auditor.token;
  tokens.curator = s.staffToken;
  tokens.reader = s.readerToken;
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && auditor.position !== null) await users.waitForPosition(auditor.position, scaledTimeout(60_000));
});

async function call(token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server().url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}
let base = '';
const server = () => ({ url: base });
test.serial.before((t) => {
  base = t.context.server.url;
});

const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/api/users'],
  ['POST', '/api/users', { id: 'x-1', name: 'X', role: 'reader' }],
  ['PUT', '/api/users/reader/role', { role: 'reader' }],
  ['POST', '/api/users/reader/disable'],
  ['POST', '/api/users/reader/enable'],
  ['GET', '/api/users/reader/tokens'],
  ['POST', '/api/users/reader/tokens', { name: 'script' }],
  ['DELETE', '/api/users/reader/tokens/default'],
];

test.serial('users API: anonymous 401, reader, auditor and curator 403 on every route', async (t) => {
  for (const [method, path, body] of ADMIN_ROUTES) {
    const anon = await call(null, method, path, body);
    t.is(anon.status, 401, `${method} ${path} anonymous`);
    t.is(anon.json.type, '/problems/authentication-required');
    for (const role of ['reader', 'auditor', 'curator'] as const) {
      const r = await call(tokens[role], method, path, body);
      t.is(r.status, 403, `${method} ${path} as ${role}`);
      t.truthy((r.json.messages as Json).vi, 'the refusal has its Vietnamese text');
    }
  }
  // Nothing was changed by the refusals.
  const list = await call(tokens.admin, 'GET', '/api/users');
  t.falsy((list.json.users as Json[]).find((u) => u.id === 'x-1'));
});

test.serial('users API: bad bodies are 400 with the field named, unknown users 404', async (t) => {
  const bad: Array<[string, string, unknown]> = [
    ['POST', '/api/users', { id: 'Có Dấu', name: 'X', role: 'reader' }],
    ['POST', '/api/users', { id: 'ok-id', name: 'X', role: 'god' }],
    ['POST', '/api/users', { id: 'ok-id', name: '', role: 'reader' }],
    ['POST', '/api/users', { id: 'ok-id', name: 'X', role: 'reader', password: 'ngắn' }],
    ['POST', '/api/users', { id: 'ok-id', name: 'X', role: 'reader', admin: true }],
    ['PUT', '/api/users/reader/role', { role: 'public' }],
    ['PUT', '/api/users/reader/role', {}],
    ['POST', '/api/users/reader/tokens', { name: 'Tên Có Dấu' }],
    ['POST', '/api/users/reader/tokens', { name: 'ok', role: 'superuser' }],
  ];
  for (const [method, path, body] of bad) {
    const r = await call(tokens.admin, method, path, body);
    t.is(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.true(Array.isArray(r.json.errors), 'names the field');
  }
  const notJson = await fetch(`${server().url}/api/users`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'text/plain' }, body: 'x' });
  t.is(notJson.status, 415);
  for (const [method, path, body] of ADMIN_ROUTES.filter(([, p]) => p.includes('/reader'))) {
    const r = await call(tokens.admin, method, path.replace('/reader', '/khong-co'), body);
    t.is(r.status, 404, `${method} ${path} for an unknown user`);
  }
  const ghostToken = await call(tokens.admin, 'DELETE', '/api/users/reader/tokens/khong-co');
  t.is(ghostToken.status, 404, 'an unknown token name is 404 too');
});

test.serial('an admin adds an account, changes its role, issues a token that works, revokes it (then 401), disables and enables it', async (t) => {
  const created = await call(tokens.admin, 'POST', '/api/users', { id: 'thu-thu', name: 'Thủ thư Lan', role: 'reader', password: PASSWORD });
  t.is(created.status, 201);
  t.like(created.json, { id: 'thu-thu', name: 'Thủ thư Lan', role: 'reader', status: 'active', hasPassword: true, tokens: [] });
  t.is(created.json.token, undefined, 'an account with a password gets no token');
  t.is((await call(tokens.admin, 'POST', '/api/users', { id: 'thu-thu', name: 'Again', role: 'reader' })).status, 409, 'the same id twice');

  const script = await call(tokens.admin, 'POST', '/api/users', { id: 'may-quet', name: 'Máy quét', role: 'curator' });
  t.is(script.status, 201);
  t.regex(String(script.json.token), /^thk_/, 'a script account gets its default token, once');

  const role = await call(tokens.admin, 'PUT', '/api/users/thu-thu/role', { role: 'curator' });
  t.is(role.status, 200);
  t.is(role.json.role, 'curator');

  const issued = await call(tokens.admin, 'POST', '/api/users/thu-thu/tokens', { name: 'nhap-lieu', role: 'curator' });
  t.is(issued.status, 201);
  const token = String(issued.json.token);
  t.regex(token, /^thk_/);
  t.is((await call(tokens.admin, 'POST', '/api/users/thu-thu/tokens', { name: 'nhap-lieu' })).status, 409, 'the same token name twice');
  t.is((await call(tokens.admin, 'POST', '/api/users/thu-thu/tokens', { name: 'qua-quyen', role: 'admin' })).status, 422, 'a token above the account’s role');
  const listed = await call(tokens.admin, 'GET', '/api/users/thu-thu/tokens');
  t.deepEqual(listed.json, { userId: 'thu-thu', tokens: [{ name: 'nhap-lieu', role: 'curator' }] });
  t.false(JSON.stringify(listed.json).includes(token), 'the token itself is never listed');

  const made = await call(token, 'POST', '/api/objects', { title: 'Tài liệu do mã mới tạo' });
  t.is(made.status, 201, 'the issued token works as Bearer');

  const revoked = await call(tokens.admin, 'DELETE', '/api/users/thu-thu/tokens/nhap-lieu');
  t.is(revoked.status, 204);
  const after = await call(token, 'GET', '/api/objects');
  t.is(after.status, 401, 'a revoked token is refused at once');
  t.is(after.json.type, '/problems/invalid-token');

  const scriptToken = String(script.json.token);
  t.is((await call(scriptToken, 'GET', '/api/objects')).status, 200);
  const disabled = await call(tokens.admin, 'POST', '/api/users/may-quet/disable');
  t.is(disabled.status, 200);
  t.is(disabled.json.status, 'disabled');
  t.is((await call(scriptToken, 'GET', '/api/objects')).status, 401, 'a disabled account’s token stops');
  const enabled = await call(tokens.admin, 'POST', '/api/users/may-quet/enable');
  t.is(enabled.json.status, 'active');
  t.is((await call(scriptToken, 'GET', '/api/objects')).status, 200);
});

test.serial('an admin cannot disable or demote themselves, nor the last active admin (409 with the reason)', async (t) => {
  const self = await call(tokens.admin, 'POST', '/api/users/quan-tri/disable');
  t.is(self.status, 409);
  t.is(self.json.type, '/problems/disable-self');
  t.regex(String((self.json.messages as Json).vi), /quản trị viên/);
  const demote = await call(tokens.admin, 'PUT', '/api/users/quan-tri/role', { role: 'curator' });
  t.is(demote.status, 409);
  t.is(demote.json.type, '/problems/own-admin-role');
  // A second admin may be disabled while the first stays.
  await call(tokens.admin, 'POST', '/api/users', { id: 'quan-tri-2', name: 'Quản trị 2', role: 'admin', password: PASSWORD });
  t.is((await call(tokens.admin, 'POST', '/api/users/quan-tri-2/disable')).status, 200);
  const list = await call(tokens.admin, 'GET', '/api/users');
  t.like((list.json.users as Json[]).find((u) => u.id === 'quan-tri'), { role: 'admin', status: 'active' });
});

test.serial('preservation summary and a re-check: staff only; the damaged copy first; the check runs on the fixity queue', async (t) => {
  const s = t.context.server;
  t.is((await call(null, 'GET', '/api/preservation/summary')).status, 401);
  t.is((await call(tokens.reader, 'GET', '/api/preservation/summary')).status, 403);
  t.is((await call(tokens.auditor, 'GET', '/api/preservation/summary?limit=0')).status, 400);
  t.is((await call(tokens.auditor, 'GET', '/api/preservation/summary?nonsense=1')).status, 400);

  const o = await staffCall(s, 'POST', '/api/objects', { title: 'Đại Việt sử ký toàn thư' });
  const objectId = String(o.id);
  await uploadFile(s, objectId, await page('Quyển thủ'), 'trang_1.tif');
  const second = await uploadFile(s, objectId, await page('Quyển nhất'), 'trang_2.tif');
  await s.describeNow();
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  const storage = second.storage as Json;
  await flipByte(ocfl.contentPathOnDisk(String(storage.ocflObjectId), String(storage.path)), 1000);

  t.is((await call(null, 'POST', `/api/objects/${objectId}/fixity-check`)).status, 401);
  t.is((await call(tokens.reader, 'POST', `/api/objects/${objectId}/fixity-check`)).status, 403);
  t.is((await call(tokens.auditor, 'POST', '/api/objects/khong-co/fixity-check')).status, 404);
  t.is((await call(tokens.auditor, 'POST', '/api/objects/Sai%20Ma/fixity-check')).status, 400);
  const queued = await call(tokens.auditor, 'POST', `/api/objects/${objectId}/fixity-check`);
  t.is(queued.status, 202, 'an auditor may ask for a check');
  t.like(queued.json, { objectId, jobId: fixityObjectJobId(objectId), alreadyQueued: false });
  const again = await call(tokens.curator, 'POST', `/api/objects/${objectId}/fixity-check`);
  t.is(again.status, 202);
  t.true(again.json.alreadyQueued, 'one waiting check per work');

  const connection = queueConnection(s.config.redisUrl ?? 'redis://127.0.0.1:6379');
  const queue = new Queue(QUEUES.fixity, { connection, prefix: s.config.queuePrefix });
  const job = await queue.getJob(fixityObjectJobId(objectId));
  t.like(job?.data, { kind: 'check-object', objectId, requestedBy: 'kiem-soat' });
  await queue.close();
  connection.disconnect();

  // The fixity worker does it: every copy of the work checked, the flipped one found (no replica to repair from: damaged).
  const { roots } = await openFixityRoots(s.config);
  t.true(roots.length >= 1);
  const worker = await startFixityWorker({ store: s.store, redisUrl: s.config.redisUrl ?? 'redis://127.0.0.1:6379', logger: pino({ level: 'silent' }), config: s.config, repair: async () => ({ repaired: false, tried: [] }) });
  try {
    // The summary can show the damaged copy before the job has checked the rest: wait for the whole job first.
    const checks = await poll('every copy of the work checked', 30_000, async () => {
      const found: string[] = [];
      for await (const e of s.store.readStream(`preservation-${objectId}`)) if (e.type === 'FixityChecked') found.push(String(e.metadata.correlationId));
      return found.length >= 3 ? found : undefined;
    }, 250);
    const summary = await poll('the damaged copy and the passed ones in the summary', 30_000, async () => {
      const r = await call(tokens.auditor, 'GET', '/api/preservation/summary');
      const problems = r.json.problems as Json[];
      const passed = (r.json.counts as Json | undefined)?.passed as number | undefined;
      return problems.some((p) => p.objectId === objectId && p.state === 'damaged') && (passed ?? 0) >= 1 ? r.json : undefined;
    }, 250);
    const first = (summary.problems as Json[])[0]!;
    t.like(first, { objectId, title: 'Đại Việt sử ký toàn thư', fileId: second.fileId, state: 'damaged', root: 'primary', target: 'master', path: storage.path });
    t.true(((summary.counts as Json).damaged as number) >= 1);
    t.true(((summary.counts as Json).passed as number) >= 1, 'the other copies passed');
    t.deepEqual(Object.keys(summary.counts as Json).sort(), ['damaged', 'failed', 'overdue', 'passed', 'repaired', 'unchecked']);
    t.true(Array.isArray(summary.replication));
    // It was the requested check that found it (not a scheduled run): its correlation id names the job.
    t.true(checks.every((c) => c === `fixity-${fixityObjectJobId(objectId)}`), checks.join(', '));
  } finally {
    await worker.close();
  }
});

test.serial('jobs: staff read queue depths, running and failed jobs; others may not', async (t) => {
  t.is((await call(null, 'GET', '/api/jobs')).status, 401);
  t.is((await call(tokens.reader, 'GET', '/api/jobs')).status, 403);
  t.is((await call(tokens.curator, 'GET', '/api/jobs?limit=9999')).status, 400);
  const r = await call(tokens.auditor, 'GET', '/api/jobs');
  t.is(r.status, 200);
  t.deepEqual((r.json.queues as Json[]).map((q) => q.key).sort(), Object.keys(QUEUES).sort());
  t.true(Array.isArray(r.json.running));
  t.true(Array.isArray(r.json.failed));
});

test.serial('every new route is in /api/openapi.json', async (t) => {
  const doc = (await (await fetch(`${server().url}/api/openapi.json`)).json()) as { paths: Record<string, Json> };
  for (const [path, methods] of Object.entries({
    '/api/preservation/summary': ['get'],
    '/api/objects/{id}/fixity-check': ['post'],
    '/api/jobs': ['get'],
    '/api/users': ['get', 'post'],
    '/api/users/{id}/role': ['put'],
    '/api/users/{id}/disable': ['post'],
    '/api/users/{id}/enable': ['post'],
    '/api/users/{id}/tokens': ['get', 'post'],
    '/api/users/{id}/tokens/{name}': ['delete'],
  })) {
    for (const m of methods) t.truthy(doc.paths[path]?.[m], `${m.toUpperCase()} ${path}`);
  }
});

