import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

/**
 * ops/lib/env.sh, which ops/backup, ops/restore, ops/alert and ops/thukho share: which Node
 * they run and which settings they read. A NODE exported by `npm run` on the machine that
 * started a deployment must not decide what runs on the server.
 */
const LIB = fileURLToPath(new URL('../../ops/lib/env.sh', import.meta.url));

function bash(script: string, env: Record<string, string> = {}): string {
  return execFileSync('bash', ['-c', `set -euo pipefail; . ${JSON.stringify(LIB)}; ${script}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  }).trim();
}

test('the release’s own Node first, else node on PATH; a NODE that runs here wins, one that does not is ignored', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'thukho-ops-env-'));
  try {
    t.is(bash(`thukho_find_node ${root}; echo "$NODE"`), 'node');
    t.is(bash(`thukho_find_node ${root}; echo "$NODE"`, { NODE: '/nonexistent/bin/node' }), 'node', 'npm’s NODE from another machine');
    t.is(bash(`thukho_find_node ${root}; echo "$NODE"`, { NODE: process.execPath }), process.execPath);
    mkdirSync(join(root, 'node', 'bin'), { recursive: true });
    writeFileSync(join(root, 'node', 'bin', 'node'), '#!/bin/sh\n', { mode: 0o755 });
    t.is(bash(`thukho_find_node ${root}; echo "$NODE"`, { NODE: '/nonexistent/bin/node' }), join(root, 'node', 'bin', 'node'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the env file is read when present, refused when named and unreadable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-ops-env-'));
  try {
    const file = join(dir, 'thukho.env');
    writeFileSync(file, 'THUKHO_DATA_DIR="/var/lib/thukho/data"\n');
    t.is(bash('thukho_load_env test; echo "$THUKHO_DATA_DIR"', { THUKHO_ENV_FILE: file }), '/var/lib/thukho/data');
    const err = t.throws(() => bash('thukho_load_env ops/test', { THUKHO_ENV_FILE: join(dir, 'missing.env') }));
    t.regex(String((err as { stderr?: string }).stderr), /ops\/test: .*cannot read THUKHO_ENV_FILE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
