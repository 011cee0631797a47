/**
 * The machine's limit for serving the same tile bytes (issue 20): nginx (Debian) serving,
 * as static files, exactly the bytes thukho answers for every tile URL of the walk, written
 * to a directory tree that mirrors the URLs, so the walk's paths file serves both servers
 * unchanged. nginx runs as our own process (no system service: `daemon off`, a generated
 * config, pid, logs and temp paths in the run dir), one worker per core, on a free loopback
 * port, tuned as a static file server is (sendfile, open_file_cache, no access log).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, type Group, startGroup, stopGroup, waitForPort } from './procs.ts';

export const NGINX = '/usr/sbin/nginx';
export const NGINX_APT = 'apt-get install -y nginx';

export function nginxVersion(): string {
  const r = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout || '?').trim().replace(/^nginx version:\s*/, '');
}

export interface NginxServer {
  baseUrl: string;
  groups: Group[];
}

/**
 * GETs every path from a running thukho and writes its body at root + path; every answer must
 * be a 200 with a body (the same check the walk makes). Resolves to the bytes written.
 */
export async function cutTiles(baseUrl: string, paths: readonly string[], root: string, concurrency = 8): Promise<{ files: number; bytes: number }> {
  let next = 0;
  let bytes = 0;
  const one = async (path: string) => {
    const res = await fetch(`${baseUrl}${path}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || body.length === 0) throw new Error(`thukho answered ${res.status} (${body.length} bytes) for ${path}`);
    // Paths are the walk's own (/iiif/3/{fileId}/{region}/{size}/0/default.jpg): no "..".
    const file = join(root, decodeURIComponent(path));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
    bytes += body.length;
  };
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < paths.length) await one(paths[next++] as string);
  });
  await Promise.all(lanes);
  return { files: paths.length, bytes };
}

/** Starts nginx over `root`; resolves once it accepts connections (no request sent). */
export async function startNginx(root: string, workDir: string, workers = os.cpus().length): Promise<NginxServer> {
  const dir = join(workDir, `nginx-${Date.now()}`);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  // As root, nginx would hand its workers to www-data, who cannot enter the run dir (0700).
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const conf = `${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
  open_file_cache max=20000 inactive=60s;
  open_file_cache_valid 60s;
  types { image/jpeg jpg; application/json json; }
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
  server {
    listen 127.0.0.1:${port} backlog=1024;
    root ${root};
    location / { try_files $uri =404; }
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  const g = startGroup('nginx', NGINX, ['-p', dir, '-c', confPath], { logPath: join(dir, 'nginx.out') });
  try {
    await waitForPort(port, 10_000, g);
  } catch (err) {
    await stopGroup(g, 2000);
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000) : '';
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { baseUrl: `http://127.0.0.1:${port}`, groups: [g] };
}

export async function stopNginx(s: NginxServer): Promise<void> {
  for (const g of s.groups) await stopGroup(g, 5000);
}
