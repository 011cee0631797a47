import { isIP } from 'node:net';
import type { Context } from 'koa';
import { Problem } from './problem.ts';

/** Host names and IP literals with an optional port: anything else is refused, not echoed into documents. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The URL the outside world reaches us at, the one base of every absolute URL we write
 * (IIIF ids, manifests, link previews, the OpenAPI server): THUKHO_PUBLIC_URL when set;
 * else, behind a proxy we were told to trust (THUKHO_TRUST_PROXY, which sets `app.proxy`),
 * X-Forwarded-Proto and X-Forwarded-Host; else the address the connection arrived at.
 * Never the client's own Host header: `info.json` is cached `public, immutable`, and a
 * shared cache would hand a forged host to every later reader.
 */
export function publicBase(publicUrl: string | undefined, ctx: Context): string {
  if (publicUrl) return publicUrl;
  if (ctx.app.proxy) return forwardedBase(ctx);
  return listeningBase(ctx);
}

function forwardedBase(ctx: Context): string {
  const protocol = ctx.protocol;
  if ((protocol !== 'http' && protocol !== 'https') || !HOST.test(ctx.host)) {
    throw new Problem(400, 'invalid-host', {
      vi: 'Tiêu đề Host hoặc X-Forwarded-Host/-Proto không hợp lệ; không thể tạo địa chỉ cho tài liệu IIIF.',
      en: 'The Host or X-Forwarded-Host/-Proto header is not valid; IIIF addresses cannot be made from it.',
    });
  }
  return `${protocol}://${ctx.host}`;
}

/** The local end of the socket: one of our own addresses, whatever the client wrote in Host. */
function listeningBase(ctx: Context): string {
  const socket = ctx.req.socket;
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
  const address = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const host = isIP(address) === 6 ? `[${address.replace(/%/g, '%25')}]` : address;
  return `${ctx.protocol}://${host}:${socket.localPort ?? ''}`;
}
