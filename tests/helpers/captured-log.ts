import { Writable } from 'node:stream';
import { type Logger, type LevelWithSilent, pino } from 'pino';
import type { Json } from './api.ts';

/** A pino logger whose JSON lines are kept in `lines`, for tests that check what the server logged. */
export function capturedLog(level: LevelWithSilent): { logger: Logger; lines: Json[] } {
  const lines: Json[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Json);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
