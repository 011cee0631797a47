import { Queue } from 'bullmq';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { type FailedJob, failedJobs, failedOcrPage, queueDepth } from '../queue/queue-status.ts';
import { QUEUES, type QueueKey, queueConnection } from '../queue/queues.ts';
import { RedisUnavailableError, joinRedis } from '../queue/redis.ts';
import { loadCliConfig } from './cli-config.ts';
import { requireRepository } from './repository.ts';

/**
 * `thukho jobs failed [--queue NAME]`: the background jobs that ran out of attempts (kept 30
 * days), newest first, with why; `thukho jobs retry [--queue NAME]` puts them back in line.
 * A page that fails again and again is seen here, with its reason, instead of only in logs.
 *
 * Exit codes: 0 listed or retried (an empty list included); 2 an unknown queue, no
 * repository, Redis unreachable.
 */
const KEYS = Object.keys(QUEUES) as QueueKey[];
const NAMES = KEYS.map((k) => `${k} (${QUEUES[k]})`).join(', ');

/** A queue by its short name (`ocr`) or its full one (`thukho-ocr`). */
export function parseQueue(value: string): QueueKey {
  const key = KEYS.find((k) => k === value || QUEUES[k] === value);
  if (!key) throw new InvalidArgumentError(`không có hàng đợi này / no such queue; one of: ${NAMES}`);
  return key;
}

const parseLimit = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('a whole number from 1 to 100000');
  return n;
};

/** Which work (and page) a failed job was about, from its payload. */
function subject(job: FailedJob): string {
  const page = failedOcrPage(job);
  if (page) return `${page.objectId} trang/page ${page.page} (${page.imageId})`;
  const data = job.data as Record<string, unknown> | null;
  const parts = ['objectId', 'fileId', 'ocflObjectId', 'version'].flatMap((k) => (typeof data?.[k] === 'string' ? [String(data[k])] : []));
  return parts.length ? parts.join(' ') : job.name;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** The queues of a run, each with its own client on one connection. */
async function withQueues<T>(config: Config, keys: QueueKey[], fn: (queues: Array<[QueueKey, Queue]>) => Promise<T>): Promise<T> {
  const logger = createLogger(config.logLevel, 'thukho-jobs');
  const redis = await joinRedis({ redisUrl: config.redisUrl, dataDir: config.dataDir, logger });
  const connection: Redis = queueConnection(redis.url);
  const queues = keys.map((k) => [k, new Queue(QUEUES[k], { connection, prefix: config.queuePrefix })] as [QueueKey, Queue]);
  try {
    return await fn(queues);
  } finally {
    await Promise.all(queues.map(([, q]) => q.close()));
    connection.disconnect();
    await redis.stop();
  }
}

async function run(command: string, action: (config: Config) => Promise<void>): Promise<void> {
  const config = loadCliConfig();
  await requireRepository(config, `jobs ${command}`);
  try {
    await action(config);
  } catch (err) {
    if (!(err instanceof RedisUnavailableError)) throw err;
    process.stderr.write(`thukho jobs ${command}: ${err.message}\n`);
    process.exitCode = 2;
  }
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('Việc chạy nền / background jobs: what failed and why');
  const queueOption = () => new Option('--queue <name>', `one queue: ${NAMES} (default: every queue)`).argParser(parseQueue);

  jobs
    .command('failed')
    .description('việc đã hết số lần thử, mới nhất trước / jobs out of attempts, newest first, with their reasons')
    .addOption(queueOption())
    .option('--limit <n>', 'at most this many per queue', parseLimit, 100)
    .option('--json', 'print as JSON')
    .action((opts: { queue?: QueueKey; limit: number; json?: boolean }) =>
      run('failed', (config) =>
        withQueues(config, opts.queue ? [opts.queue] : KEYS, async (queues) => {
          const found: Array<{ queue: QueueKey; failed: number; jobs: FailedJob[] }> = [];
          for (const [key, queue] of queues) {
            const { failed } = await queueDepth(queue);
            found.push({ queue: key, failed, jobs: failed > 0 ? await failedJobs(queue, opts.limit) : [] });
          }
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
            return;
          }
          const total = found.reduce((n, q) => n + q.failed, 0);
          if (total === 0) process.stdout.write('Không có việc nào thất bại / no failed jobs\n');
          for (const q of found.filter((f) => f.failed > 0)) {
            const more = q.failed > q.jobs.length ? ` (${q.jobs.length} mới nhất / newest shown)` : '';
            process.stdout.write(`${QUEUES[q.queue]}: ${q.failed} việc thất bại / failed${more}\n`);
            for (const job of q.jobs) {
              process.stdout.write(
                `  ${job.failedAt ?? '?'}  ${subject(job)}  ${job.attempts} lần thử / attempts  job ${job.jobId}\n    ${oneLine(job.reason) || '(không rõ lý do / no reason given)'}\n`,
              );
            }
          }
        }),
      ),
    );

  jobs
    .command('retry')
    .description('đưa các việc thất bại trở lại hàng đợi / put failed jobs back in line (after fixing their cause)')
    .addOption(queueOption())
    .action((opts: { queue?: QueueKey }) =>
      run('retry', (config) =>
        withQueues(config, opts.queue ? [opts.queue] : KEYS, async (queues) => {
          let total = 0;
          for (const [key, queue] of queues) {
            const { failed } = await queueDepth(queue);
            if (failed === 0) continue;
            await queue.retryJobs({ state: 'failed', count: 1000 });
            process.stdout.write(`${QUEUES[key]}: ${failed} việc thử lại / job(s) retried\n`);
            total += failed;
          }
          if (total === 0) process.stdout.write('Không có việc nào thất bại / no failed jobs\n');
        }),
      ),
    );
  return jobs;
}
