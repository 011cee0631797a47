import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { clientConnectionString } from '../../src/eventstore/esdb.ts';
import { redisConnectionOptions } from '../../src/queue/redis.ts';
import { parseTypesenseUrl } from '../../src/search/typesense-url.ts';
import { requireBinary, run } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * What the cluster inventory hands the app hosts (group_vars/all/main.yml): REDIS_URL, THUKHO_EVENTSTORE
 * and THUKHO_SEARCH, computed by Ansible from the groups and the vault, with secrets full of
 * characters that need escaping, are accepted by the app's configuration and mean what they should.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-cluster-inventory-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const VAULT = {
  vault_redis_password: 'r3dis/pass+word@:%x',
  vault_redis_sentinel_password: 'sentinel&pass=1/+',
  vault_kurrentdb_admin_password: 'kdb pass/with@odd:chars%+',
  vault_typesense_api_key: 'ts-key/with@odd+chars%0123456789',
};

test('the cluster inventory gives the app URLs it accepts, naming every node and carrying the secrets intact', async (t) => {
  t.timeout(scaledTimeout(10 * 60_000));
  requireBinary('ansible-playbook', 'apt-get install -y ansible');
  requireBinary('openssl', 'apt-get install -y openssl');
  const ca = join(dir, 'kurrentdb-ca.crt');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test CA', '-keyout', join(dir, 'ca.key'), '-out', ca]);
  t.is(made.code, 0, made.output);

  const out = join(dir, 'urls.json');
  const play = join(dir, 'urls.yml');
  writeFileSync(
    play,
    [
      '- name: What the app hosts are given',
      '  hosts: app1',
      '  gather_facts: false',
      '  tasks:',
      '    - name: Write the URLs',
      '      ansible.builtin.copy:',
      `        dest: ${out}`,
      '        content: "{{ {\'redis\': thukho_redis_url, \'eventstore\': thukho_eventstore_url, \'search\': thukho_search_url, \'trust\': thukho_trust_proxy, \'ca_src\': thukho_eventstore_ca_src} | to_json }}"',
      '        mode: "0600"',
      '',
    ].join('\n'),
  );
  const result = await run('ansible-playbook', ['-i', 'inventories/cluster', play, '-e', JSON.stringify({ ...VAULT, ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', thukho_eventstore_ca_file: ca })]);
  t.is(result.code, 0, result.output);
  const urls = JSON.parse(readFileSync(out, 'utf8')) as { redis: string; eventstore: string; search: string; trust: boolean; ca_src: string };

  const config = loadConfig({ THUKHO_DATA_DIR: dir, REDIS_URL: urls.redis, THUKHO_EVENTSTORE: urls.eventstore, THUKHO_SEARCH: urls.search });
  t.is(config.redisUrl, urls.redis);
  t.true(urls.trust);
  t.regex(urls.ca_src, /inventories\/cluster\/kurrentdb-certs\/ca\.crt$/);

  t.like(redisConnectionOptions(urls.redis), {
    name: 'thukho',
    password: VAULT.vault_redis_password,
    sentinelPassword: VAULT.vault_redis_sentinel_password,
    sentinels: [
      { host: '10.20.0.31', port: 26379 },
      { host: '10.20.0.32', port: 26379 },
      { host: '10.20.0.33', port: 26379 },
    ],
  });

  t.deepEqual(parseTypesenseUrl(urls.search), {
    apiKey: VAULT.vault_typesense_api_key,
    nodes: [21, 22, 23].map((n) => ({ host: `10.20.0.${n}`, port: 8108, protocol: 'http' })),
  });

  const es = new URL(clientConnectionString(urls.eventstore).replace(/^esdb:/, 'http:').replace(/,.*?(?=\?)/, ''));
  t.is(decodeURIComponent(es.password), VAULT.vault_kurrentdb_admin_password);
  t.is(decodeURIComponent(es.username), 'admin');
  t.regex(urls.eventstore, /@10\.20\.0\.11:2113,10\.20\.0\.12:2113,10\.20\.0\.13:2113\?tls=true&tlsCAFile=/);
  // @eventstore/db-client parses it (and loads the CA file) without complaint.
  const client = EventStoreDBClient.connectionString(clientConnectionString(urls.eventstore));
  t.truthy(client);
  await client.dispose();
});
