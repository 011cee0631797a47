import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { ROOT } from '../helpers/cli.ts';
import { ANSIBLE_DIR, recap, run, tail, type RunResult } from './ansible-helpers.ts';
import { bootTarget, CACHE, clearLeftovers, offlineDebs, requireDeploymentTools, type Target } from './target.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The single-host playbook, really run: a bare Debian 12 server (tests/deploy/target.ts) with
 * no network, installed from the offline release bundle (ops/make-release) and the offline
 * packages (ops/offline-debs) through the repository's own inventories/single settings. Then:
 * /health, a work uploaded and its manifest, all through nginx; a second run that changes nothing; a backup by the
 * installed timer's service; the data destroyed; restore.yml; the same work, its history and
 * a verifying chain back.
 *
 * THUKHO_TEST_BUNDLE=PATH reuses a bundle already made (while working on the roles).
 */

const WORK = 'sac-phong-lang-an';

/** The tasks a run reported as changed, by name (to say which one broke idempotence). */
const changedTasks = (r: RunResult) =>
  r.stdout
    .split(/\n(?=TASK \[|RUNNING HANDLER \[)/)
    .filter((block) => /^changed:/m.test(block))
    .map((block) => /\[(.*?)\]/.exec(block)?.[1] ?? block.slice(0, 80));

async function makeBundle(out: string, log: string): Promise<string> {
  if (process.env.THUKHO_TEST_BUNDLE) return process.env.THUKHO_TEST_BUNDLE;
  const made = await run('bash', [join(ROOT, 'ops/make-release'), '--out', out], { cwd: ROOT, log });
  if (made.code !== 0) throw new Error(`ops/make-release failed:\n${tail(made)}`);
  const bundle = readdirSync(out).find((f) => f.endsWith('.tar.gz'));
  if (!bundle) throw new Error(`ops/make-release made no .tar.gz in ${out}`);
  return join(out, bundle);
}

/**
 * An inventory whose group_vars are inventories/single's own (linked, not copied), with the
 * target's connection and the test's choices (no TLS certificates, the offline sources, vault
 * values) as host variables.
 */
function inventory(dir: string, target: Target, vars: Record<string, unknown>): string {
  const inv = join(dir, 'inventory');
  mkdirSync(join(inv, 'host_vars'), { recursive: true });
  mkdirSync(join(inv, 'group_vars'), { recursive: true });
  symlinkSync(join(ANSIBLE_DIR, 'inventories/single/group_vars/all'), join(inv, 'group_vars/all'));
  writeFileSync(
    join(inv, 'hosts.yml'),
    JSON.stringify({ all: { children: { thukho_app: { hosts: { target: null } }, redis: { hosts: { target: null } }, web: { hosts: { target: null } } } } }),
  );
  writeFileSync(
    join(inv, 'host_vars/target.yml'),
    JSON.stringify({ ansible_connection: 'community.docker.nsenter', ansible_nsenter_pid: target.pid, ansible_python_interpreter: '/usr/bin/python3', ...vars }),
  );
  return inv;
}

const playbook = (inv: string, book: string, log: string, extra: string[] = []) =>
  run('ansible-playbook', ['-i', inv, book, ...extra], { log, env: { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') } });

/** Two scan-like pages with Vietnamese text, written on this machine. */
async function pages(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const [i, text] of ['Sắc phong làng An', 'Tờ thứ hai'].entries()) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="1200"><rect width="100%" height="100%" fill="#f1e6cf"/><text x="80" y="200" font-size="56" font-family="DejaVu Serif">${text}</text></svg>`;
    const file = join(dir, `00${i + 1}.png`);
    await sharp(Buffer.from(svg)).png().toFile(file);
    files.push(file);
  }
  return files;
}

test('single-host playbook: bare Debian 12 → thukho from the offline bundle; second run changes nothing; backup, data lost, restore.yml brings it back', async (t) => {
  t.timeout(scaledTimeout(90 * 60_000), 'a hang guard for installing a whole server; not a speed bound');
  requireDeploymentTools();

  await clearLeftovers();
  const dir = mkdtempSync(join(CACHE, 'run-'));
  const log = join(dir, 'deploy.log');
  t.log(`log: ${log}`);
  const bundle = await makeBundle(join(dir, 'dist'), log);
  t.teardown(() => rm(join(dir, 'dist'), { recursive: true, force: true }));
  const debs = await offlineDebs(log);
  const target = await bootTarget(log);
  t.teardown(() => target.stop());

  const inv = inventory(dir, target, {
    thukho_bundle_file: bundle,
    common_offline_debs_dir: debs,
    thukho_public_url: 'http://127.0.0.1',
    nginx_tls: false,
    // The redis role takes 16+ characters without spaces or quotes (Sentinel writes it back unquoted); a "/" must still be escaped in REDIS_URL.
    vault_redis_password: 'Redis/thu-nghiem+0123456789abcdef',
    vault_thukho_admin_password: 'Mật khẩu quản trị thử',
  });

  // 1. Bare server → running thukho.
  const first0 = Date.now();
  const first = await playbook(inv, 'site.yml', log);
  const firstSeconds = (Date.now() - first0) / 1000;
  t.is(first.code, 0, tail(first, 120));
  if (first.code !== 0) return;
  t.log(`first run (bare → healthy): ${firstSeconds.toFixed(0)} s, ${recap(first.output, 'target').changed} changed`);

  const health = await target.fetchInside('http://127.0.0.1/health');
  t.is(health.status, 200, health.body);
  t.regex(JSON.parse(health.body).status as string, /^(ok|degraded)$/);

  // The services run as the hardened units, as the service user.
  for (const unit of ['thukho-api', 'thukho-worker@derivatives', 'thukho-worker@fixity', 'redis-server', 'nginx', 'nftables']) {
    t.is((await target.exec(['systemctl', 'is-active', unit])).stdout.trim(), 'active', unit);
  }
  t.is((await target.exec(['systemctl', 'is-enabled', 'thukho-backup.timer'])).stdout.trim(), 'enabled');
  for (const unit of ['thukho-api', 'thukho-worker@ocr']) {
    const owner = await target.exec(['sh', '-c', `stat -c %U /proc/$(systemctl show -p MainPID --value ${unit})`]);
    t.is(owner.stdout.trim(), 'thukho', `${unit} runs as the service user`);
  }

  // 2. A work, uploaded through nginx with a token made by the installed CLI.
  const token = await target.exec(['/usr/local/bin/thukho', 'users', 'token', 'quan-tri', '--name', 'deploy-test']);
  t.is(token.code, 0, tail(token));
  const bearer = { authorization: `Bearer ${token.stdout.trim()}` };
  const auth = { ...bearer, 'content-type': 'application/json' };
  const collection = await target.fetchInside('http://127.0.0.1/api/collections', { method: 'POST', headers: auth, body: JSON.stringify({ id: 'sac-phong', title: 'Sắc phong' }) });
  t.is(collection.status, 201, collection.body);
  const work = await target.fetchInside('http://127.0.0.1/api/objects', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ id: WORK, title: 'Sắc phong làng An', language: ['vie'], collectionId: 'sac-phong' }),
  });
  t.is(work.status, 201, work.body);
  for (const file of await pages(dir)) {
    const upload = await target.fetchInside(`http://127.0.0.1/api/objects/${WORK}/files?name=${basename(file)}`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/octet-stream' },
      bodyFile: file,
    });
    t.is(upload.status, 201, `${upload.body}\n--- the services' journal ---\n${(await target.exec(['journalctl', '-u', 'thukho-*', '--no-pager', '-n', '60', '-o', 'cat'])).stdout}`);
  }
  const manifest = await target.fetchInside(`http://127.0.0.1/iiif/manifest/${WORK}`);
  t.is(manifest.status, 200, manifest.body);
  const items = (JSON.parse(manifest.body) as { items: unknown[] }).items;
  t.is(items.length, 2, 'both pages in the manifest');
  const historyBefore = await target.fetchInside(`http://127.0.0.1/api/objects/${WORK}/events`, { headers: auth });
  t.is(historyBefore.status, 200, historyBefore.body);

  // 3. Idempotence.
  const second0 = Date.now();
  const second = await playbook(inv, 'site.yml', log);
  const secondSeconds = (Date.now() - second0) / 1000;
  t.is(second.code, 0, tail(second, 120));
  t.is(recap(second.output, 'target').changed, 0, `a second run changed: ${changedTasks(second).join('; ')}`);
  t.log(`second run: ${secondSeconds.toFixed(0)} s, ${recap(second.output, 'target').changed} changed`);

  // 4. Once the workers are done with the pages (derivatives, OCR: the manifest then carries
  // each page's text), a backup by the installed service (what the timer starts), then the data is lost.
  let settled = await target.fetchInside(`http://127.0.0.1/iiif/manifest/${WORK}`);
  const settleBy = Date.now() + scaledTimeout(15 * 60_000); // a hang guard, scaled
  while (Date.now() < settleBy && !(JSON.parse(settled.body) as { items: Array<{ annotations?: unknown }> }).items.every((c) => c.annotations)) {
    await new Promise((r) => setTimeout(r, 2000));
    settled = await target.fetchInside(`http://127.0.0.1/iiif/manifest/${WORK}`);
  }
  const historySettled = await target.fetchInside(`http://127.0.0.1/api/objects/${WORK}/events`, { headers: auth });
  const backup = await target.exec(['systemctl', 'start', 'thukho-backup.service']);
  t.is(backup.code, 0, tail(await target.exec(['journalctl', '-u', 'thukho-backup', '--no-pager', '-n', '40'])));
  const backups = (await target.exec(['ls', '/var/backups/thukho'])).stdout.split('\n').filter((d) => /^\d{8}T\d{6}Z$/.test(d));
  t.is(backups.length, 1, 'one complete backup');
  t.is((await target.exec(['systemctl', 'stop', 'thukho.target'])).code, 0);
  t.is((await target.exec(['sh', '-c', 'rm -rf /var/lib/thukho/data/* /var/lib/thukho/data/.[!.]*'])).code, 0);
  const gone = await target.exec(['/usr/local/bin/thukho', 'verify']);
  t.not(gone.code, 0, 'nothing left to verify');

  // 5. restore.yml.
  const restored = await playbook(inv, 'restore.yml', log);
  t.is(restored.code, 0, tail(restored, 120));
  t.regex(restored.stdout, /hash chains intact/, 'restore.yml shows thukho verify finding the chains intact');
  const verify = await target.exec(['/usr/local/bin/thukho', 'verify']);
  t.is(verify.code, 0, tail(verify));
  const manifestAfter = await target.fetchInside(`http://127.0.0.1/iiif/manifest/${WORK}`);
  t.is(manifestAfter.status, 200, manifestAfter.body);
  t.deepEqual(JSON.parse(manifestAfter.body), JSON.parse(settled.body), 'the same manifest, with its pages\' text');
  const historyAfter = await target.fetchInside(`http://127.0.0.1/api/objects/${WORK}/events`, { headers: auth });
  t.is(historyAfter.status, 200, historyAfter.body);
  t.deepEqual(JSON.parse(historyAfter.body), JSON.parse(historySettled.body), 'the same event history, event for event');
});
