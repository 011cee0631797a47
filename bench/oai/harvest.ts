/**
 * The harvester: `ListRecords&metadataPrefix=oai_dc`, then `resumptionToken=` until a page
 * ends the list, one request at a time over one keep-alive connection, as harvesters do.
 * Each page is read as it streams in, never held whole (so a slow server is timed as slow,
 * and the client's cost stays small): it counts `<record>` elements, collects each header's
 * `<identifier>`, and takes the resumptionToken from the page's tail. At the end the count
 * must equal completeListSize and no identifier may repeat.
 *
 * No Accept-Encoding is sent: the bytes counted are the XML as written.
 */
import { createWriteStream } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

export interface HarvestProgress {
  records: number;
  pages: number;
  bytes: number;
  seconds: number;
}

export interface HarvestResult extends HarvestProgress {
  completeListSize: number | null;
  distinct: number;
  duplicates: number;
  /** The token (encoded, as sent) that asked for each page; null for the first. */
  tokens: Array<string | null>;
  /** Milliseconds from sending a page's request to its first byte, and to its last. */
  firstByteMs: number[];
  pageMs: number[];
  clientCpuSeconds: number;
}

export interface HarvestOptions {
  /** e.g. http://127.0.0.1:8080/oai */
  endpoint: string;
  /** Write each page's bytes to `{saveDir}/{pageFileName(i)}` as received (the reference serves them). */
  saveDir?: string;
  /** Called after each page. */
  onPage?: (p: HarvestProgress) => void;
}

/** The file page `i` (from 0) is saved as. */
export const pageFileName = (i: number) => `page-${String(i).padStart(6, '0')}.xml`;

/** A resumption token as the harvester sends it (and as nginx's $arg_resumptionToken holds it, undecoded). */
export const encodeToken = (token: string) => encodeURIComponent(token);

const unescapeXml = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] as string);

const TAIL = 4096;
// A header's start and its identifier; every record has one (a deleted one too).
const HEADER_ID = /<header(?:\s[^>]*)?>\s*<identifier>([^<]*)<\/identifier>/g;
const RECORD = /<record>/g;

/** Harvests the whole list; throws on an HTTP error, an OAI-PMH error or a broken list. */
export async function harvest(o: HarvestOptions): Promise<HarvestResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new Set<string>();
  const firstByteMs: number[] = [];
  const pageMs: number[] = [];
  const tokens: Array<string | null> = [];
  let records = 0;
  let headers = 0;
  let duplicates = 0;
  let bytes = 0;
  let pages = 0;
  let completeListSize: number | null = null;
  let token: string | null = null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    for (;;) {
      const url = token === null ? `${o.endpoint}?verb=ListRecords&metadataPrefix=oai_dc` : `${o.endpoint}?verb=ListRecords&resumptionToken=${encodeToken(token)}`;
      tokens.push(token === null ? null : encodeToken(token));
      const save = o.saveDir ? createWriteStream(join(o.saveDir, pageFileName(pages))) : null;
      const sent = performance.now();
      const page = await new Promise<{ tail: string; head: string; firstByte: number }>((resolve, reject) => {
        const req = request(url, { agent }, (res) => {
          let firstByte = -1;
          // latin1: one char per byte, so no multi-byte character is split between chunks;
          // identifiers and tokens are ASCII (a token is decoded from UTF-8 below all the same).
          let carry = '';
          let head = '';
          let tail = '';
          res.on('data', (chunk: Buffer) => {
            if (firstByte < 0) firstByte = performance.now() - sent;
            bytes += chunk.length;
            save?.write(chunk);
            const text = carry + chunk.toString('latin1');
            if (head.length < 2048) head += text.slice(0, 2048 - head.length);
            RECORD.lastIndex = 0;
            while (RECORD.exec(text)) records++;
            HEADER_ID.lastIndex = 0;
            let end = 0;
            for (let m = HEADER_ID.exec(text); m; m = HEADER_ID.exec(text)) {
              headers++;
              const id = m[1] as string;
              if (seen.has(id)) duplicates++;
              else seen.add(id);
              end = HEADER_ID.lastIndex;
            }
            // What may hold the start of a header or of "<record>" cut by the chunk's end.
            // (Records counted in `text` must not be counted again: keep only what follows
            // the last whole match, and at most 1 KB of it, more than a header with its identifier.)
            const rest = text.slice(end);
            const lastRecord = rest.lastIndexOf('<record>');
            carry = (lastRecord >= 0 ? rest.slice(lastRecord + '<record>'.length) : rest).slice(-1024);
            tail = (tail + text).slice(-TAIL);
          });
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}: ${head.slice(0, 500)}`));
            else resolve({ tail, head, firstByte });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      if (save) await new Promise<void>((r, j) => save.end((err?: Error | null) => (err ? j(err) : r())));
      pageMs.push(performance.now() - sent);
      firstByteMs.push(page.firstByte);
      pages++;
      const error = /<error code="([^"]*)"[^>]*>([^<]*)/.exec(page.head) ?? /<error code="([^"]*)"[^>]*>([^<]*)/.exec(page.tail);
      if (error) throw new Error(`${url}: OAI-PMH error ${error[1]}: ${error[2]}`);
      const rt = /<resumptionToken([^>]*?)(?:\/>|>([^<]*)<\/resumptionToken>)/.exec(page.tail);
      const size = rt ? /completeListSize="(\d+)"/.exec(rt[1] as string) : null;
      if (size) completeListSize = Number(size[1]);
      o.onPage?.({ records, pages, bytes, seconds: (performance.now() - t0) / 1000 });
      const next = rt?.[2]?.trim() ? unescapeXml(Buffer.from(rt[2].trim(), 'latin1').toString('utf8')) : null;
      if (next === null) break;
      token = next;
    }
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (headers !== records) throw new Error(`${records} <record> elements but ${headers} headers with an identifier: the page parser missed some`);
  return {
    records,
    pages,
    bytes,
    seconds,
    completeListSize,
    distinct: seen.size,
    duplicates,
    tokens,
    firstByteMs,
    pageMs,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
