import type { TestServer } from './server.ts';
import { scaledTimeout } from './time-scale.ts';

/** The few API calls e2e tests make as library staff, written once. */
export type Json = Record<string, unknown>;

/** What the calls need of a server: where it is, and a staff token (a `thukho serve` child has no more). */
type StaffClient = Pick<TestServer, 'url' | 'staffToken'>;

/** A JSON call with the staff token; the parsed body, whatever the status. */
export async function staffCall(s: StaffClient, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

/** Uploads one file as a raw body; its FileIngested facts, or an error unless 201. */
export async function uploadFile(s: StaffClient, objectId: string, bytes: Buffer, name: string): Promise<Json> {
  const res = await fetch(`${s.url}/api/objects/${objectId}/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  if (res.status !== 201) throw new Error(`upload of ${name} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

/** The least a poll waits before it calls the wait a hang, whatever `ms` its caller gave. */
export const POLL_FLOOR_MS = 60_000;

/**
 * Polls `probe` until it returns something other than undefined. `ms` is no speed bound: it
 * turns a wait that never ends into a failure, after at least a minute and scaled to how busy
 * the machine is (time-scale.ts).
 */
export async function poll<T>(what: string, ms: number, probe: () => Promise<T | undefined>, every = 100): Promise<T> {
  const limit = scaledTimeout(Math.max(ms, POLL_FLOOR_MS));
  const until = Date.now() + limit;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`gave up after ${(limit / 1000).toFixed(0)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Waits until a file has its derivative, or its failure, recorded; returns whichever came. */
export function derivativeOf(s: StaffClient, objectId: string, fileId: string, ms = 60_000): Promise<Json> {
  return poll(`the derivative of ${fileId}`, ms, async () => {
    const o = await staffCall(s, 'GET', `/api/objects/${objectId}`);
    const f = (o.files as Json[]).find((x) => x.fileId === fileId);
    return (f?.derivative as Json | undefined) ?? (f?.derivativeFailure ? { failed: f.derivativeFailure } : undefined);
  });
}
