#!/usr/bin/env node
// thukho runs the JavaScript that scripts/build-server.mjs compiled into .build/ when that
// build is of exactly these sources (every file's size and mtime, to the second, as built); otherwise its
// TypeScript sources directly through tsx, as it always could: no build step to forget on a
// server. The build saves each process tsx's loader (seconds of CPU and tens of MB at start).
// THUKHO_NO_BUILD=1 forces the sources.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function currentBuild() {
  if (process.env.THUKHO_NO_BUILD === '1') return null;
  try {
    const { inputs } = JSON.parse(readFileSync(`${root}.build/inputs.json`, 'utf8'));
    for (const [path, size, mtime] of inputs) {
      const s = statSync(root + path);
      if (s.size !== size || Math.floor(s.mtimeMs / 1000) !== mtime) return null;
    }
    return new URL('../.build/cli.js', import.meta.url).href;
  } catch {
    return null; // no build, or one that cannot be read: the sources
  }
}

const built = currentBuild();
if (built) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
