import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.ts';

/**
 * Secrets come from the environment or from files that are the service user's alone: a
 * NAME_FILE variant for each variable that may carry one, and a refusal (naming the file,
 * its mode and the fix, never the secret) of a file group or others may read or write.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-secrets-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'khoa-bi-mat-9f8e7d';
const base = { THUKHO_DATA_DIR: dir };

function secretFile(name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return undefined;
};

test('THUKHO_SEARCH_FILE: the Typesense URL with its key, from a file of mode 600 (one trailing newline dropped)', (t) => {
  const path = secretFile('search-600', `typesense://${KEY}@127.0.0.1:8108\n`, 0o600);
  const config = loadConfig({ ...base, THUKHO_SEARCH_FILE: path });
  t.deepEqual(config.search, { kind: 'typesense', url: `typesense://${KEY}@127.0.0.1:8108` });
});

test('REDIS_URL_FILE, THUKHO_EVENTSTORE_FILE and THUKHO_WEBHOOK_URL_FILE are read the same way', (t) => {
  const config = loadConfig({
    ...base,
    REDIS_URL_FILE: secretFile('redis', 'redis://:mat-khau@127.0.0.1:6379', 0o400),
    THUKHO_EVENTSTORE_FILE: secretFile('esdb', 'esdb://admin:mat-khau@127.0.0.1:2113?tls=false', 0o600),
    THUKHO_WEBHOOK_URL_FILE: secretFile('webhook', `https://hooks.example/${KEY}`, 0o600),
  });
  t.is(config.redisUrl, 'redis://:mat-khau@127.0.0.1:6379');
  t.like(config.eventStore, { kind: 'esdb', connectionString: 'esdb://admin:mat-khau@127.0.0.1:2113?tls=false' });
  t.is(config.webhookUrl, `https://hooks.example/${KEY}`);
});

test('a secret file group or others may read or write is refused, with its mode and the fix, without the secret', (t) => {
  for (const mode of [0o640, 0o604, 0o644, 0o620, 0o602]) {
    const path = secretFile(`search-${mode.toString(8)}`, `typesense://${KEY}@127.0.0.1:8108`, mode);
    const message = refusal({ ...base, THUKHO_SEARCH_FILE: path });
    t.truthy(message, mode.toString(8));
    t.regex(message!, new RegExp(`^THUKHO_SEARCH_FILE: .*mode ${mode.toString(8)}.*chmod 600`));
    t.false(message!.includes(KEY));
  }
});

test('a missing secret file, or both NAME and NAME_FILE set: refused with the variable named', (t) => {
  t.regex(refusal({ ...base, THUKHO_SEARCH_FILE: join(dir, 'khong-co') }) ?? '', /^THUKHO_SEARCH_FILE: cannot read .*ENOENT/);
  const path = secretFile('both', `typesense://${KEY}@127.0.0.1:8108`, 0o600);
  t.regex(refusal({ ...base, THUKHO_SEARCH: `typesense://${KEY}@127.0.0.1:8108`, THUKHO_SEARCH_FILE: path }) ?? '', /not both/);
});

test('THUKHO_CONFIG holding a secret must be private too; one without secrets may be world-readable', (t) => {
  const open = secretFile('config-open.json', JSON.stringify({ THUKHO_SEARCH: `typesense://${KEY}@127.0.0.1:8108` }), 0o644);
  const message = refusal({ ...base, THUKHO_CONFIG: open });
  t.regex(message ?? '', /^THUKHO_CONFIG: .*mode 644/);
  t.false((message ?? '').includes(KEY));
  const privateFile = secretFile('config-private.json', JSON.stringify({ THUKHO_SEARCH: `typesense://${KEY}@127.0.0.1:8108` }), 0o600);
  t.is(loadConfig({ ...base, THUKHO_CONFIG: privateFile }).search.kind, 'typesense');
  const harmless = secretFile('config-harmless.json', JSON.stringify({ THUKHO_INSTITUTION: 'Thư viện tỉnh Bắc Giang' }), 0o644);
  t.is(loadConfig({ ...base, THUKHO_CONFIG: harmless }).institution, 'Thư viện tỉnh Bắc Giang');
});

test('REDIS_URL accepts a redis+sentinel:// URL; a refused REDIS_URL never shows its passwords', (t) => {
  const url = `redis+sentinel://:${KEY}@10.0.0.1:26379,10.0.0.2:26379/thukho?sentinelPassword=${KEY}`;
  t.is(loadConfig({ ...base, REDIS_URL: url }).redisUrl, url);
  const message = refusal({ ...base, REDIS_URL: `sentinel://:${KEY}@10.0.0.1:26379/thukho?sentinelPassword=${KEY}` });
  t.regex(message!, /^REDIS_URL: .*redis\+sentinel:\/\//);
  t.false(message!.includes(KEY));
});
