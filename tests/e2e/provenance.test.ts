import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { PREMIS_NS } from '../../src/formats/premis.ts';
import { type Json, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { child, findAll, parseXml } from '../helpers/xml.ts';
import { recordFact } from '../../src/application/machine-facts.ts';

/**
 * GET /api/objects/:id/provenance on a real server: an object with an uploaded master and a
 * fixity check recorded the way the fixity worker records it, read back as JSON and as
 * PREMIS XML; staff only; 404 for what does not exist.
 */
const test = testWithServer();

const LOC = 'http://id.loc.gov/vocabulary/preservation';
const TITLE = 'Đại Nam nhất thống chí 大南一統志 <b>&</b>';

let objectId = '';
let fileId = '';
let checkId = '';

// Serial: it runs after the server has started (the helper's own hook).
test.serial.before(async (t) => {
  const s = t.context.server;
  const created = await staffCall(s, 'POST', '/api/objects', { title: TITLE, accessLevel: 'confidential' });
  objectId = created.id as string;
  const file = await uploadFile(s, objectId, await page('Đại Nam 大南'), 'to-01.tif');
  fileId = file.fileId as string;
  const digests = file.digests as { sha512: string; sha256: string };
  const storage = file.storage as { path: string };
  const result = await recordFact(s.store, objectId, {
        type: 'FixityChecked',
        data: {
          objectId,
          fileId,
          target: 'master',
          path: storage.path,
          storageRoot: { label: 'primary', path: s.config.ocflRoot },
          outcome: 'pass',
          algorithm: 'sha512',
          expected: { sha512: digests.sha512, sha256: digests.sha256 },
          actual: { sha512: digests.sha512, sha256: digests.sha256 },
          bytes: file.size as number,
          durationMs: 4,
        },
      }, { actor: { id: 'worker:fixity', role: 'admin' } });
  checkId = result.events[0]?.id as string;
});

const get = (t: { context: { server: { url: string } } }, path: string, headers: Record<string, string> = {}) =>
  fetch(`${t.context.server.url}${path}`, { headers });

test('staff get the provenance as JSON by default: PREMIS events, agents, files and an intact chain', async (t) => {
  const s = t.context.server;
  const res = await get(t, `/api/objects/${objectId}/provenance`, { authorization: `Bearer ${s.staffToken}` });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.regex(res.headers.get('vary') ?? '', /Accept/);
  const body = (await res.json()) as Json;
  t.is(body.objectId, objectId);
  const events = body.events as Json[];
  t.deepEqual(
    events.map((e) => [(e.record as Json).type, (e.eventType as Json).value, (e.eventType as Json).valueURI]),
    [
      ['ObjectRegistered', 'accession', `${LOC}/eventType/acc`],
      ['FileIngested', 'ingestion', `${LOC}/eventType/ing`],
      ['FixityChecked', 'fixity check', `${LOC}/eventType/fix`],
    ],
  );
  const check = events[2] as Json;
  t.deepEqual(check.eventIdentifier, { type: 'UUID', value: checkId });
  t.deepEqual((check.eventDetailInformation as Json).eventDetail, {
    vi: 'Kiểm tra tính toàn vẹn SHA-512 của tệp “to-01.tif” trên primary: đạt',
    en: 'SHA-512 fixity check of file “to-01.tif” on primary: pass',
  });
  t.is(((check.eventOutcomeInformation as Json).eventOutcome as Json).value, 'success');
  t.like((check.linkingAgentIdentifier as Json[])[0], { value: 'worker:fixity', agentType: 'software', actorRole: 'admin' });
  t.deepEqual(
    (check.linkingObjectIdentifier as Json[]).slice(0, 2).map((o) => [o.type, o.value]),
    [['thukho object id', objectId], ['thukho file id', fileId]],
  );
  // The upload was made by the staff user the test server created.
  t.like((events[1]?.linkingAgentIdentifier as Json[])[0], { value: 'staff', agentType: 'person', actorRole: 'curator' });
  const agents = (body.agents as Json[]).map((a) => [(a.agentIdentifier as Json).value, a.agentName, (a.agentType as Json).value]);
  t.deepEqual(agents, [
    ['staff', 'Cán bộ thử', 'person'],
    ['worker:fixity', 'thukho worker:fixity', 'software'],
  ]);
  const object = body.object as Json;
  t.is(object.title, TITLE);
  t.is(object.accessLevel, 'confidential');
  t.is(((object.files as Json[])[0]?.objectIdentifier as Json).value, fileId);
  // People's decisions and the machine's fact, each on its own intact chain.
  t.like(body.chain, { status: 'intact', events: 2 });
  t.like(body.factsChain, { status: 'intact', events: 1 });
  t.is(body.factsStreamId, `preservation-${objectId}`);
  t.deepEqual(
    events.map((e) => (e.record as Json).streamId),
    [`object-${objectId}`, `object-${objectId}`, `preservation-${objectId}`],
  );
});

test('PREMIS XML when Accept prefers XML, or with ?format=xml; well-formed, with every event and agent', async (t) => {
  const s = t.context.server;
  const auth = { authorization: `Bearer ${s.staffToken}` };
  const byAccept = await get(t, `/api/objects/${objectId}/provenance`, { ...auth, accept: 'application/xml;q=1, application/json;q=0.5' });
  t.is(byAccept.status, 200);
  t.regex(byAccept.headers.get('content-type') ?? '', /^application\/xml; charset=utf-8/);
  const xml = await byAccept.text();
  const doc = parseXml(xml);
  t.is(doc.namespace, PREMIS_NS);
  t.is(doc.attributes.version, '3.0');
  const events = findAll(doc, PREMIS_NS, 'event');
  t.deepEqual(
    events.map((e) => child(e, 'eventType').text),
    ['accession', 'ingestion', 'fixity check'],
  );
  t.is(child(child(events[2] as (typeof events)[number], 'eventIdentifier'), 'eventIdentifierValue').text, checkId);
  t.deepEqual(
    findAll(doc, PREMIS_NS, 'agentIdentifierValue').map((a) => a.text),
    ['staff', 'worker:fixity'],
  );
  t.false(xml.includes('<b>'), 'the title is escaped');
  t.true(findAll(doc, PREMIS_NS, 'eventDetail').some((d) => d.text.includes(TITLE)));
  t.regex(xml, /<!-- hash chain of object-[a-z0-9]+: intact \(2 events/);
  t.regex(xml, /<!-- hash chain of preservation-[a-z0-9]+: intact \(1 events/);

  const textXml = await get(t, `/api/objects/${objectId}/provenance`, { ...auth, accept: 'text/xml' });
  t.regex(textXml.headers.get('content-type') ?? '', /^text\/xml/);
  t.is(await textXml.text(), xml);

  const byQuery = await get(t, `/api/objects/${objectId}/provenance?format=xml`, auth);
  t.regex(byQuery.headers.get('content-type') ?? '', /^application\/xml/);
  t.is(await byQuery.text(), xml);

  const jsonAnyway = await get(t, `/api/objects/${objectId}/provenance?format=json`, { ...auth, accept: 'application/xml' });
  t.regex(jsonAnyway.headers.get('content-type') ?? '', /^application\/json/);

  const badFormat = await get(t, `/api/objects/${objectId}/provenance?format=pdf`, auth);
  t.is(badFormat.status, 400);
});

test('not for readers or anonymous callers: 401 without a token, 403 for a reader, before anything is looked up', async (t) => {
  const s = t.context.server;
  const anonymous = await get(t, `/api/objects/${objectId}/provenance`);
  t.is(anonymous.status, 401);
  t.is(((await anonymous.json()) as Json).type, '/problems/authentication-required');
  const reader = await get(t, `/api/objects/${objectId}/provenance`, { authorization: `Bearer ${s.readerToken}` });
  t.is(reader.status, 403);
  // The same answers for an object that does not exist: no probing for ids.
  t.is((await get(t, '/api/objects/khong-co/provenance')).status, 401);
  t.is((await get(t, '/api/objects/khong-co/provenance', { authorization: `Bearer ${s.readerToken}` })).status, 403);
});

test('an unknown object is a 404 problem', async (t) => {
  const s = t.context.server;
  const res = await get(t, '/api/objects/khong-co/provenance', { authorization: `Bearer ${s.staffToken}`, 'accept-language': 'vi' });
  t.is(res.status, 404);
  t.regex(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = (await res.json()) as Json;
  t.is(problem.type, '/problems/not-found');
  t.is(problem.detail, 'Không tìm thấy tài liệu "khong-co".');
  t.is(problem.objectId, 'khong-co');
  const xml = await get(t, '/api/objects/khong-co/provenance?format=xml', { authorization: `Bearer ${s.staffToken}` });
  t.is(xml.status, 404);
});
