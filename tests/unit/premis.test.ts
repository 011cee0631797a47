import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { type Provenance, objectProvenance } from '../../src/application/provenance.ts';
import type { IngestedFile } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { PREMIS_NS, premisXml } from '../../src/formats/premis.ts';
import { type XmlElement, child, findAll, parseXml } from '../helpers/xml.ts';
import { recordFact } from '../../src/application/machine-facts.ts';

/**
 * The PREMIS 3.0 XML of an object's provenance: well-formed (parsed back by a strict
 * checker), in the PREMIS namespace with its schema location, elements in the schema's
 * order, controlled terms from the LoC vocabularies, every linked agent described, and
 * hostile titles and file names escaped, not interpreted.
 */
const root = mkdtempSync(join(tmpdir(), 'thukho-premis-xml-'));
const stores: SqliteEventStore[] = [];
test.after.always(async () => {
  for (const s of stores) await s.close();
  rmSync(root, { recursive: true, force: true });
});

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const LOC = 'http://id.loc.gov/vocabulary/preservation';
const hex = (c: string, n: number) => c.repeat(n);
const NASTY_TITLE = 'Truyện Kiều <script>alert("x")</script> & 金雲翹傳 ]]> --> \u0001 đ';
const NASTY_NAME = 'tờ 1 "bản" <gốc> & \'nôm\'.tif';
const staff = { actor: { id: 'thu', role: 'staff' } };
const worker = { actor: { id: 'worker:fixity', role: 'admin' } };

/** Codes of every term in the LoC vocabularies the document may use (id.loc.gov/vocabulary/preservation/…). */
const VOCABULARIES: Record<string, string[]> = {
  eventType: 'acc app cap cop com cre dea dec del der dig dis dsg dsp enc exe exp ext ffa fil fix for ima ine ing ins int ipc ipm ips mee mem mes mig mod nor pac poa prt qua rec red ref ren rep tra unp unq val vir'.split(' '),
  eventOutcome: ['suc', 'fai', 'war'],
  eventRelatedAgentRole: ['aut', 'exe', 'imp', 'val'],
  eventRelatedObjectRole: ['sou', 'out'],
  agentType: ['har', 'org', 'per', 'sof'],
  cryptographicHashFunctions: 'adler crc32 haval md2 md5 mnp sha1 sha256 sha384 sha512 tiger unk whirl'.split(' '),
  relationshipType: ['str', 'der', 'dep'],
  relationshipSubType: ['inc'],
};

async function seed(path: string): Promise<SqliteEventStore> {
  const store = new SqliteEventStore(path);
  stores.push(store);
  const objectId = 'kieu';
  const file: IngestedFile = {
    fileId: 'f1',
    name: NASTY_NAME,
    role: 'master',
    size: 4096,
    mediaType: 'image/tiff',
    digests: { sha512: hex('a', 128), sha256: hex('a', 64) },
    storage: { ocflObjectId: objectId, version: 'v1', path: 'v1/content/f1/to-1.tif' },
  };
  await executeObjectCommand(store, { type: 'RegisterObject', objectId, metadata: { title: NASTY_TITLE }, accessLevel: 'confidential' }, staff);
  await executeObjectCommand(store, { type: 'RecordFileIngested', objectId, file }, staff);
  await recordFact(store, objectId, {
        type: 'FixityChecked',
        data: {
          objectId,
          fileId: 'f1',
          target: 'master',
          path: 'v1/content/f1/to-1.tif',
          storageRoot: { label: 'primary', path: '/srv/ocfl' },
          outcome: 'fail',
          failure: 'changed',
          algorithm: 'sha512',
          expected: { sha512: hex('a', 128) },
          actual: { sha512: hex('b', 128) },
          bytes: 4096,
          durationMs: 3,
          detail: 'so sánh <với> bản "sao" & --',
        },
      }, worker);
  await executeObjectCommand(store, { type: 'WithdrawObject', objectId, reason: 'trùng <bản> & "khác"' }, staff);
  return store;
}

async function provenance(name: string): Promise<{ p: Provenance; xml: string; doc: XmlElement }> {
  const store = await seed(join(root, `${name}.sqlite`));
  const p = await objectProvenance(store, 'kieu');
  const xml = premisXml(p);
  return { p, xml, doc: parseXml(xml) };
}

const premis = (e: XmlElement, name: string) => findAll(e, PREMIS_NS, name);

test('a well-formed PREMIS 3.0 document: namespace, version and schema location', async (t) => {
  const { xml, doc } = await provenance('root');
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
  t.is(doc.namespace, PREMIS_NS);
  t.is(doc.localName, 'premis');
  t.is(doc.attributes.version, '3.0');
  t.is(doc.attributes['xsi:schemaLocation'], `${PREMIS_NS} https://www.loc.gov/standards/premis/v3/premis.xsd`);
  t.is(doc.attributes['xmlns:xsi'], XSI);
  // PREMIS puts objects first, then events, then agents.
  const order = doc.children.map((c) => c.localName);
  t.deepEqual(order, ['object', 'object', 'event', 'event', 'event', 'event', 'agent', 'agent']);
  t.true(doc.children.every((c) => c.namespace === PREMIS_NS));
});

test('the intellectual entity and its file: identifiers, fixity, size, format, original name, OCFL location', async (t) => {
  const { doc } = await provenance('objects');
  const [entity, file] = doc.children;
  t.is(entity?.attributes['xsi:type'], 'premis:intellectualEntity');
  const ids = premis(entity as XmlElement, 'objectIdentifier').map((i) => [child(i, 'objectIdentifierType').text, child(i, 'objectIdentifierValue').text]);
  t.deepEqual(ids, [['thukho object id', 'kieu'], ['OCFL object id', 'kieu']]);
  const rel = child(entity as XmlElement, 'relationship');
  t.is(child(rel, 'relationshipType').text, 'structural');
  t.is(child(rel, 'relationshipSubType').text, 'includes');
  t.is(child(child(rel, 'relatedObjectIdentifier'), 'relatedObjectIdentifierValue').text, 'f1');

  t.is(file?.attributes['xsi:type'], 'premis:file');
  const f = file as XmlElement;
  t.is(child(child(f, 'objectIdentifier'), 'objectIdentifierValue').text, 'f1');
  const characteristics = child(f, 'objectCharacteristics');
  t.deepEqual(
    premis(characteristics, 'fixity').map((x) => [child(x, 'messageDigestAlgorithm').text, child(x, 'messageDigest').text]),
    [['SHA-512', hex('a', 128)], ['SHA-256', hex('a', 64)]],
  );
  t.is(child(characteristics, 'size').text, '4096');
  t.is(child(child(child(characteristics, 'format'), 'formatDesignation'), 'formatName').text, 'image/tiff');
  t.is(child(f, 'originalName').text, NASTY_NAME);
  t.is(child(child(child(f, 'storage'), 'contentLocation'), 'contentLocationValue').text, 'v1/content/f1/to-1.tif');
});

test('elements come in the order the PREMIS 3.0 schema’s sequences require', async (t) => {
  const { doc } = await provenance('order');
  const SEQUENCES: Record<string, string[]> = {
    intellectualEntity: ['objectIdentifier', 'preservationLevel', 'significantProperties', 'originalName', 'environmentFunction', 'relationship', 'linkingEventIdentifier'],
    file: ['objectIdentifier', 'preservationLevel', 'significantProperties', 'objectCharacteristics', 'originalName', 'storage', 'signatureInformation', 'relationship', 'linkingEventIdentifier'],
    objectCharacteristics: ['compositionLevel', 'fixity', 'size', 'format', 'creatingApplication', 'inhibitors'],
    event: ['eventIdentifier', 'eventType', 'eventDateTime', 'eventDetailInformation', 'eventOutcomeInformation', 'linkingAgentIdentifier', 'linkingObjectIdentifier'],
    eventOutcomeInformation: ['eventOutcome', 'eventOutcomeDetail'],
    linkingAgentIdentifier: ['linkingAgentIdentifierType', 'linkingAgentIdentifierValue', 'linkingAgentRole'],
    linkingObjectIdentifier: ['linkingObjectIdentifierType', 'linkingObjectIdentifierValue', 'linkingObjectRole'],
    agent: ['agentIdentifier', 'agentName', 'agentType', 'agentVersion', 'agentNote', 'agentExtension', 'linkingEventIdentifier'],
  };
  const inOrder = (e: XmlElement, sequence: string[]) => {
    const positions = e.children.map((c) => sequence.indexOf(c.localName));
    t.false(positions.includes(-1), `<${e.name}> has only elements its sequence allows: ${e.children.map((c) => c.localName).join(', ')}`);
    t.deepEqual(positions, [...positions].sort((a, b) => a - b), `<${e.name}> children in schema order`);
  };
  const [entity, file] = doc.children as [XmlElement, XmlElement];
  inOrder(entity, SEQUENCES.intellectualEntity as string[]);
  inOrder(file, SEQUENCES.file as string[]);
  inOrder(child(file, 'objectCharacteristics'), SEQUENCES.objectCharacteristics as string[]);
  for (const name of ['event', 'eventOutcomeInformation', 'linkingAgentIdentifier', 'linkingObjectIdentifier', 'agent']) {
    const found = premis(doc, name);
    t.true(found.length > 0, name);
    for (const e of found) inOrder(e, SEQUENCES[name] as string[]);
  }
});

test('every controlled term is from its LoC vocabulary, with matching authority and value URIs', async (t) => {
  const { doc } = await provenance('terms');
  const all: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    all.push(e);
    e.children.forEach(walk);
  };
  walk(doc);
  const controlled = all.filter((e) => e.attributes.valueURI !== undefined);
  t.true(controlled.length >= 4 * 3, 'eventType, eventOutcome, roles and more carry URIs');
  for (const e of controlled) {
    const { authority, authorityURI, valueURI } = e.attributes;
    const codes = VOCABULARIES[authority as string];
    t.truthy(codes, `${e.name}: ${authority} is a known vocabulary`);
    t.is(authorityURI, `${LOC}/${authority}`);
    const code = (valueURI as string).slice(`${LOC}/${authority}/`.length);
    t.true(valueURI?.startsWith(`${LOC}/${authority}/`) && codes?.includes(code), `${e.name} ${valueURI}`);
  }
  const events = premis(doc, 'event');
  t.deepEqual(
    events.map((e) => [child(e, 'eventType').text, child(e, 'eventType').attributes.valueURI]),
    [
      ['accession', `${LOC}/eventType/acc`],
      ['ingestion', `${LOC}/eventType/ing`],
      ['fixity check', `${LOC}/eventType/fix`],
      ['deaccession', `${LOC}/eventType/dea`],
    ],
  );
  t.deepEqual(
    events.map((e) => child(child(e, 'eventOutcomeInformation'), 'eventOutcome').text),
    ['success', 'success', 'fail', 'success'],
  );
});

test('every linking agent is described by a premis:agent; events carry their UUIDs, dates and both languages', async (t) => {
  const { p, doc } = await provenance('agents');
  const agents = premis(doc, 'agent').map((a) => child(child(a, 'agentIdentifier'), 'agentIdentifierValue').text);
  const linked = premis(doc, 'linkingAgentIdentifier').map((l) => child(l, 'linkingAgentIdentifierValue').text);
  t.deepEqual([...new Set(linked)].sort(), [...agents].sort());
  t.deepEqual(agents.sort(), ['thu', 'worker:fixity']);
  const software = premis(doc, 'agent').find((a) => child(child(a, 'agentIdentifier'), 'agentIdentifierValue').text === 'worker:fixity') as XmlElement;
  t.is(child(software, 'agentType').text, 'software');

  const events = premis(doc, 'event');
  t.deepEqual(
    events.map((e) => [child(child(e, 'eventIdentifier'), 'eventIdentifierType').text, child(child(e, 'eventIdentifier'), 'eventIdentifierValue').text]),
    p.events.map((e) => ['UUID', e.eventIdentifier.value]),
  );
  t.deepEqual(
    events.map((e) => child(e, 'eventDateTime').text),
    p.events.map((e) => e.eventDateTime),
  );
  const check = events[2] as XmlElement;
  t.deepEqual(
    premis(check, 'eventDetail').map((d) => d.text),
    ['Kiểm tra tính toàn vẹn SHA-512 của tệp “tờ 1 "bản" <gốc> & \'nôm\'.tif” trên primary: không đạt (nội dung đã thay đổi)', 'SHA-512 fixity check of file “tờ 1 "bản" <gốc> & \'nôm\'.tif” on primary: fail (content changed)'],
  );
  const notes = premis(check, 'eventOutcomeDetailNote').map((d) => d.text);
  t.is(notes.length, 2);
  t.true(notes[1]?.includes(`SHA-512 expected ${hex('a', 128)}, actual ${hex('b', 128)}`));
  t.true(notes[1]?.endsWith('so sánh <với> bản "sao" & --'));
  const roles = premis(check, 'linkingAgentRole').map((r) => [r.text, r.attributes.authority]);
  t.deepEqual(roles, [['executing program', 'eventRelatedAgentRole'], ['admin', 'thukho role']]);
  t.deepEqual(
    premis(check, 'linkingObjectIdentifier').map((o) => [child(o, 'linkingObjectIdentifierType').text, child(o, 'linkingObjectIdentifierValue').text, child(o, 'linkingObjectRole').text]),
    [['thukho object id', 'kieu', 'source'], ['thukho file id', 'f1', 'source'], ['OCFL content path', 'v1/content/f1/to-1.tif', 'source']],
  );
});

test('hostile titles, names and reasons are escaped as text: no markup gets through, Vietnamese and Han survive', async (t) => {
  const { xml, doc } = await provenance('escaping');
  t.false(xml.includes('<script>'));
  t.false(xml.includes('<gốc>'));
  t.false(/[\u0001]/.test(xml), 'characters XML 1.0 forbids are dropped');
  const accession = premis(doc, 'event')[0] as XmlElement;
  const [vi, en] = premis(accession, 'eventDetail').map((d) => d.text);
  const title = NASTY_TITLE.replace('\u0001', '');
  t.is(vi, `Tiếp nhận tài liệu “${title}” vào kho (mức truy cập: mật).`);
  t.is(en, `Object “${title}” accessioned (access level: confidential).`);
  const withdrawal = premis(doc, 'event')[3] as XmlElement;
  t.is(premis(withdrawal, 'eventDetail')[0]?.text, 'Rút tài liệu khỏi kho; lý do: trùng <bản> & "khác".');
});

test('a broken hash chain is stated in a comment, and the document stays well-formed', async (t) => {
  const path = join(root, 'broken.sqlite');
  const first = await seed(path);
  await first.close();
  const db = new Database(path);
  db.exec('DROP TRIGGER events_are_immutable');
  db.prepare("UPDATE events SET data = json_set(data, '$.metadata.title', 'giả -- mạo -') WHERE stream_id = 'object-kieu' AND revision = 0").run();
  db.close();
  const store = new SqliteEventStore(path);
  stores.push(store);
  const p = await objectProvenance(store, 'kieu');
  const xml = premisXml(p);
  const doc = parseXml(xml);
  t.is(doc.localName, 'premis');
  t.regex(xml, /<!-- hash chain of object-kieu: BROKEN at revision 0: content does not match its hash \(event was altered\) -->/);
  t.is(premis(premis(doc, 'event')[0] as XmlElement, 'eventDetail')[1]?.text, 'Object “giả -- mạo -” accessioned (access level: confidential).');
  // Whatever a reason says, it cannot end the comment early or make it malformed.
  const hostile = premisXml({ ...p, chain: { status: 'broken', events: 0, revision: 0, eventId: '', reason: 'a -- b --> <c> -' } });
  t.notThrows(() => parseXml(hostile));
  t.regex(hostile, /: a - - b - -&gt; &lt;c&gt; -  -->/);

  const { xml: intact } = await provenance('intact');
  t.regex(intact, /<!-- hash chain of object-kieu: intact \(3 events, head [0-9a-f]{64}\) -->/);
  t.regex(intact, /<!-- hash chain of preservation-kieu: intact \(1 events, head [0-9a-f]{64}\) -->/);
});

test('the checker itself refuses what a real XML parser refuses', (t) => {
  const bad = [
    '<a><b></a></b>',
    '<a>',
    '<a></a><b></b>',
    '<a x="1" x="2"/>',
    '<a x="<"/>',
    '<a x=1/>',
    '<a>&nbsp;</a>',
    '<a>&#0;</a>',
    '<a>AT&T</a>',
    '<a>]]></a>',
    '<a><!-- x -- y --></a>',
    '<p:a/>',
    '<a xmlns:p="urn:x" p:x="1" xmlns:q="urn:x" q:x="2"/>',
    '<a>\u0001</a>',
    '<a><b/><</a>',
    ' <?xml version="1.0"?><a/>',
    '<!DOCTYPE a><a/>',
    '<1a/>',
    'text<a/>',
    '<a/>text',
  ];
  for (const xml of bad) t.throws(() => parseXml(xml), undefined, JSON.stringify(xml));
  const good = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><p:a xmlns:p="urn:p" p:x="&lt;&#x1F600;"><b>t&amp;t<![CDATA[<raw>]]></b></p:a>\n');
  t.is(good.namespace, 'urn:p');
  t.is(good.attributes['p:x'], '<😀');
  t.is(good.children[0]?.text, 't&t<raw>');
  t.is(good.children[0]?.namespace, '', 'an unprefixed element with no default namespace is in none');
});
