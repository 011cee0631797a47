/**
 * A second process that adds works to a repository while a test harvests it over OAI-PMH:
 * it opens the same SQLite event log the server uses and registers works one by one, with a
 * pause between them, printing each id as it is committed.
 *
 *   node --import=tsx tests/helpers/oai-appender.ts EVENTS.sqlite PREFIX COUNT PAUSE_MS
 */
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { openEventStore } from '../../src/eventstore/open.ts';

const [path, prefix, count, pause] = process.argv.slice(2);
if (!path || !prefix || !count || !pause) throw new Error('usage: oai-appender.ts EVENTS.sqlite PREFIX COUNT PAUSE_MS');
const store = await openEventStore({ kind: 'sqlite', path });
try {
  for (let i = 0; i < Number(count); i++) {
    const objectId = `${prefix}-${String(i).padStart(3, '0')}`;
    await executeObjectCommand(
      store,
      { type: 'RegisterObject', objectId, metadata: { title: `Thêm trong lúc thu hoạch ${i}` }, accessLevel: 'open' },
      { actor: { id: 'appender', role: 'curator' } },
    );
    process.stdout.write(`${objectId}\n`);
    await new Promise((r) => setTimeout(r, Number(pause)));
  }
} finally {
  await store.close();
}
