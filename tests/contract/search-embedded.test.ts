import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { EmbeddedSearchIndex } from '../../src/search/embedded.ts';
import { parseSearchQuery } from '../../src/search/port.ts';
import { searchContract } from './search.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'thukho-search-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
searchContract(test, 'embedded', async () => new EmbeddedSearchIndex(join(dir, `search-${n++}.sqlite`)));

test('embedded: an index written by another schema version is dropped on open and reported as migrated', async (t) => {
  const path = join(dir, 'migrate.sqlite');
  const index = new EmbeddedSearchIndex(path);
  t.is(await index.ensureSchema(), 'created');
  await index.upsert([{ kind: 'work', id: 'a', accessLevel: 'open', metadata: { title: 'Địa bạ' } }], { version: 3, position: 7n });
  await index.close();

  const older = new Database(path);
  older.prepare("UPDATE search_meta SET value = '0' WHERE key = 'schema_version'").run();
  older.close();

  const reopened = new EmbeddedSearchIndex(path);
  t.is(await reopened.ensureSchema(), 'migrated');
  t.is(await reopened.readCheckpoint(), undefined);
  const r = await reopened.search(parseSearchQuery({ q: '' }, { confidential: true, restrictedText: true }));
  t.is(r.total, 0);
  t.is(await reopened.ensureSchema(), 'current');
  await reopened.close();
});

// Terms on more pages than the limit are ranked by the share of pages that match, not each
// page's bm25 (see EXACT_PAGE_LIMIT): with a limit of 0, every search that reaches page text
// takes that path, and must match, count, facet, filter and show page hits exactly alike.
searchContract(test, 'embedded, common-terms path', async () => new EmbeddedSearchIndex(join(dir, `search-${n++}.sqlite`), 0));
