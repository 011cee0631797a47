import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { eventSchemas } from '../domain/events.ts';
import { CorruptEventError } from '../eventstore/envelope.ts';
import { openEventStore } from '../eventstore/open.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { SEAL_STREAM } from '../eventstore/seal.ts';
import { loadCliConfig } from './cli-config.ts';
import { requireRepository } from './repository.ts';
import { progress } from './progress.ts';

/**
 * `thukho export-log [--out FILE]`: the whole event log as JSON Lines, for an auditor who checks
 * it without our code (tools/verify-chain.py; the format is in docs/hash-chain.md):
 *
 *   {"format":"thukho-log/1","exportedAt":…,"upToPosition":P,"seal":{…}|null}
 *   {"streamId":…,"revision":0,"position":1,"id":…,"type":…,"data":{…},"metadata":{…}}   one per event, in log order
 *   {"end":{"events":N,"streams":S}}
 *
 * The export is of the log as of its head position when it starts (appends made meanwhile are
 * left out, so every stream in it is whole up to P), and `seal` is the newest SealCreated at
 * or before P. The end line lets a reader tell a whole export from a cut one.
 */
export const EXPORT_FORMAT = 'thukho-log/1';

export interface ExportedSeal {
  eventId: string;
  merkleRoot: string;
  position: bigint;
  streams: number;
  sealedAt: string;
}

export interface ExportSummary {
  events: number;
  streams: number;
  upToPosition: bigint | null;
  seal: ExportedSeal | null;
}

async function newestSealAtOrBefore(store: EventStore, upTo: bigint): Promise<ExportedSeal | null> {
  for await (const e of store.readStream(SEAL_STREAM, { direction: 'backwards' })) {
    if (e.position > upTo) continue;
    const data = eventSchemas.SealCreated.safeParse(e.data);
    // Not a seal an auditor could check against: the export says there is none, verify says why.
    if (!data.success) return null;
    return { eventId: e.id, merkleRoot: data.data.merkleRoot, position: BigInt(data.data.position), streams: data.data.streams, sealedAt: e.metadata.occurredAt };
  }
  return null;
}

// Built by hand so that revisions and positions (bigints) are written as exact JSON integers.
function eventLine(e: RecordedEvent): string {
  const str = JSON.stringify;
  return `{"streamId":${str(e.streamId)},"revision":${e.revision},"position":${e.position},"id":${str(e.id)},"type":${str(e.type)},"data":${str(e.data)},"metadata":${str(e.metadata)}}\n`;
}

function sealJson(seal: ExportedSeal | null): string {
  if (!seal) return 'null';
  const { position, ...rest } = seal;
  return JSON.stringify(rest).replace(/}$/, `,"position":${position}}`);
}

export async function exportLog(
  store: EventStore,
  out: NodeJS.WritableStream,
  options: { now?: () => Date; onProgress?: (events: number) => void } = {},
): Promise<ExportSummary> {
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  const upTo = await store.headPosition();
  const seal = upTo === null ? null : await newestSealAtOrBefore(store, upTo);
  const exportedAt = (options.now?.() ?? new Date()).toISOString();
  await write(`{"format":${JSON.stringify(EXPORT_FORMAT)},"exportedAt":${JSON.stringify(exportedAt)},"upToPosition":${upTo ?? 'null'},"seal":${sealJson(seal)}}\n`);
  const streams = new Set<string>();
  let events = 0;
  if (upTo !== null) {
    for await (const e of store.readAll()) {
      if (e.position > upTo) break;
      await write(eventLine(e));
      streams.add(e.streamId);
      events++;
      options.onProgress?.(events);
    }
  }
  await write(`{"end":{"events":${events},"streams":${streams.size}}}\n`);
  return { events, streams: streams.size, upToPosition: upTo, seal };
}

/** Written next to FILE and renamed into place when whole: FILE is never a cut export. */
async function exportToFile(store: EventStore, file: string, onProgress: (events: number) => void): Promise<ExportSummary> {
  const tmp = join(dirname(file), `.${randomUUID()}.export-log.tmp`);
  const out = createWriteStream(tmp, { flags: 'wx' });
  try {
    const summary = await exportLog(store, out, { onProgress });
    out.end();
    await once(out, 'finish');
    await rename(tmp, file);
    return summary;
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}

export function exportLogCommand(): Command {
  return new Command('export-log')
    .description('Xuất nhật ký sự kiện (JSON Lines) để kiểm toán độc lập / export the event log as JSON Lines, for tools/verify-chain.py')
    .option('--out <file>', 'write to FILE instead of stdout')
    .action(async (opts: { out?: string }) => {
      const config = loadCliConfig();
      await requireRepository(config, 'export-log');
      const store = await openEventStore(config.eventStore);
      const bar = progress('export-log', 'events');
      try {
        const file = opts.out === undefined ? null : resolve(opts.out);
        const summary = file
          ? await exportToFile(store, file, (n) => bar.update(n))
          : await exportLog(store, process.stdout, { onProgress: (n) => bar.update(n) });
        const seal = summary.seal ? `niêm phong / seal at position ${summary.seal.position}` : 'chưa niêm phong / no seal';
        bar.finish(
          `Đã xuất / exported ${summary.events} sự kiện / events, ${summary.streams} luồng / streams (up to position ${summary.upToPosition ?? 0}; ${seal})${file ? ` → ${file}` : ''}`,
        );
      } catch (err) {
        if (!(err instanceof CorruptEventError)) throw err;
        bar.finish(`HỎNG / BROKEN: ${err.message}; không xuất được / the log cannot be exported whole: run \`thukho verify\``);
        process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
