import { BlockList, isIP } from 'node:net';

/**
 * IP ranges (the reading room's: THUKHO_READING_ROOM_CIDRS), parsed once at start and asked
 * for every request. Matching is node's BlockList, which also matches an IPv4-mapped IPv6
 * address (`::ffff:10.0.0.5`, what a dual-stack socket reports) against an IPv4 range.
 */
export interface IpRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export class IpRangeError extends Error {}

/** `10.0.0.0/24, 2001:db8::/48, 192.168.1.7`: a bare address is one host. */
export function parseIpRanges(text: string): IpRange[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(part);
      const version = m ? isIP(m[1] as string) : 0;
      if (!m || version === 0) throw new IpRangeError(`"${part}" is not an IPv4 or IPv6 address or CIDR range (e.g. 10.0.0.0/24, 2001:db8::/48)`);
      const max = version === 4 ? 32 : 128;
      const prefix = m[2] === undefined ? max : Number(m[2]);
      if (prefix > max) throw new IpRangeError(`"${part}": an IPv${version} prefix is at most /${max}`);
      return { address: m[1] as string, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
    });
}

/** A test of an address (as koa's ctx.ip gives it) against the ranges; never true for none. */
export function ipRangeMatcher(ranges: readonly IpRange[]): (ip: string) => boolean {
  if (ranges.length === 0) return () => false;
  const list = new BlockList();
  for (const r of ranges) list.addSubnet(r.address, r.prefix, r.family);
  return (ip) => {
    const version = isIP(ip);
    return version !== 0 && list.check(ip, version === 4 ? 'ipv4' : 'ipv6');
  };
}
