import { z } from 'zod';

/**
 * `THUKHO_SEARCH` for a Typesense server or cluster:
 *
 *   typesense://KEY@host:port[,host:port…]     plain HTTP (a private network)
 *   typesenses://KEY@host:port[,host:port…]    HTTPS, like rediss:// beside redis://
 *
 * The key may be percent-encoded (`%40` for `@`); the port defaults to 8108 (Typesense's) for
 * http and 443 for https; an IPv6 host goes in brackets (`[::1]:8108`). Every node of a
 * cluster is listed: the client spreads requests and fails over between them.
 * The key is never part of an error message: it is replaced by `***`.
 */
export interface TypesenseNode {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

export interface TypesenseConnection {
  apiKey: string;
  nodes: TypesenseNode[];
}

const NODE = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/;

/** The URL with its key (any `scheme://…@` user part) hidden, for logs and messages. */
export function redactTypesenseUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@]*@/, '$1***@');
}

export const TypesenseUrl = z.string().transform((url, ctx): TypesenseConnection => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message: `${message} (${redactTypesenseUrl(url)}); use typesense://KEY@host:port[,host:port] or typesenses:// for HTTPS` });
    return z.NEVER;
  };
  const m = /^(typesenses?):\/\/([^@]*)@(.+)$/i.exec(url);
  if (!m) return fail('not a typesense:// URL with a key');
  const protocol = m[1]?.toLowerCase() === 'typesenses' ? 'https' : 'http';
  let apiKey: string;
  try {
    apiKey = decodeURIComponent(m[2] ?? '');
  } catch {
    return fail('the API key is not valid percent-encoding');
  }
  if (!apiKey) return fail('the API key is empty');
  const nodes: TypesenseNode[] = [];
  for (const part of (m[3] ?? '').split(',')) {
    const n = NODE.exec(part.trim());
    if (!n) return fail(`"${part}" is not host:port`);
    const port = n[3] === undefined ? (protocol === 'https' ? 443 : 8108) : Number(n[3]);
    if (port < 1 || port > 65535) return fail(`port ${port} is out of range`);
    nodes.push({ host: n[1] ?? n[2] ?? '', port, protocol });
  }
  return { apiKey, nodes };
});

export function parseTypesenseUrl(url: string): TypesenseConnection {
  const parsed = TypesenseUrl.safeParse(url);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}
