/**
 * IP addresses as numbers, so prefixes compare exactly (no string games).
 * IPv4 is a 32-bit and IPv6 a 128-bit bigint; `family` keeps them apart.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Number } from '../common/ipv4';

export type Family = 4 | 6;

export interface Addr {
  readonly family: Family;
  readonly value: bigint;
}

const cache = new Map<string, Addr | undefined>();
/** Bounded: a node parses the same few addresses over and over, and 100,000 distinct ones would only thrash it. */
const CACHE_MAX = 8192;

/** IPv4 text to its 32-bit value or -1 (common/ipv4.ts); canonical IPv4 text is what it accepts. */
export const parseV4Number = ipv4Number;

/** Parses an IPv4 or IPv6 address (IPv6 memoised: pinhole sets parse the same addresses over and over). */
export function parseAddress(text: string): Addr | undefined {
  const v4 = parseV4Number(text);
  if (v4 >= 0) return { family: 4, value: BigInt(v4) };
  const hit = cache.get(text);
  if (hit !== undefined || cache.has(text)) return hit;
  const a = parseUncached(text);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(text, a);
  return a;
}

function parseUncached(text: string): Addr | undefined {
  if (isIPv4(text)) {
    let v = 0;
    for (const part of text.split('.')) v = v * 256 + Number(part);
    return { family: 4, value: BigInt(v) };
  }
  if (isIPv6(text)) return { family: 6, value: parseV6(text) };
  return undefined;
}

function parseV6(text: string): bigint {
  // Zone ids (fe80::1%eth0) are not allowed in filters; isIPv6 accepts them, strip for the value.
  let s = text.split('%')[0];
  // Embedded IPv4 tail (::ffff:198.18.0.1).
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const p = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

export function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

const MASKS: Record<Family, bigint[]> = { 4: [], 6: [] };

export function maskOf(family: Family, length: number): bigint {
  const cached = MASKS[family][length];
  if (cached !== undefined) return cached;
  const b = BigInt(bits(family));
  const all = (1n << b) - 1n;
  const m = length === 0 ? 0n : (all >> (b - BigInt(length))) << (b - BigInt(length));
  if (Number.isInteger(length) && length >= 0 && length <= bits(family)) MASKS[family][length] = m;
  return m;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatAddress(a: Addr): string {
  if (a.family === 4) {
    const v = Number(a.value);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Is `a` inside prefix (network `net`, `length` bits)? */
export function inPrefix(a: Addr, net: Addr, length: number): boolean {
  return a.family === net.family && (a.value & maskOf(a.family, length)) === net.value;
}

/** A stable map key for an address. */
export function addrKey(a: Addr): string {
  return `${a.family}/${a.value.toString(16)}`;
}
