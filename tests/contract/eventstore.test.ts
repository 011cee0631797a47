import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { EsdbEventStore } from '../../src/eventstore/esdb.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { ProjectedStreamHeads } from '../../src/projections/stream-heads.ts';
import { eventStoreContract } from './eventstore.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'thukho-es-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
eventStoreContract(test, 'sqlite', async () => new SqliteEventStore(join(dir, `events-${n++}.sqlite`)));

const esdb = process.env.THUKHO_TEST_ESDB;
if (esdb) {
  eventStoreContract(test, 'esdb', async () =>
    EsdbEventStore.open(esdb, { streamHeads: new ProjectedStreamHeads(openReadModelDb(':memory:')) }),
  );
} else {
  // Visible in ava's summary ("1 skipped"); the same suite runs on the gRPC protocol double
  // in eventstore-esdb-double.test.ts.
  test.skip('esdb (live server): skipped because THUKHO_TEST_ESDB is not set — set it to an esdb:// connection string to run this suite against a live EventStoreDB / KurrentDB', () => {});
}
