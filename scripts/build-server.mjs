// Compiles the server's TypeScript (src/cli.ts and everything it imports, lazily loaded commands
// as their own chunks) to JavaScript in .build/, for bin/thukho.js to start without tsx: tsx's
// loader costs each process seconds of CPU and 60–100 MB at start (issue 20), and `thukho` is
// started by every CLI command, every worker and every test of the CLI.
//
// bin/thukho.js uses .build/ only while every source file it was built from is unchanged
// (.build/inputs.json: path, size, mtime in whole seconds); otherwise it runs the sources through tsx as before.
// So a stale build is never run, and a server with no build at all still works.
//
//   node scripts/build-server.mjs [--root DIR]   (npm run build:server; test.sh, demo.sh;
//                                                 make-release builds its staged copy with --root)
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const rootArg = process.argv.indexOf('--root');
const ROOT = rootArg > 0 && process.argv[rootArg + 1] ? resolve(process.argv[rootArg + 1]) : join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.build');
const TMP = join(ROOT, `.build.${process.pid}.tmp`);

// Each module's `import.meta.url` must stay its source file's URL: paths beside it (the viewer's
// dist, package.json, bin/thukho.js) and module resolution are relative to it. Every output file
// is directly in .build/, so the repository root is one level up from any of them.
const keepOwnUrl = {
  name: 'keep-own-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(args.path, 'utf8');
      const rel = relative(ROOT, args.path).split(sep).join('/');
      return { contents: source.replaceAll('import.meta.url', `__thukhoSourceUrl(${JSON.stringify(rel)})`), loader: 'ts' };
    });
  },
};

rmSync(TMP, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { cli: 'src/cli.ts' },
  outdir: TMP,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
  banner: { js: "const __thukhoSourceUrl = (p) => new URL('../' + p, import.meta.url).href;" },
  plugins: [keepOwnUrl],
});

const inputs = Object.keys(result.metafile.inputs)
  .filter((p) => !p.startsWith('node_modules/'))
  .sort()
  .map((p) => {
    const s = statSync(join(ROOT, p));
    // Whole seconds: a release archive (tar) keeps mtimes to the second only.
    return [p, s.size, Math.floor(s.mtimeMs / 1000)];
  });
writeFileSync(join(TMP, 'inputs.json'), `${JSON.stringify({ built: new Date().toISOString(), inputs })}\n`);
mkdirSync(TMP, { recursive: true });
// Replaced whole: a process starting meanwhile sees the old build or the new one, never half.
rmSync(`${OUT}.old`, { recursive: true, force: true });
try {
  renameSync(OUT, `${OUT}.old`);
} catch {
  /* no earlier build */
}
renameSync(TMP, OUT);
rmSync(`${OUT}.old`, { recursive: true, force: true });
console.error(`build-server: ${inputs.length} source files → .build/ (${Object.keys(result.metafile.outputs).filter((o) => o.endsWith('.js')).length} chunks)`);
