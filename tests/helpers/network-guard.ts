import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from 'node:worker_threads';

/**
 * Records (and refuses) every attempt to reach the network from this test process: fetch,
 * TCP connections (http, https, tls and most clients end in net.Socket#connect), in this thread
 * and in worker threads started after `guardNetwork()` (tesseract.js reads in one), which get
 * the same guard through `--require`. Unix-socket connections are local and allowed.
 *
 * Call it before the code under test is imported (import that code dynamically), so that a
 * library that keeps its own reference to `Worker` or `fetch` gets the guarded one.
 *
 * `allowLoopback`: this thread may reach 127.0.0.1, ::1 and localhost (a test's own server and
 * redis); nothing a CDN could answer is on loopback. Worker threads stay fully guarded.
 */
export interface NetworkGuard {
  /** What was attempted, in order: "fetch URL" or "connect HOST:PORT". */
  readonly attempts: string[];
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

export function guardNetwork(options: { allowLoopback?: boolean } = {}): NetworkGuard {
  const attempts: string[] = [];
  const loopbackAllowed = (host: unknown) => options.allowLoopback === true && (host === undefined || LOOPBACK.has(String(host)));
  const refuse = (what: string) => {
    attempts.push(what);
    return new Error(`network access attempted: ${what}`);
  };
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (URL.canParse(url) && loopbackAllowed(new URL(url).hostname)) return originalFetch(input, init);
    throw refuse(`fetch ${url}`);
  };
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect() hands the socket its arguments already normalised as [[options, callback]].
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const local = typeof first === 'object' && first !== null && ('path' in first || loopbackAllowed((first as { host?: unknown }).host));
    if (!local) throw refuse(`connect ${typeof first === 'object' ? JSON.stringify(first) : String(first)}`);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;

  const channel = new BroadcastChannel('thukho-network-guard');
  channel.onmessage = (event) => attempts.push(String((event as MessageEvent).data));
  (channel as unknown as { unref(): void }).unref();

  const workerThreads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const Original = workerThreads.Worker;
  const guardFile = fileURLToPath(new URL('./network-guard-worker.cjs', import.meta.url));
  workerThreads.Worker = class GuardedWorker extends Original {
    constructor(filename: string | URL, options: WorkerOptions = {}) {
      super(filename, { ...options, execArgv: [...(options.execArgv ?? process.execArgv), '--require', guardFile] });
    }
  };
  return { attempts };
}
