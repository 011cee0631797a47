import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { GENERATED_SECRET_FILE, resolveSessionSecret } from '../../src/http/session-secret.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const dir = tempDirs(test, 'thukho-secret-');

test('embedded profile with no secret: one is made in the data directory, mode 0600, and kept across starts', (t) => {
  const dataDir = dir();
  const config = loadConfig({ THUKHO_DATA_DIR: dataDir });
  const first = resolveSessionSecret(config);
  t.true(first.length >= 32);
  t.is(statSync(join(dataDir, GENERATED_SECRET_FILE)).mode & 0o777, 0o600);
  t.deepEqual(resolveSessionSecret(config), first);
});

test('THUKHO_SESSION_SECRET_FILE readable by group or others is refused, naming the file and the fix', (t) => {
  const file = join(dir(), 'secret');
  writeFileSync(file, 'x'.repeat(48));
  chmodSync(file, 0o644);
  const config = loadConfig({ THUKHO_DATA_DIR: dir(), THUKHO_SESSION_SECRET_FILE: file });
  const err = t.throws(() => resolveSessionSecret(config), { instanceOf: ConfigError });
  t.regex(err?.message ?? '', /readable by group or others \(mode 644\).*chmod 600/);
  chmodSync(file, 0o600);
  t.is(resolveSessionSecret(config).toString(), 'x'.repeat(48));
});

test('THUKHO_SESSION_SECRET from the environment; too short is refused without echoing it', (t) => {
  t.is(resolveSessionSecret(loadConfig({ THUKHO_DATA_DIR: dir(), THUKHO_SESSION_SECRET: 's'.repeat(40) })).toString(), 's'.repeat(40));
  const err = t.throws(() => loadConfig({ THUKHO_SESSION_SECRET: 'short-secret' }), { instanceOf: ConfigError });
  t.notRegex(err?.message ?? '', /short-secret/);
});

test('the cluster profile (EventStoreDB) needs a shared secret: none is made up', (t) => {
  const config = loadConfig({ THUKHO_DATA_DIR: dir(), THUKHO_EVENTSTORE: 'esdb://127.0.0.1:2113?tls=false' });
  t.throws(() => resolveSessionSecret(config), { instanceOf: ConfigError, message: /cluster profile/ });
});
