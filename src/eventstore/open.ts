import type { Config } from '../config.ts';
import type { EventStore } from './port.ts';
import { SqliteEventStore } from './sqlite.ts';

/** The adapter the configuration names; the EventStoreDB client is loaded only when used, and the server probed once. */
export async function openEventStore(config: Config['eventStore']): Promise<EventStore> {
  if (config.kind === 'sqlite') return new SqliteEventStore(config.path);
  const { EsdbEventStore } = await import('./esdb.ts');
  return EsdbEventStore.open(config.connectionString);
}
