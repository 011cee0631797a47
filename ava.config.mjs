// ava's settings (moved here from package.json so that its `timeout` can scale: see
// tests/helpers/time-scale.ts). That timeout is ava's hang guard for a file whose tests give no
// result for that long; on a busy machine it stretches like every other limit in the tests.
import { tsImport } from 'tsx/esm/api';

const { scaledTimeout } = await tsImport('./tests/helpers/time-scale.ts', import.meta.url);

export default {
  extensions: { ts: 'module' },
  // THUKHO_TEST_TIMINGS=FILE: each test process appends its wall time there (tests/helpers/file-timer.mjs).
  nodeArguments: ['--import=tsx', ...(process.env.THUKHO_TEST_TIMINGS ? ['--import=./tests/helpers/file-timer.mjs'] : [])],
  workerThreads: false,
  files: ['tests/**/*.test.ts'],
  timeout: `${Math.ceil(scaledTimeout(5 * 60_000) / 1000)}s`,
  concurrency: 2,
};
