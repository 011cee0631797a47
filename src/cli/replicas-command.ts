import { Command } from 'commander';
import type { Config } from '../config.ts';
import { isStorageRoot } from '../storage/ocfl.ts';
import { initReplicaRoot } from '../storage/replicas.ts';
import { loadCliConfig } from './cli-config.ts';
import { requireRepository } from './repository.ts';

/**
 * `thukho replicas init LABEL`: the one way a replica root comes to exist. `serve` and the
 * workers never create one, because an unmounted NAS looks exactly like the empty directory
 * of a new replica. Also the replica half of `thukho verify`.
 */

export interface ReplicaState {
  label: string;
  path: string;
  readable: boolean;
}

/**
 * Whether every configured replica is an OCFL storage root now; prints one line per replica
 * that is not. `thukho verify` exits 1 on any: a copy that cannot be read protects nothing.
 */
export async function verifyReplicasForCli(config: Pick<Config, 'replicas'>, options: { quiet?: boolean } = {}): Promise<{ exitCode: 0 | 1; replicas: ReplicaState[] }> {
  const replicas = await Promise.all(config.replicas.map(async (r) => ({ label: r.label, path: r.path, readable: await isStorageRoot(r.path) })));
  const unreadable = replicas.filter((r) => !r.readable);
  if (!options.quiet) {
    if (config.replicas.length > 0 && unreadable.length === 0) {
      process.stdout.write(`OK: ${replicas.length} bản sao đọc được / replica root(s) readable: ${replicas.map((r) => r.label).join(', ')}\n`);
    }
    for (const r of unreadable) {
      process.stdout.write(
        `KHÔNG ĐỌC ĐƯỢC BẢN SAO / REPLICA UNREADABLE: ${r.label} (${r.path}) không phải kho OCFL / is not an OCFL storage root: ` +
          `ổ đĩa chưa gắn? / disk not mounted? (a new replica: thukho replicas init ${r.label})\n`,
      );
    }
  }
  return { exitCode: unreadable.length ? 1 : 0, replicas };
}

export function replicasCommand(): Command {
  const replicas = new Command('replicas').description('Bản sao lưu trữ / replica storage roots (THUKHO_REPLICAS)');
  replicas
    .command('init')
    .description('make a configured replica an empty OCFL storage root (serve and the workers then fill it)')
    .argument('<label>', 'the replica\'s label in THUKHO_REPLICAS (LABEL=PATH; unlabelled ones are replica-1, replica-2, …)')
    .action(async (label: string) => {
      const config = loadCliConfig();
      await requireRepository(config, 'replicas init');
      try {
        const { replica, created } = await initReplicaRoot(config, label);
        process.stdout.write(
          created
            ? `Đã tạo kho OCFL cho bản sao / initialised replica "${replica.label}" at ${replica.path}; serve's replication sweep fills it (every 15 min, or at the next start)\n`
            : `Bản sao đã là kho OCFL, không thay đổi gì / replica "${replica.label}" at ${replica.path} is already an OCFL storage root; nothing changed\n`,
        );
      } catch (err) {
        process.stderr.write(`thukho replicas init: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
  return replicas;
}
