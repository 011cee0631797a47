import { Command } from 'commander';
import { loadCliConfig } from './cli/cli-config.ts';
import type { Config } from './config.ts';
import { DomainError } from './domain/errors.ts';
import { markStopping } from './queue/stopping.ts';
import type { ServeOptions } from './serve.ts';

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
  const { createLogger } = await import('./logger.ts');
  const { RedisUnavailableError } = await import('./queue/redis.ts');
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

/** The subcommand this run asks for: `thukho NAME …` or `thukho help NAME`. */
const invoked = process.argv[2] === 'help' ? process.argv[3] : process.argv[2];

/**
 * A command defined in its own module: that module, and all it imports, loads only when this
 * run asks for the command (loading every command's modules cost each start seconds of CPU).
 * Otherwise it is listed by name and description, for `thukho --help`; keep the description
 * the same as the module's.
 */
async function lazyCommand(name: string, description: string, load: () => Promise<Command>): Promise<void> {
  if (name !== invoked) {
    program.command(name).description(description);
    return;
  }
  const command = await load();
  if (command.name() !== name) throw new Error(`lazyCommand: "${name}" loaded a command named "${command.name()}"`);
  program.addCommand(command);
}

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
    const { randomBytes } = await import('node:crypto');
    const { streamExists } = await import('./application/command-handler.ts');
    const { createUserWithPassword, issueToken, userStream } = await import('./application/users.ts');
    const { closeIngest, openIngest } = await import('./application/open-ingest.ts');
    const { DEMO_COLLECTION, DEMO_OBJECTS, seedDemo } = await import('./cli/demo-collection.ts');
    const { CLI_ACTOR } = await import('./cli/cli-config.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
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

await lazyCommand('seal', 'Niêm phong nhật ký ngay và chép lên mọi bản sao / seal the event log now and write the seal to every replica root', async () =>
  (await import('./cli/seal-command.ts')).sealCommand(),
);
await lazyCommand('fixity', 'Kiểm tra tính toàn vẹn ngay / check fixity now (resumable: run the same command again after an interruption)', async () => {
  const { damageAlert, repairWith } = await import('./application/preservation.ts');
  const { createLogger } = await import('./logger.ts');
  return (await import('./cli/fixity-command.ts')).fixityCommand({
    makeRepair: (cfg) => repairWith(cfg),
    onDamaged: (event, cfg) => damageAlert(cfg, createLogger(cfg.logLevel))(event),
  });
});
await lazyCommand('audit-report', 'Báo cáo kiểm tra tính toàn vẹn theo bộ sưu tập / fixity audit report per collection', async () =>
  (await import('./cli/audit-report-command.ts')).auditReportCommand(),
);
await lazyCommand('stats', 'Thống kê sử dụng (xem, tải, tìm kiếm) / usage statistics: views, downloads, searches', async () =>
  (await import('./cli/stats-command.ts')).statsCommand(),
);
await lazyCommand('export-log', 'Xuất nhật ký sự kiện (JSON Lines) để kiểm toán độc lập / export the event log as JSON Lines, for tools/verify-chain.py', async () =>
  (await import('./cli/export-log-command.ts')).exportLogCommand(),
);
await lazyCommand('replicas', 'Bản sao lưu trữ / replica storage roots (THUKHO_REPLICAS)', async () =>
  (await import('./cli/replicas-command.ts')).replicasCommand(),
);
await lazyCommand('ocr', 'Nhận dạng chữ (OCR) các trang của tài liệu / queue OCR of every page of a work or a collection', async () =>
  (await import('./cli/ocr-command.ts')).ocrCommand(),
);
await lazyCommand('jobs', 'Việc chạy nền / background jobs: what failed and why', async () => (await import('./cli/jobs-command.ts')).jobsCommand());
await lazyCommand('recover', 'Dựng lại kho từ một gốc lưu trữ OCFL / rebuild the repository from one OCFL storage root alone', async () =>
  (await import('./cli/recover-command.ts')).recoverCommand(),
);

program
  .command('verify')
  .description('Kiểm tra chuỗi băm của toàn bộ nhật ký / verify the hash chain of every stream')
  .option('--json', 'report as JSON')
  .action(async (opts: { json?: boolean }) => {
    const { requireRepository } = await import('./cli/repository.ts');
    const { progress } = await import('./cli/progress.ts');
    const { verifySealsForCli } = await import('./cli/seal-command.ts');
    const { verifyReplicasForCli } = await import('./cli/replicas-command.ts');
    const { verifyFixityConsistency } = await import('./application/provenance.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
    const { verifyLog } = await import('./eventstore/verify.ts');
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
    const { projectionsFor } = await import('./projections/all.ts');
    const cfg = config();
    const PROJECTIONS = projectionsFor(cfg);
    const chosen = name === 'all' ? Object.values(PROJECTIONS) : name === 'search' ? [] : [PROJECTIONS[name]];
    if (chosen.some((p) => p === undefined)) {
      process.stderr.write(`thukho rebuild: không có phép chiếu "${name}" / no projection "${name}"; choose one of: ${Object.keys(PROJECTIONS).join(', ')}, search, all\n`);
      process.exit(2);
    }
    const { requireRepository } = await import('./cli/repository.ts');
    const { progress } = await import('./cli/progress.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
    const { openReadModelDb } = await import('./projections/read-model-db.ts');
    const { rebuildProjection } = await import('./projections/runtime.ts');
    const { rebuildSearchIndex } = await import('./projections/search-runner.ts');
    const { openSearchIndex } = await import('./search/open.ts');
    await requireRepository(cfg, 'rebuild');
    const store = await openEventStore(cfg.eventStore);
    const db = openReadModelDb(cfg.readModelPath);
    const finish = (label: string, events: number, started: number) => {
      const secs = (Date.now() - started) / 1000;
      return `rebuild ${label}: ${events} sự kiện / events in ${secs.toFixed(1)} s (${Math.round(events / Math.max(secs, 0.001))}/s)`;
    };
    for (const projection of chosen as Array<NonNullable<(typeof chosen)[number]>>) {
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
  // Named here, not read from workers/index.ts: that registry loads sharp and every worker.
  .argument('<name>', 'one of: audit, derivatives, ocr, seal, replication, fixity; several joined by "+" run in one process')
  .action(async (name: string) => {
    const { WORKERS } = await import('../workers/index.ts');
    const start = WORKERS[name];
    if (!start) {
      process.stderr.write(`thukho worker: không có "${name}" / no worker "${name}"; choose one of: ${Object.keys(WORKERS).join(', ')}\n`);
      process.exit(2);
    }
    const { setTimeout: sleep } = await import('node:timers/promises');
    const { requireRepository } = await import('./cli/repository.ts');
    const { createLogger } = await import('./logger.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
    const { resolveRedis } = await import('./queue/redis.ts');
    const { supervisorGone } = await import('./queue/supervisor.ts');
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
    const { closeIngest, openIngest } = await import('./application/open-ingest.ts');
    const { reconcileIngests } = await import('./application/reconcile.ts');
    const { bulkIngest, formatSummary, hasProblems } = await import('./cli/bulk-ingest.ts');
    const { CLI_ACTOR } = await import('./cli/cli-config.ts');
    const { createLogger } = await import('./logger.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
    const { SealRefusedError, sealNow } = await import('./eventstore/seal.ts');
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
    const { closeIngest, openIngest } = await import('./application/open-ingest.ts');
    const { exportBag } = await import('./application/bag-export.ts');
    const { reasonOf } = await import('./cli/bulk-ingest.ts');
    const { requireRepository } = await import('./cli/repository.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
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
    const { closeIngest, openIngest } = await import('./application/open-ingest.ts');
    const { reconcileIngests } = await import('./application/reconcile.ts');
    const { BagRefusedError, importBag } = await import('./application/bag-import.ts');
    const { reasonOf } = await import('./cli/bulk-ingest.ts');
    const { CLI_ACTOR } = await import('./cli/cli-config.ts');
    const { progress } = await import('./cli/progress.ts');
    const { createLogger } = await import('./logger.ts');
    const { openEventStore } = await import('./eventstore/open.ts');
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

await lazyCommand('users', 'Quản lý tài khoản / manage accounts, roles, passwords and API tokens', async () =>
  (await import('./cli/users-command.ts')).usersCommand(),
);
await lazyCommand('libraries', 'Các thư viện dùng chung hệ thống / the libraries sharing this instance', async () =>
  (await import('./cli/libraries-command.ts')).librariesCommand(),
);
await lazyCommand('collections', 'Bộ sưu tập / collections', async () =>
  (await import('./cli/libraries-command.ts')).collectionsCommand(),
);
await lazyCommand('harvest', 'Thu hoạch bản ghi qua OAI-PMH từ kho khác / harvest records from another repository over OAI-PMH (metadata)', async () =>
  (await import('./cli/harvest-command.ts')).harvestCommand(),
);
await lazyCommand('import-saf', 'Nhập bản xuất DSpace (Simple Archive Format) / import a DSpace Simple Archive Format export', async () =>
  (await import('./cli/saf-command.ts')).importSafCommand(),
);
await lazyCommand('import-iiif', 'Nhập tài liệu từ manifest IIIF của cơ quan khác / import works from IIIF manifests (Presentation 3 or 2) or a IIIF Collection', async () =>
  (await import('./cli/iiif-import-command.ts')).importIiifCommand(),
);

// Backups that restore (ops/backup, ops/restore call these).
await lazyCommand('backup', 'Sao lưu nhật ký, mô hình đọc và kho OCFL khi máy chủ vẫn chạy / back up the log, read models and OCFL root while the server runs', async () =>
  (await import('./cli/backup-command.ts')).backupCommand(),
);
await lazyCommand('restore', 'Khôi phục từ bản sao lưu (kiểm tra từng tệp trước) / restore from a backup, every file verified first', async () =>
  (await import('./cli/backup-command.ts')).restoreCommand(),
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof DomainError) {
    process.stderr.write(`thukho: ${err.messages.vi} / ${err.messages.en}\n`);
    process.exit(1);
  }
  throw err;
}
