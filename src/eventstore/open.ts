import type { Config } from '../config.ts';
import { openReadModelDb } from '../projections/read-model-db.ts';
import { ProjectedStreamHeads } from '../projections/stream-heads.ts';
import type { EventStore } from './port.ts';
import { SqliteEventStore } from './sqlite.ts';

/**
 * The adapter the configuration names. The EventStoreDB client is loaded only when used, the
 * server is probed once, and the store lists its streams from the stream-heads projection in
 * the read model (SQLite keeps its own table of heads).
 */
export async function openEventStore(config: Config['eventStore']): Promise<EventStore> {
  if (config.kind === 'sqlite') return new SqliteEventStore(config.path);
  const { EsdbEventStore } = await import('./esdb.ts');
  const streamHeads = new ProjectedStreamHeads(openReadModelDb(config.readModelPath));
  try {
    return await EsdbEventStore.open(config.connectionString, { streamHeads });
  } catch (err) {
    streamHeads.close();
    throw err;
  }
}
