import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { checkObjectFixity, openFixityRoots } from '../../src/application/fixity.ts';
import { objectStream, preservationStream } from '../../src/application/object-commands.ts';
import { objectProvenance, verifyFixityConsistency } from '../../src/application/provenance.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import type { Json } from '../helpers/api.ts';
import { findAccount, listTokens } from '../../src/projections/user-read-model.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * A data directory made by the code of 2026-12-03 (tests/fixtures/datadir-2026-12-03), whose
 * object stream mixes people's decisions with machine facts, read by today's code: the
 * revision counts every event of that stream, the old facts still count (derivatives,
 * fixity, provenance, verify), new facts go to the preservation stream, and the
 * GET → If-Match → PATCH workflow works on it.
 */
const FIXTURE = join(import.meta.dirname, '../fixtures/datadir-2026-12-03');
const ID = 'dia-ba-1';

let s: TestServer;
let dataDir: string;

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'thukho-upgrade-'));
  cpSync(FIXTURE, dataDir, { recursive: true });
  s = await startTestServer({ THUKHO_DATA_DIR: dataDir });
  // Every read model was made by the older code; they rebuild (new versions) before they answer.
  // A filtered projection's checkpoint stays at the last event it handles: "caught up" is
  // its runner idle at the head, not its checkpoint at the head.
  const head = (await s.store.headPosition()) ?? 0n;
  const until = Date.now() + scaledTimeout(120_000); // a hang guard, not a speed bound
  while (s.projections.some((p) => p.lagBehind(head) > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
});

test.after.always(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, etag: res.headers.get('etag'), body: (await res.json()) as Json };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test.serial('the old object stream keeps its revision, with the machine facts in it counted', async (t) => {
  const events = await collect(s.store.readStream(objectStream(ID)));
  t.is(events.length, 11);
  t.deepEqual(
    events.map((e) => e.type),
    ['ObjectRegistered', 'FileIngested', 'FileIngested', 'DerivativeCreated', 'DerivativeCreated', 'FixityChecked', 'FixityChecked', 'FixityChecked', 'FixityChecked', 'FixityChecked', 'MetadataEdited'],
  );
  const got = await call('GET', `/api/objects/${ID}`);
  t.is(got.status, 200);
  t.is(got.etag, '"10"');
  t.is(got.body.revision, 10);
  t.is(got.body.subject, 'Địa chính');
  // The derivatives recorded on the object stream still serve the work.
  const files = got.body.files as Array<{ derivative?: { pyramid: { sha256: string } } }>;
  t.is(files.length, 2);
  t.true(files.every((f) => typeof f.derivative?.pyramid.sha256 === 'string'));
  const manifest = await fetch(`${s.url}/iiif/manifest/${ID}`);
  t.is(manifest.status, 200);
  t.is(((await manifest.json()) as { items: unknown[] }).items.length, 2);
});

test.serial('the edit workflow works on it, and a fixity run afterwards does not break it', async (t) => {
  const missing = await call('PATCH', `/api/objects/${ID}`, {}, { description: 'Sổ ruộng đất' });
  t.is(missing.status, 428);
  t.is(missing.body.type, '/problems/if-match-required');

  const edited = await call('PATCH', `/api/objects/${ID}`, { 'if-match': '"10"' }, { description: 'Sổ ruộng đất' });
  t.is(edited.status, 200);
  t.is(edited.etag, '"11"');

  const stale = await call('PATCH', `/api/objects/${ID}`, { 'if-match': '"10"' }, { description: 'Khác' });
  // A failed precondition (RFC 9110), with the record as it is now for the screen to show beside the edit.
  t.is(stale.status, 412);
  t.is((stale.body.current as { revision?: unknown } | undefined)?.revision, 11);
  t.deepEqual(stale.body.changedBy, { id: 'staff', role: 'curator' });
  t.is(stale.body.change, 'MetadataEdited');
  t.is(stale.body.currentRevision, 11);
  t.regex(String(stale.body.detail), /staff/);

  // The fixity checker goes over the work: masters, inventory, and the pyramids the old
  // log recorded on the object stream.
  const { roots } = await openFixityRoots(s.config);
  const result = await checkObjectFixity({ store: s.store, roots, derivatives: new DerivativeStore(s.config.derivativesDir), repair: async () => ({ repaired: false, tried: [] }) }, ID);
  t.deepEqual(
    result.results.map((r) => `${r.target}:${r.outcome}`).sort(),
    ['derivative:pass', 'derivative:pass', 'inventory:pass', 'master:pass', 'master:pass'],
  );
  const facts = await collect(s.store.readStream(preservationStream(ID)));
  t.deepEqual(facts.map((e) => e.type), Array(5).fill('FixityChecked'));
  t.is((await collect(s.store.readStream(objectStream(ID)))).length, 12);

  const after = await call('GET', `/api/objects/${ID}`);
  t.is(after.etag, '"11"');
  const again = await call('PATCH', `/api/objects/${ID}`, { 'if-match': after.etag as string }, { description: 'Sổ địa bạ' });
  t.is(again.status, 200);
  t.is(again.etag, '"12"');
});

test.serial('its account of the old single staff role reads back as a curator, with its rotated token as "default"', async (t) => {
  // The server waited for the users read model to pass the accounts it made, which come after fx's.
  const fx = findAccount(s.readDb, 'fx');
  t.like(fx, { id: 'fx', role: 'curator', status: 'active' });
  t.deepEqual(listTokens(s.readDb, 'fx'), [{ name: 'default', role: null }]);
});

test.serial('provenance, verify and the fixity consistency check read both streams', async (t) => {
  const p = await objectProvenance(s.store, ID);
  t.is(p.chain.status, 'intact');
  t.is(p.factsChain.status, 'intact');
  const byStream = (streamId: string, type: string) => p.events.filter((e) => e.record.streamId === streamId && e.record.type === type).length;
  t.is(byStream(objectStream(ID), 'FixityChecked'), 5);
  t.is(byStream(objectStream(ID), 'DerivativeCreated'), 2);
  t.is(byStream(preservationStream(ID), 'FixityChecked'), 5);
  t.true(p.events.every((e) => e.record.chainVerified));

  const log = await verifyLog(s.store);
  t.deepEqual(log.broken, []);
  const consistency = await verifyFixityConsistency(s.store, 'all');
  t.deepEqual(consistency.problems, []);
  t.is(consistency.checked, 10);
});
