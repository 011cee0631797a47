import { asArray, idOf, isObject, languageMap, str, typeOf } from './json.ts';
import type { LanguageMap } from './language.ts';

/**
 * IIIF Authorization Flow API 2.0, the client's side (https://iiif.io/api/auth/2.0/).
 *
 * The parsers and the token store are pure (the unit tests run them under Node); `AuthClient`
 * talks to the services (probe by fetch, token in a hidden iframe, access and logout in a
 * window) and `authorize` is the spec's client flow, with the prompt left to an `AccessUi`.
 * Tokens live in memory only: a token in localStorage would outlive the session it stands
 * for and be readable by any script on the origin.
 */

export const AUTH2_CONTEXT = 'http://iiif.io/api/auth/2/context.json';

export type AccessProfile = 'active' | 'kiosk' | 'external';
const PROFILES: readonly AccessProfile[] = ['active', 'kiosk', 'external'];

export type TokenErrorProfile = 'invalidRequest' | 'invalidOrigin' | 'missingAspect' | 'invalidAspect' | 'expiredAspect' | 'unavailable';
const ERROR_PROFILES: readonly TokenErrorProfile[] = ['invalidRequest', 'invalidOrigin', 'missingAspect', 'invalidAspect', 'expiredAspect', 'unavailable'];

export interface TokenService {
  id: string;
  errorHeading: LanguageMap;
  errorNote: LanguageMap;
}

export interface LogoutService {
  id: string;
  label: LanguageMap;
}

export interface AccessService {
  /** What the client opens; none for `external`, whose `id` the spec says to ignore. */
  id?: string;
  profile: AccessProfile;
  label: LanguageMap;
  heading: LanguageMap;
  note: LanguageMap;
  confirmLabel: LanguageMap;
  token: TokenService;
  logout?: LogoutService;
}

export interface ProbeService {
  id: string;
  /** In the order the client should try them: external, kiosk, active (spec §3.3). */
  access: AccessService[];
  errorHeading: LanguageMap;
  errorNote: LanguageMap;
}

export interface ProbeResult {
  /** The HTTP status the resource itself would answer with. */
  status: number;
  heading: LanguageMap;
  note: LanguageMap;
}

export type TokenReply =
  | { kind: 'token'; accessToken: string; expiresIn?: number }
  | { kind: 'error'; profile: TokenErrorProfile; heading: LanguageMap; note: LanguageMap };

/** What to tell the reader when a try did not open the item. */
export interface Failure {
  heading: LanguageMap;
  note: LanguageMap;
  /** `blocked`: the browser refused to open the access window. */
  reason: 'probe' | 'token' | 'blocked';
}

// ---------------------------------------------------------------------------------------
// Service descriptions

/** An absolute http(s) URL, or undefined: a service we could not call is no service. */
function httpUrl(value: unknown): string | undefined {
  const s = str(value);
  if (!s) return undefined;
  try {
    const url = new URL(s);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function parseTokenService(value: unknown): TokenService | undefined {
  if (!isObject(value) || typeOf(value) !== 'AuthAccessTokenService2') return undefined;
  const id = httpUrl(idOf(value));
  if (!id) return undefined;
  return { id, errorHeading: languageMap(value.errorHeading), errorNote: languageMap(value.errorNote) };
}

export function parseLogoutService(value: unknown): LogoutService | undefined {
  if (!isObject(value) || typeOf(value) !== 'AuthLogoutService2') return undefined;
  const id = httpUrl(idOf(value));
  return id ? { id, label: languageMap(value.label) } : undefined;
}

export function parseAccessService(value: unknown): AccessService | undefined {
  if (!isObject(value) || typeOf(value) !== 'AuthAccessService2') return undefined;
  const profile = PROFILES.find((p) => p === value.profile);
  if (!profile) return undefined;
  const related = asArray(value.service);
  // Exactly one token service, says the spec; without one the flow cannot finish.
  const token = related.map(parseTokenService).find((s) => s !== undefined);
  if (!token) return undefined;
  const service: AccessService = {
    profile,
    label: languageMap(value.label),
    heading: languageMap(value.heading),
    note: languageMap(value.note),
    confirmLabel: languageMap(value.confirmLabel),
    token,
  };
  if (profile !== 'external') {
    const id = httpUrl(idOf(value));
    if (!id) return undefined;
    service.id = id;
  }
  const logout = related.map(parseLogoutService).find((s) => s !== undefined);
  if (logout) service.logout = logout;
  return service;
}

export function parseProbeService(value: unknown): ProbeService | undefined {
  if (!isObject(value) || typeOf(value) !== 'AuthProbeService2') return undefined;
  const id = httpUrl(idOf(value));
  if (!id) return undefined;
  const access = asArray(value.service)
    .map(parseAccessService)
    .filter((s): s is AccessService => s !== undefined);
  const rank = (s: AccessService): number => ['external', 'kiosk', 'active'].indexOf(s.profile);
  access.sort((a, b) => rank(a) - rank(b));
  return { id, access, errorHeading: languageMap(value.errorHeading), errorNote: languageMap(value.errorNote) };
}

/**
 * The probe service among a resource's services (an image service reference in a manifest,
 * or an info.json, whose 401 body is still the info.json). Auth 1.0 services next to it are
 * for viewers that speak only 1.0, and are passed over.
 */
export function probeServiceOf(services: unknown): ProbeService | undefined {
  for (const s of asArray(services)) {
    const probe = parseProbeService(s);
    if (probe) return probe;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Answers

export function parseProbeResult(json: unknown): ProbeResult | undefined {
  if (!isObject(json) || typeOf(json) !== 'AuthProbeResult2') return undefined;
  const status = json.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
  return { status, heading: languageMap(json.heading), note: languageMap(json.note) };
}

/**
 * A token service's postMessage, if it answers our request `messageId`; undefined for any
 * other message (the spec: clients MUST ignore messageIds they do not recognise).
 */
export function parseTokenMessage(data: unknown, messageId: string): TokenReply | undefined {
  if (!isObject(data) || data.messageId !== messageId) return undefined;
  const type = typeOf(data);
  if (type === 'AuthAccessToken2') {
    const accessToken = str(data.accessToken);
    if (!accessToken) return undefined;
    const expiresIn = data.expiresIn;
    return typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
      ? { kind: 'token', accessToken, expiresIn }
      : { kind: 'token', accessToken };
  }
  if (type === 'AuthAccessTokenError2') {
    // An error we do not know is still an error; `unavailable` is the spec's catch-all.
    const profile = ERROR_PROFILES.find((p) => p === data.profile) ?? 'unavailable';
    return { kind: 'error', profile, heading: languageMap(data.heading), note: languageMap(data.note) };
  }
  return undefined;
}

/** `url` with these query parameters set (kept: the service's own). */
export function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** The failure to show: the answer's own text first, else the service's defaults (spec §4.1, §5.1). */
export function probeFailure(result: ProbeResult, probe: ProbeService): Failure {
  const own = Object.keys(result.heading).length > 0;
  return { heading: own ? result.heading : probe.errorHeading, note: own ? result.note : probe.errorNote, reason: 'probe' };
}

export function tokenFailure(reply: Extract<TokenReply, { kind: 'error' }>, service: TokenService): Failure {
  const own = Object.keys(reply.heading).length > 0;
  return { heading: own ? reply.heading : service.errorHeading, note: own ? reply.note : service.errorNote, reason: 'token' };
}

// ---------------------------------------------------------------------------------------
// Tokens

/**
 * Access tokens by token service id, with when they stop being worth sending. A token without
 * `expiresIn` is kept until a logout or a probe that refuses it; a little before its stated
 * end it is dropped, so a probe never races the expiry.
 */
export class TokenStore {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  static readonly MARGIN_MS = 5000;

  set(tokenService: string, accessToken: string, expiresIn: number | undefined, now: number): void {
    const expiresAt = expiresIn === undefined ? Number.POSITIVE_INFINITY : now + expiresIn * 1000 - TokenStore.MARGIN_MS;
    this.tokens.set(tokenService, { token: accessToken, expiresAt });
  }

  get(tokenService: string, now: number): string | undefined {
    const held = this.tokens.get(tokenService);
    if (!held) return undefined;
    if (held.expiresAt <= now) {
      this.tokens.delete(tokenService);
      return undefined;
    }
    return held.token;
  }

  drop(tokenService: string): void {
    this.tokens.delete(tokenService);
  }
}

/** The tokens to try on a probe: those of its own access services' token services (spec §7.1). */
export function probeTokens(probe: ProbeService, store: TokenStore, now: number): string[] {
  const out: string[] = [];
  for (const a of probe.access) {
    const token = store.get(a.token.id, now);
    if (token && !out.includes(token)) out.push(token);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The browser side

/** The prompt for an `active` access service; the viewer draws it. */
export interface AccessUi {
  /**
   * Shows the service's prompt (after a failed try, `failure` says why) and resolves when the
   * reader clicks, with the window the click opened (`open`, called inside the click: browsers
   * open windows only from a user gesture), or null if the browser blocked it.
   */
  ask(service: AccessService, failure: Failure | undefined, open: () => Window | null): Promise<Window | null>;
  /** Another page waits on the same prompt: show it again if it was put aside. */
  show(service: AccessService): void;
  /** The window is open ('waiting') or closed and the token is being fetched ('checking'). */
  progress(service: AccessService, step: 'waiting' | 'checking'): void;
  /** The service let the reader in: the prompt goes. */
  done(service: AccessService): void;
}

/** How long a token service's frame has to post its answer before the try counts as failed. */
const TOKEN_WAIT_MS = 20_000;
const CLOSED_POLL_MS = 250;

function messageId(): string {
  // getRandomValues, not randomUUID: the latter exists only in secure contexts, and a library's
  // reading room may well be plain http on its LAN.
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Same access service, same flow: keyed by the token service, which is what its flow produces. */
const flowKey = (s: AccessService): string => `${s.profile} ${s.id ?? ''} ${s.token.id}`;

export class AuthClient {
  readonly tokens = new TokenStore();
  private readonly tokenRequests = new Map<string, Promise<TokenReply>>();
  private readonly interactions = new Map<string, Promise<TokenReply | 'blocked'>>();
  /** Probe services that said 200: pages already shown are not asked again until a logout. */
  private readonly granted = new Set<string>();
  /** External and kiosk services tried once this visit: each page need not wait for a token service again. */
  private readonly tried = new Set<string>();

  constructor(private readonly origin: string = location.origin) {}

  isGranted(probe: ProbeService): boolean {
    return this.granted.has(probe.id);
  }

  /** Whether any probe has let the reader in (worth fetching a restricted page's info.json ahead). */
  anyGranted(): boolean {
    return this.granted.size > 0;
  }

  /** The spec's probe request: with each token we hold for it, then with none; the first 200 wins. */
  async probe(probe: ProbeService): Promise<ProbeResult> {
    let last: ProbeResult | undefined;
    for (const token of [...probeTokens(probe, this.tokens, Date.now()), undefined]) {
      const headers: Record<string, string> = { Accept: 'application/ld+json, application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const response = await fetch(probe.id, { headers });
      if (!response.ok) throw new Error(`probe: HTTP ${response.status}`);
      const result = parseProbeResult(await response.json());
      if (!result) throw new Error('probe: not an AuthProbeResult2');
      if (result.status === 200) {
        this.granted.add(probe.id);
        return result;
      }
      last = result;
    }
    return last!;
  }

  /** A token from this token service, through a hidden frame; one request per service at a time. */
  requestToken(service: TokenService): Promise<TokenReply> {
    const pending = this.tokenRequests.get(service.id);
    if (pending) return pending;
    const request = new Promise<TokenReply>((resolve) => {
      const id = messageId();
      const expected = new URL(service.id).origin;
      const frame = document.createElement('iframe');
      frame.hidden = true;
      frame.className = 'tv-auth-frame';
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      const finish = (reply: TokenReply): void => {
        clearTimeout(timer);
        window.removeEventListener('message', onMessage);
        frame.remove();
        resolve(reply);
      };
      const onMessage = (event: MessageEvent): void => {
        // Only the token service's own page in our own frame may answer, and only this request.
        if (event.origin !== expected || event.source !== frame.contentWindow) return;
        const reply = parseTokenMessage(event.data, id);
        if (reply) finish(reply);
      };
      const timer = setTimeout(() => finish({ kind: 'error', profile: 'unavailable', heading: {}, note: {} }), TOKEN_WAIT_MS);
      window.addEventListener('message', onMessage);
      frame.src = withParams(service.id, { messageId: id, origin: this.origin });
      document.body.append(frame);
    })
      .then((reply) => {
        if (reply.kind === 'token') this.tokens.set(service.id, reply.accessToken, reply.expiresIn, Date.now());
        return reply;
      })
      .finally(() => this.tokenRequests.delete(service.id));
    this.tokenRequests.set(service.id, request);
    return request;
  }

  /** Opens an access service's window; call it from a click (kiosk excepted, which may be blocked). */
  openAccess(service: AccessService): Window | null {
    if (!service.id) return null;
    // Not noopener: the flow must see the window close, and noopener returns no handle.
    return window.open(withParams(service.id, { origin: this.origin }), '_blank', 'popup,width=560,height=720');
  }

  /** Resolves once the reader (or the access service's own script) has closed the window. */
  waitClosed(win: Window): Promise<void> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (!win.closed) return;
        clearInterval(timer);
        resolve();
      }, CLOSED_POLL_MS);
    });
  }

  /**
   * The spec's client flow (§7.1) for one probe service: probe; external services (token
   * only); kiosk (a window without asking); then the active service's prompt, again after
   * every failed try, until the probe says 200. Resolves with the last probe answer: 200,
   * or a status no access service can change (410 withdrawn, or 401 with nothing to try).
   */
  async authorize(probe: ProbeService, ui: AccessUi): Promise<ProbeResult> {
    if (this.granted.has(probe.id)) return { status: 200, heading: {}, note: {} };
    let result = await this.probe(probe);
    if (result.status !== 401) return result;

    for (const service of probe.access.filter((s) => s.profile === 'external')) {
      const key = flowKey(service);
      if (this.tried.has(key)) continue;
      const reply = await this.requestToken(service.token);
      this.tried.add(key);
      if (reply.kind !== 'token') continue;
      result = await this.probe(probe);
      if (result.status !== 401) return result;
    }

    for (const service of probe.access.filter((s) => s.profile === 'kiosk')) {
      const key = flowKey(service);
      if (this.tried.has(key)) continue;
      this.tried.add(key);
      const win = this.openAccess(service);
      if (!win) continue;
      await this.waitClosed(win);
      if ((await this.requestToken(service.token)).kind !== 'token') continue;
      result = await this.probe(probe);
      if (result.status !== 401) return result;
    }

    const active = probe.access.find((s) => s.profile === 'active');
    if (!active) return result;
    let failure: Failure | undefined;
    for (;;) {
      const reply = await this.interact(active, ui, failure);
      if (reply === 'blocked') {
        failure = { heading: {}, note: {}, reason: 'blocked' };
        continue;
      }
      if (reply.kind === 'error') {
        failure = tokenFailure(reply, active.token);
        continue;
      }
      result = await this.probe(probe);
      if (result.status === 200) {
        ui.done(active);
        return result;
      }
      if (result.status !== 401) {
        ui.done(active);
        return result;
      }
      failure = probeFailure(result, probe);
    }
  }

  /** Prompt → window → closed → token: shared by every page that waits on this access service. */
  private interact(service: AccessService, ui: AccessUi, failure: Failure | undefined): Promise<TokenReply | 'blocked'> {
    const key = flowKey(service);
    const pending = this.interactions.get(key);
    if (pending) {
      ui.show(service);
      return pending;
    }
    const flow = (async (): Promise<TokenReply | 'blocked'> => {
      const win = await ui.ask(service, failure, () => this.openAccess(service));
      if (!win) return 'blocked';
      ui.progress(service, 'waiting');
      await this.waitClosed(win);
      ui.progress(service, 'checking');
      return this.requestToken(service.token);
    })().finally(() => this.interactions.delete(key));
    this.interactions.set(key, flow);
    return flow;
  }

  /** The access service whose logout the viewer may offer: one with a logout service and a token held. */
  logoutOffer(probe: ProbeService): AccessService | undefined {
    return probe.access.find((s) => s.logout && this.tokens.get(s.token.id, Date.now()) !== undefined);
  }

  /**
   * Opens the logout service in a window and forgets the token and every grant (spec §6.2);
   * resolves when that window closes, so the viewer can ask the probes again.
   */
  async logout(service: AccessService): Promise<void> {
    this.tokens.drop(service.token.id);
    this.granted.clear();
    this.tried.clear();
    const win = service.logout ? window.open(service.logout.id, '_blank', 'popup,width=560,height=720') : null;
    if (win) await this.waitClosed(win);
  }
}
