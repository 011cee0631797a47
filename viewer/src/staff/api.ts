/**
 * The staff pages' one way to call /api: the session cookie goes along, every change carries
 * the CSRF token from the page's <meta>, and a refusal becomes an ApiError with the server's
 * reason in both languages (problem+json `messages`), ready to show to the person.
 */
export interface Bilingual {
  vi: string;
  en: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly messages: Bilingual,
    readonly body: Record<string, unknown>,
  ) {
    super(messages.en);
    this.name = 'ApiError';
  }
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

export interface ApiOptions {
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

const NETWORK: Bilingual = {
  vi: 'Không kết nối được với máy chủ; hãy kiểm tra mạng rồi thử lại.',
  en: 'Could not reach the server; check the network and try again.',
};

export async function api<T = Record<string, unknown>>(method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken();
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', NETWORK, {});
  }
  const type = response.headers.get('content-type') ?? '';
  const data: unknown = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw problemError(response.status, data);
  return { status: response.status, headers: response.headers, data: data as T };
}

export function problemError(status: number, data: unknown): ApiError {
  const body = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const m = body.messages as Partial<Bilingual> | undefined;
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
  const messages: Bilingual = { vi: m?.vi ?? detail, en: m?.en ?? detail };
  const type = typeof body.type === 'string' ? body.type : '';
  return new ApiError(status, type.slice(type.lastIndexOf('/') + 1) || String(status), messages, body);
}
