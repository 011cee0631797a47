/**
 * The reference: the best case for the same bytes. The pages of thukho's first harvest,
 * saved as files (bench/oai/harvest.ts pageFileName), served by Debian's nginx as static
 * files at /oai, the page picked by the request's resumptionToken, so that the same
 * harvester harvests them the same way. nginx runs unprivileged (as nobody when the bench
 * runs as root) on a free high port with a temporary configuration, one worker process, as
 * a small server would; when nginx cannot run, a bare Node http server streams the files
 * instead (and the bench says so).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { freePort, type Group, startGroup, stopGroup, waitForPort } from '../iiif/procs.ts';
import { pageFileName } from './harvest.ts';

export interface Reference {
  kind: 'nginx' | 'node';
  endpoint: string;
  /** The process serving it (nginx's worker), for its RSS. */
  pid: number;
  /** Its process group (nginx's master and worker), for its CPU time. */
  pgid: number;
  stop: () => Promise<void>;
}

const NGINX = '/usr/sbin/nginx';

/**
 * `pagesDir` holds the saved pages (pageFileName(i)), `tokens[i]` the encoded token that asked
 * for page i (null for the first); `workDir` is the reference's own (config, logs, pid).
 */
export async function startReference(pagesDir: string, tokens: ReadonlyArray<string | null>, workDir: string): Promise<Reference> {
  if (process.env.OAI_BENCH_REFERENCE === 'node') return startNodeStatic(pagesDir, tokens);
  try {
    return await startNginx(pagesDir, tokens, workDir);
  } catch (err) {
    console.log(`  nginx could not be run (${(err as Error).message.split('\n')[0]}); the reference is a bare Node http server streaming the files`);
    return startNodeStatic(pagesDir, tokens);
  }
}

async function startNginx(pagesDir: string, tokens: ReadonlyArray<string | null>, workDir: string): Promise<Reference> {
  if (spawnSync(NGINX, ['-v']).status !== 0) throw new Error(`${NGINX} not found (apt-get install -y nginx)`);
  const dir = join(workDir, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const root = process.getuid?.() === 0;
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  // Token → page: a map, looked up in a hash as a file name would be (a token may hold
  // characters a file name cannot; an encoded one is matched undecoded, as the client sends it).
  const map = tokens.map((t, i) => (t === null ? '' : `    "${t}" ${pageFileName(i)};\n`)).join('');
  const longest = Math.max(64, ...tokens.map((t) => t?.length ?? 0));
  writeFileSync(
    conf,
    `# bench/oai: the saved pages as static files; temporary, removed with the run.
worker_processes 1;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { text/xml xml; }
  charset utf-8;
  charset_types text/xml;
  map_hash_max_size ${Math.max(2048, tokens.length * 2)};
  map_hash_bucket_size ${2 ** Math.ceil(Math.log2(longest + 32))};
  map $arg_resumptionToken $page {
    default missing;
    "" ${pageFileName(0)};
${map}  }
  server {
    listen 127.0.0.1:${port};
    root ${pagesDir};
    location = /oai {
      try_files /$page =404;
    }
  }
}
`,
  );
  // Unprivileged: as root, the whole nginx (master too) runs as nobody, so its work
  // directory and the pages must be readable (and the work directory writable) by it.
  if (root) {
    for (const d of [workDir, pagesDir]) chmodSync(d, 0o755);
    chownSync(dir, 65534, 65534);
    chownSync(join(dir, 'logs'), 65534, 65534);
  }
  const args = ['-c', conf, '-p', dir, '-e', `${dir}/logs/error.log`, '-g', 'daemon off;'];
  const group: Group = root
    ? startGroup('nginx', 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NGINX, ...args], { logPath: join(workDir, 'nginx.log') })
    : startGroup('nginx', NGINX, args, { logPath: join(workDir, 'nginx.log') });
  await waitForPort(port, 10_000, group);
  const endpoint = `http://127.0.0.1:${port}/oai`;
  const probe = await fetch(endpoint);
  await probe.arrayBuffer();
  if (probe.status !== 200) {
    await stopGroup(group);
    throw new Error(`nginx answered ${probe.status} for the first page`);
  }
  // The one worker: the process that serves (its master only waits).
  const children = spawnSync('pgrep', ['-P', String(group.pgid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  return { kind: 'nginx', endpoint, pid: Number(children[0] ?? group.pgid), pgid: group.pgid, stop: () => stopGroup(group, 5000) };
}

async function startNodeStatic(pagesDir: string, tokens: ReadonlyArray<string | null>): Promise<Reference> {
  const pages = new Map(tokens.map((t, i) => [t === null ? null : decodeURIComponent(t), i]));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const page = pages.get(url.searchParams.get('resumptionToken'));
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    const path = join(pagesDir, pageFileName(page));
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'content-length': size });
    createReadStream(path).pipe(res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { kind: 'node', endpoint: `http://127.0.0.1:${port}/oai`, pid: process.pid, pgid: process.pid, stop: () => new Promise((r) => server.close(() => r())) };
}
