import type { TestFn } from 'ava';
import { iiifWorkId } from '../../src/application/iiif-import.ts';
import { poll } from '../helpers/api.ts';
import { type Running, freePort, show, signalGroup, startThukho, thukho, waitForHealth } from '../helpers/cli.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { testWithServer } from '../helpers/server.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * One thukho imports a work from another through IIIF: the source is `thukho demo` in a
 * second process on its own data dir (its Presentation 3 manifests and Image API 3), the
 * import is the real `thukho import-iiif` into this test's server's repository, whose own
 * manifest of the imported work must then be valid and sized like the source's pages.
 */
const test = testWithServer();
const WORK = 'truyen-kieu-1871';
let source: { running: Running; url: string } | undefined;

// Declared before tempDirs: ava runs after-hooks in order, and the source must stop before its dir goes.
test.after.always(async () => {
  if (!source) return;
  signalGroup(source.running, 'SIGTERM');
  await source.running.exited;
});
const newDir = tempDirs(test as unknown as TestFn<unknown>, 'thukho-iiif-source-');

type Json = Record<string, unknown>;
type Canvas = { width: number; height: number; items: Array<{ items: Array<{ body: { id: string; service?: Array<{ id: string }> } }> }> };

async function manifestWith(url: string, canvases: (m: Json) => boolean): Promise<Json> {
  return poll(`the manifest ${url}`, 120_000, async () => {
    const res = await fetch(url);
    if (res.status !== 200) return undefined;
    const m = (await res.json()) as Json;
    return canvases(m) ? m : undefined;
  });
}

test.serial('a work of another thukho imported through its IIIF manifest: record, pages at full size, a valid manifest here; a rerun changes nothing', async (t) => {
  const s = t.context.server;
  const port = await freePort();
  const running = startThukho(newDir(), ['demo'], {
    THUKHO_PORT: String(port),
    THUKHO_HOST: '127.0.0.1',
    THUKHO_OCR: 'off',
    THUKHO_QUEUE_PREFIX: `iiif-src-${process.pid}`,
  });
  source = { running, url: `http://127.0.0.1:${port}` };
  await waitForHealth(running, port);
  const files = await poll('the demo work', 120_000, async () => {
    const res = await fetch(`${source!.url}/api/objects/${WORK}`);
    return res.status === 200 ? ((await res.json()) as { files: unknown[] }).files : undefined;
  });
  const manifestUrl = `${source.url}/iiif/manifest/${WORK}`;
  const original = await manifestWith(manifestUrl, (m) => (m.items as unknown[] | undefined)?.length === files.length);
  const sourceCanvases = original.items as Canvas[];

  const env = { THUKHO_QUEUE_PREFIX: s.config.queuePrefix };
  const first = await thukho(s.dataDir, ['import-iiif', manifestUrl, '--json'], env);
  t.is(first.code, 0, show(first));
  const id = iiifWorkId(manifestUrl);
  const report = JSON.parse(first.stdout) as { works: Array<{ objectId: string; outcome: string; files: { ingested: number } }> };
  t.like(report.works[0], { objectId: id, outcome: 'created', files: { ingested: sourceCanvases.length } });

  const imported = await manifestWith(`${s.url}/iiif/manifest/${id}`, (m) => (m.items as unknown[] | undefined)?.length === sourceCanvases.length);
  t.deepEqual(validatePresentation3(imported), []);
  t.deepEqual(imported.label, original.label, 'the title, in the same language map');
  const metadata = JSON.stringify(imported.metadata);
  for (const kept of ['金雲翹新傳', 'Đoạn trường tân thanh', 'Nguyễn Du (1766–1820)', 'Hán văn', 'HN-0001']) t.true(metadata.includes(kept), kept);
  t.is(imported.rights, original.rights);
  t.is(imported.viewingDirection, 'right-to-left');
  t.deepEqual(
    (imported.items as Canvas[]).map((c) => [c.width, c.height]),
    sourceCanvases.map((c) => [c.width, c.height]),
    'every page at the source’s full size',
  );
  // The pages themselves, through this instance's Image API: the size it serves them at.
  const info = (await (await fetch(`${(imported.items as Canvas[])[0]!.items[0]!.items[0]!.body.service![0]!.id}/info.json`)).json()) as Json;
  t.like(info, { width: sourceCanvases[0]!.width, height: sourceCanvases[0]!.height });

  const rerun = await thukho(s.dataDir, ['import-iiif', manifestUrl], env);
  t.is(rerun.code, 0, show(rerun));
  t.regex(rerun.stdout, /nothing changed/);
  t.regex(rerun.stdout, /Đã có trong kho, không đổi \/ already here, unchanged \(1\)/);
});
