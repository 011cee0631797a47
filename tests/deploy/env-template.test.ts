import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, loadConfig, SECRET_VARIABLES } from '../../src/config.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * ops/thukho.env.example (issue 17) documents every variable thukho reads, in Vietnamese and
 * English, with its default, and its production values start the service. A variable added to
 * src/config.ts without a line here fails this test.
 */
const TEMPLATE = join(ROOT, 'ops', 'thukho.env.example');
const text = readFileSync(TEMPLATE, 'utf8');
const lines = text.split('\n');
const tmp = tempDirs(test, 'thukho-env-');

interface Assignment {
  key: string;
  value: string;
  commented: boolean;
  line: number;
}

const ASSIGNMENT = /^(#?)([A-Z][A-Z0-9_]*)=(.*)$/;

/** A value as systemd's EnvironmentFile= and bash both read it: "…" quotes removed. */
const unquote = (v: string) => (/^".*"$/.test(v) ? v.slice(1, -1) : v);

const assignments: Assignment[] = lines.flatMap((l, i) => {
  const m = ASSIGNMENT.exec(l);
  return m ? [{ key: m[2]!, value: unquote(m[3]!), commented: m[1] === '#', line: i }] : [];
});
const active = assignments.filter((a) => !a.commented);

/** The comment lines just above a variable's first line, up to the blank line before them. */
function docOf(key: string): string {
  const first = assignments.find((a) => a.key === key);
  if (!first) return '';
  const doc: string[] = [];
  for (let i = first.line - 1; i >= 0 && lines[i]!.startsWith('#'); i--) doc.unshift(lines[i]!);
  return doc.join('\n');
}

const FILE_FORMS = SECRET_VARIABLES.map((name) => `${name}_FILE`);
const KNOWN = new Set<string>([...CONFIG_VARIABLES, ...FILE_FORMS, 'THUKHO_CONFIG']);

test('every variable of src/config.ts is in the template, explained in Vietnamese and English with its default', (t) => {
  t.true(CONFIG_VARIABLES.length > 40, 'CONFIG_VARIABLES lists EnvSchema');
  t.true(CONFIG_VARIABLES.includes('REDIS_URL'));
  const missing = CONFIG_VARIABLES.filter((key) => !assignments.some((a) => a.key === key));
  t.deepEqual(missing, [], 'variables in EnvSchema with no KEY= line in ops/thukho.env.example');
  for (const key of [...CONFIG_VARIABLES, 'THUKHO_CONFIG']) {
    const doc = docOf(key);
    t.regex(doc, new RegExp(`^# ${key}\\b`, 'm'), `${key}: a heading line "# ${key}"`);
    t.regex(doc, /^# vi: \S/m, `${key}: explained in Vietnamese`);
    t.regex(doc, /^# en: \S/m, `${key}: explained in English`);
    t.regex(doc, /^# mặc định \/ default: \S/m, `${key}: its default`);
  }
});

test('the *_FILE form of every secret variable is in the template, and nothing unknown', (t) => {
  for (const name of FILE_FORMS) t.true(assignments.some((a) => a.key === name), `${name}`);
  t.deepEqual(assignments.map((a) => a.key).filter((k) => !KNOWN.has(k)), [], 'keys thukho does not read (typos?)');
  const keys = active.map((a) => a.key);
  t.deepEqual(keys, [...new Set(keys)], 'each variable is set at most once');
  for (const name of SECRET_VARIABLES) t.false(keys.includes(name) && keys.includes(`${name}_FILE`), `${name} and ${name}_FILE both set`);
  // No secret in the file itself: the URLs that carry one come from files in /etc/thukho/secrets.
  t.false(keys.includes('THUKHO_SESSION_SECRET'));
  t.false(keys.includes('REDIS_URL'));
});

test('the production values match the layout the Ansible roles install', (t) => {
  const value = (key: string) => active.find((a) => a.key === key)?.value;
  t.is(value('THUKHO_DATA_DIR'), '/var/lib/thukho/data');
  t.is(value('THUKHO_HOST'), '127.0.0.1');
  t.is(value('THUKHO_TRUST_PROXY'), 'true');
  t.is(value('THUKHO_PORT'), '8080');
  t.is(value('REDIS_URL_FILE'), '/etc/thukho/secrets/redis-url');
  t.is(value('THUKHO_SESSION_SECRET_FILE'), '/etc/thukho/secrets/session-secret');
  t.regex(text, /THUKHO_SEARCH_FILE=\/etc\/thukho\/secrets\/search-url/);
  t.regex(text, /THUKHO_EVENTSTORE_FILE=\/etc\/thukho\/secrets\/eventstore-url/);
});

/** The template's active lines as an environment, its files (secrets) made in `dir`. */
function templateEnv(dir: string): Record<string, string> {
  const samples: Record<string, string> = {
    REDIS_URL_FILE: 'unix://:s3cret@/run/redis/redis-server.sock',
    THUKHO_SEARCH_FILE: 'typesense://KEY@127.0.0.1:8108',
    THUKHO_EVENTSTORE_FILE: 'esdb://admin:changeit@127.0.0.1:2113?tls=false',
    THUKHO_WEBHOOK_URL_FILE: 'https://hooks.example.vn/thukho?token=abc',
    THUKHO_SESSION_SECRET_FILE: 'x'.repeat(48),
  };
  const env: Record<string, string> = {};
  for (const a of active) {
    if (a.key === 'THUKHO_DATA_DIR') env[a.key] = join(dir, 'data');
    else if (a.key in samples) {
      const file = join(dir, a.key.toLowerCase());
      writeFileSync(file, `${samples[a.key]}\n`, { mode: 0o600 });
      env[a.key] = file;
    } else env[a.key] = a.value;
  }
  return env;
}

test("the template's active lines are a configuration loadConfig accepts", (t) => {
  const dir = tmp();
  const env = templateEnv(dir);
  const config = loadConfig(env);
  t.is(config.dataDir, join(dir, 'data'));
  t.is(config.host, '127.0.0.1');
  t.is(config.port, 8080);
  t.true(config.trustProxy);
  t.is(config.redisUrl, 'unix://:s3cret@/run/redis/redis-server.sock');
  t.deepEqual(config.search, { kind: 'embedded' });
  t.deepEqual(config.sessions.secret, { file: env.THUKHO_SESSION_SECRET_FILE });
  t.is(config.institution, 'Thư viện tỉnh');
});

test('each commented example value is accepted too, in place of its *_FILE form', (t) => {
  const dir = tmp();
  const base = templateEnv(dir);
  const examples = assignments.filter((a) => a.commented && a.value !== '' && !a.key.endsWith('_FILE') && a.key !== 'THUKHO_CONFIG');
  t.true(examples.length > 30);
  for (const a of examples) {
    const env = { ...base, [a.key]: a.value };
    delete env[`${a.key}_FILE`];
    t.notThrows(() => loadConfig(env), `${a.key}=${a.value}`);
  }
});

test('bash reads the template as systemd does (ops/backup and ops/restore source it)', (t) => {
  const out = execFileSync('bash', ['-c', 'set -euo pipefail; set -a; . "$1"; set +a; printf "%s\\n" "$THUKHO_INSTITUTION" "$THUKHO_DATA_DIR" "$REDIS_URL_FILE"', 'bash', TEMPLATE], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  t.is(out, 'Thư viện tỉnh\n/var/lib/thukho/data\n/etc/thukho/secrets/redis-url\n');
});
