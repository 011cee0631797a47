import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { freePort } from '../helpers/cli.ts';
import { ANSIBLE_DIR, requireBinary, run } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The nginx role's site, rendered by Ansible from the role's template and defaults, then:
 *  - checked with `nginx -t` (plain HTTP, supplied certificates, certbot before its first certificate);
 *  - run for real on spare ports in front of a small Node server standing in for thukho, to see
 *    the IIIF cache honour the app's Cache-Control, credentials bypass it, uploads stream
 *    through, JSON is compressed (images are not), CORS is passed through once, X-Forwarded-*
 *    come from nginx, and plain HTTP redirects to HTTPS.
 */
const dir = mkdtempSync(join(tmpdir(), 'thukho-nginx-'));
chmodSync(dir, 0o755); // nginx's workers (nobody when started as root) read and write below it
const running: ChildProcess[] = [];
const servers: Server[] = [];

test.before(() => {
  requireBinary('ansible-playbook', 'apt-get install -y ansible');
  requireBinary('nginx', 'apt-get install -y nginx');
  requireBinary('openssl', 'apt-get install -y openssl');
});

test.after.always(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** Renders the role's site template with its defaults and `vars` (Ansible, connection local) into `into`. */
async function render(into: string, vars: Record<string, unknown>): Promise<string> {
  mkdirSync(into, { recursive: true });
  const role = join(ANSIBLE_DIR, 'roles', 'nginx');
  const site = join(into, 'site.conf');
  const play = join(into, 'render.yml');
  writeFileSync(
    play,
    [
      '- name: Render the thukho nginx site',
      '  hosts: localhost',
      '  connection: local',
      '  gather_facts: false',
      '  vars_files:',
      `    - ${join(role, 'defaults', 'main.yml')}`,
      '  tasks:',
      '    - name: Render the site',
      '      ansible.builtin.template:',
      `        src: ${join(role, 'templates', 'thukho-site.conf.j2')}`,
      `        dest: ${site}`,
      '        mode: "0644"',
      '',
    ].join('\n'),
  );
  const result = await run('ansible-playbook', ['-i', 'localhost,', play, '-e', JSON.stringify({ thukho_server_name: 'thukho.test', ...vars })]);
  if (result.code !== 0) throw new Error(`rendering failed:\n${result.output}`);
  return site;
}

/** A complete nginx.conf around the rendered site, everything under `prefix`. */
function wrapper(prefix: string, site: string): string {
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'cache', 'acme']) {
    mkdirSync(join(prefix, sub), { recursive: true });
    chmodSync(join(prefix, sub), 0o777);
  }
  chmodSync(prefix, 0o755);
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'error.log')} warn;`,
      'events { worker_connections 128; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  default_type application/octet-stream;',
      '  access_log off;',
      `  client_body_temp_path ${join(prefix, 'body')};`,
      `  proxy_temp_path ${join(prefix, 'proxy')};`,
      `  fastcgi_temp_path ${join(prefix, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(prefix, 'uwsgi')};`,
      `  scgi_temp_path ${join(prefix, 'scgi')};`,
      `  include ${site};`,
      '}',
      '',
    ].join('\n'),
  );
  return conf;
}

async function selfSignedCert(into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  const made = await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=thukho.test',
    '-addext', 'subjectAltName=DNS:thukho.test,IP:127.0.0.1',
    '-keyout', join(into, 'thukho.key'), '-out', join(into, 'thukho.crt'),
  ]);
  if (made.code !== 0) throw new Error(made.output);
}

const base = (prefix: string, extra: Record<string, unknown> = {}) => ({
  nginx_iiif_cache_dir: join(prefix, 'cache'),
  nginx_acme_webroot: join(prefix, 'acme'),
  nginx_upstream_servers: ['127.0.0.1:9'],
  ...extra,
});

test('the rendered site passes nginx -t: plain HTTP, supplied certificates, and certbot before its first certificate', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const cases: Array<[string, Record<string, unknown>]> = [
    ['http', { nginx_tls: false }],
    ['tls', { nginx_tls: true, nginx_ssl_dir: join(dir, 't-tls', 'ssl') }],
    ['certbot', { nginx_tls: true, nginx_certbot: true, nginx_certbot_email: 'quantri@thuvien.test', nginx_tls_ready: false }],
  ];
  await selfSignedCert(join(dir, 't-tls', 'ssl'));
  for (const [name, vars] of cases) {
    const prefix = join(dir, `t-${name}`);
    const site = await render(prefix, base(prefix, vars));
    const text = readFileSync(site, 'utf8');
    const checked = await run('nginx', ['-t', '-c', wrapper(prefix, site), '-p', prefix]);
    t.is(checked.code, 0, `${name}: nginx -t\n${checked.output}\n${text}`);
    t.regex(checked.output, /test is successful/, name);
    t.notRegex(text, /listen \[::\]/, `${name}: no IPv6 listener without IPv6 facts`);
    if (name === 'tls') {
      t.regex(text, /listen 443 ssl/);
      t.regex(text, /return 301 https:\/\/\$host\$request_uri/);
    } else {
      t.notRegex(text, /\bssl\b/, `${name}: plain HTTP only`);
      t.regex(text, /location \^~ \/\.well-known\/acme-challenge\//);
    }
    t.notRegex(text, /add_header\s+Access-Control-Allow-Origin/, 'the app sends CORS itself; nginx adds no second copy');
  }
});

test('the rendered site fits inside Debian\'s own nginx.conf (its http-level gzip, ssl and logs), as sites-enabled/ includes it', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const debian = '/etc/nginx/nginx.conf';
  if (!existsSync(debian)) throw new Error(`${debian} is missing: apt-get install -y nginx`);
  const prefix = join(dir, 't-debian');
  await selfSignedCert(join(prefix, 'ssl'));
  const site = await render(prefix, base(prefix, { nginx_tls: true, nginx_ssl_dir: join(prefix, 'ssl') }));
  wrapper(prefix, site); // the temp directories
  const conf = readFileSync(debian, 'utf8')
    .replace(/^\s*include \/etc\/nginx\/sites-enabled\/\*;/m, `include ${site};`)
    .replace(/^\s*pid [^;]+;/m, `pid ${join(prefix, 'nginx.pid')};`)
    .replace(/^\s*error_log [^;]+;/gm, `error_log ${join(prefix, 'error.log')};`)
    .replace(/^\s*access_log [^;]+;/gm, 'access_log off;')
    .replace(/^\s*include \/etc\/nginx\/conf\.d\/\*\.conf;/m, '');
  t.true(conf.includes(site), 'Debian\'s nginx.conf includes sites-enabled/*');
  const path = join(prefix, 'debian-nginx.conf');
  writeFileSync(path, conf);
  // Debian's prefix: its modules-enabled/ load modules by paths relative to it.
  const checked = await run('nginx', ['-t', '-c', path]);
  t.is(checked.code, 0, checked.output);
});

// ---------------------------------------------------------------------------------------------
// nginx running in front of a stand-in for thukho
// ---------------------------------------------------------------------------------------------

interface Seen {
  full: Map<string, number>;
  notModified: Map<string, number>;
  forwarded: Array<Record<string, string | undefined>>;
}

const TILE = randomBytes(20_000); // incompressible, like a JPEG
const BIG_JSON = JSON.stringify({ items: Array.from({ length: 400 }, (_, i) => ({ id: `obj-${i}`, title: 'Thư khố — Hán Nôm' })) });

function upstream(seen: Seen): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const count = (m: Map<string, number>) => m.set(url.pathname, (m.get(url.pathname) ?? 0) + 1);
    seen.forwarded.push({
      path: url.pathname,
      xff: req.headers['x-forwarded-for'] as string | undefined,
      proto: req.headers['x-forwarded-proto'] as string | undefined,
      host: req.headers['x-forwarded-host'] as string | undefined,
      forwarded: req.headers.forwarded,
    });
    if (url.pathname.startsWith('/iiif/')) {
      const restricted = url.pathname.includes('/restricted/');
      const etag = `"${createHash('sha1').update(url.pathname).digest('hex')}"`;
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cache-Control', restricted ? 'private, no-cache' : 'public, no-cache');
      res.setHeader('ETag', etag);
      if (req.headers['if-none-match'] === etag) {
        count(seen.notModified);
        res.statusCode = 304;
        res.end();
        return;
      }
      count(seen.full);
      res.setHeader('Content-Type', 'image/jpeg');
      res.end(TILE);
      return;
    }
    if (url.pathname === '/api/upload' && req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (url.pathname === '/api/objects') {
      count(seen.full);
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(BIG_JSON);
      return;
    }
    res.statusCode = 404;
    res.end('not here');
  });
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  raw: string[];
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}, options: { method?: string; body?: Buffer; tls?: boolean } = {}): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const req = (options.tls ? httpsRequest : httpRequest)(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveReply({ status: res.statusCode ?? 0, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function startNginx(prefix: string, conf: string, port: number): Promise<void> {
  const child = spawn('nginx', ['-c', conf, '-p', prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  running.push(child);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}\n${readFileSync(join(prefix, 'error.log'), 'utf8')}`);
    try {
      await get(port, '/nothing-here');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (i > 600) throw new Error(`nginx does not answer on ${port}: ${stderr}`);
  }
}

test.serial('nginx in front of the app: the IIIF cache honours Cache-Control and credentials, uploads stream, JSON is gzipped, X-Forwarded-* are nginx\'s own', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const seen: Seen = { full: new Map(), notModified: new Map(), forwarded: [] };
  const app = upstream(seen);
  servers.push(app);
  const appPort = await freePort();
  await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
  const port = await freePort();
  const prefix = join(dir, 'live-http');
  const site = await render(prefix, base(prefix, { nginx_tls: false, nginx_http_port: port, nginx_upstream_servers: [`127.0.0.1:${appPort}`] }));
  await startNginx(prefix, wrapper(prefix, site), port);

  // An open tile ("public, no-cache"): stored; used again only after asking the app (304) or within nginx_iiif_cache_valid.
  const open = '/iiif/3/open/0,0,256,256/256,/0/default.jpg';
  const first = await get(port, open, { 'Accept-Encoding': 'gzip' });
  t.is(first.status, 200);
  t.is(first.headers['x-cache-status'], 'MISS');
  t.true(first.body.equals(TILE));
  t.is(first.headers['content-encoding'], undefined, 'images are not compressed');
  t.is(first.raw.filter((h) => h.toLowerCase() === 'access-control-allow-origin').length, 1, 'one CORS header, the app\'s');
  const second = await get(port, open);
  t.true(['HIT', 'REVALIDATED'].includes(String(second.headers['x-cache-status'])), `served from the cache: ${second.headers['x-cache-status']}`);
  t.true(second.body.equals(TILE));
  t.is(second.headers['access-control-allow-origin'], '*');
  t.is(second.raw.filter((h) => h.toLowerCase() === 'access-control-allow-origin').length, 1);
  const third = await get(port, open);
  t.true(['HIT', 'REVALIDATED'].includes(String(third.headers['x-cache-status'])));
  t.is(seen.full.get(open), 1, 'the app sent the tile itself once; later uses were 304s or cache hits');

  // A restricted tile ("private"): never stored.
  const restricted = '/iiif/3/restricted/0,0,256,256/256,/0/default.jpg';
  const r1 = await get(port, restricted);
  const r2 = await get(port, restricted);
  t.is(r1.status, 200);
  t.is(r2.status, 200);
  t.not(r2.headers['x-cache-status'], 'HIT');
  t.not(r2.headers['x-cache-status'], 'REVALIDATED');
  t.is(seen.full.get(restricted), 2, 'each request for a private tile reaches the app');

  // With credentials: past the cache, and not stored.
  const viaToken = await get(port, open, { Authorization: 'Bearer abc' });
  t.is(viaToken.headers['x-cache-status'], 'BYPASS');
  const viaCookie = await get(port, open, { Cookie: 'thukho_session=s%3Aabc' });
  t.is(viaCookie.headers['x-cache-status'], 'BYPASS');
  t.is(seen.full.get(open), 3);

  // An upload of a few MB goes through to the app, whole.
  const upload = randomBytes(6 * 1024 * 1024);
  const posted = await get(port, '/api/upload', { 'Content-Type': 'application/octet-stream', 'Content-Length': String(upload.length) }, { method: 'POST', body: upload });
  t.is(posted.status, 200, posted.body.toString());
  t.deepEqual(JSON.parse(posted.body.toString()), { bytes: upload.length, sha256: createHash('sha256').update(upload).digest('hex') });

  // JSON is compressed.
  const json = await get(port, '/api/objects', { 'Accept-Encoding': 'gzip', 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Host': 'evil.example', Forwarded: 'for=6.6.6.6' });
  t.is(json.status, 200);
  t.is(json.headers['content-encoding'], 'gzip');
  t.is(gunzipSync(json.body).toString(), BIG_JSON);

  // X-Forwarded-* are set from the connection, whatever the client sent.
  const last = seen.forwarded.filter((f) => f.path === '/api/objects').at(-1);
  t.deepEqual(last, { path: '/api/objects', xff: '127.0.0.1', proto: 'http', host: `127.0.0.1:${port}`, forwarded: undefined });
});

test.serial('with TLS: plain HTTP redirects to HTTPS, and HTTPS reaches the app', async (t) => {
  t.timeout(scaledTimeout(20 * 60_000));
  const seen: Seen = { full: new Map(), notModified: new Map(), forwarded: [] };
  const app = upstream(seen);
  servers.push(app);
  const appPort = await freePort();
  await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const prefix = join(dir, 'live-tls');
  await selfSignedCert(join(prefix, 'ssl'));
  const site = await render(
    prefix,
    base(prefix, { nginx_tls: true, nginx_ssl_dir: join(prefix, 'ssl'), nginx_http_port: httpPort, nginx_https_port: httpsPort, nginx_upstream_servers: [`127.0.0.1:${appPort}`] }),
  );
  await startNginx(prefix, wrapper(prefix, site), httpPort);
  const redirect = await get(httpPort, '/api/objects?x=1');
  t.is(redirect.status, 301);
  t.is(redirect.headers.location, `https://127.0.0.1:${httpsPort}/api/objects?x=1`);
  const secure = await get(httpsPort, '/api/objects', {}, { tls: true });
  t.is(secure.status, 200);
  t.is(secure.body.toString(), BIG_JSON);
  t.like(seen.forwarded.at(-1), { proto: 'https', host: `127.0.0.1:${httpsPort}` });
});
