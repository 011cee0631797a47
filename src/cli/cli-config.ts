import { type Config, ConfigError, loadConfig } from '../config.ts';

/**
 * What every `thukho` subcommand shares: the configuration (a bad value stops with exit 2 and
 * one line naming the variable) and who the command acts as in the log.
 */
export function loadCliConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`thukho: cấu hình sai / configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The operator at the terminal (sudo keeps the real user's name). */
export const CLI_ACTOR = { id: `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'operator'}`, role: 'admin' } as const;
