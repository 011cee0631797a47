import test from 'ava';
import { EsdbEventStore } from '../../src/eventstore/esdb.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { ProjectedStreamHeads } from '../../src/projections/stream-heads.ts';
import { type EsdbDoubleOptions, EsdbDouble } from '../esdb-double/server.ts';
import { eventStoreContract } from './eventstore.contract.ts';

/**
 * The same contract suite as on SQLite, through the real `@eventstore/db-client` and our
 * adapter, against the gRPC protocol double (tests/esdb-double): once per client append path
 * (the server's features select it), and once as a server older than 23.10 that never says
 * CaughtUp.
 */
const variants: Array<[string, EsdbDoubleOptions]> = [
  ['esdb double (Append)', {}],
  ['esdb double (BatchAppend)', { batchAppend: true }],
  ['esdb double (22.10, no CaughtUp)', { caughtUp: false, serverVersion: '22.10.0' }],
];

for (const [name, options] of variants) {
  // Started on first use: ava wants every test declared before the file's first await.
  let started: Promise<EsdbDouble> | undefined;
  const double = () => (started ??= EsdbDouble.start(options));
  eventStoreContract(test, name, async () =>
    EsdbEventStore.connect((await double()).connectionString, { streamHeads: new ProjectedStreamHeads(openReadModelDb(':memory:')) }),
  );
  test.after.always(`${name}: no read started inside a record`, async () => {
    const d = await double();
    await d.stop();
    if (d.invalidPositionRequests > 0) {
      throw new Error(`${name}: ${d.invalidPositionRequests} read(s) asked the server to start inside a record`);
    }
  });
}
