/**
 * The reference: IIPImage as /work/shared/REFERENCE.md sets it up. Two FastCGI processes
 * (`iipsrv.fcgi`, one request at a time each: one per core), lighttpd in front balancing
 * over them, everything on 127.0.0.1, free ports, its own temp dir for config, pid, logs
 * and document root. IIIF requests: `/iiif?IIIF=big.tif/{region}/{size}/0/default.jpg`
 * (IIPImage 1.1 speaks Image API 2; the tile paths are the same).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { freePort, type Group, startGroup, stopGroup, waitForPort } from './procs.ts';

export const IIPSRV = '/usr/lib/iipimage-server/iipsrv.fcgi';
export const LIGHTTPD = '/usr/sbin/lighttpd';
export const APT = 'apt-get install iipimage-server lighttpd wrk';

/** Missing programs, by name (empty when all are there). */
export function missingTools(): string[] {
  const onPath = (name: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
  const missing: string[] = [];
  if (!existsSync(IIPSRV)) missing.push(`iipsrv.fcgi (${IIPSRV})`);
  if (!existsSync(LIGHTTPD) && !onPath('lighttpd')) missing.push('lighttpd');
  if (!onPath('wrk')) missing.push('wrk');
  return missing;
}

export interface IipServer {
  baseUrl: string;
  groups: Group[];
  processes: number;
  tilePath(region: string, size: string): string;
  infoPath: string;
}

/**
 * Starts `processes` iipsrv.fcgi (default: one per core) and lighttpd in front; resolves
 * once everything accepts connections (no request is sent, so the caches stay empty).
 */
export async function startIip(pyramidPath: string, workDir: string, processes = os.cpus().length): Promise<IipServer> {
  const dir = join(workDir, `iip-${Date.now()}`);
  mkdirSync(join(dir, 'www'), { recursive: true });
  const image = basename(pyramidPath);
  const groups: Group[] = [];
  try {
    const fcgiPorts: number[] = [];
    for (let i = 0; i < processes; i++) {
      const port = await freePort();
      fcgiPorts.push(port);
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        FILESYSTEM_PREFIX: `${dirname(pyramidPath)}/`,
        VERBOSITY: '0',
        MAX_IMAGE_CACHE_SIZE: '256',
        LOGFILE: join(dir, `iipsrv-${i}.log`),
      };
      groups.push(startGroup(`iipsrv.fcgi #${i + 1}`, IIPSRV, ['--bind', `127.0.0.1:${port}`, '--backlog', '1024'], { env, logPath: join(dir, `iipsrv-${i}.out`) }));
    }
    for (const [i, port] of fcgiPorts.entries()) await waitForPort(port, 10_000, groups[i]);

    const httpPort = await freePort();
    const backends = fcgiPorts.map((p) => `("host" => "127.0.0.1", "port" => ${p}, "check-local" => "disable")`).join(',\n    ');
    const conf = `server.modules = ("mod_fastcgi")
server.document-root = "${join(dir, 'www')}"
server.bind = "127.0.0.1"
server.port = ${httpPort}
server.pid-file = "${join(dir, 'lighttpd.pid')}"
server.errorlog = "${join(dir, 'lighttpd-error.log')}"
server.max-connections = 1024
fastcgi.server = ("/iiif" => (
    ${backends}
))
`;
    const confPath = join(dir, 'lighttpd.conf');
    writeFileSync(confPath, conf);
    const lighttpd = existsSync(LIGHTTPD) ? LIGHTTPD : 'lighttpd';
    const front = startGroup('lighttpd', lighttpd, ['-D', '-f', confPath], { logPath: join(dir, 'lighttpd.out') });
    groups.push(front);
    await waitForPort(httpPort, 10_000, front);
    return {
      baseUrl: `http://127.0.0.1:${httpPort}`,
      groups,
      processes,
      tilePath: (region, size) => `/iiif?IIIF=${image}/${region}/${size}/0/default.jpg`,
      infoPath: `/iiif?IIIF=${image}/info.json`,
    };
  } catch (err) {
    for (const g of groups.reverse()) await stopGroup(g, 5000);
    throw err;
  }
}

export async function stopIip(s: IipServer): Promise<void> {
  // The front first, so that no request reaches a backend that is going away.
  for (const g of [...s.groups].reverse()) await stopGroup(g, 5000);
}
