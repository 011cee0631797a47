/**
 * OCR benchmark (issue 14), side by side in one run on one machine: our engines against the
 * native tesseract CLI on the same PNG bytes, pages rendered here with known text.
 *
 *   - Vietnamese: A4 pages at 300 dpi (11 pt DejaVu Serif, full diacritics), clean and
 *     degraded (yellowed stained paper, bleed-through, faded ink, noise, blur, 1-2° skew).
 *     Ours: TesseractEngine (tesseract.js, vie 4.0.0_best_int, PSM 3). Reference: `tesseract
 *     -l vie --psm 3` with the same traineddata, and with Debian's.
 *   - Han: vertical half-folio pages of classical text with Nôm characters (Extension B),
 *     clean, degraded, and woodblock-like. Ours: the engine chooseEngine picks for `lzh` (the
 *     Han engine, PP-OCRv4 on ONNX) and TesseractEngine's chi_tra_vert (PSM 5), the fallback.
 *     Reference: `tesseract -l chi_tra_vert --psm 5`, same traineddata and Debian's.
 *   - The OCR pool (OcrPool) of one and of two engine sets over the same Vietnamese pages:
 *     pages per minute.
 *
 * Prints seconds per page (median, mean) and character error rate per engine, script and
 * condition, then the issue's targets, met or not. Every page is the same on every run (seeded);
 * the network is refused throughout and any attempt is reported (and fails the run).
 *
 *   npm run bench:ocr                12 Vietnamese pages, 11 Han pages (6-12 minutes on 2 cores)
 *   npm run bench:ocr -- --small     4 Vietnamese pages, 3 Han pages
 *   npm run bench:ocr -- --keep      keep the rendered pages (their directory is printed)
 *
 * Needs Debian's tesseract-ocr (scripts/ensure-system.sh tesseract-ocr tesseract-ocr-vie
 * tesseract-ocr-chi-tra-vert fonts-hanazono); without it only our engines run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { guardNetwork } from '../../tests/helpers/network-guard.ts';
import { mulberry32 } from '../../tests/helpers/prng.ts';
import { machineBusy, waitQuiet } from '../machine.ts';
import { type BenchPage, type Condition, hanCharactersWithoutFont, hanPage, vietnamesePage } from './pages.ts';
import { type Score, score } from './score.ts';

const network = guardNetwork();
// After the guard: tesseract.js starts its worker thread with the guarded Worker.
const [{ TesseractEngine, meanConfidence }, { HanEngine }, { chooseEngine }, { OcrPool }, { pageText }, native] = await Promise.all([
  import('../../src/ocr/tesseract-engine.ts'),
  import('../../src/ocr/han-engine.ts'),
  import('../../src/ocr/choose-engine.ts'),
  import('../../src/ocr/pool.ts'),
  import('../../src/ocr/line-text.ts'),
  import('./native.ts'),
]);

const args = process.argv.slice(2);
const SMALL = args.includes('--small');
const KEEP = args.includes('--keep');
const VIE = SMALL ? { clean: 1, degraded: 3 } : { clean: 4, degraded: 8 };
const HAN: Record<Condition, number> = SMALL ? { clean: 1, degraded: 1, woodblock: 1 } : { clean: 3, degraded: 4, woodblock: 4 };
/** Five paragraphs of four sentences: about 1,900 characters, 33 lines of an A4 page. */
const VIE_PARAGRAPHS = 5;
const VIE_SENTENCES = 4;

interface Measure {
  seconds: number;
  /** CPU seconds of every thread that worked on the page (ours: this process; native: the tesseract process). */
  cpuSeconds?: number;
  score: Score;
  /** Our tesseract read the page twice (the 180° check under a mean confidence of 70). */
  readTwice?: boolean;
}

interface EngineRun {
  label: string;
  script: 'vie' | 'han';
  read: (page: BenchPage, file: string) => Promise<{ text: string; seconds: number; cpuSeconds?: number; readTwice?: boolean }>;
  results: Map<string, Measure>;
}

const seconds = (from: number) => (performance.now() - from) / 1000;

/** Wall and CPU seconds of one call of ours (the engines run in this process's threads; nothing else of ours runs meanwhile). */
async function timed<T>(call: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await call();
  const used = process.cpuUsage(cpu);
  return { value, seconds: seconds(start), cpuSeconds: (used.user + used.system) / 1e6 };
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Cores kept busy by other work while `call` ran: the machine's busy CPU time less this
 * process's and its children's (`childCpu`, as measured), over the wall time. The machine is
 * shared; wall times and the pool's speed-up mean little when this is high.
 */
async function othersWhile<T>(call: () => Promise<T>, childCpu: () => number): Promise<{ value: T; otherCores: number; ownCores: number }> {
  const machine = machineBusy();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await call();
  const wall = seconds(start);
  const used = process.cpuUsage(cpu);
  const own = (used.user + used.system) / 1e6;
  return { value, otherCores: Math.max(0, (machineBusy() - machine - own - childCpu()) / wall), ownCores: own / wall };
}

async function tinyPage(text: string, vertical: boolean): Promise<Buffer> {
  const [width, height] = vertical ? [200, 700] : [900, 160];
  const body = vertical
    ? [...text].map((ch, i) => `<text x="50" y="${110 + i * 110}" font-family="HanaMinA" font-size="100">${ch}</text>`).join('')
    : `<text x="40" y="100" font-family="DejaVu Serif" font-size="46">${text}</text>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite([{ input: Buffer.from(svg) }]).withMetadata({ density: 300 }).png().toBuffer();
}

async function main(): Promise<void> {
  const version = native.nativeVersion();
  console.log(`OCR bench${SMALL ? ' (--small)' : ''}: ${VIE.clean + VIE.degraded} Vietnamese pages, ${HAN.clean + HAN.degraded + HAN.woodblock} Han pages`);
  console.log(`reference: ${version ?? 'tesseract CLI not installed (apt-get install tesseract-ocr tesseract-ocr-vie tesseract-ocr-chi-tra-vert): our engines only'}`);
  const missing = hanCharactersWithoutFont();
  if (missing.length > 0) throw new Error(`no installed font draws ${missing.join(' ')} (apt-get install fonts-hanazono)`);

  const dir = mkdtempSync(join(tmpdir(), 'thukho-bench-ocr-'));
  const same = version ? native.sameTessdata(['vie', 'chi_tra_vert']) : undefined;
  const debian = version ? native.debianTessdata(['vie', 'chi_tra_vert']) : undefined;
  const tesseract = await TesseractEngine.create();
  const han = await HanEngine.create();
  try {
    // Pages, rendered once, each in its own seeded sequence so that adding one leaves the others as they were.
    let t0 = performance.now();
    const pages: BenchPage[] = [];
    for (const condition of ['clean', 'degraded'] as const) {
      for (let i = 0; i < VIE[condition]; i++) pages.push(await vietnamesePage(mulberry32(1400 + pages.length), `vie-${condition}-${i + 1}`, condition, VIE_PARAGRAPHS, VIE_SENTENCES));
    }
    for (const condition of ['clean', 'degraded', 'woodblock'] as const) {
      for (let i = 0; i < HAN[condition]; i++) pages.push(await hanPage(mulberry32(1400 + pages.length), `han-${condition}-${i + 1}`, condition));
    }
    const files = new Map(pages.map((p) => [p.name, join(dir, `${p.name}.png`)]));
    for (const p of pages) writeFileSync(files.get(p.name) as string, p.png);
    const mb = pages.reduce((s, p) => s + p.png.length, 0) / 1e6;
    console.log(`rendered ${pages.length} pages (${mb.toFixed(0)} MB of PNG) in ${seconds(t0).toFixed(0)} s${KEEP ? `: ${dir}` : ''}`);

    const chosen = chooseEngine(['lzh'], { tesseract, han }).engine;
    const runs: EngineRun[] = [
      {
        label: `ours: ${tesseract.info.name} vie (PSM 3)`,
        script: 'vie',
        read: async (page) => {
          const { value: read, ...time } = await timed(() => tesseract.recognize({ image: page.png, languages: ['vie'] }));
          return { text: pageText(read), ...time, readTwice: read.rotation === 180 || (read.blocks.length > 0 && meanConfidence(read) < 70) };
        },
        results: new Map(),
      },
      {
        label: `ours, chosen for lzh: ${chosen.info.name}`,
        script: 'han',
        read: async (page) => {
          const { value: read, ...time } = await timed(() => chosen.recognize({ image: page.png, languages: ['lzh'], vertical: true }));
          return { text: pageText(read), ...time };
        },
        results: new Map(),
      },
    ];
    if (chosen !== tesseract) {
      runs.push({
        label: `ours, fallback: ${tesseract.info.name} chi_tra_vert (PSM 5)`,
        script: 'han',
        read: async (page) => {
          const { value: read, ...time } = await timed(() => tesseract.recognize({ image: page.png, languages: ['lzh'], vertical: true }));
          return { text: pageText(read), ...time };
        },
        results: new Map(),
      });
    }
    for (const data of [same, debian]) {
      if (!data) continue;
      runs.push(
        { label: `native tesseract vie (PSM 3), ${data.label}`, script: 'vie', read: (_, file) => native.readNative(file, 'vie', 3, data), results: new Map() },
        { label: `native tesseract chi_tra_vert (PSM 5), ${data.label}`, script: 'han', read: (_, file) => native.readNative(file, 'chi_tra_vert', 5, data), results: new Map() },
      );
    }

    // Warm-up, not timed: our engines load their models once per process; the CLI loads them
    // on every page, and that start is part of its time (measured here on a one-word page).
    const warmVie = await tinyPage('Xin chào', false);
    const warmHan = await tinyPage('天地玄黃', true);
    await tesseract.recognize({ image: warmVie, languages: ['vie'] });
    await tesseract.recognize({ image: warmHan, languages: ['lzh'], vertical: true });
    await han.recognize({ image: warmHan, languages: ['lzh'], vertical: true });
    if (same) {
      const warmFile = join(dir, 'warm-up.png');
      writeFileSync(warmFile, warmVie);
      const starts = [];
      for (let i = 0; i < 3; i++) starts.push((await native.readNative(warmFile, 'vie', 3, same)).seconds);
      console.log(`native tesseract start + model load (one-word page, part of its time per page): ${median(starts).toFixed(2)} s`);
    }

    console.log(`load average before measuring: ${load()}; machine busy ${((await waitQuiet()) * 100).toFixed(0)}% (${os.cpus().length} cores)`);
    let nativeCpu = 0;
    const { otherCores } = await othersWhile(async () => {
      for (const [n, page] of pages.entries()) {
        const cells: string[] = [];
        for (const run of runs.filter((r) => r.script === page.script)) {
          const read = await run.read(page, files.get(page.name) as string);
          if (run.label.startsWith('native')) nativeCpu += read.cpuSeconds ?? 0;
          const measure = { seconds: read.seconds, cpuSeconds: read.cpuSeconds, score: score(page.script, read.text, page.text), readTwice: read.readTwice };
          run.results.set(page.name, measure);
          cells.push(`${read.seconds.toFixed(1)} s ${pct(measure.score.cer)}${read.readTwice ? ' (read twice)' : ''}`);
        }
        console.log(`[${n + 1}/${pages.length}] ${page.name}: ${cells.join(' · ')}`);
      }
    }, () => nativeCpu);
    console.log(`other work on the machine meanwhile: ${otherCores.toFixed(2)} of ${os.cpus().length} cores on average`);

    // The pool: the same Vietnamese pages through one engine set, then two.
    const viePages = pages.filter((p) => p.script === 'vie');
    const pool: PoolRun[] = [];
    for (const size of [1, 2]) {
      const ocr = new OcrPool({ size, createEngines: async () => ({ tesseract: await TesseractEngine.create() }) });
      try {
        // As many pages as sets at once make every set and load its model; not timed.
        await Promise.all(Array.from({ length: size }, () => ocr.read({ image: warmVie, languages: ['vie'] })));
        const start = performance.now();
        const { value: reads, otherCores, ownCores } = await othersWhile(() => Promise.all(viePages.map((p) => ocr.read({ image: p.png, languages: ['vie'] }))), () => 0);
        const elapsed = seconds(start);
        const cer = mean(reads.map((r, i) => score('vie', pageText(r.page), (viePages[i] as BenchPage).text).cer));
        pool.push({ size, perMinute: (viePages.length / elapsed) * 60, cer, otherCores, ownCores });
        console.log(
          `pool of ${size} (${ocr.engineSets} engine sets): ${viePages.length} pages in ${elapsed.toFixed(1)} s, ${((viePages.length / elapsed) * 60).toFixed(1)} pages/min, ` +
            `mean CER ${pct(cer)}; it used ${ownCores.toFixed(2)} cores, other work ${otherCores.toFixed(2)}`,
        );
      } finally {
        await ocr.close();
      }
    }

    report(runs, pages, pool, otherCores);
    console.log(`load average after: ${load()}`);
    if (network.attempts.length > 0) {
      console.log(`NETWORK ACCESS ATTEMPTED (refused): ${network.attempts.join('; ')}`);
      process.exitCode = 1;
    } else console.log('network: no access attempted (fetch and sockets refused in this process and its worker threads)');
  } finally {
    await Promise.all([tesseract.close(), han.close()]);
    for (const data of [same]) if (data) native.removeTessdata(data);
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

interface PoolRun {
  size: number;
  perMinute: number;
  cer: number;
  /** Cores kept busy meanwhile by this process, and by other work on the machine. */
  ownCores: number;
  otherCores: number;
}

interface Row {
  seconds: number[];
  cpuSeconds: number[];
  scores: Score[];
  readTwice: number;
}

function rowOf(run: EngineRun, pages: BenchPage[]): Row {
  const measures = pages.map((p) => run.results.get(p.name)).filter((m): m is Measure => m !== undefined);
  return { seconds: measures.map((m) => m.seconds), cpuSeconds: measures.map((m) => m.cpuSeconds ?? NaN), scores: measures.map((m) => m.score), readTwice: measures.filter((m) => m.readTwice).length };
}

function report(runs: EngineRun[], pages: BenchPage[], pool: PoolRun[], otherCores: number): void {
  const width = Math.max(...runs.map((r) => r.label.length)) + 2;
  const conditions = (script: 'vie' | 'han'): Condition[] => (script === 'vie' ? ['clean', 'degraded'] : ['clean', 'degraded', 'woodblock']);
  console.log('');
  for (const script of ['vie', 'han'] as const) {
    const hanColumns = script === 'han' ? `${'CER folded'.padStart(11)}${'recall'.padStart(8)}${'precision'.padStart(10)}${'BMP recall'.padStart(11)}${'ext B recall'.padStart(13)}` : '';
    console.log(`${(script === 'vie' ? 'Vietnamese' : 'Han (vertical)').padEnd(width)}${'pages'.padStart(13)}${'s/page med'.padStart(11)}${'mean'.padStart(7)}${'cpu s'.padStart(7)}${'CER'.padStart(8)}${hanColumns}`);
    for (const run of runs.filter((r) => r.script === script)) {
      for (const condition of [...conditions(script), 'all'] as const) {
        const row = rowOf(run, pages.filter((p) => p.script === script && (condition === 'all' || p.condition === condition)));
        if (row.seconds.length === 0) continue;
        const han = script === 'han'
          ? `${pct(mean(row.scores.map((s) => s.foldedCer ?? NaN))).padStart(11)}${pct(mean(row.scores.map((s) => s.recall ?? NaN))).padStart(8)}${pct(mean(row.scores.map((s) => s.precision ?? NaN))).padStart(10)}${pct(mean(row.scores.map((s) => s.recallBmp ?? NaN))).padStart(11)}${pct(mean(row.scores.flatMap((s) => (s.recallBeyondBmp === undefined ? [] : [s.recallBeyondBmp])))).padStart(13)}`
          : '';
        const label = condition === conditions(script)[0] ? run.label : '';
        const twice = row.readTwice > 0 ? `  (${row.readTwice} read twice)` : '';
        console.log(`${label.padEnd(width)}${`${condition} ${row.seconds.length}`.padStart(13)}${median(row.seconds).toFixed(2).padStart(11)}${mean(row.seconds).toFixed(2).padStart(7)}${(Number.isNaN(mean(row.cpuSeconds)) ? '—' : mean(row.cpuSeconds).toFixed(2)).padStart(7)}${pct(mean(row.scores.map((s) => s.cer))).padStart(8)}${han}${twice}`);
      }
    }
    console.log('');
  }

  const find = (script: 'vie' | 'han', prefix: string) => runs.find((r) => r.script === script && r.label.startsWith(prefix));
  const ours = find('vie', 'ours');
  const nativeVie = find('vie', 'native');
  const chosen = find('han', 'ours, chosen');
  const nativeHan = find('han', 'native');
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const stat = (run: EngineRun | undefined, script: 'vie' | 'han', condition?: Condition) =>
    run ? rowOf(run, pages.filter((p) => p.script === script && (!condition || p.condition === condition))) : undefined;
  console.log('targets (issue 14)');
  const oursDegraded = stat(ours, 'vie', 'degraded');
  const nativeDegraded = stat(nativeVie, 'vie', 'degraded');
  if (oursDegraded) {
    const cer = mean(oursDegraded.scores.map((s) => s.cer));
    console.log(`  Vietnamese CER on degraded pages ≤ 3%: ${pct(cer)} — ${verdict(cer <= 0.03)}`);
    if (nativeDegraded) {
      const reference = mean(nativeDegraded.scores.map((s) => s.cer));
      const points = (cer - reference) * 100;
      console.log(`  Vietnamese CER within 0.5 point of native (degraded): ${pct(cer)} against ${pct(reference)}, ${points >= 0 ? '+' : ''}${points.toFixed(2)} point — ${verdict(points <= 0.5)}`);
    }
  }
  const oursAll = stat(ours, 'vie');
  const nativeAll = stat(nativeVie, 'vie');
  if (oursAll && nativeAll) {
    const ratio = mean(oursAll.seconds) / mean(nativeAll.seconds);
    const ratioMedian = median(oursAll.seconds) / median(nativeAll.seconds);
    const cpuRatio = mean(oursAll.cpuSeconds) / mean(nativeAll.cpuSeconds);
    console.log(`  Vietnamese time per page ≤ 1.1× native: ${mean(oursAll.seconds).toFixed(2)} s against ${mean(nativeAll.seconds).toFixed(2)} s, ${ratio.toFixed(2)}× (medians ${ratioMedian.toFixed(2)}×) — ${verdict(ratio <= 1.1)}`);
    if (!Number.isNaN(cpuRatio)) console.log(`       (CPU seconds per page: ${mean(oursAll.cpuSeconds).toFixed(2)} against ${mean(nativeAll.cpuSeconds).toFixed(2)}, ${cpuRatio.toFixed(2)}×; other work took ${otherCores.toFixed(2)} of ${os.cpus().length} cores meanwhile)`);
  }
  const chosenAll = stat(chosen, 'han');
  const nativeHanAll = stat(nativeHan, 'han');
  if (chosenAll && nativeHanAll) {
    const cer = mean(chosenAll.scores.map((s) => s.cer));
    const reference = mean(nativeHanAll.scores.map((s) => s.cer));
    const folded = mean(chosenAll.scores.map((s) => s.foldedCer ?? NaN));
    const referenceFolded = mean(nativeHanAll.scores.map((s) => s.foldedCer ?? NaN));
    console.log(`  Han: chosen engine's CER ≤ ½ native chi_tra_vert's: ${pct(cer)} against ${pct(reference)}, ${(cer / reference).toFixed(2)}× — ${verdict(cer <= reference / 2)}`);
    console.log(`       (simplified folded to traditional: ${pct(folded)} against ${pct(referenceFolded)}, ${(folded / referenceFolded).toFixed(2)}×)`);
  }
  const [one, two] = pool;
  if (one && two) {
    const ratio = two.perMinute / one.perMinute;
    console.log(`  pool of 2 vs 1 on ${os.cpus().length} cores ≥ 1.8× pages/min: ${two.perMinute.toFixed(1)} against ${one.perMinute.toFixed(1)}, ${ratio.toFixed(2)}× — ${verdict(ratio >= 1.8)}`);
    console.log(`       (the pool of 2 kept ${two.ownCores.toFixed(2)} cores busy, the pool of 1 ${one.ownCores.toFixed(2)}; other work took ${two.otherCores.toFixed(2)} and ${one.otherCores.toFixed(2)})`);
  }
}

await main();
