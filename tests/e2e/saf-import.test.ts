import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { executeObjectCommand, loadObject, objectStream } from '../../src/application/object-commands.ts';
import { objectProvenance } from '../../src/application/provenance.ts';
import type { BulkIngestSummary } from '../../src/cli/bulk-ingest.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { thukho as runThukho, show } from '../helpers/cli.ts';
import { countEvents, withEventLog } from '../helpers/events.ts';
import { startTestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * `thukho import-saf` end to end through the CLI on committed DSpace Simple Archive Format
 * fixtures (tests/fixtures/saf, written by make-fixtures.ts there): dspace7/ exactly as DSpace
 * 7's exporter writes an export, bad/ one item per refusal beside a good one.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'saf');
const thukho = (dataDir: string, ...args: string[]) => runThukho(dataDir, args);

function copyArchive(work: string, name: string): string {
  const to = join(work, name);
  cpSync(join(FIXTURES, name), to, { recursive: true });
  return to;
}

async function registration(dataDir: string, objectId: string): Promise<Json | undefined> {
  return withEventLog(dataDir, async (store) => {
    for await (const e of store.readStream(objectStream(objectId), { maxCount: 1 })) return e.data as Json;
    return undefined;
  });
}

function stagedFiles(dataDir: string): string[] {
  const root = join(dataDir, 'staging');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
}

test.serial('a DSpace 7 export imports: DC mapped, files stored with digests, handle and DSpace record kept, manifest reads; a re-run is "already here"', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const s = await startTestServer();
  const work = mkdtempSync(join(tmpdir(), 'thukho-saf-'));
  try {
    t.is((await staffCall(s, 'POST', '/api/collections', { id: 'dspace-cu', title: 'Kho DSpace cũ' })).id, 'dspace-cu');
    const archive = copyArchive(work, 'dspace7');
    const first = await thukho(s.dataDir, 'import-saf', archive, '--collection', 'dspace-cu', '--json');
    t.is(first.code, 0, show(first));
    const summary = JSON.parse(first.stdout) as BulkIngestSummary;
    t.deepEqual(summary.works.map((w) => [w.folder, w.objectId, w.outcome, w.files.ingested]), [
      ['0', 'hdl-123456789-42', 'created', 2],
      ['1', 'hdl-123456789-43', 'created', 1],
    ]);

    await withEventLog(s.dataDir, async (store) => {
      const { state } = await loadObject(store, 'hdl-123456789-42');
      if (state.status !== 'active') return t.fail('no work hdl-123456789-42');
      t.deepEqual(state.metadata, {
        title: 'Truyện Kiều <bản Quan Văn Đường> & chú giải',
        alternativeTitle: ['Đoạn trường tân thanh'],
        creator: 'Nguyễn Du; Kiều Oánh Mậu',
        date: '1902',
        yearFrom: 1902,
        yearTo: 1902,
        language: ['vie'],
        subject: 'Văn học Việt Nam; Truyện thơ Nôm',
        description: 'Bản khắc gỗ Truyện Kiều, in tại Hà Nội.',
        type: 'Sách',
        identifier: 'HN-0042',
        rights: 'http://rightsstatements.org/vocab/NoC-NC/1.0/',
        collectionId: 'dspace-cu',
      });
      t.is(state.accessLevel, 'open');
      // ORIGINAL only, in contents order; the licence and the thumbnail DSpace made stay behind.
      t.deepEqual(state.files.map((f) => f.name), ['page_1.png', 'page_2.tif']);
      for (const f of state.files) t.regex(f.digests.sha512, /^[0-9a-f]{128}$/);
      t.deepEqual(state.files.map((f) => f.storage.version), ['v1', 'v1']);

      const restricted = await loadObject(store, 'hdl-123456789-43');
      if (restricted.state.status !== 'active') return t.fail('no work hdl-123456789-43');
      t.is(restricted.state.accessLevel, 'restricted', "a bitstream DSpace let only 'Thủ thư' read is not opened to everyone");
      t.deepEqual(restricted.state.metadata.language, ['lzh']);

      const prov = await objectProvenance(store, 'hdl-123456789-42');
      const accession = prov.events[0]!;
      t.regex(accession.eventDetailInformation.eventDetail.en, /Imported from the DSpace Simple Archive Format item “dspace7\/0” \(123456789\/42\)/);
      t.regex(accession.eventDetailInformation.eventDetail.vi, /Nhập từ gói DSpace Simple Archive Format/);
    });
    const registered = await registration(s.dataDir, 'hdl-123456789-42');
    const imported = registered?.imported as { format: string; identifier: string; location: string; fingerprint: string; record: Record<string, string[]> };
    t.is(imported.format, 'dspace-saf');
    t.is(imported.identifier, '123456789/42');
    t.regex(imported.fingerprint, /^[0-9a-f]{64}$/);
    // Values with no field of ours are kept whole, with their language.
    t.deepEqual(imported.record['dc.publisher[vi]'], ['Quan Văn Đường']);
    t.deepEqual(imported.record['dc.description.provenance[en]'], ['Submitted by Trần Văn An on 2015-06-03T08:12:44Z. No. of bitstreams: 2']);
    t.deepEqual(imported.record['dcterms.spatial[vi]'], ['Hà Nội']);
    t.deepEqual(imported.record['dc.identifier.uri'], ['http://hdl.handle.net/123456789/42']);

    const manifest = await poll('the manifest of hdl-123456789-42 with both pages', 60_000, async () => {
      const r = await fetch(`${s.url}/iiif/manifest/hdl-123456789-42`);
      if (r.status !== 200) return undefined;
      const m = (await r.json()) as Json;
      return (m.items as unknown[] | undefined)?.length === 2 ? m : undefined;
    });
    t.regex(JSON.stringify(manifest.label), /Truyện Kiều <bản Quan Văn Đường> & chú giải/);

    const before = BigInt(await countEvents(s.dataDir));
    const again = await thukho(s.dataDir, 'import-saf', archive, '--collection', 'dspace-cu');
    t.is(again.code, 0, show(again));
    t.regex(again.stdout, /nothing changed: every item is already here/);
    t.regex(again.stdout, /already here, unchanged \(2\):\n {2}= hdl-123456789-42 .*\n {2}= hdl-123456789-43 /);
    t.regex(again.stdout, /Đã tạo \/ created \(0\)/);
    // The server keeps working meanwhile (derivatives, descriptions): the re-run itself must have written nothing.
    const written = await withEventLog(s.dataDir, async (store) => {
      const out: string[] = [];
      for await (const e of store.readAll({ after: before })) if (e.metadata.actor.id.startsWith('cli:')) out.push(`${e.type} ${e.streamId}`);
      return out;
    });
    t.deepEqual(written, [], 'a re-run writes nothing');
  } finally {
    rmSync(work, { recursive: true, force: true });
    await s.close();
  }
});

test.serial('bad SAF items are refused each with its reason, leave no work and no bytes, and the run goes on', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-saf-bad-'));
  const dataDir = join(work, 'repo');
  try {
    const archive = copyArchive(work, 'bad');
    const first = await thukho(dataDir, 'import-saf', archive, '--json');
    t.is(first.code, 1, show(first));
    const summary = JSON.parse(first.stdout) as BulkIngestSummary;
    const outcome = Object.fromEntries(summary.works.map((w) => [w.folder, [w.outcome, w.reason ?? '']]));
    t.is(outcome['a-good']?.[0], 'created');
    const reasons: Record<string, RegExp> = {
      'b-missing-file': /contents line 2: the file "page_2\.png" is not in the folder/,
      'c-not-well-formed': /dublin_core\.xml is not well-formed XML: <\/dublin_core> does not close <dcvalue> \(line 4, column 1\)$/,
      'd-no-title': /không có nhan đề \(dc\.title\) \/ no title \(dc\.title\)/,
      'e-duplicate': /the same item as "a-good" \(handle 123456789\/100\)/,
      'f-unknown-bundle': /unknown bundle "PRESERVATION"/,
      'g-not-an-image': /notes\.exe: .*Unrecognised file format/,
    };
    for (const [folder, reason] of Object.entries(reasons)) {
      t.is(outcome[folder]?.[0], 'refused', folder);
      t.regex(outcome[folder]?.[1] ?? '', reason, folder);
    }
    // Nothing half-ingested: no registration for a refused item, not even the one whose first page was fine.
    for (const id of ['hdl-123456789-101', 'hdl-123456789-102', 'hdl-123456789-103', 'hdl-123456789-105', 'hdl-123456789-106']) {
      t.is(await registration(dataDir, id), undefined, id);
    }
    t.deepEqual(stagedFiles(dataDir), []);
    await withEventLog(dataDir, async (store) => {
      const { state } = await loadObject(store, 'hdl-123456789-100');
      t.true(state.status === 'active' && state.files.length === 1 && state.metadata.title === 'Mục tốt');
    });

    // The human report names every refusal in both languages.
    const before = await countEvents(dataDir);
    const again = await thukho(dataDir, 'import-saf', archive);
    t.is(again.code, 1);
    t.regex(again.stdout, /Bị từ chối \/ refused \(6\):/);
    t.regex(again.stdout, /✗ b-missing-file: contents dòng 2: không có tệp "page_2\.png" trong thư mục \/ contents line 2/);
    t.regex(again.stdout, /already here, unchanged \(1\):\n {2}= hdl-123456789-100 «Mục tốt»/);
    t.is(await countEvents(dataDir), before);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.serial('an import stopped after registering a work resumes: the next run adds its files; a changed DSpace title becomes an edit', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-saf-resume-'));
  const dataDir = join(work, 'repo');
  try {
    const archive = copyArchive(work, 'dspace7');
    // What a run killed between the registration and the OCFL commit leaves: the work, no pages.
    await withEventLog(dataDir, (store) =>
      executeObjectCommand(
        store,
        {
          type: 'RegisterObject',
          objectId: 'hdl-123456789-42',
          metadata: { title: 'Truyện Kiều (tên cũ)' },
          accessLevel: 'open',
          imported: { format: 'dspace-saf', location: 'dspace7/0', identifier: '123456789/42', fingerprint: '0'.repeat(64), record: {} },
        },
        { actor: { id: 'thukho-cli', role: 'admin' } },
      ),
    );
    const r = await thukho(dataDir, 'import-saf', archive, '--json');
    t.is(r.code, 0, show(r));
    const summary = JSON.parse(r.stdout) as BulkIngestSummary;
    const kieu = summary.works.find((w) => w.objectId === 'hdl-123456789-42');
    t.is(kieu?.outcome, 'changed');
    t.is(kieu?.files.ingested, 2);
    t.true(kieu?.changed.includes('title'));
    t.is(summary.works.find((w) => w.objectId === 'hdl-123456789-43')?.outcome, 'created');
    await withEventLog(dataDir, async (store) => {
      const { state } = await loadObject(store, 'hdl-123456789-42');
      t.true(state.status === 'active' && state.files.length === 2 && state.metadata.title.startsWith('Truyện Kiều <bản'));
    });

    // A work of the same id that did not come from this DSpace item is not touched.
    const other = join(work, 'other');
    await withEventLog(other, (store) =>
      executeObjectCommand(store, { type: 'RegisterObject', objectId: 'hdl-123456789-43', metadata: { title: 'Khác' }, accessLevel: 'open' }, { actor: { id: 'test', role: 'admin' } }),
    );
    const clash = await thukho(other, 'import-saf', archive, '--json');
    t.is(clash.code, 1);
    const w = (JSON.parse(clash.stdout) as BulkIngestSummary).works.find((x) => x.objectId === 'hdl-123456789-43');
    t.is(w?.outcome, 'refused');
    t.regex(w?.reason ?? '', /did not come from this DSpace item; not overwritten/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
