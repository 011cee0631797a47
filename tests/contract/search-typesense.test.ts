import { randomUUID } from 'node:crypto';
import test from 'ava';
import { TypesenseSearchIndex } from '../../src/search/typesense.ts';
import { parseTypesenseUrl, redactTypesenseUrl } from '../../src/search/typesense-url.ts';
import { searchContract } from './search.contract.ts';

/**
 * The search contract against a live Typesense server or cluster named by
 * THUKHO_TEST_TYPESENSE (typesense://KEY@host:port[,host:port], or typesenses:// for HTTPS).
 * Every index lives in collections with a random prefix, so a server can keep earlier runs'
 * data; they are dropped by the run that made them. Without the variable, a visible skip.
 */
const server = process.env.THUKHO_TEST_TYPESENSE;
if (server) {
  const connection = parseTypesenseUrl(server);
  const made: TypesenseSearchIndex[] = [];
  searchContract(test, `typesense (live: ${redactTypesenseUrl(server)})`, async () => {
    const index = new TypesenseSearchIndex(connection, { prefix: `thukho_test_${randomUUID().slice(0, 8)}_` });
    made.push(index);
    return index;
  });
  test.after.always(async () => {
    for (const index of made) await index.drop();
  });
} else {
  test.skip('typesense (live server): skipped because THUKHO_TEST_TYPESENSE is not set — set it to typesense://KEY@host:port to run the search contract against a live Typesense server (the protocol double runs in search-typesense-double.test.ts)', () => {});
}
