/**
 * What shares the server's main thread with tile readers while uploads stream in (issue 20):
 * reads the V8 CPU profiles a bench run left (THUKHO_BENCH_CPU_PROF=DIR npm run bench:iiif --
 * --only=mixed), takes the span from the first to the last sample with `stageStream` on the
 * stack (the uploads), and prints the main thread's time there by activity (tile requests,
 * upload hashing, staging, decode check, commit, projections, …, idle, GC), the top functions by
 * self time, and, for the other threads of the same process (the upload hashing pool), their
 * busy time in the same span.
 *
 *   npx tsx bench/iiif/mixed-profile.ts DIR [--top=N]
 *
 * A profile is written when its server stops: the last server of the run (the mixed one) is
 * the newest `*.0.001.cpuprofile` with stageStream samples.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const CpuProfile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CpuProfile = z.infer<typeof CpuProfile>;
type Frame = CpuProfile['nodes'][number]['callFrame'];

/** First matching rule names the activity of a sample (its whole stack is looked at). */
const RULES: Array<[string, (f: Frame) => boolean]> = [
  ['upload: hashing', (f) => f.functionName === 'update' && /hash/.test(f.url)],
  ['upload: staging (stream to disk)', (f) => /storage\/digest\.ts$/.test(f.url)],
  ['upload: format and decode check', (f) => /storage\/format\.ts$/.test(f.url)],
  ['upload: commit (OCFL, journal, event)', (f) => /(storage\/ocfl|ingest-journal|complete-ingest|application\/ingest)\.ts$/.test(f.url)],
  ['upload: multipart/body', (f) => /http\/(multipart|body)\.ts$/.test(f.url) || /busboy/.test(f.url)],
  ['projections', (f) => /projections\/(runtime|object-read-model|dispatcher|fixity-read-model|stats-read-model|oai|page-text|description-queue|user-read-model|search-runner)/.test(f.url)],
  ['manifest builder', (f) => /manifest-builder|iiif\/manifest/.test(f.url)],
  ['self-description', (f) => /self-description|description-pump/.test(f.url)],
  ['queues (outbox, redis)', (f) => /bullmq|ioredis|dispatch-pump/.test(f.url)],
  ['tile and other HTTP requests', (f) => /iiif|image-service|response-cache|http\/|koa|_http_|node:net|stream_base|writable/.test(f.url) || f.functionName === 'writev'],
];

class Profile {
  private readonly frames = new Map<number, Frame>();
  private readonly parent = new Map<number, number>();
  /** Absolute time (µs) of each sample. */
  readonly times: number[] = [];

  constructor(readonly p: CpuProfile) {
    for (const n of p.nodes) {
      this.frames.set(n.id, n.callFrame);
      for (const c of n.children ?? []) this.parent.set(c, n.id);
    }
    let t = p.startTime;
    for (const d of p.timeDeltas) this.times.push((t += d));
  }

  stack(id: number): Frame[] {
    const out: Frame[] = [];
    for (let x: number | undefined = id; x !== undefined; x = this.parent.get(x)) out.push(this.frames.get(x) as Frame);
    return out;
  }

  /** [first, last] time of samples with `fn` on the stack, or null. */
  span(fn: string): [number, number] | null {
    let first: number | undefined;
    let last: number | undefined;
    this.p.samples.forEach((id, i) => {
      if (this.stack(id).some((f) => f.functionName === fn)) {
        first ??= this.times[i];
        last = this.times[i];
      }
    });
    return first === undefined || last === undefined ? null : [first, last];
  }

  /** Time (µs) per key over [from, to]. */
  tally(from: number, to: number, key: (stack: Frame[]) => string): Map<string, number> {
    const out = new Map<string, number>();
    this.p.samples.forEach((id, i) => {
      const t = this.times[i] as number;
      if (t < from || t > to) return;
      const k = key(this.stack(id));
      out.set(k, (out.get(k) ?? 0) + (this.p.timeDeltas[i] as number));
    });
    return out;
  }
}

function activity(stack: Frame[]): string {
  const self = stack[0];
  if (self?.functionName === '(idle)') return 'idle';
  if (self?.functionName === '(garbage collector)') return 'GC';
  for (const [name, test] of RULES) if (stack.some(test)) return name;
  return 'other';
}

const selfKey = (stack: Frame[]) => {
  const f = stack[0] as Frame;
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}${f.url ? `:${f.lineNumber + 1}` : ''}`;
};

function print(title: string, tally: Map<string, number>, top: number): void {
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  console.log(title);
  for (const [k, v] of [...tally].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${(v / 1e3).toFixed(0).padStart(7)} ms ${((100 * v) / Math.max(total, 1)).toFixed(1).padStart(5)} %  ${k}`);
  }
}

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (!dir) {
  console.error('usage: npx tsx bench/iiif/mixed-profile.ts DIR [--top=N]   (DIR: THUKHO_BENCH_CPU_PROF of a bench run)');
  process.exit(2);
}
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 15);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort();
// CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the main thread is thread 0.
const byPid = new Map<string, string[]>();
for (const f of files) {
  const pid = f.split('.')[3] ?? '';
  byPid.set(pid, [...(byPid.get(pid) ?? []), f]);
}
let shown = false;
for (const [pid, group] of [...byPid].reverse()) {
  const mainFile = group.find((f) => f.split('.')[4] === '0');
  if (!mainFile) continue;
  const main = new Profile(CpuProfile.parse(JSON.parse(readFileSync(join(dir, mainFile), 'utf8'))));
  const span = main.span('stageStream');
  if (!span) continue;
  const [from, to] = span;
  console.log(`server pid ${pid}: uploads streamed in from ${((from - main.p.startTime) / 1e6).toFixed(1)} s to ${((to - main.p.startTime) / 1e6).toFixed(1)} s (${((to - from) / 1e6).toFixed(1)} s)`);
  print('main thread by activity:', main.tally(from, to, activity), 20);
  print(`main thread, top ${top} by self time:`, main.tally(from, to, selfKey), top);
  for (const f of group.filter((g) => g !== mainFile)) {
    const other = new Profile(CpuProfile.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))));
    const tally = other.tally(from, to, selfKey);
    const busy = [...tally].filter(([k]) => !k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
    if (busy < 50_000) continue;
    print(`thread ${f.split('.')[4]} (${(busy / 1e3).toFixed(0)} ms busy), top 5:`, new Map([...tally].filter(([k]) => !k.startsWith('(idle)'))), 5);
  }
  shown = true;
  break;
}
if (!shown) {
  console.error(`no profile in ${dir} has stageStream samples (was the server run with THUKHO_BENCH_CPU_PROF, and did uploads happen?)`);
  process.exit(1);
}
