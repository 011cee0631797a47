import test from 'ava';
import { languageCode, metadataFromDc, workIdFor } from '../../src/application/harvest.ts';
import { dublinCoreElement } from '../../src/formats/dublin-core.ts';
import { modsElement } from '../../src/formats/mods.ts';
import { OaiResponseError, readOaiResponse } from '../../src/formats/oai-pmh-read.ts';
import { recordElement, responseHead, RESPONSE_TAIL, resumptionTokenElement } from '../../src/formats/oai-pmh.ts';

/** The reader against our own writer (what another thukho sends), and the mapping back to our record. */
const page = (body: string) => `${responseHead('2026-12-05T01:02:03Z', 'https://a.example/oai', { verb: 'ListRecords', metadataPrefix: 'oai_dc' })}<ListRecords>\n${body}</ListRecords>\n${RESPONSE_TAIL}`;
const KIEU = { title: 'Truyện Kiều', alternativeTitle: ['金雲翹新傳'], creator: 'Nguyễn Du', language: ['vie', 'lzh'], yearFrom: 1820, yearTo: 1830, rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/', description: 'Bản "phường" & <khắc>' };

test('our writer\'s oai_dc round-trips through the reader and the mapping', (t) => {
  const h = { identifier: 'oai:a.example:kieu', datestamp: '2026-12-01T00:00:00Z', setSpecs: ['han-nom'], deleted: false };
  const xml = page(recordElement(h, dublinCoreElement(KIEU, 'kieu', { page: 'https://a.example/objects/kieu' })) + recordElement({ ...h, identifier: 'oai:a.example:gone', deleted: true }, undefined) + resumptionTokenElement({ token: 'abc', completeListSize: 9, cursor: 0 }));
  const read = readOaiResponse(xml);
  t.is(read.responseDate, '2026-12-05T01:02:03Z');
  t.deepEqual(read.resumption, { token: 'abc', completeListSize: 9, cursor: 0 });
  const [first, second] = read.records;
  if (!first?.ok || !second?.ok) return t.fail(JSON.stringify(read.records));
  t.deepEqual(first.header, h);
  t.true(second.header.deleted);
  const mapped = metadataFromDc(first.fields ?? {}, 'han-nom');
  t.deepEqual(mapped.metadata, {
    title: 'Truyện Kiều',
    alternativeTitle: ['金雲翹新傳'],
    creator: 'Nguyễn Du',
    description: 'Bản "phường" & <khắc>',
    date: '1820/1830',
    identifier: 'kieu',
    language: ['vie', 'lzh'],
    rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/',
    collectionId: 'han-nom',
  });
});

test('MODS records map to the same fields', (t) => {
  const h = { identifier: 'oai:a.example:kieu', datestamp: '2026-12-01', setSpecs: [], deleted: false };
  const read = readOaiResponse(page(recordElement(h, modsElement(KIEU, 'kieu'))));
  const [r] = read.records;
  if (!r?.ok) return t.fail(JSON.stringify(r));
  const m = metadataFromDc(r.fields ?? {}, undefined).metadata;
  t.like(m, { title: 'Truyện Kiều', creator: 'Nguyễn Du', language: ['vie', 'lzh'] });
});

test('what is not OAI-PMH, and records that are malformed on their own', (t) => {
  t.throws(() => readOaiResponse('<OAI-PMH'), { instanceOf: OaiResponseError, message: /./ });
  t.throws(() => readOaiResponse('<html xmlns="http://www.w3.org/1999/xhtml"/>'), { message: /not OAI-PMH/ });
  const read = readOaiResponse(page('<record><header><identifier>x</identifier><datestamp>yesterday</datestamp></header></record>\n<record><header><identifier>y</identifier><datestamp>2026-01-01</datestamp></header><metadata><foo xmlns="urn:x"/></metadata></record>\n'));
  t.deepEqual(read.records.map((r) => (r.ok ? 'ok' : r.reason.replace(/:.*/, ''))), ['datestamp', 'metadata is <foo> (urn']);
  t.regex(metadataFromDc({}, undefined).refusal?.en ?? '', /no title/);
});

test('language codes as repositories write them; work ids are stable and valid', (t) => {
  t.deepEqual(['vie', 'vi', 'vi_VN', 'en-US', 'French', 'xx-yy'].map(languageCode), ['vie', 'vie', 'vie', 'eng', 'fra', undefined]);
  t.is(workIdFor('oai:a:1'), workIdFor('oai:a:1'));
  t.not(workIdFor('oai:a:1'), workIdFor('oai:a:2'));
  t.regex(workIdFor('oai:a:1'), /^oai-[a-z2-9]{16}$/);
});
