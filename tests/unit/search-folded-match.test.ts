import test from 'ava';
import Database from 'better-sqlite3';
import { foldedExpression, matchExpression } from '../../src/search/embedded.ts';
import { indexText, queryTerms, tokenize } from '../../src/search/text-folding.ts';

// The embedded index counts a search's matching pages with the folded phrases alone and ranks
// them with folded OR exact: both must find the same pages, or counts and hits disagree.
const PAGES = [
  'Bắc Giang địa bạ, xã Kim Liên',
  'bac giang dia ba',
  'Kím và Kim',
  'ĐẶNG văn Đức',
  'dang van duc',
  '北江 地簿',
  '傳 𡦂 𠊛',
  '传 记',
  'Nguyễn Trãi. Bắc. Giang',
  'giang bắc',
];
const QUERIES = ['bac giang', 'Bắc Giang', '"bắc giang"', '"giang bắc"', 'kím', 'Kim', 'Đặng', 'dang van', '北江', '传', '傳', '𡦂', 'địa bạ kim', 'BẮC'];

test('the folded expression matches exactly the pages the ranking expression matches', (t) => {
  const db = new Database(':memory:');
  db.exec("CREATE VIRTUAL TABLE pages_fts USING fts5(text_f, text_x, tokenize = 'ascii')");
  const insert = db.prepare('INSERT INTO pages_fts (rowid, text_f, text_x) VALUES (?, ?, ?)');
  PAGES.forEach((text, i) => {
    const tokens = tokenize(text);
    insert.run(i + 1, indexText(tokens, 'folded'), indexText(tokens, 'exact'));
  });
  const rowids = db.prepare<[string], { rowid: number }>('SELECT rowid FROM pages_fts WHERE pages_fts MATCH ? ORDER BY rowid');
  let nonEmpty = 0;
  for (const q of QUERIES) {
    const terms = queryTerms(q);
    const ranked = rowids.all(matchExpression(terms)).map((r) => r.rowid);
    const counted = rowids.all(foldedExpression(terms)).map((r) => r.rowid);
    t.deepEqual(counted, ranked, q);
    if (ranked.length) nonEmpty++;
  }
  // Not a comparison of two empty answers.
  t.true(nonEmpty >= QUERIES.length - 1);
  db.close();
});
