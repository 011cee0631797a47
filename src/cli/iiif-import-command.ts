import { Command, InvalidArgumentError } from 'commander';
import { importIiif } from '../application/iiif-import.ts';
import { ACCESS_LEVELS, type AccessLevel } from '../domain/metadata.ts';
import { CLI_ACTOR } from './cli-config.ts';
import { progress } from './progress.ts';
import { parseCollection, runImport } from './run-import.ts';

/**
 * `thukho import-iiif URL… [--collection ID] [--access LEVEL] [--dry-run] [--timeout S] [--json]`:
 * works from other institutions' IIIF manifests (or every manifest of a IIIF Collection), see
 * src/application/iiif-import.ts. Exit 0 when every work is in, 1 when one was refused or a
 * value not applied, 2 when the run could not start.
 */
const parseAccess = (value: string): AccessLevel => {
  if (!(ACCESS_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${ACCESS_LEVELS.join(', ')}`);
  return value as AccessLevel;
};
const parseSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('seconds, more than 0 and at most 3600');
  return n;
};
const parseRetries = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new InvalidArgumentError('a whole number from 0 to 10');
  return n;
};
const parseUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" không phải địa chỉ URL / is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}": chỉ http(s) / http(s) only`);
  return url.href;
};

export function importIiifCommand(): Command {
  return new Command('import-iiif')
    .description('Nhập tài liệu từ manifest IIIF của cơ quan khác / import works from IIIF manifests (Presentation 3 or 2) or a IIIF Collection')
    .argument('<url...>', 'manifest or collection URLs (http/https)')
    .option('--collection <id>', 'the collection the new works belong to', parseCollection)
    .option('--access <level>', `access level of the new works (${ACCESS_LEVELS.join(', ')})`, parseAccess, 'open' as AccessLevel)
    .option('--dry-run', 'fetch and check everything, write nothing')
    .option('--timeout <seconds>', 'how long one request may stay silent before it is given up', parseSeconds, 60)
    .option('--retries <n>', 'retries of a request after a timeout, a network error, 429 or 5xx', parseRetries, 2)
    .option('--json', 'print the summary as JSON (works created, changed, unchanged, refused; files; bytes)')
    .action(async (rawUrls: string[], opts: { collection?: string; access: AccessLevel; dryRun?: boolean; timeout: number; retries: number; json?: boolean }) => {
      let urls: string[];
      try {
        urls = rawUrls.map(parseUrl);
      } catch (err) {
        process.stderr.write(`thukho import-iiif: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      await runImport('import-iiif', { dryRun: opts.dryRun === true, json: opts.json === true }, (ingest) =>
        importIiif(ingest, {
          urls,
          ...(opts.collection ? { collectionId: opts.collection } : {}),
          accessLevel: opts.access,
          dryRun: opts.dryRun === true,
          actor: CLI_ACTOR,
          timeoutMs: opts.timeout * 1000,
          retries: opts.retries,
          progress,
        }),
      );
    });
}
