/**
 * What the driver adds to the codec's address text (gist/codec/addresses.ts,
 * the one parser and RFC 5952 formatter of natfw): the IP version of a
 * literal, and the canonical text of an address a socket reports, where a
 * dual-stack socket's IPv4-mapped IPv6 (::ffff:a.b.c.d) means the IPv4 peer.
 */
import { isIP } from 'node:net';
import { formatIpv4, formatIpv6, writeIpv4, writeIpv6 } from '../codec/addresses';
import type { IpVersion } from '../types';

const scratch = new Uint8Array(16);

/** Node's own notion of a literal, so scoped IPv6 (fe80::1%eth0) stays acceptable for binding sockets. */
export function ipVersionOf(address: string): IpVersion | undefined {
  const v = isIP(address);
  return v === 4 ? 4 : v === 6 ? 6 : undefined;
}

/** Canonical text of an address literal (e.g. '2001:DB8:0:0::1' -> '2001:db8::1'); IPv4-mapped IPv6 becomes the IPv4 text. */
export function canonicalAddress(s: string): string | undefined {
  if (writeIpv4(s, scratch, 0)) return formatIpv4(scratch, 0);
  if (!writeIpv6(s, scratch, 0)) return undefined;
  let mapped = scratch[10] === 0xff && scratch[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = scratch[i] === 0;
  return mapped ? formatIpv4(scratch, 12) : formatIpv6(scratch, 0);
}
