/**
 * IP addresses as canonical text, as gist/types.ts wants them: IPv4 dotted
 * quad; IPv6 lowercase and compressed per RFC 5952 exactly as Node's `net`
 * prints them (libuv's inet_ntop: the longest run of two or more zero groups
 * becomes "::", the first one on a tie; "::a.b.c.d" and "::ffff:a.b.c.d" keep
 * the IPv4 tail dotted). Formatting is table driven and allocation-light
 * because it sits in the decode hot path; parsing is used only by encoders.
 */

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16));
const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'));
const DEC: string[] = [];
for (let i = 0; i < 256; i++) DEC.push(String(i));

/**
 * Recently formatted addresses, direct-mapped by a hash of the address
 * bytes. Signalling mostly repeats a few addresses (flow endpoints, peers),
 * so decoding then allocates no text, and every decoded MRI or NLI naming
 * an address shares one string (less memory where an NSLP keeps MRIs).
 */
const CACHE_SLOTS = 1024;
/**
 * IPv4 slots: more, because a simulation of 1,000 nodes names about as many addresses, and
 * with 1,024 direct-mapped slots 16% of its lookups missed (two addresses taking turns at
 * one slot), each making a new string that later comparisons and Map lookups had to flatten
 * and hash again.
 */
const V4_CACHE_SLOTS = 8192;
const v4Keys = new Int32Array(V4_CACHE_SLOTS);
const v4Text: (string | undefined)[] = new Array<string | undefined>(V4_CACHE_SLOTS).fill(undefined);
const v6Keys = new Int32Array(CACHE_SLOTS * 4);
const v6Text: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

function mixBits(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}

function mix(h: number): number {
  return mixBits(h) & (CACHE_SLOTS - 1);
}

/** Callers guarantee 4 bytes at `off`. */
export function formatIpv4(b: Uint8Array, off: number): string {
  const v = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  const slot = mixBits(v) & (V4_CACHE_SLOTS - 1);
  const hit = v4Text[slot];
  if (hit !== undefined && v4Keys[slot] === v) return hit;
  const s = DEC[b[off]] + '.' + DEC[b[off + 1]] + '.' + DEC[b[off + 2]] + '.' + DEC[b[off + 3]];
  v4Keys[slot] = v;
  v4Text[slot] = s;
  return s;
}

function group(hi: number, lo: number): string {
  return hi === 0 ? HEX[lo] : HEX[hi] + HEX2[lo];
}

function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** Callers guarantee 16 bytes at `off`. */
export function formatIpv6(b: Uint8Array, off: number): string {
  const w0 = word(b, off);
  const w1 = word(b, off + 4);
  const w2 = word(b, off + 8);
  const w3 = word(b, off + 12);
  const slot = mix(w0 ^ Math.imul(w1, 31) ^ Math.imul(w2, 961) ^ Math.imul(w3, 29791));
  const hit = v6Text[slot];
  const k = slot * 4;
  if (hit !== undefined && v6Keys[k] === w0 && v6Keys[k + 1] === w1 && v6Keys[k + 2] === w2 && v6Keys[k + 3] === w3) return hit;
  const s = formatIpv6Text(b, off);
  v6Keys[k] = w0;
  v6Keys[k + 1] = w1;
  v6Keys[k + 2] = w2;
  v6Keys[k + 3] = w3;
  v6Text[slot] = s;
  return s;
}

function formatIpv6Text(b: Uint8Array, off: number): string {
  // Longest run of zero 16-bit groups (length >= 2), first on a tie.
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;
  // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) keep a dotted tail, as inet_ntop does.
  if (bestBase === 0 && (bestLen === 6 || (bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff))) {
    return (bestLen === 6 ? '::' : '::ffff:') + formatIpv4(b, off + 12);
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += group(b[off + 2 * i], b[off + 2 * i + 1]);
    if (i < 7) s += ':';
  }
  return s;
}

/** Writes a dotted-quad IPv4 address; false (nothing meaningful written) if `s` is not one. */
export function writeIpv4(s: string, b: Uint8Array, off: number): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; /* '.' terminates the last part */
    if (c >= 48 && c <= 57) {
      // No leading zeros ("01"), as the canonical form never has them.
      if (digits > 0 && val === 0) return false;
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      b[off + part] = val;
      part++;
      val = 0;
      digits = 0;
    } else return false;
  }
  return part === 4;
}

/** Writes an IPv6 address in any RFC 4291 s2.2 text form (also with a dotted IPv4 tail); false if invalid. */
export function writeIpv6(s: string, b: Uint8Array, off: number): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const hg = head === '' ? [] : head.split(':');
  const tg = tail === '' ? [] : tail.split(':');
  const groups: number[] = [];
  const parse = (list: string[], out: number[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (allowV4Last && i === list.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!writeIpv4(g, v4, 0)) return false;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      out.push(parseInt(g, 16));
    }
    return true;
  };
  const hv: number[] = [];
  const tv: number[] = [];
  if (!parse(hg, hv, dbl < 0)) return false;
  if (!parse(tg, tv, true)) return false;
  if (dbl >= 0) {
    if (hv.length + tv.length > 7) return false;
    groups.push(...hv);
    for (let i = hv.length + tv.length; i < 8; i++) groups.push(0);
    groups.push(...tv);
  } else {
    if (hv.length !== 8) return false;
    groups.push(...hv);
  }
  for (let i = 0; i < 8; i++) {
    b[off + 2 * i] = groups[i] >> 8;
    b[off + 2 * i + 1] = groups[i] & 0xff;
  }
  return true;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address given as text, or undefined. */
export function addressBytes(s: string): Uint8Array | undefined {
  const v4 = new Uint8Array(4);
  if (writeIpv4(s, v4, 0)) return v4;
  const v6 = new Uint8Array(16);
  if (writeIpv6(s, v6, 0)) return v6;
  return undefined;
}

/** Whether address bytes `a` lie in the prefix of network bytes `net` and `length` bits (same family). */
export function bytesInPrefix(net: Uint8Array, length: number, a: Uint8Array): boolean {
  if (a.length !== net.length) return false;
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== a[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (net[full] & mask) === (a[full] & mask);
}

/** Byte length of an address of the given IP version. */
export function addressLength(ipVersion: 4 | 6): number {
  return ipVersion === 4 ? 4 : 16;
}

const scratch = new Uint8Array(16);

/** True for IPv4 dotted-quad text (the core's replacement for node:net isIPv4, which keeps the core free of I/O modules). */
export function isIpv4Text(s: string): boolean {
  return writeIpv4(s, scratch, 0);
}

/** True for IPv6 text in any RFC 4291 s2.2 form. */
export function isIpv6Text(s: string): boolean {
  return writeIpv6(s, scratch, 0);
}
