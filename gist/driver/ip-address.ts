/**
 * IP address literals <-> bytes, and the canonical text form used across
 * natfw (gist/types.ts: IPv4 dotted quad; IPv6 lowercase, RFC 5952
 * compressed, as Node's `net` module prints them).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { IpVersion } from '../types';

export function ipVersionOf(address: string): IpVersion | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** 4 bytes, or undefined when `s` is not an IPv4 literal. */
export function ipv4ToBytes(s: string): Uint8Array | undefined {
  if (!isIPv4(s)) return undefined;
  return new Uint8Array(s.split('.').map(Number));
}

/** 16 bytes, or undefined when `s` is not an IPv6 literal (embedded dotted IPv4 and zone-less only). */
export function ipv6ToBytes(s: string): Uint8Array | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s;
  const out = new Uint8Array(16);
  let tail: number[] = [];
  // Trailing dotted IPv4 (e.g. ::ffff:198.18.1.1) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v4 = ipv4ToBytes(maybeV4);
    if (v4 === undefined) return undefined;
    text = text.slice(0, lastColon + 1) + ((v4[0] << 8) | v4[1]).toString(16) + ':' + ((v4[2] << 8) | v4[3]).toString(16);
  }
  const halves = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]);
  tail = halves.length > 1 ? parse(halves[1]) : [];
  const groups = halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function addressToBytes(s: string): Uint8Array | undefined {
  return ipv4ToBytes(s) ?? ipv6ToBytes(s);
}

export function bytesToIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 s4: lowercase, leading zeros dropped, the longest run (>1) of zero groups as '::' (first one on ties). */
export function bytesToIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address literal (e.g. '2001:DB8:0:0::1' -> '2001:db8::1'); IPv4-mapped IPv6 becomes the IPv4 text. */
export function canonicalAddress(s: string): string | undefined {
  if (isIPv4(s)) return s;
  const b = ipv6ToBytes(s);
  if (b === undefined) return undefined;
  const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? bytesToIpv4(b, 12) : bytesToIpv6(b);
}
