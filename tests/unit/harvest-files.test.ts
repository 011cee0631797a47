import { createHash } from 'node:crypto';
import test from 'ava';
import { digestValue, linksOf, responseDigests } from '../../src/application/harvest-files.ts';
import { readOaiResponse } from '../../src/formats/oai-pmh-read.ts';

const B = 'https://dspace.example.vn';

test('file links: bitstream paths and file extensions are files; landing pages are not; manifests are set apart', (t) => {
  const links = linksOf({
    identifier: [
      'HN.0042',
      'http://hdl.handle.net/123456789/11',
      `${B}/handle/123456789/11`,
      `${B}/bitstream/handle/123456789/11/trang%201.jpg?sequence=1`,
      `${B}/server/api/core/bitstreams/4f1c9a2e-7d6b-4c1e-9a57-3b2f0c8d1e65/content`,
      `${B}/items/4f1c9a2e-7d6b-4c1e-9a57-3b2f0c8d1e66`,
      `${B}/files/scan.tif`,
      `${B}/bitstream/handle/123456789/11/trang%201.jpg?sequence=1`, // twice: once
    ],
    // The last: thukho's own, as its OAI provider writes it in dc:relation.
    relation: [`${B}/iiif/123456789-11/manifest`, `${B}/iiif/x/manifest.json`, 'https://thuvien-huyen.example.vn/iiif/manifest/truyen-kieu-1871'],
  });
  t.deepEqual(links.files.map((f) => f.name), ['trang 1.jpg', '4f1c9a2e-7d6b-4c1e-9a57-3b2f0c8d1e65', 'scan.tif']);
  t.deepEqual(links.manifests, [`${B}/iiif/123456789-11/manifest`, `${B}/iiif/x/manifest.json`, 'https://thuvien-huyen.example.vn/iiif/manifest/truyen-kieu-1871']);
});

test('digests a record gives: DSpace provenance text by name, a value right after the URL, RFC 6920 ni: URIs', (t) => {
  const sha = createHash('sha256').update('x').digest();
  const links = linksOf({
    identifier: [
      `${B}/bitstream/handle/1/2/a.jpg`,
      `sha-256:${sha.toString('hex')}`,
      `${B}/bitstream/handle/1/2/b.jpg`,
      `ni:///sha-256;${sha.toString('base64url')}`,
      'HN.1',
      'md5:0123456789abcdef0123456789abcdef', // after a non-URL: applies to nothing
      `${B}/bitstream/handle/1/2/c.jpg`,
    ],
    description: ['No. of bitstreams: 1 c.jpg: 52731 bytes, checksum: 0A1B2C3D4E5F60718293A4B5C6D7E8F9 (MD5)'],
  });
  t.deepEqual(links.files.map((f) => [f.name, f.digests]), [
    ['a.jpg', [{ algorithm: 'sha-256', hex: sha.toString('hex') }]],
    ['b.jpg', [{ algorithm: 'sha-256', hex: sha.toString('hex') }]],
    ['c.jpg', [{ algorithm: 'md5', hex: '0a1b2c3d4e5f60718293a4b5c6d7e8f9' }]],
  ]);
  t.is(digestValue('md5:123'), undefined, 'a digest of the wrong length is no digest');
  t.is(digestValue('sha256=nothex'), undefined);
});

test('digests a server gives: Digest, Repr-Digest, Content-MD5; a malformed one is an error', (t) => {
  const body = Buffer.from('bytes');
  const md5 = createHash('md5').update(body).digest();
  const sha = createHash('sha256').update(body).digest();
  t.deepEqual(
    responseDigests(new Headers({ digest: `sha-256=${sha.toString('base64')}`, 'repr-digest': `sha-256=:${sha.toString('base64')}:`, 'content-md5': md5.toString('base64') })),
    [
      { algorithm: 'sha-256', hex: sha.toString('hex') },
      { algorithm: 'sha-256', hex: sha.toString('hex') },
      { algorithm: 'md5', hex: md5.toString('hex') },
    ],
  );
  t.deepEqual(responseDigests(new Headers({ 'content-type': 'image/jpeg' })), []);
  t.throws(() => responseDigests(new Headers({ 'content-md5': 'not base64!' })), { message: /Content-MD5/ });
});

test('MODS location/url links a file like dc:identifier; GetRecord reads as a one-record page', (t) => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-20T03:14:15Z</responseDate>
<request verb="GetRecord">${B}/oai</request>
<GetRecord><record><header><identifier>oai:x:1</identifier><datestamp>2026-10-02</datestamp></header>
<metadata><mods xmlns="http://www.loc.gov/mods/v3"><titleInfo><title>Bản đồ</title></titleInfo>
<location><url access="object in context">${B}/handle/1/1</url><url access="raw object">${B}/bitstream/handle/1/1/map.tif</url></location></mods></metadata>
</record></GetRecord></OAI-PMH>`;
  const page = readOaiResponse(xml);
  t.is(page.records.length, 1);
  const r = page.records[0];
  if (!r?.ok) return t.fail('record not read');
  t.deepEqual(linksOf(r.fields ?? {}).files.map((f) => f.url), [`${B}/bitstream/handle/1/1/map.tif`]);
});
