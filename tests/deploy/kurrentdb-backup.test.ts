import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freePort } from '../helpers/cli.ts';
import { renderRoleTemplates, requireBinary, run } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The KurrentDB backup script (backup role, tasks/kurrentdb.yml), rendered by Ansible and run
 * for real against a node directory of files laid out as KurrentDB lays them out, with a
 * stand-in for the node's HTTP API (state, scavenge, auto-scavenge) over TLS:
 *  - a backup holds the checkpoints, the chunks and the index; a running scavenge is stopped
 *    first and auto-scavenge paused, then resumed;
 *  - the next backup hard-links unchanged chunks and copies the changed ones;
 *  - only the newest KEEP backups are kept;
 *  - a node that is not a leader or follower is refused, and `alert` posts to the webhook.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-kdb-backup-'));
const PASSWORD = 'mat-khau-quan-tri-kdb';
let server: Server | undefined;
test.after.always(async () => {
  if (server) await new Promise((r) => server!.close(r));
  rmSync(dir, { recursive: true, force: true });
});

interface Api {
  state: string;
  scavenge: string | undefined;
  calls: string[];
  hooks: unknown[];
}

test('the KurrentDB backup script follows the documented procedure, keeps KEEP copies and alerts on failure', async (t) => {
  t.timeout(scaledTimeout(15 * 60_000));
  for (const [bin, pkg] of [['ansible-playbook', 'ansible'], ['openssl', 'openssl'], ['rsync', 'rsync'], ['curl', 'curl'], ['jq', 'jq']] as const) requireBinary(bin, `apt-get install -y ${pkg}`);

  // The node's HTTP API over TLS, with its certificate as the trusted CA.
  const certDir = join(dir, 'tls');
  mkdirSync(certDir);
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kurrentdb-node', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certDir, 'node.key'), '-out', join(certDir, 'node.crt')]);
  t.is(made.code, 0, made.output);
  const api: Api = { state: 'follower', scavenge: 'scavenge-1', calls: [], hooks: [] };
  const expectedAuth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
  server = createServer({ key: readFileSync(join(certDir, 'node.key')), cert: readFileSync(join(certDir, 'node.crt')) }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const call = `${req.method} ${req.url}`;
      if (req.url === '/hook') {
        api.hooks.push(JSON.parse(body));
        res.end();
        return;
      }
      if (req.headers.authorization !== expectedAuth) {
        res.statusCode = 401;
        res.end();
        return;
      }
      api.calls.push(call);
      res.setHeader('Content-Type', 'application/json');
      if (call === 'GET /info') return res.end(JSON.stringify({ esVersion: '25.0.0', state: api.state }));
      if (call === 'GET /admin/scavenge/current') {
        if (!api.scavenge) {
          res.statusCode = 404;
          return res.end('{}');
        }
        return res.end(JSON.stringify({ scavengeId: api.scavenge, scavengeLink: `/admin/scavenge/${api.scavenge}` }));
      }
      if (req.method === 'DELETE' && req.url === `/admin/scavenge/${api.scavenge}`) {
        api.scavenge = undefined;
        return res.end('{}');
      }
      if (call === 'POST /auto-scavenge/pause' || call === 'POST /auto-scavenge/resume') return res.end('{}');
      res.statusCode = 404;
      res.end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));

  // A node's files: chunks and checkpoints in Db, the index below it.
  const db = join(dir, 'node', 'db');
  const index = join(db, 'index');
  mkdirSync(join(index, 'stream-existence'), { recursive: true });
  const chunk = (n: number) => join(db, `chunk-${String(n).padStart(6, '0')}.000000`);
  writeFileSync(chunk(0), randomBytes(256 * 1024));
  writeFileSync(chunk(1), randomBytes(128 * 1024));
  for (const chk of ['chaser', 'epoch', 'proposal', 'truncate', 'writer']) writeFileSync(join(db, `${chk}.chk`), randomBytes(8));
  writeFileSync(join(index, 'indexmap'), 'indexmap v2\n');
  writeFileSync(join(index, '5a1a8395-94ee-40c1-bf93-aa757b5887f8'), randomBytes(64 * 1024));
  writeFileSync(join(index, 'stream-existence', 'streamExistenceFilter.chk'), randomBytes(8));
  writeFileSync(join(index, 'stream-existence', 'streamExistenceFilter.dat'), randomBytes(1024));

  const dest = join(dir, 'backups');
  const script = join(dir, 'thukho-kurrentdb-backup');
  await renderRoleTemplates(
    'backup',
    [{ src: 'kurrentdb-backup.sh.j2', dest: script }],
    { backup_kurrentdb_settings: { dest, keep: 2, db_dir: db, index_dir: index, url: `https://127.0.0.1:${port}`, ca_file: join(certDir, 'node.crt'), user: 'admin' } },
    join(dir, 'render'),
  );
  const env = { KDB_PASSWORD: PASSWORD, KDB_WEBHOOK_URL: `https://127.0.0.1:${port}/hook`, CURL_CA_BUNDLE: join(certDir, 'node.crt') };
  const backup = () => run('bash', [script, 'run'], { env, cwd: dir });
  const backups = () => readdirSync(dest).filter((name) => /^20/.test(name)).sort();

  const first = await backup();
  t.is(first.code, 0, first.output);
  t.deepEqual(api.calls, ['GET /info', 'GET /admin/scavenge/current', 'DELETE /admin/scavenge/scavenge-1', 'POST /auto-scavenge/pause', 'POST /auto-scavenge/resume']);
  const latest = realpathSync(join(dest, 'latest'));
  t.true(existsSync(join(latest, '.complete')));
  for (const file of ['db/chunk-000000.000000', 'db/chunk-000001.000000', 'db/chaser.chk', 'db/writer.chk', 'db/epoch.chk', 'index/indexmap', 'index/5a1a8395-94ee-40c1-bf93-aa757b5887f8', 'index/stream-existence/streamExistenceFilter.chk', 'RESTORE.txt']) {
    t.true(existsSync(join(latest, file)), file);
  }
  t.true(readFileSync(join(latest, 'db', 'chunk-000000.000000')).equals(readFileSync(chunk(0))));
  t.regex(readFileSync(join(latest, 'RESTORE.txt'), 'utf8'), /chaser\.chk .*truncate\.chk/);
  t.false(existsSync(join(latest, 'db', 'index')), 'the index is under index/, not copied twice');

  // Writes go on: the newest chunk grows, a new one starts.
  appendFileSync(chunk(1), randomBytes(1024));
  writeFileSync(chunk(2), randomBytes(1024));
  api.calls = [];
  const second = await backup();
  t.is(second.code, 0, second.output);
  t.deepEqual(api.calls, ['GET /info', 'GET /admin/scavenge/current', 'POST /auto-scavenge/pause', 'POST /auto-scavenge/resume'], 'no scavenge to stop this time');
  const next = realpathSync(join(dest, 'latest'));
  t.not(next, latest);
  t.is(statSync(join(next, 'db', 'chunk-000000.000000')).ino, statSync(join(latest, 'db', 'chunk-000000.000000')).ino, 'an unchanged chunk is hard-linked');
  t.true(readFileSync(join(next, 'db', 'chunk-000001.000000')).equals(readFileSync(chunk(1))), 'a changed chunk is copied again');
  t.true(existsSync(join(next, 'db', 'chunk-000002.000000')));

  const third = await backup();
  t.is(third.code, 0, third.output);
  t.is(backups().length, 2, 'KEEP=2 backups are kept');
  t.false(existsSync(latest), 'the oldest went');

  // A node that is catching up is not a good source: refused, nothing new kept; the alert goes out.
  api.state = 'CatchingUp';
  const before = backups();
  const refused = await backup();
  t.not(refused.code, 0);
  t.regex(refused.output, /not a leader or follower/);
  t.deepEqual(backups(), before);
  const alert = await run('bash', [script, 'alert'], { env, cwd: dir });
  t.is(alert.code, 0, alert.output);
  t.is(api.hooks.length, 1);
  t.like(api.hooks[0], { event: 'backup-failed', component: 'kurrentdb' });
});
