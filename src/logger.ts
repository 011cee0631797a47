import { pino, type Logger } from 'pino';

/** JSON logs on stderr, so that stdout stays free for what a command prints for people. */
export function createLogger(level: string, name = 'thukho'): Logger {
  return pino({ name, level }, pino.destination(2));
}

export type { Logger };
