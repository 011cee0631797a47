import { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamExists } from './application/command-handler.ts';
import { randomBytes } from 'node:crypto';
import { createUserWithPassword, issueToken, userStream } from './application/users.ts';
import { closeIngest, openIngest } from './application/open-ingest.ts';
import { reconcileIngests } from './application/reconcile.ts';
import { BagRefusedError, importBag } from './application/bag-import.ts';
import { exportBag } from './application/bag-export.ts';
import { bulkIngest, formatSummary, hasProblems, reasonOf } from './cli/bulk-ingest.ts';
import { DEMO_COLLECTION, DEMO_OBJECTS, seedDemo } from './cli/demo-collection.ts';
import { progress } from './cli/progress.ts';
import { CLI_ACTOR, loadCliConfig } from './cli/cli-config.ts';
import { requireRepository } from './cli/repository.ts';
import type { Config } from './config.ts';
import { DomainError } from './domain/errors.ts';
import { openEventStore } from './eventstore/open.ts';
import { verifyLog } from './eventstore/verify.ts';
import { SealRefusedError, sealNow } from './eventstore/seal.ts';
import { sealCommand, verifySealsForCli } from './cli/seal-command.ts';
import { fixityCommand } from './cli/fixity-command.ts';
import { auditReportCommand } from './cli/audit-report-command.ts';
import { statsCommand } from './cli/stats-command.ts';
import { exportLogCommand } from './cli/export-log-command.ts';
import { replicasCommand, verifyReplicasForCli } from './cli/replicas-command.ts';
import { ocrCommand } from './cli/ocr-command.ts';
import { jobsCommand } from './cli/jobs-command.ts';
import { usersCommand } from './cli/users-command.ts';
import { collectionsCommand, librariesCommand } from './cli/libraries-command.ts';
import { backupCommand, restoreCommand } from './cli/backup-command.ts';
import { harvestCommand } from './cli/harvest-command.ts';
import { importSafCommand } from './cli/saf-command.ts';
import { damageAlert, repairWith } from './application/preservation.ts';
import { verifyFixityConsistency } from './application/provenance.ts';
import { createLogger } from './logger.ts';
import { projectionsFor } from './projections/all.ts';
import type { Projection } from './projections/projection.ts';
import { openReadModelDb } from './projections/read-model-db.ts';
import { rebuildProjection } from './projections/runtime.ts';
import { recoverCommand } from './cli/recover-command.ts';
import { rebuildSearchIndex } from './projections/search-runner.ts';
import { openSearchIndex } from './search/open.ts';
import { RedisUnavailableError, resolveRedis } from './queue/redis.ts';
import { markStopping } from './queue/stopping.ts';
import { supervisorGone } from './queue/supervisor.ts';
import type { ServeOptions } from './serve.ts';
import { WORKERS } from '../workers/index.ts';

/**
 * The `thukho` command. Every subcommand reads the same configuration (environment, see
 * README); output for people goes to stdout, JSON logs to stderr.
 */

const config = loadCliConfig;

/** How long a worker's close may wait for redis before the process leaves anyway. */
const WORKER_CLOSE_MS = 5_000;

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        markStopping();
        resolve(sig);
      });
    }
  });
}

async function serve(cfg: Config, options: ServeOptions, onReady?: (url: string) => Promise<void>): Promise<void> {
  const logger = createLogger(cfg.logLevel);
  // Loaded here, not at the top: the HTTP stack costs a second of start-up to every other command.
  const { StartupError, startServer } = await import('./serve.ts');
  const stopSignal = waitForSignal();
  let server;
  try {
    server = await startServer(cfg, logger, options);
  } catch (err) {
    if (!(err instanceof StartupError || err instanceof RedisUnavailableError)) throw err;
    process.stderr.write(`thukho: ${err.message}\n`);
    process.exit(2);
  }
  await onReady?.(server.url);
  const signal = await stopSignal;
  logger.info({ signal }, 'stopping');
  await server.stop();
}

const program = new Command()
  .name('thukho')
  .description('Thư khố — kho lưu trữ số / event-sourced digital preservation repository')
  .showHelpAfterError();

program
  .command('serve')
  .description('Chạy máy chủ / run the server (HTTP API, projections, and the workers as child processes)')
  .option('--no-workers', 'do not start the workers (run them with `thukho worker NAME` elsewhere)')
  .action(async (opts: { workers: boolean }) => {
    const cfg = config();
    await serve(cfg, { workers: opts.workers }, async (url) => {
      process.stdout.write(`thukho: đang phục vụ tại / serving at ${url}\n`);
    });
  });

program
  .command('demo')
  .description('Tạo bộ sưu tập mẫu rồi chạy máy chủ / create the demo collection, then serve it')
  .action(async () => {
    // The demo is watched by a person in a terminal: request logs only when asked for.
    process.env.THUKHO_LOG_LEVEL ??= 'warn';
    const cfg = config();
    if (cfg.eventStore.kind !== 'sqlite') {
      process.stderr.write('thukho demo chạy trên hồ sơ nhúng (SQLite) / runs on the embedded profile only: unset THUKHO_EVENTSTORE\n');
      process.exit(2);
    }
    process.stderr.write('thukho demo: chuẩn bị bộ sưu tập mẫu / preparing the demo collection (the first time: under a minute)\n');
    const store = await openEventStore(cfg.eventStore);
    const ingest = await openIngest(cfg, store);
    const seeded = await seedDemo(ingest, { actor: CLI_ACTOR });
    await closeIngest(ingest);
    // One account to try everything with: the workspace signs in with the password, scripts use the token.
    let demoAccount: { password: string; token: string } | undefined;
    if (!(await streamExists(store, userStream('demo')))) {
      const password = randomBytes(9).toString('base64url');
      await createUserWithPassword(store, 'demo', 'Quản trị mẫu (demo admin)', 'admin', password, { actor: CLI_ACTOR });
      const { token } = await issueToken(store, 'demo', 'default', undefined, { actor: CLI_ACTOR });
      demoAccount = { password, token };
    }
    await store.close();
    await serve(cfg, { workers: true }, async (url) => {
      const lines = [
        '',
        `  Thư khố đang chạy / thukho is running: ${url}`,
        `  Phòng đọc / reading room: ${url}/objects/${DEMO_OBJECTS[0]?.id ?? ''}   ·   tìm kiếm / search: ${url}/search`,
        `  Bộ sưu tập mẫu / demo collection: "${DEMO_COLLECTION.title}" (${DEMO_OBJECTS.length} tài liệu / objects${seeded.created ? '' : ', đã có sẵn / already present'})`,
        `  API: ${url}/api/objects   ·   ${url}/health   ·   ${url}/api/openapi.json`,
        `  IIIF: ${url}/iiif/collection/top   ·   ${url}/iiif/manifest/${DEMO_OBJECTS[0]?.id ?? ''} (mở bằng Mirador, Universal Viewer… / open in any IIIF viewer)`,
        `  Khu làm việc của cán bộ / staff workspace: ${url}/staff`,
        ...(demoAccount
          ? [
              `  Tài khoản / account: demo   ·   mật khẩu / password: ${demoAccount.password}   (hiển thị một lần / shown once)`,
              `  Mã API / API token: ${demoAccount.token}`,
            ]
          : ['  Tài khoản demo đã tạo trước đó; đặt mật khẩu mới: thukho users password demo / the demo account exists; new password: thukho users password demo']),
        '  Dừng / stop: Ctrl-C',
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  });

program.addCommand(sealCommand());
program.addCommand(
  fixityCommand({
    makeRepair: (cfg) => repairWith(cfg),
    onDamaged: (event, cfg) => damageAlert(cfg, createLogger(cfg.logLevel))(event),
  }),
);
program.addCommand(auditReportCommand());
program.addCommand(statsCommand());
program.addCommand(exportLogCommand());
program.addCommand(replicasCommand());
program.addCommand(ocrCommand());
program.addCommand(jobsCommand());
program.addCommand(recoverCommand());

program
  .command('verify')
  .description('Kiểm tra chuỗi băm của toàn bộ nhật ký / verify the hash chain of every stream')
  .option('--json', 'report as JSON')
  .action(async (opts: { json?: boolean }) => {
    const cfg = config();
    await requireRepository(cfg, 'verify');
    const store = await openEventStore(cfg.eventStore);
    const bar = progress('verify', 'events');
    const report = await verifyLog(store, (p) => bar.update(p.events, undefined, `${p.streams} streams`));
    if (!opts.json) {
      if (report.broken.length === 0) {
        bar.finish(`OK: ${report.streams} luồng / streams, ${report.events} sự kiện / events — chuỗi băm nguyên vẹn / hash chains intact`);
      } else {
        bar.finish(`HỎNG / BROKEN: ${report.broken.length} luồng có mắt xích hỏng / stream(s) with a broken link`);
        for (const b of report.broken) {
          process.stdout.write(`  ${b.streamId} @ revision ${b.revision}${b.eventId ? ` (event ${b.eventId})` : ''}: ${b.reason}\n`);
        }
      }
    }
    // Every fixity record must agree with the digests recorded at ingest.
    const fixityBar = progress('verify fixity', 'events');
    const fixity = await verifyFixityConsistency(store, 'all', (p) => fixityBar.update(p.events, undefined, `${p.streams} streams`));
    if (!opts.json) {
      if (fixity.problems.length === 0) fixityBar.finish(`OK: ${fixity.checked} bản ghi kiểm tra / fixity records agree with ingest`);
      else {
        fixityBar.finish(`SAI LỆCH / INCONSISTENT: ${fixity.problems.length} bản ghi / fixity record(s)`);
        for (const p of fixity.problems) process.stdout.write(`  ${p.streamId} @ revision ${p.revision} (event ${p.eventId}): ${p.reason}\n`);
      }
    }
    // A rewrite with recomputed hashes passes the chains: the seals on the replicas name it.
    const seals = await verifySealsForCli(cfg, store, { quiet: opts.json === true });
    await store.close();
    const replicas = await verifyReplicasForCli(cfg, { quiet: opts.json === true });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...report, fixity, seals: seals.report, replicas: replicas.replicas }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
    }
    process.exitCode = report.broken.length || fixity.problems.length || seals.exitCode || replicas.exitCode ? 1 : 0;
  });

program
  .command('rebuild')
  .description('Xây lại một phép chiếu từ nhật ký / drop and replay one projection')
  .argument('<name>', 'projection: objects, users, manifests, dispatcher, fixity, page-text, stats, description-queue, oai, search, or "all"')
  .action(async (name: string) => {
    const cfg = config();
    const PROJECTIONS = projectionsFor(cfg);
    const chosen = name === 'all' ? Object.values(PROJECTIONS) : name === 'search' ? [] : [PROJECTIONS[name]];
    if (chosen.some((p) => p === undefined)) {
      process.stderr.write(`thukho rebuild: không có phép chiếu "${name}" / no projection "${name}"; choose one of: ${Object.keys(PROJECTIONS).join(', ')}, search, all\n`);
      process.exit(2);
    }
    await requireRepository(cfg, 'rebuild');
    const store = await openEventStore(cfg.eventStore);
    const db = openReadModelDb(cfg.readModelPath);
    const finish = (label: string, events: number, started: number) => {
      const secs = (Date.now() - started) / 1000;
      return `rebuild ${label}: ${events} sự kiện / events in ${secs.toFixed(1)} s (${Math.round(events / Math.max(secs, 0.001))}/s)`;
    };
    for (const projection of chosen as Projection[]) {
      const bar = progress(`rebuild ${projection.name}`, 'events');
      const started = Date.now();
      const result = await rebuildProjection(store, db, projection, (p) => bar.update(Number(p.position), Number(p.head), `${p.events} applied`));
      bar.finish(finish(projection.name, result.events, started));
    }
    db.close();
    if (name === 'search' || name === 'all') {
      // The search index is its own store (a file, or a Typesense cluster) with its own checkpoint.
      const index = openSearchIndex(cfg);
      const bar = progress('rebuild search', 'events');
      const started = Date.now();
      const result = await rebuildSearchIndex(store, index, (p) => bar.update(Number(p.position), Number(p.head), `${p.events} applied`));
      bar.finish(finish('search', result.events, started));
      await index.close();
    }
    await store.close();
  });

program
  .command('worker')
  .description('Chạy một tiến trình xử lý nền / run one background worker alone (cluster profile)')
  .argument('<name>', `one of: ${Object.keys(WORKERS).join(', ')}`)
  .action(async (name: string) => {
    const start = WORKERS[name];
    if (!start) {
      process.stderr.write(`thukho worker: không có "${name}" / no worker "${name}"; choose one of: ${Object.keys(WORKERS).join(', ')}\n`);
      process.exit(2);
    }
    const cfg = config();
    await requireRepository(cfg, 'worker');
    const logger = createLogger(cfg.logLevel, `thukho-worker-${name}`);
    const store = await openEventStore(cfg.eventStore);
    const redis = await resolveRedis({ redisUrl: cfg.redisUrl, dataDir: cfg.dataDir, logger });
    const worker = await start({ store, redisUrl: redis.url, logger, config: cfg });
    logger.info({ worker: name }, 'worker running');
    const supervisor = supervisorGone();
    if ((await Promise.race([waitForSignal(), supervisor.gone])) === 'supervisor gone') {
      logger.warn({ worker: name }, 'the server that started this worker is gone; stopping');
    }
    // Closing waits for redis; one that is gone must not keep this process alive (its jobs
    // are retried by the next worker).
    const closed = await Promise.race([worker.close().then(() => true), sleep(WORKER_CLOSE_MS, false, { ref: false })]);
    if (!closed) logger.warn({ worker: name }, 'redis does not answer; leaving without a clean close');
    supervisor.release();
    await redis.stop();
    await store.close();
    if (!closed) process.exit(0);
  });

program
  .command('ingest')
  .description('Nhập hàng loạt một thư mục / bulk-ingest a folder of object folders')
  .argument('<dir>', 'a folder holding one folder per object (and optionally metadata.csv)')
  .requiredOption('--collection <id>', 'the collection the objects belong to')
  .option('--dry-run', 'check everything, write nothing')
  .option('--json', 'print the summary as JSON (works created, changed, unchanged, refused; files; bytes)')
  .action(async (dir: string, opts: { collection: string; dryRun?: boolean; json?: boolean }) => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    const store = await openEventStore(cfg.eventStore);
    const ingest = await openIngest(cfg, store);
    const reconciled = await reconcileIngests(ingest, logger);
    if (reconciled.completed || reconciled.discarded) logger.warn({ ...reconciled }, 'reconciled interrupted ingests');
    try {
      const summary = await bulkIngest(ingest, { dir, collectionId: opts.collection, dryRun: opts.dryRun === true, actor: CLI_ACTOR });
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
      process.exitCode = hasProblems(summary) ? 1 : 0;
      if (!opts.dryRun && summary.files.ingested > 0) {
        // A bulk ingest is a lot of history at once: seal it now rather than within the hour.
        const sealed = await sealNow(store, cfg.replicas, CLI_ACTOR);
        if (sealed.status === 'sealed') {
          process.stderr.write(`niêm phong / sealed: ${sealed.seal.merkleRoot} @ ${sealed.seal.position}${sealed.writtenTo.length ? ` → ${sealed.writtenTo.map((r) => r.label).join(', ')}` : ' (chưa có bản sao / no replicas)'}\n`);
        }
      }
    } catch (err) {
      if (err instanceof SealRefusedError) {
        process.stderr.write(`thukho ingest: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`thukho ingest: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } finally {
      await closeIngest(ingest);
      await store.close();
    }
  });

program
  .command('export-bag')
  .description('Xuất một tài liệu thành gói BagIt / export an object as a BagIt 1.0 bag')
  .argument('<objectId>')
  .argument('<outDir>', 'must not exist or be empty')
  .action(async (objectId: string, outDir: string) => {
    const cfg = config();
    await requireRepository(cfg, 'export-bag');
    const store = await openEventStore(cfg.eventStore);
    const ingest = await openIngest(cfg, store);
    try {
      const result = await exportBag({ store, ocfl: ingest.ocfl, institution: cfg.institution }, objectId, outDir);
      process.stdout.write(`${outDir}: ${result.files} tệp/files, ${result.bytes} bytes (Payload-Oxum ${result.payloadOxum})\n`);
    } catch (err) {
      process.stderr.write(`thukho export-bag: ${reasonOf(err)}\n`);
      process.exitCode = 1;
    } finally {
      await closeIngest(ingest);
      await store.close();
    }
  });

program
  .command('ingest-bag')
  .description('Kiểm tra và nhập một gói BagIt / validate a BagIt bag, then ingest it as one work')
  .argument('<dir>')
  .option('--collection <id>', 'collection for the work (default: from the bag)')
  .option('--id <objectId>', "the work's id (default: metadata/object.json, else External-Identifier, else the folder name)")
  .option('--title <title>', "the work's title (default: metadata/object.json, else bag-info.txt Title or External-Description, else the folder name)")
  .action(async (dir: string, opts: { collection?: string; id?: string; title?: string }) => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    const store = await openEventStore(cfg.eventStore);
    const ingest = await openIngest(cfg, store);
    await reconcileIngests(ingest, logger);
    const bar = progress('kiểm tra gói / validating bag', 'B');
    try {
      const result = await importBag(ingest, dir, {
        ...(opts.collection ? { collectionId: opts.collection } : {}),
        ...(opts.id ? { objectId: opts.id } : {}),
        ...(opts.title ? { title: opts.title } : {}),
        actor: CLI_ACTOR,
        onProgress: (p) => bar.update(p.bytes, undefined, `${p.files} files`),
      });
      bar.finish('kiểm tra xong / checked');
      if (result.status === 'already-here') {
        process.stdout.write(
          `Đã có trong kho, không nhập lại / already here, nothing ingested: ${result.objectId} (${result.files} tệp/files)\n`,
        );
      } else {
        const tags = result.tagVerified.length ? `; tệp thẻ / tag files: ${result.tagVerified.join(', ')}` : '';
        process.stdout.write(
          `Đã nhập / ingested: ${result.objectId} (${result.files} tệp/files; đã kiểm tra / verified: ${result.verified.join(', ')}${tags})${result.resumed ? ' — tiếp tục lần nhập bị dừng / resumed an interrupted import' : ''}\n`,
        );
      }
    } catch (err) {
      if (err instanceof BagRefusedError) {
        bar.finish(`Gói bị từ chối, không nhập gì / bag refused, nothing ingested (${err.problems.length}):`);
        for (const p of err.problems) process.stdout.write(`  ✗ ${p.path ?? dir} [${p.code}] ${p.message.vi} / ${p.message.en}\n`);
      } else process.stderr.write(`thukho ingest-bag: ${reasonOf(err)}\n`);
      process.exitCode = 1;
    } finally {
      await closeIngest(ingest);
      await store.close();
    }
  });

program.addCommand(usersCommand());
program.addCommand(librariesCommand());
program.addCommand(collectionsCommand());
program.addCommand(harvestCommand());
program.addCommand(importSafCommand());

// Backups that restore (ops/backup, ops/restore call these).
program.addCommand(backupCommand());
program.addCommand(restoreCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof DomainError) {
    process.stderr.write(`thukho: ${err.messages.vi} / ${err.messages.en}\n`);
    process.exit(1);
  }
  throw err;
}
