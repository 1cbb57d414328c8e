/**
 * IP address text <-> network bytes for the NATFW layers, without Node's `net`
 * module (the protocol layers stay pure). The parsing and RFC 5952 formatting
 * are the GIST codec's (gist/codec/addresses.ts); this module only offers them
 * in the shapes the NATFW codec and the authorizer use.
 */
import { formatIpv4 as gistFormatIpv4, formatIpv6 as gistFormatIpv6, writeIpv4, writeIpv6 } from '../../gist/codec/addresses';

/** The 4 bytes of a dotted-quad IPv4 address (no leading zeros), or undefined. */
export function parseIpv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return writeIpv4(s, out, 0) ? out : undefined;
}

/** The 16 bytes of an IPv6 address (with '::' and a trailing dotted quad allowed), or undefined. */
export function parseIpv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  return writeIpv6(s, out, 0) ? out : undefined;
}

export function formatIpv4(b: Uint8Array, at = 0): string {
  return gistFormatIpv4(b, at);
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as '::'. */
export function formatIpv6(b: Uint8Array, at = 0): string {
  return gistFormatIpv6(b, at);
}

/** Either family; undefined for anything else. */
export function parseIp(s: string): { version: 4 | 6; bytes: Uint8Array } | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(s);
  if (v6 !== undefined) return { version: 6, bytes: v6 };
  return undefined;
}

/** Canonical text of an address given as text, or undefined if it is not an address. */
export function canonicalIp(s: string): string | undefined {
  const p = parseIp(s);
  if (p === undefined) return undefined;
  return p.version === 4 ? formatIpv4(p.bytes) : formatIpv6(p.bytes);
}
