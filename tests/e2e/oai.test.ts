import { execFile, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import { encodeResumption, type ResumptionState } from '../../src/application/oai.ts';
import { resolveSessionSecret } from '../../src/http/session-secret.ts';
import { signValue } from '../../src/http/signed-value.ts';
import { poll, staffCall } from '../helpers/api.ts';
import { ROOT } from '../helpers/cli.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startTestServer, testWithServer, type TestServer } from '../helpers/server.ts';
import { child, childTexts, findAll, parseXml, type XmlElement } from '../helpers/xml.ts';
import { assertValidXml } from '../helpers/xml-schema.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The OAI-PMH provider over a real socket: every verb, every response validated against the
 * official OAI-PMH schema (with the oai_dc and MODS records inside it), the records' contents,
 * every error code where the spec puts it, deleted records, access rules, sets, date bounds,
 * resumption tokens, and a harvest while a second process adds works.
 */
const OAI = 'http://www.openarchives.org/OAI/2.0/';
const DC = 'http://purl.org/dc/elements/1.1/';
const MODS = 'http://www.loc.gov/mods/v3';
const REPO = 'thuvien.example.vn';
const test = testWithServer({ THUKHO_OAI_PAGE_SIZE: '3', THUKHO_OAI_REPOSITORY_IDENTIFIER: REPO, THUKHO_OAI_ADMIN_EMAIL: 'oai@thuvien.example.vn' });

async function oai(s: Pick<TestServer, 'url'>, params: Record<string, string> | string, t?: ExecutionContext): Promise<{ xml: string; doc: XmlElement; res: Response }> {
  const qs = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  const res = await fetch(`${s.url}/oai?${qs}`);
  const xml = await res.text();
  if (t) {
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'text/xml; charset=utf-8');
    await assertValidXml(t, xml, 'oai-pmh');
  }
  return { xml, doc: parseXml(xml), res };
}

const errorCodes = (doc: XmlElement) => findAll(doc, OAI, 'error').map((e) => e.attributes.code);
const identifiers = (doc: XmlElement) => findAll(doc, OAI, 'header').map((h) => child(h, 'identifier').text);
const oaiId = (id: string) => `oai:${REPO}:${id}`;
const tokenOf = (doc: XmlElement) => findAll(doc, OAI, 'resumptionToken')[0];

/** Every page of a list; each response validated. */
async function harvest(t: ExecutionContext, s: TestServer, params: Record<string, string>): Promise<{ pages: XmlElement[]; headers: XmlElement[] }> {
  const pages: XmlElement[] = [];
  let next: Record<string, string> | undefined = params;
  while (next) {
    const { doc } = await oai(s, next, t);
    pages.push(doc);
    const token = tokenOf(doc);
    next = token && token.text !== '' ? { verb: params.verb!, resumptionToken: token.text } : undefined;
  }
  return { pages, headers: pages.flatMap((p) => findAll(p, OAI, 'header')) };
}

async function makeWork(s: TestServer, id: string, body: Record<string, unknown>): Promise<void> {
  const made = await staffCall(s, 'POST', '/api/objects', { id, ...body });
  if (made.id !== id) throw new Error(`could not make ${id}: ${JSON.stringify(made)}`);
}

async function setAccess(s: TestServer, id: string, accessLevel: string): Promise<void> {
  const r = await staffCall(s, 'PUT', `/api/objects/${id}/access`, { accessLevel, reason: 'thử OAI' });
  if (r.accessLevel !== accessLevel) throw new Error(JSON.stringify(r));
}

test.serial.before(async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm & "cổ"' });
  await staffCall(s, 'POST', '/api/collections', { id: 'mat', title: 'Tài liệu mật' });
  await makeWork(s, 'kieu', { title: 'Truyện Kiều', alternativeTitle: ['金雲翹新傳'], creator: 'Nguyễn Du', language: ['vie'], collectionId: 'han-nom', yearFrom: 1820, yearTo: 1830 });
  await makeWork(s, 'luc-van-tien', { title: 'Lục Vân Tiên', creator: 'Nguyễn Đình Chiểu', collectionId: 'han-nom' });
  await makeWork(s, 'dai-nam', { title: 'Đại Nam thực lục' });
  await makeWork(s, 'han-che', { title: 'Sách hạn chế', collectionId: 'han-nom', accessLevel: 'restricted' });
  await makeWork(s, 'bi-mat', { title: 'Hồ sơ mật', collectionId: 'mat', accessLevel: 'confidential' });
  await makeWork(s, 'rut-lai', { title: 'Sẽ rút lại', collectionId: 'han-nom' });
  await makeWork(s, 'thanh-mat', { title: 'Sẽ thành mật' });
  for (let i = 0; i < 4; i++) await makeWork(s, `them-${i}`, { title: `Sách thêm ${i}` });
  const w = await staffCall(s, 'POST', '/api/objects/rut-lai/withdraw', { reason: 'Trùng bản' });
  if (w.status !== 'withdrawn') throw new Error(JSON.stringify(w));
  await setAccess(s, 'thanh-mat', 'confidential');
});

test('Identify: repository name, base URL, admin e-mail, persistent deletions, seconds, the oai-identifier description', async (t) => {
  const s = t.context.server;
  const { doc } = await oai(s, { verb: 'Identify' }, t);
  const id = findAll(doc, OAI, 'Identify')[0]!;
  t.is(child(id, 'repositoryName').text, s.config.institution);
  t.is(child(id, 'baseURL').text, `${s.url}/oai`);
  t.is(child(id, 'protocolVersion').text, '2.0');
  t.deepEqual(childTexts(id, 'adminEmail'), ['oai@thuvien.example.vn']);
  t.is(child(id, 'deletedRecord').text, 'persistent');
  t.is(child(id, 'granularity').text, 'YYYY-MM-DDThh:mm:ssZ');
  t.regex(child(id, 'earliestDatestamp').text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(findAll(doc, 'http://www.openarchives.org/OAI/2.0/oai-identifier', 'repositoryIdentifier')[0]?.text, REPO);
  t.deepEqual(childTexts(id, 'compression'), ['gzip']);
  t.deepEqual(findAll(doc, OAI, 'request')[0]?.attributes, { verb: 'Identify' });
  // POST (form-encoded) answers the same.
  const res = await fetch(`${s.url}/oai`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'verb=Identify' });
  const xml = await res.text();
  await assertValidXml(t, xml, 'oai-pmh');
  t.is(findAll(parseXml(xml), OAI, 'repositoryName')[0]?.text, s.config.institution);
});

test('ListMetadataFormats: oai_dc and mods, for the repository and for an item (a deleted one too)', async (t) => {
  const s = t.context.server;
  const all: Array<Record<string, string>> = [{ verb: 'ListMetadataFormats' }, { verb: 'ListMetadataFormats', identifier: oaiId('kieu') }, { verb: 'ListMetadataFormats', identifier: oaiId('rut-lai') }];
  for (const params of all) {
    const { doc } = await oai(s, params, t);
    t.deepEqual(findAll(doc, OAI, 'metadataPrefix').map((e) => e.text), ['oai_dc', 'mods']);
    t.deepEqual(findAll(doc, OAI, 'metadataNamespace').map((e) => e.text), ['http://www.openarchives.org/OAI/2.0/oai_dc/', MODS]);
  }
  for (const id of [oaiId('khong-co'), oaiId('bi-mat'), 'oai:other.example:kieu', 'kieu']) {
    t.deepEqual(errorCodes((await oai(s, { verb: 'ListMetadataFormats', identifier: id }, t)).doc), ['idDoesNotExist'], id);
  }
});

test('ListSets: collections with a visible work, by id and title; a confidential collection never', async (t) => {
  const { doc } = await oai(t.context.server, { verb: 'ListSets' }, t);
  t.deepEqual(findAll(doc, OAI, 'setSpec').map((e) => e.text), ['han-nom']);
  t.deepEqual(findAll(doc, OAI, 'setName').map((e) => e.text), ['Sách Hán Nôm & "cổ"']);
});

test('GetRecord: oai_dc and MODS with the work, its page and its IIIF manifest', async (t) => {
  const s = t.context.server;
  const dc = await oai(s, { verb: 'GetRecord', identifier: oaiId('kieu'), metadataPrefix: 'oai_dc' }, t);
  t.deepEqual(findAll(dc.doc, DC, 'title').map((e) => e.text), ['Truyện Kiều', '金雲翹新傳']);
  t.deepEqual(findAll(dc.doc, DC, 'creator').map((e) => e.text), ['Nguyễn Du']);
  t.deepEqual(findAll(dc.doc, DC, 'date').map((e) => e.text), ['1820/1830']);
  t.true(findAll(dc.doc, DC, 'identifier').some((e) => e.text === `${s.url}/objects/kieu`));
  t.true(findAll(dc.doc, DC, 'relation').some((e) => e.text === `${s.url}/iiif/manifest/kieu`));
  t.deepEqual(findAll(dc.doc, OAI, 'setSpec').map((e) => e.text), ['han-nom']);
  await assertValidXml(t, dc.xml.slice(dc.xml.indexOf('<oai_dc:dc'), dc.xml.indexOf('</oai_dc:dc>') + '</oai_dc:dc>'.length), 'oai_dc');
  const mods = await oai(s, { verb: 'GetRecord', identifier: oaiId('kieu'), metadataPrefix: 'mods' }, t);
  t.true(findAll(mods.doc, MODS, 'title').some((e) => e.text === 'Truyện Kiều'));
  t.true(findAll(mods.doc, MODS, 'url').some((e) => e.text === `${s.url}/iiif/manifest/kieu`));
  const modsXml = mods.xml.slice(mods.xml.indexOf('<mods:mods'), mods.xml.indexOf('</mods:mods>') + '</mods:mods>'.length);
  await assertValidXml(t, `<?xml version="1.0" encoding="UTF-8"?>\n${modsXml}`, 'mods');
  // A withdrawn work: a deleted header, no metadata.
  const gone = await oai(s, { verb: 'GetRecord', identifier: oaiId('rut-lai'), metadataPrefix: 'oai_dc' }, t);
  t.is(findAll(gone.doc, OAI, 'header')[0]?.attributes.status, 'deleted');
  t.is(findAll(gone.doc, OAI, 'metadata').length, 0);
});

test('a harvester that asks for gzip gets a gzipped, still valid page; one that does not gets plain XML', async (t) => {
  const s = t.context.server;
  const get = (encoding: string | undefined) => rawRequest(`${s.url}/oai?verb=ListRecords&metadataPrefix=oai_dc`, encoding ? { 'accept-encoding': encoding } : {});
  const zipped = await get('gzip');
  t.is(zipped.headers['content-encoding'], 'gzip');
  t.regex(String(zipped.headers.vary), /accept-encoding/i);
  const xml = gunzipSync(zipped.body).toString('utf8');
  await assertValidXml(t, xml, 'oai-pmh');
  t.true(findAll(parseXml(xml), OAI, 'record').length > 0);
  const plain = await get(undefined);
  t.is(plain.headers['content-encoding'], undefined);
  // The same page but for the clock: responseDate, and the token's expiry (signed, so the token too).
  const timeless = (x: string) => x.replace(/<responseDate>[^<]*/, '').replace(/<resumptionToken[^>]*>[^<]*/, '');
  t.is(timeless(plain.body.toString('utf8')), timeless(xml));
});

test('ListRecords: every harvestable work once, withdrawn and newly confidential ones as deleted, confidential and restricted never', async (t) => {
  const s = t.context.server;
  for (const prefix of ['oai_dc', 'mods']) {
    const { pages, headers } = await harvest(t, s, { verb: 'ListRecords', metadataPrefix: prefix });
    t.true(pages.length >= 3, 'page size 3');
    const ids = headers.map((h) => child(h, 'identifier').text);
    t.deepEqual([...ids].sort(), ['dai-nam', 'kieu', 'luc-van-tien', 'rut-lai', 'thanh-mat', 'them-0', 'them-1', 'them-2', 'them-3'].map(oaiId).sort());
    const deleted = headers.filter((h) => h.attributes.status === 'deleted').map((h) => child(h, 'identifier').text);
    t.deepEqual(deleted.sort(), [oaiId('rut-lai'), oaiId('thanh-mat')]);
    t.is(pages.flatMap((p) => findAll(p, OAI, 'metadata')).length, 7);
    // Tokens: cursor counts what came before; the last page has an empty token.
    const tokens = pages.map(tokenOf);
    t.deepEqual(tokens.map((k) => k?.attributes.cursor), pages.map((_, i) => String(i * 3)));
    t.true(tokens.every((k) => k?.attributes.completeListSize === '9'));
    t.is(tokens.at(-1)?.text, '');
    t.regex(tokens[0]?.attributes.expirationDate ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  const { headers } = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', set: 'han-nom' });
  t.deepEqual(headers.map((h) => child(h, 'identifier').text).sort(), [oaiId('kieu'), oaiId('luc-van-tien'), oaiId('rut-lai')]);
});

test('from and until: inclusive, to the second, in both granularities', async (t) => {
  const s = t.context.server;
  const { headers } = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc' });
  const stamps = headers.map((h) => child(h, 'datestamp').text);
  const latest = [...stamps].sort().at(-1)!;
  const atLatest = headers.filter((h) => child(h, 'datestamp').text === latest).map((h) => child(h, 'identifier').text).sort();
  const from = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: latest });
  t.deepEqual(from.headers.map((h) => child(h, 'identifier').text).sort(), atLatest);
  const after = new Date(Date.parse(latest) + 1000).toISOString().slice(0, 19) + 'Z';
  t.deepEqual(errorCodes((await oai(s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: after }, t)).doc), ['noRecordsMatch']);
  const until = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', until: latest });
  t.is(until.headers.length, headers.length);
  const day = latest.slice(0, 10);
  const byDay = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: day, until: day });
  t.true(byDay.headers.length >= atLatest.length);
  t.deepEqual(errorCodes((await oai(s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', until: '2000-01-01' }, t)).doc), ['noRecordsMatch']);
});

const ERROR_CASES: Array<[string, string, string[]]> = [
  ['no verb', '', ['badVerb']],
  ['unknown verb', 'verb=Harvest', ['badVerb']],
  ['empty verb', 'verb=', ['badVerb']],
  ['repeated verb', 'verb=Identify&verb=Identify', ['badVerb']],
  ['argument Identify does not take', 'verb=Identify&set=x', ['badArgument']],
  ['GetRecord without metadataPrefix', `verb=GetRecord&identifier=${oaiId('kieu')}`, ['badArgument']],
  ['GetRecord without identifier', 'verb=GetRecord&metadataPrefix=oai_dc', ['badArgument']],
  ['ListRecords without metadataPrefix', 'verb=ListRecords', ['badArgument']],
  ['repeated argument', 'verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=mods', ['badArgument']],
  ['resumptionToken with another argument', 'verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc', ['badArgument']],
  ['until before from', 'verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-01&until=2024-01-01', ['badArgument']],
  ['mixed granularities', 'verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-12-01T00:00:00Z', ['badArgument']],
  ['bad date syntax', 'verb=ListRecords&metadataPrefix=oai_dc&from=01/02/2024', ['badArgument']],
  ['impossible date', 'verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-30', ['badArgument']],
  ['finer granularity than supported', 'verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T00:00:00.000Z', ['badArgument']],
  ['illegal set', 'verb=ListRecords&metadataPrefix=oai_dc&set=a%20b', ['badArgument']],
  ['unknown argument', 'verb=ListSets&foo=bar', ['badArgument']],
  ['unknown metadataPrefix', 'verb=ListRecords&metadataPrefix=marc21', ['cannotDisseminateFormat']],
  ['unknown metadataPrefix in GetRecord', `verb=GetRecord&identifier=${oaiId('kieu')}&metadataPrefix=marc21`, ['cannotDisseminateFormat']],
  ['unknown item', `verb=GetRecord&identifier=${oaiId('khong-co')}&metadataPrefix=oai_dc`, ['idDoesNotExist']],
  ['unknown item and format together', `verb=GetRecord&identifier=${oaiId('khong-co')}&metadataPrefix=marc21`, ['idDoesNotExist', 'cannotDisseminateFormat']],
  ['confidential item', `verb=GetRecord&identifier=${oaiId('bi-mat')}&metadataPrefix=oai_dc`, ['idDoesNotExist']],
  ['restricted item while hidden', `verb=GetRecord&identifier=${oaiId('han-che')}&metadataPrefix=oai_dc`, ['idDoesNotExist']],
  ['unknown set', 'verb=ListRecords&metadataPrefix=oai_dc&set=khong-co', ['noRecordsMatch']],
  ['confidential set', 'verb=ListIdentifiers&metadataPrefix=oai_dc&set=mat', ['noRecordsMatch']],
  ['forged token', 'verb=ListRecords&resumptionToken=eyJ2IjoxfQ.AAAA', ['badResumptionToken']],
  ['token for ListSets', 'verb=ListSets&resumptionToken=abc', ['badResumptionToken']],
];

test('every error code where the spec puts it: HTTP 200, valid XML, no arguments echoed for badVerb/badArgument', async (t) => {
  const s = t.context.server;
  for (const [what, qs, codes] of ERROR_CASES) {
    const { doc } = await oai(s, qs, t);
    t.deepEqual(errorCodes(doc), codes, what);
    const request = findAll(doc, OAI, 'request')[0]!;
    if (codes.includes('badVerb') || codes.includes('badArgument')) t.deepEqual(request.attributes, {}, what);
    else t.truthy(request.attributes.verb, what);
  }
});

test('resumption tokens: tampered, of another verb, expired, or with extra arguments are refused', async (t) => {
  const s = t.context.server;
  const first = await oai(s, { verb: 'ListRecords', metadataPrefix: 'oai_dc' }, t);
  const token = tokenOf(first.doc)!.text;
  const [payload, mac] = token.split('.');
  const state = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const tampered = `${Buffer.from(JSON.stringify({ ...state, after: 0 })).toString('base64url')}.${mac}`;
  const secret = resolveSessionSecret(s.config);
  const sign = (v: string) => signValue(secret, 'oai-pmh resumptionToken', v);
  const expired = encodeResumption({ ...(state as unknown as ResumptionState), expires: Math.floor(Date.now() / 1000) - 1 }, sign);
  const cases: Array<[string, Record<string, string>, string]> = [
    ['tampered', { verb: 'ListRecords', resumptionToken: tampered }, 'badResumptionToken'],
    ['another verb', { verb: 'ListIdentifiers', resumptionToken: token }, 'badResumptionToken'],
    ['expired', { verb: 'ListRecords', resumptionToken: expired }, 'badResumptionToken'],
    ['with metadataPrefix', { verb: 'ListRecords', resumptionToken: token, metadataPrefix: 'oai_dc' }, 'badArgument'],
    ['with set', { verb: 'ListRecords', resumptionToken: token, set: 'han-nom' }, 'badArgument'],
  ];
  for (const [what, params, code] of cases) t.deepEqual(errorCodes((await oai(s, params, t)).doc), [code], what);
  // The genuine token still works, and gives the second page.
  const second = await oai(s, { verb: 'ListRecords', resumptionToken: token }, t);
  t.is(tokenOf(second.doc)?.attributes.cursor, '3');
});

test('POST needs a form body; a huge one is refused before it is read', async (t) => {
  const s = t.context.server;
  const json = await fetch(`${s.url}/oai`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.is(json.status, 415);
  const huge = await fetch(`${s.url}/oai`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `verb=Identify&x=${'a'.repeat(100_000)}` });
  t.is(huge.status, 413);
});

test('restricted works are harvested as metadata when the library says so (THUKHO_OAI_RESTRICTED=metadata)', async (t) => {
  const s = await startTestServer({ THUKHO_OAI_RESTRICTED: 'metadata', THUKHO_OAI_REPOSITORY_IDENTIFIER: REPO });
  try {
    await makeWork(s, 'mo', { title: 'Mở' });
    await makeWork(s, 'han-che', { title: 'Hạn chế', accessLevel: 'restricted' });
    await makeWork(s, 'mat', { title: 'Mật', accessLevel: 'confidential' });
    const { headers, pages } = await harvest(t, s, { verb: 'ListRecords', metadataPrefix: 'oai_dc' });
    t.deepEqual(headers.map((h) => child(h, 'identifier').text).sort(), [oaiId('han-che'), oaiId('mo')]);
    t.true(pages.flatMap((p) => findAll(p, DC, 'title')).some((e) => e.text === 'Hạn chế'));
    // Made confidential: harvesters are told to drop it.
    await setAccess(s, 'han-che', 'confidential');
    const again = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc' });
    t.is(again.headers.find((h) => child(h, 'identifier').text === oaiId('han-che'))?.attributes.status, 'deleted');
    // No collection at all: no set hierarchy.
    t.deepEqual(errorCodes((await oai(s, { verb: 'ListSets' }, t)).doc), ['noSetHierarchy']);
    t.deepEqual(errorCodes((await oai(s, { verb: 'ListRecords', metadataPrefix: 'oai_dc', set: 'x' }, t)).doc), ['noSetHierarchy']);
    t.deepEqual(errorCodes((await oai(s, { verb: 'ListRecords', metadataPrefix: 'marc', set: 'x' }, t)).doc), ['cannotDisseminateFormat', 'noSetHierarchy']);
  } finally {
    await s.close();
  }
});

test('a harvest while a second process adds works misses nothing and repeats nothing; an incremental harvest picks up the new ones', async (t) => {
  const s = await startTestServer({ THUKHO_OAI_PAGE_SIZE: '4' });
  try {
    const before: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = `truoc-${String(i).padStart(3, '0')}`;
      await makeWork(s, id, { title: `Có trước ${i}` });
      before.push(id);
    }
    const eventsPath = s.config.eventStore.kind === 'sqlite' ? s.config.eventStore.path : join(s.dataDir, 'events.sqlite');
    // The harvest begins; then the other process starts appending to the same log.
    const first = await oai(s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc' }, t);
    const responseDate = findAll(first.doc, OAI, 'responseDate')[0]!.text;
    const appender = spawn(process.execPath, ['--import=tsx', join(ROOT, 'tests/helpers/oai-appender.ts'), eventsPath, 'them', '25', '40'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let added = '';
    let appenderErr = '';
    appender.stdout.on('data', (c: Buffer) => (added += c.toString()));
    appender.stderr.on('data', (c: Buffer) => (appenderErr += c.toString()));
    const done = new Promise<number | null>((resolve) => appender.on('close', resolve));
    // The other process is running (its first work is in) before the harvest goes on.
    await poll('the first added work', 60_000, async () => (added.includes('\n') ? true : undefined), 20);
    const seen: string[] = identifiers(first.doc);
    let token = tokenOf(first.doc)?.text;
    let pages = 1;
    while (token) {
      // Slow enough that the other process adds works between pages.
      await new Promise((r) => setTimeout(r, 100));
      const page = await oai(s, { verb: 'ListIdentifiers', resumptionToken: token }, t);
      seen.push(...identifiers(page.doc));
      token = tokenOf(page.doc)?.text;
      pages++;
    }
    t.is(await done, 0, appenderErr);
    const addedIds = added.trim().split('\n');
    t.is(addedIds.length, 25);
    t.true(pages > 8);
    t.is(new Set(seen).size, seen.length, 'nothing twice');
    for (const id of before) t.is(seen.filter((x) => x === `oai:thukho.local:${id}`).length, 1, id);
    t.true(seen.some((x) => x.includes(':them-')), 'works added during the harvest appear after every cursor');
    // Incremental: from the first response's date, every work added since is there.
    const incremental = await harvest(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: responseDate });
    const got = new Set(incremental.headers.map((h) => child(h, 'identifier').text));
    for (const id of addedIds) t.true(got.has(`oai:thukho.local:${id}`), id);
  } finally {
    await s.close();
  }
});

// An independent harvester (Debian libhttp-oai-perl, HTTP::OAI's oai_pmh) follows our tokens to the end.
const OAI_PMH = spawnSync('sh', ['-c', 'command -v oai_pmh'], { encoding: 'utf8' }).stdout.trim();
if (!OAI_PMH) console.log('oai.test.ts: the HTTP::OAI harvester test is skipped: oai_pmh is not installed (apt-get install libhttp-oai-perl)');
(OAI_PMH ? test : test.skip)('an independent harvester (HTTP::OAI oai_pmh) harvests every record through the resumption tokens', async (t) => {
  const s = t.context.server;
  for (const verb of ['ListIdentifiers', 'ListRecords']) {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(OAI_PMH, ['-X', verb, '--metadataPrefix', 'oai_dc', `${s.url}/oai`], { timeout: scaledTimeout(120_000) }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    t.is(out.code, 0, out.stderr);
    for (const id of ['kieu', 'dai-nam', 'them-3', 'rut-lai']) t.true(out.stdout.includes(oaiId(id)), `${verb}: ${id}\n${out.stdout.slice(0, 3000)}\n${out.stderr.slice(0, 2000)}`);
    t.false(out.stdout.includes(oaiId('bi-mat')));
  }
});
