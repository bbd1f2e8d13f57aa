import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `::1`, `2001:db8::/32`; null when invalid. */
export function parseCidr(v: string): Cidr | null {
  const [address, bits, ...rest] = v.trim().split('/');
  if (!address || rest.length) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An allowlist; IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) match their IPv4 entries. */
export function allowList(entries: string[]): (ip: string | undefined) => boolean {
  const list = new BlockList();
  for (const e of entries) {
    const c = parseCidr(e);
    if (!c) throw new Error(`invalid CIDR ${e}`);
    list.addSubnet(c.address, c.prefix, c.family);
  }
  return (ip) => {
    if (!ip) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const addr = mapped ? mapped[1]! : ip;
    const v = isIP(addr);
    return v !== 0 && list.check(addr, v === 4 ? 'ipv4' : 'ipv6');
  };
}

const isLoopbackAddress = allowList(['127.0.0.0/8', '::1']);

/**
 * Loopback by address, never by spelling: an IP literal in 127.0.0.0/8 or ::1
 * (brackets allowed, IPv4-mapped too). A name such as `localhost` is not an
 * address; its resolved addresses decide (see resolvesToLoopback).
 */
export function isLoopbackIp(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(h) !== 0 && isLoopbackAddress(h);
}
