import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ANSIBLE_DIR, dummyDeb, recap, requireBinary, run } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The cluster profile's Ansible, as far as it can be exercised on one machine without the
 * vendors' packages (KurrentDB and Typesense cannot be downloaded here):
 * (lint and --syntax-check of every playbook with this inventory: playbooks.test.ts)
 *  - the kurrentdb role: certificates made for real on the "controller" (a temp dir), then the
 *    whole role in check mode against three local "nodes" with a dummy local .deb;
 *  - the typesense role in check mode against three local "nodes" with a dummy local .deb.
 * Check mode changes nothing on this machine; every path the roles would write is also pointed
 * into a temp dir.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-cluster-check-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const ADMIN_PASSWORD = 'mat-khau-quan-tri-kdb-42';
const API_KEY = 'khoa-typesense-0123456789abcdef';

/** Three "nodes" that are this machine (connection local), on 127.0.0.1-3. */
function inventory(group: string, prefix: string): string {
  const path = join(dir, `${group}-inventory.yml`);
  const hosts = [1, 2, 3].map((n) => `        ${prefix}${n}: { thukho_cluster_address: 127.0.0.${n} }`).join('\n');
  writeFileSync(
    path,
    `all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: /usr/bin/python3\n  children:\n    ${group}:\n      hosts:\n${hosts}\n`,
  );
  return path;
}

function playbook(role: string): string {
  const path = join(dir, `${role}-play.yml`);
  writeFileSync(path, `- name: Exercise the ${role} role\n  hosts: ${role}\n  gather_facts: false\n  roles:\n    - role: ${role}\n`);
  return path;
}

const env = { ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'), ANSIBLE_STDOUT_CALLBACK: 'default' };

test.before(() => {
  requireBinary('ansible-playbook', 'apt-get install -y ansible');
  requireBinary('dpkg-deb', 'apt-get install -y dpkg');
  requireBinary('openssl', 'apt-get install -y openssl');
});

test.serial('kurrentdb: certificates made on the controller (CA + one per node, IP and name in the SANs), then the role in check mode with a local .deb', async (t) => {
  t.timeout(scaledTimeout(30 * 60_000));
  const deb = await dummyDeb(dir, 'kurrentdb', 'kurrentdb_0.0.1_all.deb');
  const tree = join(dir, 'kdb');
  const certs = join(dir, 'kdb-certs');
  const vars = {
    kurrentdb_deb_file: deb,
    kurrentdb_deb_cache_dir: join(tree, 'debs'),
    kurrentdb_config_dir: join(tree, 'etc'),
    kurrentdb_db_dir: join(tree, 'db'),
    kurrentdb_log_dir: join(tree, 'log'),
    // the dummy package creates no service user
    kurrentdb_user: 'root',
    kurrentdb_generate_certs: true,
    kurrentdb_certs_local_dir: certs,
    vault_kurrentdb_admin_password: ADMIN_PASSWORD,
  };
  const args = ['-i', inventory('kurrentdb', 'kdb'), playbook('kurrentdb'), '-e', JSON.stringify(vars)];

  // A check run before any certificate exists writes nothing and does not fail.
  const early = await run('ansible-playbook', [...args, '--check'], { env });
  t.is(early.code, 0, early.output);

  const made = await run('ansible-playbook', [...args, '--tags', 'kurrentdb_certs'], { env });
  t.is(made.code, 0, made.output);
  for (const n of [1, 2, 3]) {
    const cert = join(certs, `kdb${n}.crt`);
    const text = await run('openssl', ['x509', '-in', cert, '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage']);
    t.is(text.code, 0, text.output);
    t.regex(text.stdout, /CN ?= ?kurrentdb-node/);
    t.regex(text.stdout, new RegExp(`IP Address:127\\.0\\.0\\.${n}\\b`));
    t.regex(text.stdout, new RegExp(`DNS:kdb${n}\\b`));
    t.regex(text.stdout, /TLS Web Server Authentication, TLS Web Client Authentication/);
    const verified = await run('openssl', ['verify', '-CAfile', join(certs, 'ca.crt'), cert]);
    t.is(verified.code, 0, verified.output);
  }
  const again = await run('ansible-playbook', [...args, '--tags', 'kurrentdb_certs'], { env });
  t.is(again.code, 0, again.output);
  for (const n of [1, 2, 3]) t.is(recap(again.output, `kdb${n}`).changed, 0, `a second certificate run changes nothing on kdb${n}\n${again.output}`);

  const check = await run('ansible-playbook', [...args, '--check', '--diff'], { env });
  t.is(check.code, 0, check.output);
  for (const n of [1, 2, 3]) t.is(recap(check.output, `kdb${n}`).failed, 0);
  // kurrentdb.conf: a 3-node cluster gossiping with the two others, TLS from the installed files
  t.regex(check.output, /\+ClusterSize: 3/);
  t.regex(check.output, /\+DiscoverViaDns: false/);
  t.regex(check.output, /\+GossipSeed: 127\.0\.0\.2:2113,127\.0\.0\.3:2113/);
  t.regex(check.output, /\+GossipSeed: 127\.0\.0\.1:2113,127\.0\.0\.3:2113/);
  t.regex(check.output, /\+NodeIp: 127\.0\.0\.2/);
  t.regex(check.output, /\+ReplicationIp: 127\.0\.0\.3/);
  t.regex(check.output, new RegExp(`\\+CertificatePrivateKeyFile: ${join(tree, 'etc', 'certs', 'node.key').replace(/[.]/g, '\\.')}`));
  t.regex(check.output, /TASK \[kurrentdb : Install the local KurrentDB \.deb\]/);
  // secrets stay out of the output
  t.notRegex(check.output, /PRIVATE KEY/);
  t.false(check.output.includes(ADMIN_PASSWORD));
  t.false(readFileSync(join(certs, 'kdb1.key'), 'utf8').length === 0);
});

test.serial('typesense: the role in check mode with a local .deb (nodes file of the group, API key kept out of the output)', async (t) => {
  t.timeout(scaledTimeout(30 * 60_000));
  const deb = await dummyDeb(dir, 'typesense-server', 'typesense-server-0.0.1-amd64.deb');
  const tree = join(dir, 'ts');
  const vars = {
    typesense_deb_file: deb,
    typesense_deb_cache_dir: join(tree, 'debs'),
    typesense_config_dir: join(tree, 'etc'),
    typesense_data_dir: join(tree, 'data'),
    typesense_log_dir: join(tree, 'log'),
    vault_typesense_api_key: API_KEY,
  };
  const check = await run('ansible-playbook', ['-i', inventory('typesense', 'ts'), playbook('typesense'), '--check', '--diff', '-e', JSON.stringify(vars)], { env });
  t.is(check.code, 0, check.output);
  for (const n of [1, 2, 3]) {
    const counts = recap(check.output, `ts${n}`);
    t.is(counts.failed, 0);
    t.true(counts.changed > 0, 'a first (check) run has things to do');
  }
  t.regex(check.output, /\+127\.0\.0\.1:8107:8108,127\.0\.0\.2:8107:8108,127\.0\.0\.3:8107:8108/);
  t.regex(check.output, /TASK \[typesense : Copy the local Typesense \.deb \(offline installation\)\]/);
  t.notRegex(check.output, /TASK \[typesense : Download the Typesense \.deb from the vendor\]\s*\n\s*(changed|ok):/);
  t.false(check.output.includes(API_KEY));
});
