import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import anyTest, { type TestFn } from 'ava';
import { type Logger, pino } from 'pino';
import { createUser } from '../../src/application/users.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/serve.ts';
import { scaledTimeout } from './time-scale.ts';

/**
 * A real thukho server on a random loopback port, with its own data directory, the
 * machine's redis (REDIS_URL, default 127.0.0.1:6379), and a staff and a reader token.
 */
export interface TestServer extends RunningServer {
  staffToken: string;
  readerToken: string;
  dataDir: string;
  config: Config;
  close(): Promise<void>;
}

/** `logger`: for a test that reads what the server logs (silent otherwise). */
export async function startTestServer(env: Record<string, string> = {}, logger: Logger = pino({ level: 'silent' })): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'thukho-e2e-'));
  const config = loadConfig({
    THUKHO_DATA_DIR: dataDir,
    THUKHO_PORT: '0',
    THUKHO_HOST: '127.0.0.1',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // Test servers share one redis: each gets its own queues.
    THUKHO_QUEUE_PREFIX: `t-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...env,
  });
  const server = await startServer(config, logger);
  const actor = { actor: { id: 'test', role: 'admin' } };
  const staff = await createUser(server.store, 'staff', 'Cán bộ thử', 'curator', actor);
  const reader = await createUser(server.store, 'reader', 'Bạn đọc thử', 'reader', actor);
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && reader.position !== null) await users.waitForPosition(reader.position, scaledTimeout(60_000));
  return {
    ...server,
    staffToken: staff.token,
    readerToken: reader.token,
    dataDir,
    config,
    async close() {
      // Bounded: a stop that never ends would keep ava's worker (and the whole run) waiting.
      const limit = scaledTimeout(120_000);
      const stopped = await Promise.race([server.stop().then(() => true), sleep(limit, false, { ref: false })]);
      if (!stopped) throw new Error(`the test server did not stop within ${limit} ms; its data is kept in ${dataDir}`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** ava's `test`, typed with a server in its context that starts before the file's tests and stops after. */
export function testWithServer(env: Record<string, string> = {}): TestFn<{ server: TestServer }> {
  const test = anyTest as TestFn<{ server: TestServer }>;
  // Serial, so that a file's own `test.serial.before` hooks run after the server is up.
  test.serial.before(async (t) => {
    t.context.server = await startTestServer(env);
  });
  test.after.always(async (t) => {
    await t.context.server?.close();
  });
  return test;
}
