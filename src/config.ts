import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { KNOWN_LANGUAGES } from './ocr/languages.ts';
import { type IpRange, IpRangeError, parseIpRanges } from './http/ip-ranges.ts';
import { validOrigin } from './http/origin.ts';
import { redactTypesenseUrl, TypesenseUrl } from './search/typesense-url.ts';

/**
 * One typed configuration, from environment variables (and optionally a JSON file named by
 * THUKHO_CONFIG, whose keys are the same variable names; the environment wins). Validated
 * once at start: a bad value stops start-up with one line that names the variable.
 */
const EventStoreUrl = z
  .string()
  .refine((s) => s.startsWith('sqlite:') || /^(esdb|kurrentdb|kdb)(\+discover)?:\/\//i.test(s), {
    message: 'use sqlite:PATH or an esdb:// (or kurrentdb://) connection string',
  });

const SearchUrl = z
  .string()
  .refine((s) => s === 'embedded' || TypesenseUrl.safeParse(s).success, {
    message: 'use "embedded", typesense://KEY@host:port[,host:port] or typesenses:// for HTTPS',
  });

/** The oai-identifier XSD's pattern for repositoryIdentifier. */
const OAI_REPOSITORY_IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+$/;

const Port = z.coerce.number().int().min(0).max(65535);

const EnvSchema = z.object({
  THUKHO_DATA_DIR: z.string().min(1).default('./data'),
  THUKHO_HOST: z.string().min(1).default('0.0.0.0'),
  THUKHO_PORT: Port.default(8080),
  THUKHO_PUBLIC_URL: z.string().url().optional(),
  THUKHO_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  THUKHO_READING_ROOM_CIDRS: z
    .string()
    .transform((s, ctx) => {
      try {
        return parseIpRanges(s);
      } catch (err) {
        if (!(err instanceof IpRangeError)) throw err;
        ctx.addIssue({ code: 'custom', message: `${err.message}; give a comma-separated list of CIDR ranges` });
        return z.NEVER;
      }
    })
    .default([]),
  // The viewer sites (origins) the IIIF token service gives tokens to; empty: any site.
  THUKHO_IIIF_AUTH_ORIGINS: z
    .string()
    .transform((s, ctx) => {
      const list = s.split(',').map((o) => o.trim()).filter((o) => o !== '');
      for (const o of list) {
        if (!validOrigin(o)) ctx.addIssue({ code: 'custom', message: `"${o}" is not an origin (scheme://host[:port], nothing after); give a comma-separated list of origins` });
      }
      return list;
    })
    .default([]),
  THUKHO_EVENTSTORE: EventStoreUrl.optional(),
  THUKHO_SEARCH: SearchUrl.default('embedded'),
  REDIS_URL: z
    .string()
    .regex(/^(redis|rediss|unix|redis\+unix|redis\+sentinel):\/\//, 'use redis://host:port, unix:///path/to/socket or redis+sentinel://[:password@]host:26379[,host:26379]/MASTERNAME')
    .optional(),
  THUKHO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  THUKHO_HEADERS_TIMEOUT_S: z.coerce.number().positive().max(600).default(20),
  THUKHO_IDLE_TIMEOUT_S: z.coerce.number().positive().max(3600).default(120),
  THUKHO_MAX_JSON_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  THUKHO_INSTITUTION: z.string().min(1).default('Thư viện tỉnh'),
  /** The id of this instance's own library (named THUKHO_INSTITUTION): works in no other library's collection are its. */
  THUKHO_LIBRARY_ID: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, "-" or "_" (64 at most)').default('home'),
  THUKHO_STORAGE_DIR: z.string().min(1).optional(),
  THUKHO_MAX_PIXELS: z.coerce.number().int().min(1_000_000).default(1_000_000_000),
  THUKHO_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 ** 3),
  THUKHO_MD5: z.enum(['true', 'false']).default('false'),
  THUKHO_DERIVATIVES_DIR: z.string().min(1).optional(),
  THUKHO_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, "_", ".", ":" or "-"').default('thukho'),
  THUKHO_IIIF_MAX_WIDTH: z.coerce.number().int().min(256).default(10_000),
  THUKHO_IIIF_MAX_HEIGHT: z.coerce.number().int().min(256).default(10_000),
  THUKHO_IIIF_MAX_AREA: z.coerce.number().int().min(65_536).default(50_000_000),
  THUKHO_IIIF_MEMORY_CACHE_MB: z.coerce.number().int().min(0).default(256),
  THUKHO_IIIF_DISK_CACHE_MB: z.coerce.number().int().min(0).default(2048),
  THUKHO_IIIF_TILE_SIZE: z.coerce.number().int().refine((n) => n === 256 || n === 512, 'use 256 or 512').default(256),
  // Each render holds one of libuv's four pool threads, which tile reads need too.
  THUKHO_IIIF_RENDERS: z.coerce.number().int().min(1).max(64).default(2),
  THUKHO_IIIF_RENDERS_PER_CLIENT: z.coerce.number().int().min(1).default(24),
  THUKHO_IIIF_RENDER_QUEUE: z.coerce.number().int().min(0).default(256),
  THUKHO_IIIF_RENDER_MP_PER_MINUTE: z.coerce.number().positive().default(1200),
  THUKHO_IIIF_MASTER_RENDER_MAX_PIXELS: z.coerce.number().int().min(0).default(50_000_000),
  THUKHO_REPLICAS: z
    .string()
    .regex(/^\s*(?:[^,=]+=)?[^,=]+(?:\s*,\s*(?:[^,=]+=)?[^,=]+)*\s*$/, 'a comma-separated list of PATH or LABEL=PATH')
    .optional(),
  THUKHO_FIXITY_CYCLE_DAYS: z.coerce.number().positive().max(3650).default(90),
  THUKHO_FIXITY_CYCLES: z
    .string()
    .regex(/^\s*[a-z0-9][a-z0-9_-]{0,63}=\d+(\.\d+)?(\s*,\s*[a-z0-9][a-z0-9_-]{0,63}=\d+(\.\d+)?)*\s*$/, 'a comma-separated list of COLLECTION=DAYS')
    .optional(),
  THUKHO_FIXITY_MB_PER_S: z.coerce.number().min(0).default(50),
  THUKHO_WEBHOOK_URL: z.string().url().optional(),
  THUKHO_SEAL_EVERY_MINUTES: z.coerce.number().positive().max(7 * 24 * 60).default(60),
  THUKHO_DESCRIBE_FACTS_MINUTES: z.coerce.number().min(0).max(24 * 60).default(10),
  THUKHO_DESCRIBE_EDITS: z.enum(['wait', 'after']).default('wait'),
  THUKHO_MIN_FREE_MB: z.coerce.number().min(0).default(512),
  THUKHO_NOM_FONT_DIR: z.string().min(1).default('/usr/share/fonts/truetype/hanazono'),
  THUKHO_OCR: z.enum(['on', 'off']).default('on'),
  THUKHO_OCR_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  THUKHO_OCR_IDLE_SECONDS: z.coerce.number().min(0).max(7 * 24 * 3600).default(120),
  THUKHO_OCR_LANGUAGES: z
    .string()
    .transform((s) => s.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean))
    .refine((codes) => codes.length > 0 && codes.every((c) => KNOWN_LANGUAGES.includes(c)), {
      message: `a comma-separated list of OCR languages (ISO 639-3), each one of ${KNOWN_LANGUAGES.join(', ')}`,
    })
    .default(['vie']),
  // Background work yields to readers (see workers/index.ts lowerPriority, ops/systemd/thukho-worker@.service).
  THUKHO_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  THUKHO_WORKER_SCHEDULING: z.enum(['idle', 'normal']).default('idle'),
  THUKHO_WORKER_PROCESSES: z.enum(['one', 'split', 'each']).default('one'),
  THUKHO_DERIVATIVE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  THUKHO_DERIVATIVES_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  THUKHO_REPLICATION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  THUKHO_PDF_DPI: z.coerce.number().int().min(36).max(1200).default(300),
  THUKHO_PDF_MAX_EDGE: z.coerce.number().int().min(256).max(65_000).default(6000),
  THUKHO_PDF_MAX_PAGES: z.coerce.number().int().min(1).max(100_000).default(5000),
  THUKHO_SESSION_SECRET: z.string().min(32, 'at least 32 characters (e.g. `openssl rand -base64 48`)').optional(),
  THUKHO_SESSION_SECRET_FILE: z.string().min(1).optional(),
  THUKHO_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60).default(120),
  THUKHO_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(12),
  THUKHO_SIGN_IN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  THUKHO_SIGN_IN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(30),
  THUKHO_SIGN_IN_WINDOW_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  THUKHO_ACCESS_EVENTS: z.enum(['on', 'off']).default('on'),
  THUKHO_ACCESS_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(5000),
  THUKHO_ACCESS_BUFFER: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // The oai-identifier scheme's repositoryIdentifier: a domain name (at least one dot, each part starting with a letter).
  THUKHO_OAI_REPOSITORY_IDENTIFIER: z
    .string()
    .regex(OAI_REPOSITORY_IDENTIFIER, 'a domain name such as thuvien.example.vn (each part starts with a letter)')
    .optional(),
  THUKHO_OAI_ADMIN_EMAIL: z
    .string()
    .transform((s) => s.split(',').map((a) => a.trim()).filter((a) => a !== ''))
    .refine((list) => list.length > 0 && list.every((a) => z.string().email().safeParse(a).success), 'a comma-separated list of e-mail addresses (at least one)')
    .optional(),
  THUKHO_OAI_RESTRICTED: z.enum(['hidden', 'metadata']).default('hidden'),
  THUKHO_OAI_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  THUKHO_OAI_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
});

/**
 * Every variable EnvSchema reads (REDIS_URL among them), in declaration order. The secret
 * ones may instead come from NAME_FILE (SECRET_VARIABLES). ops/thukho.env.example documents
 * each one; tests/deploy/env-template.test.ts fails when one is added here without it.
 */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  /** The URL the outside world reaches us at, for links in manifests and the demo message. */
  publicUrl: string | undefined;
  /**
   * Believe X-Forwarded-Proto/-Host/-For: only behind a reverse proxy that sets them and
   * strips what clients send, since anyone can write them.
   */
  trustProxy: boolean;
  /**
   * The reading room's addresses: requests from them read restricted material without signing
   * in. The client address is the socket's, or X-Forwarded-For's with trustProxy.
   */
  readingRoom: IpRange[];
  /** Origins (viewer sites) the IIIF token service gives access tokens to; undefined: any. */
  iiifAuthOrigins: string[] | undefined;
  eventStore: { kind: 'sqlite'; path: string } | { kind: 'esdb'; connectionString: string; readModelPath: string };
  search: { kind: 'embedded' } | { kind: 'typesense'; url: string };
  redisUrl: string | undefined;
  logLevel: z.infer<typeof EnvSchema>['THUKHO_LOG_LEVEL'];
  maxJsonBytes: number;
  http: {
    /** A request's headers must all be in within this long (slow-loris). */
    headersTimeoutMs: number;
    /** A connection that sends and receives nothing for this long is closed. */
    idleTimeoutMs: number;
  };
  institution: string;
  /** The home library's id (THUKHO_LIBRARY_ID): it exists without being registered, named `institution`. */
  libraryId: string;
  readModelPath: string;
  /**
   * Where the masters live: `ocfl/` (the OCFL storage root) and `staging/` beside it, on
   * the same filesystem so that a finished upload is moved in by rename, not copied.
   */
  storageDir: string;
  ocflRoot: string;
  /** Refuse images whose header claims more pixels than this (decompression bombs). */
  maxPixels: number;
  maxUploadBytes: number;
  /** Also compute MD5 at ingest, for old catalogues that still quote it. */
  md5: boolean;
  /** Reproducible access copies (pyramids, tiles), outside OCFL, keyed by the master's digest. */
  derivativesDir: string;
  /** Prefix of every BullMQ key, so that several installations (or tests) can share one redis. */
  queuePrefix: string;
  iiif: {
    maxWidth: number;
    maxHeight: number;
    maxArea: number;
    tileSize: number;
    memoryCacheBytes: number;
    diskCacheBytes: number;
    /** Rendered responses that are not pre-cut tiles. */
    cacheDir: string;
    /** Renders (regions and sizes not cut in advance) at once, in all. */
    renders: number;
    /** Renders one client (a user, or an address when anonymous) may have running or waiting. */
    rendersPerClient: number;
    /** Renders waiting in all, beyond which the image server answers 503. */
    renderQueue: number;
    /** Megapixels of rendering one client may ask for per minute (see iiif/render-rate.ts). */
    renderMegapixelsPerMinute: number;
    /** Masters larger than this are rendered only from their derivative, never per request. */
    masterRenderMaxPixels: number;
  };
  /** Extra OCFL storage roots that hold a verified copy of everything (another disk, a NAS). */
  replicas: Array<{ label: string; path: string }>;
  fixity: {
    /** Every stored file is re-verified once per cycle. */
    cycleDays: number;
    /** Per-collection cycles (collection id → days). */
    collectionCycleDays: Record<string, number>;
    /** Read budget of scheduled checks, MB/s; 0 = unlimited. */
    mbPerSecond: number;
  };
  /** Called (POST, JSON) when a file is damaged beyond repair. */
  webhookUrl: string | undefined;
  sealEveryMinutes: number;
  /**
   * How long after a machine fact (fixity, derivative, OCR) its work's OCFL description is
   * written: the facts of one run share a version; the most a storage root alone can lack.
   */
  describeFactsDelayMs: number;
  /**
   * `wait`: a person's change is answered once its OCFL version is durable; `after`: it is
   * answered at once and its version follows a moment later (lower latency; a storage root
   * alone may then lack the edits of the last moment before a disaster).
   */
  describeEdits: 'wait' | 'after';
  /** Below this much free space on any volume we write to, /health says the disk is low. */
  minFreeBytes: number;
  /** HanaMinA.ttf and HanaMinB.ttf (fonts-hanazono), served subset to pages with Nôm; subsets cached in cacheDir. */
  nomFont: { dir: string; cacheDir: string };
  ocr: {
    /** Whether `thukho serve` runs the OCR worker on this machine (off: another machine reads the pages). */
    enabled: boolean;
    /** Pages read at once (engine sets in the pool); one per core when unset. */
    concurrency: number | undefined;
    /** What a work whose record names no language is read as. */
    defaultLanguages: string[];
    /** Seconds without a page after which the OCR engines are unloaded (loaded again by the next page); 0: kept. */
    idleSeconds: number;
  };
  /**
   * How the background workers leave the CPU to readers: a worker runs every thread at this
   * niceness (0–19), builds at most `derivativesConcurrency` masters at once with
   * `derivativeThreads` libvips threads each, and copies `replicationConcurrency` files at once.
   */
  workers: {
    nice: number;
    /**
     * `idle`: `thukho serve` starts its workers under Linux's SCHED_IDLE policy (through
     * `chrt`), so that they run only on CPU time that readers leave; niceness alone still
     * gives a busy worker a share while tiles wait. `normal`: niceness only.
     */
    scheduling: 'idle' | 'normal';
    /**
     * How `thukho serve` groups the workers into child processes (see workers/index.ts
     * workersToRun): `one` process for all of them, `split` (derivatives and OCR each alone,
     * the light ones together), or `each` worker alone.
     */
    processes: 'one' | 'split' | 'each';
    derivativeThreads: number;
    derivativesConcurrency: number;
    replicationConcurrency: number;
  };
  /** How the pages of a PDF master become images (see workers/derivatives.ts). */
  pdf: {
    /** Resolution a page is rendered at, lowered for pages that would pass `maxEdge` or `maxPixels`. */
    dpi: number;
    /** Longest side of a rendered page, in pixels. */
    maxEdge: number;
    /** Pages beyond this many are not made (one DerivativeFailed says so). */
    maxPages: number;
  };
  /** Sign-in sessions on the site (cookie + Redis); the cookie-signing secret is read at start (see http/session-secret.ts). */
  sessions: {
    secret: { value: string } | { file: string } | undefined;
    idleSeconds: number;
    maxSeconds: number;
  };
  /** Failed sign-ins allowed per account and per client address within the window, before 429. */
  signIn: { perAccount: number; perAddress: number; windowSeconds: number };
  /** Access events for usage statistics (ObjectViewed, FileDownloaded, SearchPerformed): see application/access-log.ts. */
  accessEvents: {
    enabled: boolean;
    /**
     * How often the buffer is appended to the log. Each append is one fsync of the log on the
     * server's thread: every 5 s keeps that off the tiles' way (GET /api/stats flushes first).
     */
    flushEveryMs: number;
    /** Events held in memory at most; more are dropped (and counted) rather than slow a reader. */
    maxBuffered: number;
  };
  /** The OAI-PMH 2.0 provider at /oai (see src/http/routes/oai.ts). */
  oai: {
    /** `oai:{repositoryIdentifier}:{objectId}` */
    repositoryIdentifier: string;
    adminEmails: string[];
    /** `metadata`: restricted works are harvested (their record only); `hidden`: only what anyone may open. */
    restricted: 'hidden' | 'metadata';
    pageSize: number;
    tokenTtlSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Variables that may carry a secret: a Typesense API key (in THUKHO_SEARCH), a Redis or
 * EventStoreDB password (in their URLs), a webhook's token. Each may instead be read from a
 * file named by NAME_FILE (as with Docker and systemd credentials), so that the secret is in
 * no environment listing. A file with a secret (that one, or THUKHO_CONFIG when it holds one)
 * must be the service user's alone: readable or writable by group or others, it is refused.
 */
export const SECRET_VARIABLES = ['THUKHO_SEARCH', 'REDIS_URL', 'THUKHO_EVENTSTORE', 'THUKHO_WEBHOOK_URL'] as const;
const OPEN_TO_OTHERS = 0o066;

function assertPrivate(variable: string, path: string): void {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`${variable}: ${path} is not a file`);
    mode = st.mode;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if ((mode & OPEN_TO_OTHERS) !== 0) {
    throw new ConfigError(
      `${variable}: ${path} holds a secret but group or others may read or write it (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); make it the service user's alone: chmod 600 ${path}`,
    );
  }
}

function secretFromFile(variable: string, path: string): string {
  assertPrivate(variable, path);
  // One trailing newline is the editor's, not the secret's.
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function fromFile(path: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`THUKHO_CONFIG: cannot read ${path} as JSON (${(err as Error).message})`);
  }
  const parsed = z.record(z.string(), z.union([z.string(), z.number()])).safeParse(raw);
  if (!parsed.success) throw new ConfigError(`THUKHO_CONFIG: ${path} must be a JSON object of variable names to values`);
  return Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k, String(v)]));
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env.THUKHO_CONFIG ? fromFile(env.THUKHO_CONFIG) : {};
  if (env.THUKHO_CONFIG && SECRET_VARIABLES.some((name) => file[name] !== undefined)) assertPrivate('THUKHO_CONFIG', env.THUKHO_CONFIG);
  const merged: Record<string, string | undefined> = { ...file };
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  for (const name of SECRET_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') throw new ConfigError(`${name}_FILE: set either ${name} or ${name}_FILE, not both`);
    merged[name] = secretFromFile(`${name}_FILE`, path);
  }
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    // A URL's user part (a Typesense key, a Redis password) is never echoed.
    const got = merged[name] === undefined ? null : name === 'THUKHO_SESSION_SECRET' ? '(hidden)' : redactTypesenseUrl(merged[name]).replace(/([?&][A-Za-z]*password=)[^&#]*/gi, '$1***');
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'} (got ${JSON.stringify(got)})`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.THUKHO_DATA_DIR);
  const storageDir = resolve(e.THUKHO_STORAGE_DIR ?? dataDir);
  const es = e.THUKHO_EVENTSTORE ?? `sqlite:${join(dataDir, 'events.sqlite')}`;
  return {
    dataDir,
    host: e.THUKHO_HOST,
    port: e.THUKHO_PORT,
    publicUrl: e.THUKHO_PUBLIC_URL?.replace(/\/+$/, ''),
    trustProxy: e.THUKHO_TRUST_PROXY === 'true',
    readingRoom: e.THUKHO_READING_ROOM_CIDRS,
    iiifAuthOrigins: e.THUKHO_IIIF_AUTH_ORIGINS.length > 0 ? e.THUKHO_IIIF_AUTH_ORIGINS : undefined,
    eventStore: es.startsWith('sqlite:')
      ? { kind: 'sqlite', path: resolve(es.slice('sqlite:'.length)) }
      : { kind: 'esdb', connectionString: es, readModelPath: join(dataDir, 'readmodel.sqlite') },
    search: e.THUKHO_SEARCH === 'embedded' ? { kind: 'embedded' } : { kind: 'typesense', url: e.THUKHO_SEARCH },
    redisUrl: e.REDIS_URL,
    logLevel: e.THUKHO_LOG_LEVEL,
    maxJsonBytes: e.THUKHO_MAX_JSON_BYTES,
    http: { headersTimeoutMs: Math.round(e.THUKHO_HEADERS_TIMEOUT_S * 1000), idleTimeoutMs: Math.round(e.THUKHO_IDLE_TIMEOUT_S * 1000) },
    institution: e.THUKHO_INSTITUTION,
    libraryId: e.THUKHO_LIBRARY_ID,
    readModelPath: join(dataDir, 'readmodel.sqlite'),
    storageDir,
    ocflRoot: join(storageDir, 'ocfl'),
    maxPixels: e.THUKHO_MAX_PIXELS,
    maxUploadBytes: e.THUKHO_MAX_UPLOAD_BYTES,
    md5: e.THUKHO_MD5 === 'true',
    derivativesDir: resolve(e.THUKHO_DERIVATIVES_DIR ?? join(storageDir, 'derivatives')),
    queuePrefix: e.THUKHO_QUEUE_PREFIX,
    iiif: {
      maxWidth: e.THUKHO_IIIF_MAX_WIDTH,
      maxHeight: e.THUKHO_IIIF_MAX_HEIGHT,
      maxArea: e.THUKHO_IIIF_MAX_AREA,
      tileSize: e.THUKHO_IIIF_TILE_SIZE,
      memoryCacheBytes: e.THUKHO_IIIF_MEMORY_CACHE_MB * 1024 * 1024,
      diskCacheBytes: e.THUKHO_IIIF_DISK_CACHE_MB * 1024 * 1024,
      cacheDir: join(dataDir, 'cache', 'iiif'),
      renders: e.THUKHO_IIIF_RENDERS,
      rendersPerClient: e.THUKHO_IIIF_RENDERS_PER_CLIENT,
      renderQueue: e.THUKHO_IIIF_RENDER_QUEUE,
      renderMegapixelsPerMinute: e.THUKHO_IIIF_RENDER_MP_PER_MINUTE,
      masterRenderMaxPixels: e.THUKHO_IIIF_MASTER_RENDER_MAX_PIXELS,
    },
    replicas: parseReplicas(e.THUKHO_REPLICAS),
    fixity: {
      cycleDays: e.THUKHO_FIXITY_CYCLE_DAYS,
      collectionCycleDays: Object.fromEntries(
        (e.THUKHO_FIXITY_CYCLES ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)
          .map((p) => {
            const [id, days] = p.split('=');
            return [id!.trim(), Number(days)];
          }),
      ),
      mbPerSecond: e.THUKHO_FIXITY_MB_PER_S,
    },
    webhookUrl: e.THUKHO_WEBHOOK_URL,
    sealEveryMinutes: e.THUKHO_SEAL_EVERY_MINUTES,
    describeFactsDelayMs: Math.round(e.THUKHO_DESCRIBE_FACTS_MINUTES * 60_000),
    describeEdits: e.THUKHO_DESCRIBE_EDITS,
    minFreeBytes: Math.round(e.THUKHO_MIN_FREE_MB * 1024 * 1024),
    nomFont: { dir: resolve(e.THUKHO_NOM_FONT_DIR), cacheDir: join(dataDir, 'cache', 'fonts') },
    ocr: { enabled: e.THUKHO_OCR === 'on', concurrency: e.THUKHO_OCR_CONCURRENCY, defaultLanguages: e.THUKHO_OCR_LANGUAGES, idleSeconds: e.THUKHO_OCR_IDLE_SECONDS },
    workers: {
      nice: e.THUKHO_WORKER_NICE,
      scheduling: e.THUKHO_WORKER_SCHEDULING,
      processes: e.THUKHO_WORKER_PROCESSES,
      // One core left to the server: a pyramid alone would otherwise take every core there is.
      derivativeThreads: e.THUKHO_DERIVATIVE_THREADS ?? Math.max(1, availableParallelism() - 1),
      derivativesConcurrency: e.THUKHO_DERIVATIVES_CONCURRENCY,
      replicationConcurrency: e.THUKHO_REPLICATION_CONCURRENCY,
    },
    pdf: { dpi: e.THUKHO_PDF_DPI, maxEdge: e.THUKHO_PDF_MAX_EDGE, maxPages: e.THUKHO_PDF_MAX_PAGES },
    sessions: {
      secret: e.THUKHO_SESSION_SECRET ? { value: e.THUKHO_SESSION_SECRET } : e.THUKHO_SESSION_SECRET_FILE ? { file: resolve(e.THUKHO_SESSION_SECRET_FILE) } : undefined,
      idleSeconds: e.THUKHO_SESSION_IDLE_MINUTES * 60,
      maxSeconds: e.THUKHO_SESSION_MAX_HOURS * 3600,
    },
    signIn: {
      perAccount: e.THUKHO_SIGN_IN_MAX_FAILURES,
      perAddress: e.THUKHO_SIGN_IN_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: e.THUKHO_SIGN_IN_WINDOW_MINUTES * 60,
    },
    accessEvents: { enabled: e.THUKHO_ACCESS_EVENTS === 'on', flushEveryMs: e.THUKHO_ACCESS_FLUSH_MS, maxBuffered: e.THUKHO_ACCESS_BUFFER },
    oai: oaiConfig(e),
  };
}

/**
 * The repository identifier defaults to the public URL's host when that is a domain name (an
 * IP address is not one), else `thukho.local`; the admin address to `admin@` that identifier,
 * which a library should replace with a real one (Identify requires an address).
 */
function oaiConfig(e: z.infer<typeof EnvSchema>): Config['oai'] {
  const host = e.THUKHO_PUBLIC_URL ? new URL(e.THUKHO_PUBLIC_URL).hostname : '';
  const repositoryIdentifier = e.THUKHO_OAI_REPOSITORY_IDENTIFIER ?? (OAI_REPOSITORY_IDENTIFIER.test(host) ? host : 'thukho.local');
  return {
    repositoryIdentifier,
    adminEmails: e.THUKHO_OAI_ADMIN_EMAIL ?? [`admin@${repositoryIdentifier}`],
    restricted: e.THUKHO_OAI_RESTRICTED,
    pageSize: e.THUKHO_OAI_PAGE_SIZE,
    tokenTtlSeconds: e.THUKHO_OAI_TOKEN_TTL_SECONDS,
  };
}

/** "PATH" or "LABEL=PATH", comma-separated; unlabelled replicas are replica-1, replica-2, … */
function parseReplicas(raw: string | undefined): Array<{ label: string; path: string }> {
  if (!raw) return [];
  const replicas = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part, i) => {
      const eq = part.indexOf('=');
      return eq > 0 ? { label: part.slice(0, eq).trim(), path: resolve(part.slice(eq + 1).trim()) } : { label: `replica-${i + 1}`, path: resolve(part) };
    });
  const labels = new Set(replicas.map((r) => r.label));
  if (labels.size !== replicas.length || labels.has('primary')) {
    throw new ConfigError('THUKHO_REPLICAS: each replica needs its own label, and "primary" is the main storage root');
  }
  return replicas;
}
