import { testWithServer } from '../helpers/server.ts';

/**
 * HSTS is sent only on a request that arrived over TLS. Behind a reverse proxy that
 * terminates TLS, that is what the proxy says in X-Forwarded-Proto, and only when the operator
 * has said a proxy is there (THUKHO_TRUST_PROXY); a client's own X-Forwarded-Proto is not
 * believed otherwise (headers.test.ts sends it to a server without a trusted proxy).
 */
const test = testWithServer({ THUKHO_TRUST_PROXY: 'true' });

test('behind a trusted TLS proxy: Strict-Transport-Security on pages, API and IIIF; not on plain HTTP', async (t) => {
  const s = t.context.server;
  for (const path of ['/', '/api/objects', '/iiif/collection/top', '/khong/co']) {
    const tls = await fetch(`${s.url}${path}`, { headers: { 'x-forwarded-proto': 'https' } });
    await tls.arrayBuffer();
    t.regex(tls.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}$/, path);
    const plain = await fetch(`${s.url}${path}`, { headers: { 'x-forwarded-proto': 'http' } });
    await plain.arrayBuffer();
    t.is(plain.headers.get('strict-transport-security'), null, path);
  }
});
