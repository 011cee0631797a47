import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

/**
 * Validation of the XML we serve against the OFFICIAL schemas, with xmllint (Debian
 * libxml2-utils, installed by scripts/test.sh). The schemas and everything they import are
 * verbatim copies in tests/fixtures/xsd (see SOURCES.md there); catalog.xml maps their official
 * locations to those copies, so xmllint runs with --nonet and never needs the network.
 */
export type XsdName = 'oai-pmh' | 'oai_dc' | 'mods' | 'mets' | 'premis' | 'sitemap' | 'siteindex';

const XSD_DIR = fileURLToPath(new URL('../fixtures/xsd/', import.meta.url));

// 'oai-pmh' and 'mets' use our wrappers: OAI-PMH requires a schema for every record's metadata
// (processContents="strict") and METS skips embedded MODS/PREMIS unless their schemas are known
// (processContents="lax"), so the wrappers import those formats to have them validated too.
const SCHEMA_FILES: Record<XsdName, string> = {
  'oai-pmh': 'oai-pmh-with-formats.xsd',
  oai_dc: 'oai_dc.xsd',
  mods: 'mods-3-8.xsd',
  mets: 'mets-with-formats.xsd',
  premis: 'premis.xsd',
  sitemap: 'sitemap.xsd',
  siteindex: 'siteindex.xsd',
};

// xmllint does not fail when an imported schema cannot be loaded: it warns, skips the import and
// then validates as if that namespace had no schema. A missing or broken catalog entry must not
// turn into a silently weaker check, so any of these messages makes the result invalid.
const SCHEMA_NOT_LOADED =
  /Failed to locate a schema|failed to load external entity|Attempt to load network entity|I\/O error|Schemas parser error|failed to compile/i;

export async function validateXml(xml: string, schema: XsdName): Promise<{ valid: boolean; errors: string }> {
  const schemaPath = XSD_DIR + SCHEMA_FILES[schema];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('xmllint', ['--nonet', '--noout', '--schema', schemaPath, '-'], {
      env: { ...process.env, XML_CATALOG_FILES: XSD_DIR + 'catalog.xml' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error('xmllint is not installed: install the Debian package libxml2-utils (scripts/test.sh does)')
          : error,
      );
    });
    child.on('close', (exitCode) => resolve({ code: exitCode, stderr: Buffer.concat(chunks).toString('utf8') }));
    // xmllint may exit before reading all of a document it cannot parse; that is its verdict, not ours.
    child.stdin.on('error', () => {});
    child.stdin.end(xml, 'utf8');
  });
  return { valid: code === 0 && !SCHEMA_NOT_LOADED.test(stderr), errors: stderr };
}

export async function assertValidXml(t: ExecutionContext, xml: string, schema: XsdName): Promise<void> {
  const { valid, errors } = await validateXml(xml, schema);
  t.true(valid, `not valid against ${schema} (${SCHEMA_FILES[schema]}):\n${errors}\n--- the document (first 2000 characters) ---\n${xml.slice(0, 2000)}`);
}
