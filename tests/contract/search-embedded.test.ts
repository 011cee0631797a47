import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { EmbeddedSearchIndex } from '../../src/search/embedded.ts';
import { searchContract } from './search.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'thukho-search-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
searchContract(test, 'embedded', async () => new EmbeddedSearchIndex(join(dir, `search-${n++}.sqlite`)));
