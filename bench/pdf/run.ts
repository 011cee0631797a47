/**
 * PDF pages benchmark: src/storage/pdf-pages.ts over a 2,000-page A4 PDF of text (50 lines a
 * page, Helvetica), printing the time to open it, milliseconds per page to render at 300 dpi
 * and to read the text layer, and the process's resident memory as pages go by: memory
 * must stay flat (one page at a time), whatever the page count.
 *
 *   npm run bench:pdf                  2,000 pages, 40 of them rendered and read
 *   npm run bench:pdf -- --sample=200  more pages rendered
 *
 * No reference renderer runs beside it: poppler's pdftoppm and MuPDF's mutool are not
 * installed here (apt: poppler-utils, mupdf-tools); the output says so when they are missing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPdf } from '../../src/storage/pdf-pages.ts';
import { pdf } from '../../tests/helpers/pdf.ts';
import { waitQuiet } from '../machine.ts';

const PAGES = 2000;
const sample = Number(process.argv.find((a) => a.startsWith('--sample='))?.slice('--sample='.length) ?? 40);
const RASTER = { dpi: 300, maxPixels: 1_000_000_000 };

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const rss = () => process.memoryUsage().rss;

const dir = mkdtempSync(join(tmpdir(), 'thukho-bench-pdf-'));
try {
  const lines = Array.from({ length: 50 }, (_, l) => ({ x: 56, y: 780 - l * 14, size: 11, text: `Line ${l + 1}: the quick brown fox jumps over the lazy dog, again and again.` }));
  const path = join(dir, 'a4-2000.pdf');
  writeFileSync(path, pdf(Array.from({ length: PAGES }, () => ({ width: 595, height: 842, lines }))));
  console.log(`PDF: ${PAGES} A4 pages, ${mb(statSync(path).size)} MB; sampling ${sample} pages spread over the file`);
  for (const tool of ['pdftoppm', 'mutool']) {
    if (spawnSync('which', [tool]).status !== 0) console.log(`reference ${tool}: not installed, not run`);
  }
  console.log(`machine busy before start: ${((await waitQuiet()) * 100).toFixed(0)}%`);

  const before = rss();
  let t0 = performance.now();
  const doc = await openPdf(path);
  console.log(`open: ${(performance.now() - t0).toFixed(0)} ms, ${doc.pageCount} pages, RSS ${mb(before)} → ${mb(rss())} MB`);

  const pages = Array.from({ length: sample }, (_, i) => 1 + Math.floor((i * (PAGES - 1)) / Math.max(1, sample - 1)));
  const memory: number[] = [];
  t0 = performance.now();
  let size = '';
  for (const n of pages) {
    const page = await doc.renderPage(n, RASTER);
    size = `${page.width} × ${page.height} px, PNG ${(page.png.length / 1e6).toFixed(2)} MB`;
    memory.push(rss());
  }
  const renderMs = (performance.now() - t0) / pages.length;
  t0 = performance.now();
  let words = 0;
  for (const n of pages) words += (await doc.pageText(n, RASTER)).words.length;
  const textMs = (performance.now() - t0) / pages.length;
  await doc.close();

  const tenth = Math.max(1, Math.floor(memory.length / 10));
  const early = Math.max(...memory.slice(0, tenth));
  const late = Math.max(...memory.slice(-tenth));
  console.log(`render at 300 dpi: ${renderMs.toFixed(0)} ms/page (${size})`);
  console.log(`text layer: ${textMs.toFixed(1)} ms/page, ${(words / pages.length).toFixed(0)} words/page`);
  console.log(`RSS while rendering: first tenth ≤ ${mb(early)} MB, last tenth ≤ ${mb(late)} MB, peak ${mb(Math.max(...memory))} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
