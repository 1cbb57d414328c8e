/**
 * IP address text <-> network bytes, without Node's `net` module (the
 * protocol layers stay pure). Text is canonical: IPv4 dotted quad, IPv6
 * lowercase and RFC 5952 compressed.
 */

/** Returns the 4 bytes of a dotted-quad IPv4 address (no leading zeros), or undefined. Hand-rolled: it is on the authorizer's path. */
export function parseIpv4(s: string): Uint8Array | undefined {
  if (s.length < 7 || s.length > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a virtual '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

/** Returns the 16 bytes of an IPv6 address (with '::' and a trailing dotted quad allowed), or undefined. */
export function parseIpv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let head = s;
  let v4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return undefined;
  const parseGroups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const gs = t.split(':');
    const out: number[] = [];
    for (const g of gs) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (left === undefined || right === undefined || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  if (v4 !== undefined) out.set(v4, 12);
  return out;
}

export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 s4: lowercase, no leading zeros, the longest run (>= 2) of zero groups as '::' (the first on a tie); s5 dotted tail for mapped addresses. */
export function formatIpv6(b: Uint8Array, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
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
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) keep a dotted tail, as inet_ntop (and gist/codec) do.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) return (bestLen === 6 ? '::' : '::ffff:') + formatIpv4(b, at + 12);
  const left = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const right = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${left}::${right}`;
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
