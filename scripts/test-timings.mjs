// Summarises a THUKHO_TEST_TIMINGS file (see tests/helpers/file-timer.mjs): files by wall time,
// slowest first, with totals per folder. Usage: node scripts/test-timings.mjs FILE [N]
import { readFileSync } from 'node:fs';

const [path, top = '20'] = process.argv.slice(2);
if (!path) {
  console.error('usage: node scripts/test-timings.mjs TIMINGS.jsonl [N]');
  process.exit(2);
}
const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
rows.sort((a, b) => b.ms - a.ms);
const total = rows.reduce((s, r) => s + r.ms, 0);
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
console.log(`${rows.length} files, ${s(total)} of test-process time in all`);
const cpu = (r) => (typeof r.cpuMs === 'number' ? `${s(r.cpuMs).padStart(9)} cpu` : ''.padStart(13));
for (const r of rows.slice(0, Number(top))) console.log(`${s(r.ms).padStart(9)}  ${cpu(r)}  ${r.file}`);
const byFolder = new Map();
for (const r of rows) {
  const folder = r.file.split('/').slice(0, 2).join('/');
  byFolder.set(folder, (byFolder.get(folder) ?? 0) + r.ms);
}
console.log('by folder:');
for (const [f, ms] of [...byFolder].sort((a, b) => b[1] - a[1])) console.log(`${s(ms).padStart(9)}  ${f}`);
