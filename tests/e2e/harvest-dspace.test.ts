import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { workIdFor } from '../../src/application/harvest.ts';
import { loadObject, objectStream } from '../../src/application/object-commands.ts';
import { ROOT, show, thukho } from '../helpers/cli.ts';
import { withEventLog } from '../helpers/events.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho harvest` against recorded DSpace 7-style oai_dc responses (tests/fixtures/oai-dspace),
 * served by a tiny HTTP server that plays the provider: a two-page list with a resumption
 * token, records with no title and a repeated identifier, deleted records, `from` answered with
 * noRecordsMatch or a week's changes, and a source that fails (5xx, a cut-off response, a
 * resumption token it no longer knows, silence).
 */
const FIXTURES = join(ROOT, 'tests/fixtures/oai-dspace');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const ID = (n: number) => `oai:dspace.thuvien-tinh.example.vn:123456789/${n}`;
const SET = 'col_123456789_2';
const TOKEN = 'oai_dc//col_123456789_2/3';

type Mode = 'normal' | 'page2-fails' | 'token-expired' | 'invalid' | 'silent' | 'week-later';

interface Provider {
  url: string;
  mode: Mode;
  requests: URLSearchParams[];
  close(): Promise<void>;
}

async function provider(): Promise<Provider> {
  const p = { mode: 'normal' as Mode, requests: [] as URLSearchParams[] };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    p.requests.push(q);
    const send = (name: string, status = 200) => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(fixture(name));
    };
    if (p.mode === 'silent') return; // never answers
    if (p.mode === 'invalid') return send('invalid.xml');
    const token = q.get('resumptionToken');
    if (token !== null) {
      if (p.mode === 'page2-fails') {
        res.writeHead(503);
        res.end('Service Unavailable');
        return;
      }
      if (p.mode === 'token-expired' || token !== TOKEN) return send('bad-token.xml');
      return send('list-page-2.xml');
    }
    const from = q.get('from');
    if (from !== null && from >= '2026-11-20') return send(p.mode === 'week-later' ? 'changes.xml' : 'no-records.xml');
    return send('list-page-1.xml');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(p, {
    url: `http://127.0.0.1:${port}/server/oai/request`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const newDir = tempDirs(test, 'thukho-harvest-dspace-');

const harvestArgs = (p: Provider, ...more: string[]) => ['harvest', p.url, '--set', SET, '--metadata-prefix', 'oai_dc', '--retries', '0', ...more];

test('a DSpace set over two pages becomes works; bad records are refused with reasons; reruns change nothing; changes and deletions follow', async (t) => {
  const p = await provider();
  t.teardown(() => p.close());
  const dir = newDir();

  const first = await thukho(dir, harvestArgs(p, '--json'));
  t.is(first.code, 1, show(first)); // refusals make a non-zero exit, the run still completes
  const report = JSON.parse(first.stdout) as {
    complete: boolean;
    pages: number;
    created: Array<{ objectId: string; identifier: string; notes?: Array<{ vi: string; en: string }> }>;
    refused: Array<{ identifier?: string; reason: { vi: string; en: string } }>;
    unchanged: number;
  };
  t.true(report.complete);
  t.is(report.pages, 2);
  t.deepEqual(report.created.map((c) => c.identifier), [ID(11), ID(13), ID(14)]);
  t.deepEqual(report.created.map((c) => c.objectId), [workIdFor(ID(11)), workIdFor(ID(13)), workIdFor(ID(14))]);
  const refusedNoTitle = report.refused.find((r) => r.identifier === ID(12));
  t.regex(refusedNoTitle?.reason.vi ?? '', /không có nhan đề/);
  t.regex(refusedNoTitle?.reason.en ?? '', /no title/);
  const duplicate = report.refused.find((r) => r.identifier === ID(11));
  t.regex(duplicate?.reason.en ?? '', /came earlier in the same harvest/);
  t.is(report.refused.length, 2);
  t.is(report.unchanged, 1, 'the deleted record that was never harvested is nothing to do');
  const notes = report.created.find((c) => c.identifier === ID(13))?.notes ?? [];
  t.true(notes.some((n) => /dc:rights/.test(n.en)), JSON.stringify(notes));

  await withEventLog(dir, async (store) => {
    const { state } = await loadObject(store, workIdFor(ID(11)));
    if (state.status !== 'active') return t.fail(`not active: ${state.status}`);
    t.deepEqual(state.metadata, {
      title: 'Đại Việt sử ký toàn thư',
      alternativeTitle: ['大越史記全書'],
      creator: 'Ngô Sĩ Liên; Phạm Công Trứ',
      subject: 'Lịch sử Việt Nam; Sử biên niên',
      description: 'Bản khắc in năm Chính Hoà thứ 18 (1697); số hoá từ bản lưu tại thư viện tỉnh.',
      date: '1697',
      yearFrom: 1697,
      yearTo: 1697,
      type: 'Book',
      format: 'application/pdf',
      identifier: 'HN.0042',
      language: ['vie', 'lzh'],
      rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/',
    });
    for await (const e of store.readStream(objectStream(workIdFor(ID(11))), { maxCount: 1 })) {
      t.is(e.type, 'ObjectRegistered');
      t.deepEqual((e.data as { harvest?: unknown }).harvest, {
        baseUrl: p.url,
        identifier: ID(11),
        datestamp: '2026-10-02T08:00:12Z',
        metadataPrefix: 'oai_dc',
        set: SET,
      });
    }
    const map = await loadObject(store, workIdFor(ID(13)));
    t.like(map.state, { status: 'active', metadata: { title: 'Bản đồ tỉnh Nam Định & phụ cận', language: ['fra'], date: '1909' } });
    const tho = await loadObject(store, workIdFor(ID(14)));
    t.like(tho.state, { status: 'active', metadata: { language: ['vie'], yearFrom: 1470, yearTo: 1497 } });
  });

  // The rerun asks `from` the first run's responseDate: the source says noRecordsMatch.
  p.requests.length = 0;
  const second = await thukho(dir, harvestArgs(p));
  t.is(second.code, 0, show(second));
  t.regex(second.stdout, /nothing changed/);
  t.is(p.requests[0]?.get('from'), '2026-11-20T03:14:15Z');

  // The whole list again (an explicit --from): every record is already here as it is.
  const third = await thukho(dir, harvestArgs(p, '--from', '2000-01-01', '--json'));
  const again = JSON.parse(third.stdout) as { created: unknown[]; changed: unknown[]; deleted: unknown[]; unchanged: number };
  t.deepEqual([again.created.length, again.changed.length, again.deleted.length, again.unchanged], [0, 0, 0, 4], show(third));

  // A week later: one record edited, one deleted at the source.
  p.mode = 'week-later';
  const later = await thukho(dir, harvestArgs(p, '--json'));
  t.is(later.code, 0, show(later));
  const changes = JSON.parse(later.stdout) as { changed: Array<{ objectId: string; fields: string[] }>; deleted: Array<{ objectId: string }>; created: unknown[] };
  t.deepEqual(changes.changed, [{ objectId: workIdFor(ID(13)), identifier: ID(13), title: 'Bản đồ tỉnh Nam Định', fields: ['title'] }]);
  t.deepEqual(changes.deleted.map((d) => d.objectId), [workIdFor(ID(14))]);
  t.deepEqual(changes.created, []);
  await withEventLog(dir, async (store) => {
    const types: string[] = [];
    const reasons: string[] = [];
    for await (const e of store.readStream(objectStream(workIdFor(ID(13))))) {
      types.push(e.type);
      if (e.type === 'MetadataEdited') reasons.push(String((e.data as { reason?: string }).reason));
    }
    t.deepEqual(types, ['ObjectRegistered', 'MetadataEdited'], 'an edit, not a re-registration');
    t.regex(reasons[0] ?? '', new RegExp(`re-harvested from .*${ID(13)}`));
    const gone = await loadObject(store, workIdFor(ID(14)));
    t.like(gone.state, { status: 'withdrawn' });
    if (gone.state.status === 'withdrawn') {
      t.regex(gone.state.withdrawnReason ?? '', /đã bị xoá ở nguồn/);
      t.regex(gone.state.withdrawnReason ?? '', new RegExp(`deleted at the source http://127\\.0\\.0\\.1:\\d+/server/oai/request \\(${ID(14)}`));
    }
  });
});

test('an interrupted harvest continues from its saved resumption token; an expired token starts the list over', async (t) => {
  const p = await provider();
  t.teardown(() => p.close());
  const dir = newDir();

  p.mode = 'page2-fails';
  const broken = await thukho(dir, harvestArgs(p, '--json'));
  t.is(broken.code, 1, show(broken));
  const stopped = JSON.parse(broken.stdout) as { complete: boolean; stopped: { vi: string; en: string }; created: Array<{ identifier: string }> };
  t.false(stopped.complete);
  t.regex(stopped.stopped.en, /Stopped at page 2: the source answered HTTP 503 \(tried 1 times\)\. Running the command again continues/);
  t.regex(stopped.stopped.vi, /Dừng ở trang 2/);
  t.deepEqual(stopped.created.map((c) => c.identifier), [ID(11), ID(13)]);

  p.mode = 'normal';
  p.requests.length = 0;
  const resumed = await thukho(dir, harvestArgs(p, '--json'));
  t.is(resumed.code, 1, show(resumed)); // the duplicate is still refused
  const report = JSON.parse(resumed.stdout) as { resumed: boolean; complete: boolean; created: Array<{ identifier: string }> };
  t.true(report.resumed);
  t.true(report.complete);
  t.deepEqual(report.created.map((c) => c.identifier), [ID(14)]);
  t.deepEqual(p.requests.map((q) => q.get('resumptionToken')), [TOKEN], 'only page 2 was asked for');

  // Interrupted again, then the source has forgotten the token: the list starts over and finds everything here.
  const dir2 = newDir();
  p.mode = 'page2-fails';
  await thukho(dir2, harvestArgs(p));
  p.mode = 'token-expired';
  p.requests.length = 0;
  const restarted = await thukho(dir2, harvestArgs(p, '--json'));
  const r2 = JSON.parse(restarted.stdout) as { resumed: boolean; complete: boolean; stopped?: { en: string }; created: Array<{ identifier: string }>; unchanged: number };
  // The saved token is refused, the list starts over; its own page-2 token is refused too in this mode.
  t.false(r2.resumed, show(restarted));
  t.deepEqual(p.requests.map((q) => q.get('resumptionToken') ?? `list from ${q.get('from') ?? 'start'}`), [TOKEN, 'list from start', TOKEN]);
  t.regex(r2.stopped?.en ?? '', /badResumptionToken/);
  t.is(r2.unchanged, 2, 'page 1 again: the two works already harvested are unchanged');
});

test('a source that sends invalid XML or does not answer: a clear reason, nothing written, exit 1', async (t) => {
  const p = await provider();
  t.teardown(() => p.close());
  const dir = newDir();

  p.mode = 'invalid';
  const invalid = await thukho(dir, harvestArgs(p));
  t.is(invalid.code, 1, show(invalid));
  t.regex(invalid.stdout, /nguồn gửi XML không hợp lệ/);
  t.regex(invalid.stdout, /the source sent invalid XML: .*never closed/);
  t.regex(invalid.stdout, /created 0 · .*changed 0 · .*deleted 0/);

  p.mode = 'silent';
  const silent = await thukho(dir, harvestArgs(p, '--timeout', '1', '--retries', '1'));
  t.is(silent.code, 1, show(silent));
  t.regex(silent.stdout, /nguồn không trả lời trong 1 giây/);
  t.regex(silent.stdout, /the source did not answer within 1 s \(tried 2 times\)/);

  await withEventLog(dir, async (store) => {
    let events = 0;
    for await (const e of store.readAll()) if (e.streamId.startsWith('object-')) events++;
    t.is(events, 0);
  });

  const badUrl = await thukho(dir, ['harvest', 'ftp://example.org/oai']);
  t.is(badUrl.code, 2, show(badUrl));
  t.regex(badUrl.stderr, /không phải địa chỉ http\(s\).*is not the http\(s\) address/);
  const noCollection = await thukho(dir, ['harvest', p.url, '--collection', 'khong-co']);
  t.is(noCollection.code, 2, show(noCollection));
  t.regex(noCollection.stderr, /Không có bộ sưu tập "khong-co".*There is no collection "khong-co"/);
});
