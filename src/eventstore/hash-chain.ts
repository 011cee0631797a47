import { createHash } from 'node:crypto';
import type { EventMetadata, NewEvent, RecordedEvent } from './port.ts';

/**
 * Each stream is a hash chain: an event's `hash` is SHA-256 over the canonical JSON of its
 * type, data and metadata (which includes `prevHash`, the hash of the event before it).
 * The first event's prevHash is derived from the stream id, so a whole stream cannot be
 * moved under another name unnoticed. Canonical JSON: object keys sorted by code unit,
 * no whitespace, JSON.stringify for scalars (RFC 8785 in spirit; our payloads hold no
 * floats whose shortest form differs between engines).
 */
export function canonicalJson(input: unknown): string {
  // Fast path: a key-sorted copy handed to the native JSON.stringify. Integer-like keys
  // would be reordered by the engine (they always come first), so they take the slow path.
  const sorted = sortedCopy(input);
  if (sorted !== INTEGER_KEY) return JSON.stringify(sorted) ?? 'null';
  return slowCanonicalJson(input);
}

const INTEGER_KEY = Symbol('integer-like key');
const INTEGER_LIKE = /^(?:0|[1-9]\d*)$/;

function jsonless(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function sortedCopy(input: unknown): unknown {
  // Like JSON.stringify, honour toJSON (a Date becomes its ISO string, as it is stored).
  const value =
    input !== null && typeof input === 'object' && typeof (input as { toJSON?: unknown }).toJSON === 'function'
      ? (input as { toJSON: () => unknown }).toJSON()
      : input;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const copy = jsonless(item) ? null : sortedCopy(item);
      if (copy === INTEGER_KEY) return INTEGER_KEY;
      out[i] = copy;
    }
    return out;
  }
  const keys = Object.keys(value).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (INTEGER_LIKE.test(k)) return INTEGER_KEY;
    const v = (value as Record<string, unknown>)[k];
    if (jsonless(v)) continue;
    const copy = sortedCopy(v);
    if (copy === INTEGER_KEY) return INTEGER_KEY;
    out[k] = copy;
  }
  return out;
}

function slowCanonicalJson(input: unknown): string {
  const value =
    input !== null && typeof input === 'object' && typeof (input as { toJSON?: unknown }).toJSON === 'function'
      ? (input as { toJSON: () => unknown }).toJSON()
      : input;
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form: treat as null like JSON.stringify in arrays.
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map(slowCanonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => !jsonless(v))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${slowCanonicalJson(v)}`).join(',')}}`;
}

export function genesisHash(streamId: string): string {
  return createHash('sha256').update(`thukho-stream:${streamId}`).digest('hex');
}

export function eventHash(type: string, data: unknown, metadata: Omit<EventMetadata, 'hash'> & { hash?: string }): string {
  return hashOf(type, canonicalJson(data), metadata);
}

/** The same hash from already-canonical data: keys "data" < "metadata" < "type" in order. */
function hashOf(type: string, dataJson: string, metadata: Omit<EventMetadata, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...unhashed } = metadata;
  return createHash('sha256')
    .update(`{"data":${dataJson},"metadata":${canonicalJson(unhashed)},"type":${JSON.stringify(type)}}`)
    .digest('hex');
}

/**
 * Chain a batch onto a stream whose head hash is `prevHash` (the genesis hash for a new
 * stream). Each event comes back with its canonical data JSON, which is what the SQLite
 * adapter stores: serialised once, hashed and written as the same bytes.
 */
export function chainEvents(prevHash: string, events: NewEvent[]): Array<NewEvent & { metadata: EventMetadata; dataJson: string }> {
  let prev = prevHash;
  return events.map((e) => {
    const metadata = { ...e.metadata, prevHash: prev };
    const dataJson = canonicalJson(e.data);
    const hash = hashOf(e.type, dataJson, metadata);
    prev = hash;
    return { ...e, dataJson, metadata: { ...metadata, hash } };
  });
}

export interface BrokenLink {
  streamId: string;
  revision: bigint;
  eventId: string;
  reason: string;
}

/**
 * Walks one stream and returns the first broken link, or null when the chain holds.
 * Stops at the first break: everything after it is suspect anyway.
 */
export async function verifyStreamChain(streamId: string, events: AsyncIterable<RecordedEvent>): Promise<
  { ok: true; count: number; head: string } | { ok: false; count: number; broken: BrokenLink }
> {
  let prev = genesisHash(streamId);
  let count = 0;
  let expectedRevision = 0n;
  for await (const e of events) {
    const at = { streamId, revision: e.revision, eventId: e.id };
    if (e.revision !== expectedRevision) {
      return { ok: false, count, broken: { ...at, reason: `revision ${expectedRevision} is missing` } };
    }
    if (e.metadata.prevHash !== prev) {
      return { ok: false, count, broken: { ...at, reason: 'prevHash does not match the previous event’s hash' } };
    }
    const recomputed = eventHash(e.type, e.data, e.metadata);
    if (recomputed !== e.metadata.hash) {
      return { ok: false, count, broken: { ...at, reason: 'content does not match its hash (event was altered)' } };
    }
    prev = e.metadata.hash;
    count++;
    expectedRevision++;
  }
  return { ok: true, count, head: prev };
}
