/**
 * Where a V8 CPU profile's time goes: self time per function (with its file), top N, and the
 * share of idle and garbage collection. For the profiles OAI_BENCH_CPU_PROF=DIR makes.
 *
 *   npx tsx bench/oai/cpu-profile.ts DIR/CPU.*.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const Profile = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }) })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

const [path, top = '25'] = process.argv.slice(2);
if (!path) throw new Error('usage: cpu-profile.ts FILE.cpuprofile [N]');
const profile = Profile.parse(JSON.parse(readFileSync(path, 'utf8')));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  total += us;
  const f = byId.get(id)?.callFrame;
  const name = f ? `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '?';
  self.set(name, (self.get(name) ?? 0) + us);
});
const busy = total - (self.get('(idle) :0') ?? 0);
console.log(`${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s not idle`);
for (const [name, us] of [...self].filter(([n]) => n !== '(idle) :0').sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
}
