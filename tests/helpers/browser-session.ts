/**
 * A browser as far as cookies and forms go: keeps the cookies a server sets (by name, for
 * the server's origin), sends them back, and follows nothing by itself, so a test sees each
 * redirect. What Set-Cookie said is kept too, for tests of its attributes.
 */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();
  lastSetCookie: string[] = [];

  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.cookieHeader());
    const res = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    this.lastSetCookie = res.headers.getSetCookie();
    for (const line of this.lastSetCookie) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** The CSRF token in the first form of a page. */
  async formToken(path: string): Promise<string> {
    const res = await this.request(path);
    const m = /name="csrf" value="([^"]+)"/.exec(await res.text());
    if (!m?.[1]) throw new Error(`no CSRF field on ${path} (status ${res.status})`);
    return m[1];
  }

  /** Signs in through the site's form, as a person would; the answer to the POST. */
  async signIn(account: string, password: string, returnTo = '/'): Promise<Response> {
    const csrf = await this.formToken(`/sign-in?return=${encodeURIComponent(returnTo)}`);
    return this.postForm('/sign-in', { account, password, csrf, return: returnTo });
  }
}
