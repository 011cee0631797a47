import test from 'ava';
import { assertValidXml, validateXml, type XsdName } from '../helpers/xml-schema.js';

// These documents are written by hand from the specifications' own examples (OAI-PMH 2.0 §4,
// METS/MODS/PREMIS primers, sitemaps.org protocol). They test the harness, not our code: a good
// document must pass and each broken one must fail for the reason we broke it, otherwise a green
// validation of what we serve would prove nothing.

const OAI_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' +
  ' xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n';

const IDENTIFY = `${OAI_OPEN}  <responseDate>2024-05-01T12:00:00Z</responseDate>
  <request verb="Identify">https://thuvien.example.vn/oai</request>
  <Identify>
    <repositoryName>Thư viện tỉnh — Kho số</repositoryName>
    <baseURL>https://thuvien.example.vn/oai</baseURL>
    <protocolVersion>2.0</protocolVersion>
    <adminEmail>admin@thuvien.example.vn</adminEmail>
    <earliestDatestamp>2024-01-01T00:00:00Z</earliestDatestamp>
    <deletedRecord>persistent</deletedRecord>
    <granularity>YYYY-MM-DDThh:mm:ssZ</granularity>
    <description>
      <oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier"
        xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">
        <scheme>oai</scheme>
        <repositoryIdentifier>thuvien.example.vn</repositoryIdentifier>
        <delimiter>:</delimiter>
        <sampleIdentifier>oai:thuvien.example.vn:obj-1</sampleIdentifier>
      </oai-identifier>
    </description>
  </Identify>
</OAI-PMH>
`;

const OAI_DC_RECORD = `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">
        <dc:title xml:lang="vi">Truyện Kiều</dc:title>
        <dc:title xml:lang="vi-Hani">金雲翹新傳</dc:title>
        <dc:creator>Nguyễn Du</dc:creator>
        <dc:date>1820</dc:date>
        <dc:identifier>https://thuvien.example.vn/objects/obj-1</dc:identifier>
        <dc:relation>https://thuvien.example.vn/iiif/obj-1/manifest</dc:relation>
      </oai_dc:dc>`;

function getRecord(metadataPrefix: string, metadata: string, datestamp = '2024-04-30T08:15:00Z'): string {
  return `${OAI_OPEN}  <responseDate>2024-05-01T12:00:00Z</responseDate>
  <request verb="GetRecord" identifier="oai:thuvien.example.vn:obj-1" metadataPrefix="${metadataPrefix}">https://thuvien.example.vn/oai</request>
  <GetRecord>
    <record>
      <header>
        <identifier>oai:thuvien.example.vn:obj-1</identifier>
        <datestamp>${datestamp}</datestamp>
        <setSpec>col-1</setSpec>
      </header>
      <metadata>
      ${metadata}
      </metadata>
    </record>
  </GetRecord>
</OAI-PMH>
`;
}

const MODS_RECORD = `<mods:mods xmlns:mods="http://www.loc.gov/mods/v3" version="3.8">
  <mods:titleInfo><mods:title>Truyện Kiều</mods:title></mods:titleInfo>
  <mods:name type="personal"><mods:namePart>Nguyễn Du</mods:namePart></mods:name>
  <mods:originInfo><mods:dateIssued>1820</mods:dateIssued></mods:originInfo>
  <mods:location>
    <mods:url usage="primary display" access="object in context">https://thuvien.example.vn/objects/obj-1</mods:url>
    <mods:url access="raw object" note="IIIF Presentation 3 manifest">https://thuvien.example.vn/iiif/obj-1/manifest</mods:url>
  </mods:location>
</mods:mods>`;

const LIST_RECORDS_WITH_DELETED = `${OAI_OPEN}  <responseDate>2024-05-01T12:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">https://thuvien.example.vn/oai</request>
  <ListRecords>
    <record>
      <header>
        <identifier>oai:thuvien.example.vn:obj-1</identifier>
        <datestamp>2024-04-30T08:15:00Z</datestamp>
      </header>
      <metadata>
      ${OAI_DC_RECORD}
      </metadata>
    </record>
    <record>
      <header status="deleted">
        <identifier>oai:thuvien.example.vn:obj-2</identifier>
        <datestamp>2024-04-30T09:00:00Z</datestamp>
      </header>
    </record>
    <resumptionToken completeListSize="3" cursor="0" expirationDate="2024-05-02T12:00:00Z">tok-1</resumptionToken>
  </ListRecords>
</OAI-PMH>
`;

function oaiError(code: string): string {
  return `${OAI_OPEN}  <responseDate>2024-05-01T12:00:00Z</responseDate>
  <request>https://thuvien.example.vn/oai</request>
  <error code="${code}">Illegal OAI verb</error>
</OAI-PMH>
`;
}

async function assertInvalid(
  t: import('ava').ExecutionContext,
  xml: string,
  schema: XsdName,
  expected: RegExp,
): Promise<void> {
  const { valid, errors } = await validateXml(xml, schema);
  t.false(valid, `expected ${schema} validation to fail:\n${xml.slice(0, 2000)}`);
  t.regex(errors, expected);
}

// --- OAI-PMH -------------------------------------------------------------------------------------

test('OAI-PMH: an Identify response with an oai-identifier description is valid', async (t) => {
  await assertValidXml(t, IDENTIFY, 'oai-pmh');
});

test('OAI-PMH: a GetRecord response carrying oai_dc is valid, and so is one carrying MODS 3.8', async (t) => {
  await assertValidXml(t, getRecord('oai_dc', OAI_DC_RECORD), 'oai-pmh');
  await assertValidXml(t, getRecord('mods', MODS_RECORD), 'oai-pmh');
});

test('OAI-PMH: ListRecords with a persistent deleted record and a resumption token is valid', async (t) => {
  await assertValidXml(t, LIST_RECORDS_WITH_DELETED, 'oai-pmh');
});

test('OAI-PMH: every error code of the specification is valid; an unknown one is not', async (t) => {
  for (const code of [
    'badArgument',
    'badResumptionToken',
    'badVerb',
    'cannotDisseminateFormat',
    'idDoesNotExist',
    'noRecordsMatch',
    'noMetadataFormats',
    'noSetHierarchy',
  ]) {
    await assertValidXml(t, oaiError(code), 'oai-pmh');
  }
  await assertInvalid(t, oaiError('badThing'), 'oai-pmh', /badThing/);
});

test('OAI-PMH: elements out of order fail (request before responseDate)', async (t) => {
  const swapped = IDENTIFY.replace(
    /(  <responseDate>.*<\/responseDate>\n)(  <request .*<\/request>\n)/,
    '$2$1',
  );
  t.not(swapped, IDENTIFY);
  await assertInvalid(t, swapped, 'oai-pmh', /request/);
});

test('OAI-PMH: an impossible datestamp or one not in UTC "Z" fails', async (t) => {
  await assertInvalid(t, getRecord('oai_dc', OAI_DC_RECORD, '2024-13-01T00:00:00Z'), 'oai-pmh', /datestamp/);
  await assertInvalid(t, getRecord('oai_dc', OAI_DC_RECORD, '2024-04-30T08:15:00+07:00'), 'oai-pmh', /datestamp/);
});

test('OAI-PMH: the records inside <metadata> are validated too (an unknown dc element, broken MODS, an unknown format)', async (t) => {
  await assertInvalid(
    t,
    getRecord('oai_dc', OAI_DC_RECORD.replace('<dc:creator>', '<dc:author>').replace('</dc:creator>', '</dc:author>')),
    'oai-pmh',
    /author/,
  );
  await assertInvalid(t, getRecord('mods', MODS_RECORD.replace('version="3.8"', 'version="9.9"')), 'oai-pmh', /9\.9/);
  await assertInvalid(
    t,
    getRecord('x', '<x:rec xmlns:x="urn:example:not-a-served-format"><x:title>t</x:title></x:rec>'),
    'oai-pmh',
    /rec/,
  );
});

test('OAI-PMH: a bad repositoryIdentifier in the Identify description fails', async (t) => {
  await assertInvalid(
    t,
    IDENTIFY.replace('<repositoryIdentifier>thuvien.example.vn</repositoryIdentifier>', '<repositoryIdentifier>localhost</repositoryIdentifier>'),
    'oai-pmh',
    /repositoryIdentifier/,
  );
});

test('oai_dc: a record alone is valid; one with a foreign element is not', async (t) => {
  await assertValidXml(t, `<?xml version="1.0" encoding="UTF-8"?>\n${OAI_DC_RECORD}\n`, 'oai_dc');
  await assertInvalid(
    t,
    OAI_DC_RECORD.replace('<dc:date>1820</dc:date>', '<dc:date>1820</dc:date><dc:year>1820</dc:year>'),
    'oai_dc',
    /year/,
  );
});

// --- MODS, PREMIS, METS --------------------------------------------------------------------------

test('MODS: a minimal record is valid; an element MODS does not have fails', async (t) => {
  await assertValidXml(t, MODS_RECORD, 'mods');
  await assertInvalid(t, MODS_RECORD.replace('<mods:title>', '<mods:titel>').replace('</mods:title>', '</mods:titel>'), 'mods', /titel/);
});

const PREMIS_EVENT = `<premis:event xmlns:premis="http://www.loc.gov/premis/v3" version="3.0">
            <premis:eventIdentifier>
              <premis:eventIdentifierType>local</premis:eventIdentifierType>
              <premis:eventIdentifierValue>ev-1</premis:eventIdentifierValue>
            </premis:eventIdentifier>
            <premis:eventType>ingestion</premis:eventType>
            <premis:eventDateTime>2024-04-30T08:15:00Z</premis:eventDateTime>
            <premis:eventOutcomeInformation><premis:eventOutcome>success</premis:eventOutcome></premis:eventOutcomeInformation>
          </premis:event>`;

test('PREMIS 3: an event is valid; one without its eventType fails', async (t) => {
  await assertValidXml(t, PREMIS_EVENT, 'premis');
  await assertInvalid(t, PREMIS_EVENT.replace(/<premis:eventType>.*<\/premis:eventType>/, ''), 'premis', /Expected is .*eventType/);
});

function mets(dmd: string, digiprov: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" OBJID="obj-1">
  <mets:metsHdr CREATEDATE="2024-05-01T12:00:00Z"><mets:agent ROLE="CREATOR" TYPE="ORGANIZATION"><mets:name>Thư viện tỉnh</mets:name></mets:agent></mets:metsHdr>
  <mets:dmdSec ID="dmd-1">
    <mets:mdWrap MDTYPE="MODS"><mets:xmlData>${dmd}</mets:xmlData></mets:mdWrap>
  </mets:dmdSec>
  <mets:amdSec ID="amd-1">
    <mets:digiprovMD ID="digiprov-1">
      <mets:mdWrap MDTYPE="PREMIS:EVENT">
        <mets:xmlData>
          ${digiprov}
        </mets:xmlData>
      </mets:mdWrap>
    </mets:digiprovMD>
  </mets:amdSec>
  <mets:fileSec>
    <mets:fileGrp USE="master">
      <mets:file ID="f-1" MIMETYPE="image/tiff" SIZE="1024" CHECKSUM="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" CHECKSUMTYPE="SHA-256">
        <mets:FLocat LOCTYPE="URL" xlink:href="https://thuvien.example.vn/files/p1.tif"/>
      </mets:file>
    </mets:fileGrp>
  </mets:fileSec>
  <mets:structMap TYPE="physical">
    <mets:div TYPE="book" DMDID="dmd-1" ADMID="digiprov-1">
      <mets:div TYPE="page" ORDER="1"><mets:fptr FILEID="f-1"/></mets:div>
    </mets:div>
  </mets:structMap>
</mets:mets>
`;
}

test('METS: a document with MODS, a PREMIS event, files with SHA-256 checksums and a structMap is valid', async (t) => {
  await assertValidXml(t, mets(MODS_RECORD, PREMIS_EVENT), 'mets');
});

test('METS: a missing structMap or an unknown CHECKSUMTYPE fails', async (t) => {
  const good = mets(MODS_RECORD, PREMIS_EVENT);
  await assertInvalid(t, good.replace(/<mets:structMap[\s\S]*<\/mets:structMap>/, ''), 'mets', /Missing child element.*structMap/);
  await assertInvalid(t, good.replace('CHECKSUMTYPE="SHA-256"', 'CHECKSUMTYPE="SHA256"'), 'mets', /CHECKSUMTYPE/);
});

test('METS: embedded MODS and PREMIS are validated, not skipped by processContents="lax"', async (t) => {
  await assertInvalid(t, mets(MODS_RECORD.replace('version="3.8"', 'version="9.9"'), PREMIS_EVENT), 'mets', /9\.9/);
  await assertInvalid(
    t,
    mets(MODS_RECORD, PREMIS_EVENT.replace(/<premis:eventType>.*<\/premis:eventType>/, '')),
    'mets',
    /Expected is .*eventType/,
  );
});

// --- sitemaps ------------------------------------------------------------------------------------

const SITEMAP = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://thuvien.example.vn/objects/obj-1</loc><lastmod>2024-04-30T08:15:00+00:00</lastmod></url>
  <url><loc>https://thuvien.example.vn/objects/obj-2</loc><lastmod>2024-04-30</lastmod><changefreq>monthly</changefreq><priority>0.5</priority></url>
</urlset>
`;

const SITEINDEX = `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://thuvien.example.vn/sitemap-1.xml</loc><lastmod>2024-04-30T08:15:00Z</lastmod></sitemap>
</sitemapindex>
`;

test('sitemap: a urlset is valid; a priority above 1.0 or a url without loc fails', async (t) => {
  await assertValidXml(t, SITEMAP, 'sitemap');
  await assertInvalid(t, SITEMAP.replace('<priority>0.5</priority>', '<priority>1.5</priority>'), 'sitemap', /priority/);
  await assertInvalid(t, SITEMAP.replace('<loc>https://thuvien.example.vn/objects/obj-1</loc>', ''), 'sitemap', /Expected is .*loc/);
});

test('siteindex: a sitemapindex is valid; an impossible lastmod or a urlset given as an index fails', async (t) => {
  await assertValidXml(t, SITEINDEX, 'siteindex');
  await assertInvalid(t, SITEINDEX.replace('2024-04-30T08:15:00Z', '2024-02-30'), 'siteindex', /lastmod/);
  await assertInvalid(t, SITEMAP, 'siteindex', /urlset/);
});

test('a document that is not well-formed fails with the parser message', async (t) => {
  await assertInvalid(t, IDENTIFY.replace('</Identify>', ''), 'oai-pmh', /Identify/);
});
