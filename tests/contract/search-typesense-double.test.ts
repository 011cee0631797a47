import { randomUUID } from 'node:crypto';
import test from 'ava';
import { parseSearchQuery, SearchUnavailableError } from '../../src/search/port.ts';
import { TypesenseSearchIndex } from '../../src/search/typesense.ts';
import { parseTypesenseUrl } from '../../src/search/typesense-url.ts';
import { TypesenseDouble } from '../typesense-double/server.ts';
import { searchContract } from './search.contract.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The same contract suite as on the embedded adapter, through the real `typesense` client and
 * our adapter, against the REST protocol double (tests/typesense-double; what it approximates
 * of Typesense is written there). This is NOT a run against Typesense: that is
 * search-typesense.test.ts with THUKHO_TEST_TYPESENSE.
 */
const KEY = 'double-secret-key-4711';
// Started on first use: ava wants every test declared before the file's first await.
let started: Promise<TypesenseDouble> | undefined;
const double = () => (started ??= TypesenseDouble.start(KEY));
test.after.always(async () => {
  if (started) await (await started).stop();
});

const open = async (url?: string) => new TypesenseSearchIndex(parseTypesenseUrl(url ?? (await double()).url), { prefix: `t${randomUUID().slice(0, 8)}_`, timeoutSeconds: Math.ceil(scaledTimeout(5_000) / 1000) });

searchContract(test, 'typesense double', () => open());

const PUBLIC = { confidential: false, restrictedText: false };

test('typesense double: a wrong API key is SearchUnavailableError (503), and the message never holds a key', async (t) => {
  const d = await double();
  const index = await open(`typesense://wrong-key-0815@127.0.0.1:${d.port}`);
  const err = await t.throwsAsync(index.ensureSchema(), { instanceOf: SearchUnavailableError });
  t.regex(err?.message ?? '', /refused the API key \(HTTP 401\)/);
  t.false(err?.message.includes('wrong-key-0815'));
  t.false(JSON.stringify(err).includes('wrong-key-0815'));
  t.truthy(err?.messages.vi);
});

test('typesense double: a server that does not answer is SearchUnavailableError, without the key', async (t) => {
  const stopped = await TypesenseDouble.start(KEY);
  const index = await open(stopped.url);
  t.is(await index.ensureSchema(), 'created');
  await stopped.stop();
  for (const run of [() => index.search(parseSearchQuery({ q: 'bac giang' }, PUBLIC)), () => index.readCheckpoint(), () => index.upsert([])]) {
    try {
      await run();
      t.pass('nothing to send');
    } catch (err) {
      t.true(err instanceof SearchUnavailableError, String(err));
      t.false(String((err as Error).message).includes(KEY));
      t.false(JSON.stringify(err).includes(KEY));
    }
  }
  await t.throwsAsync(index.search(parseSearchQuery({ q: '' }, PUBLIC)), { instanceOf: SearchUnavailableError, message: /did not answer/ });
});

test('typesense double: ensureSchema migrates an index of another schema version (drops it, and the checkpoint with it)', async (t) => {
  const d = await double();
  const prefix = `m${randomUUID().slice(0, 8)}_`;
  const index = new TypesenseSearchIndex(parseTypesenseUrl(d.url), { prefix });
  t.is(await index.ensureSchema(), 'created');
  await index.upsert([], { version: 1, position: 7n });
  const meta = d.collections.get(`${prefix}meta`);
  const schema = meta?.docs.get('schema');
  t.truthy(schema);
  meta?.docs.set('schema', { ...(schema ?? { id: 'schema' }), version: 0 });
  t.is(await index.ensureSchema(), 'migrated');
  t.is(await index.readCheckpoint(), undefined);
  t.is(await index.ensureSchema(), 'current');
});
