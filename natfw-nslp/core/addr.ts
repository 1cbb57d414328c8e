/** Prefix arithmetic on canonical address text (gist/types.ts), for policy checks and NAT matching. */
import { isIpv4Text as isIPv4, isIpv6Text as isIPv6 } from '../../gist/codec/addresses';
import type { Prefix } from '../../enforcement/types';

function v4Bytes(a: string): number[] {
  return a.split('.').map((x) => Number(x) & 0xff);
}

function v6Bytes(a: string): number[] {
  let s = a;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail.push(...v4Bytes(s.slice(lastColon + 1)));
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined ? [] : rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const words = [...h, ...Array<string>(fill).fill('0'), ...r].map((w) => parseInt(w, 16) & 0xffff);
  const out: number[] = [];
  for (const w of words) out.push(w >> 8, w & 0xff);
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}

/** Address bytes, or undefined when the text is not an IP address. */
export function addressBytes(a: string): number[] | undefined {
  if (isIPv4(a)) return v4Bytes(a);
  if (isIPv6(a)) return v6Bytes(a);
  return undefined;
}

export function familyBits(a: string): 32 | 128 {
  return isIPv4(a) ? 32 : 128;
}

/** true when `addr` lies inside `p` (same family). */
export function prefixContains(p: Prefix, addr: string): boolean {
  const pb = addressBytes(p.address);
  const ab = addressBytes(addr);
  if (pb === undefined || ab === undefined || pb.length !== ab.length) return false;
  let bits = Math.max(0, Math.min(p.length, pb.length * 8));
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((pb[i] & mask) !== (ab[i] & mask)) return false;
  }
  return true;
}

/** true when prefix `inner` lies completely inside `outer`. */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return inner.length >= outer.length && prefixContains(outer, inner.address);
}

export function isWildcardAddress(a: string): boolean {
  return a === '0.0.0.0' || a === '::';
}
