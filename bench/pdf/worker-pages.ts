/**
 * Time per PDF page in the derivatives worker: A4 pages (595 × 842 pt) of Vietnamese text,
 * drawn by pdf.js at the worker's resolution (300 dpi: 2480 × 3508 px), then built into a
 * derivative (pyramid, tile zip, sizes) and their text layer read with word boxes, the three
 * steps the worker takes per page, each timed. Prints the median and the slowest page of
 * each step and of the whole, and the process's peak RSS (one page at a time: it should not
 * grow with the number of pages).
 *
 *   npx tsx bench/pdf/worker-pages.ts [pages=12] [dpi=300]
 *
 * bench:pdf (run.ts) times pdf.js alone over a 2,000-page file; this is the worker's whole step.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { openPdf, PDF_ENGINE } from '../../src/storage/pdf-pages.ts';
import { pdf, type PdfPageSpec } from '../../tests/helpers/pdf.ts';

const PAGES = Number(process.argv[2] ?? 12);
const DPI = Number(process.argv[3] ?? 300);
const LINES = [
  'Trăm năm trong cõi người ta,',
  'Chữ tài chữ mệnh khéo là ghét nhau.',
  'Trải qua một cuộc bể dâu,',
  'Những điều trông thấy mà đau đớn lòng.',
];

function page(n: number): PdfPageSpec {
  const lines = Array.from({ length: 40 }, (_, i) => ({ x: 60, y: 790 - i * 18, size: 12, text: `${n}.${i + 1} ${LINES[i % LINES.length]}` }));
  return { width: 595, height: 842, lines };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const work = await mkdtemp(join(tmpdir(), 'thukho-pdf-pages-'));
try {
  const master = join(work, 'book.pdf');
  await writeFile(master, pdf(Array.from({ length: PAGES }, (_, i) => page(i + 1))));
  const store = new DerivativeStore(join(work, 'derivatives'));
  const doc = await openPdf(master);
  const raster = { dpi: DPI, maxPixels: 1_000_000_000, maxEdge: 6000 };
  const times = { render: [] as number[], build: [] as number[], text: [] as number[], page: [] as number[] };
  let size = '';
  for (let n = 1; n <= PAGES; n++) {
    const start = performance.now();
    let rendered = 0;
    const info = await store.buildFromRendered(
      async () => {
        const t0 = performance.now();
        const png = (await doc.renderPage(n, raster)).png;
        rendered = performance.now() - t0;
        return png;
      },
      'b'.repeat(128),
      { tileSize: 256, maxPixels: raster.maxPixels, page: n, renderedBy: PDF_ENGINE },
    );
    const built = performance.now();
    const text = await doc.pageText(n, raster);
    const end = performance.now();
    times.render.push(rendered);
    times.build.push(built - start - rendered);
    times.text.push(end - built);
    times.page.push(end - start);
    size = `${info.width} × ${info.height} px, ${text.words.length} words`;
  }
  await doc.close();
  console.log(`${PAGES} A4 pages at ${DPI} dpi (${size}), ${PDF_ENGINE}`);
  for (const [step, xs] of Object.entries(times)) console.log(`  ${step.padEnd(7)} median ${median(xs).toFixed(0).padStart(6)} ms   slowest ${Math.max(...xs).toFixed(0).padStart(6)} ms`);
  console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await rm(work, { recursive: true, force: true });
}
