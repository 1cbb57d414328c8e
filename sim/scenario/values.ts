/**
 * Reading validated values out of the YAML syntax tree, keeping the position
 * of every node so that an error names the line and what is wrong with it.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node as YamlNode, type YAMLMap } from 'yaml';
import { NatfwError } from '../../common/errors';
import type { Prefix } from '../../enforcement/types';
import { ipv4Number } from '../../common/ipv4';
import { addressBytes, bytesInPrefix, formatIpv4 as formatIpv4Bytes, formatIpv6 } from '../../gist/codec/addresses';

export class ScenarioError extends NatfwError {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
    readonly file = '',
  ) {
    super('SIM_BAD_SCENARIO', `${file === '' ? 'scenario' : file}:${line}:${column}: ${detail}`);
  }
}

/** A YAML node with its position and the dotted path that leads to it (for messages). */
export class Val {
  constructor(
    readonly node: YamlNode | null | undefined,
    readonly path: string,
    private readonly lc: LineCounter,
    private readonly fallbackOffset: number,
  ) {}

  get offset(): number {
    const r = this.node?.range;
    return r !== undefined && r !== null ? r[0] : this.fallbackOffset;
  }

  get line(): number {
    return this.lc.linePos(this.offset).line;
  }

  fail(what: string): never {
    const p = this.lc.linePos(this.offset);
    throw new ScenarioError(p.line, p.col, `${this.path}: ${what}`);
  }

  /** A missing key of this mapping (for messages positioned at the mapping). */
  absent(key: string): Val {
    return new Val(undefined, this.path === '' ? key : `${this.path}.${key}`, this.lc, this.offset);
  }

  get present(): boolean {
    return this.node !== undefined && this.node !== null && !(isScalar(this.node) && this.node.value === null);
  }

  private kindName(): string {
    const n = this.node;
    if (n === undefined || n === null) return 'nothing';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) return n.value === null ? 'nothing' : `${JSON.stringify(n.value)}`;
    return 'an alias';
  }

  get isMapping(): boolean {
    return this.node !== undefined && this.node !== null && isMap(this.node);
  }

  /** The keys of a mapping, each checked against `allowed`. */
  map(allowed: readonly string[]): Map<string, Val> {
    const n = this.node;
    if (n === undefined || n === null || !isMap(n)) this.fail(`must be a mapping, got ${this.kindName()}`);
    const out = new Map<string, Val>();
    for (const pair of (n as YAMLMap).items) {
      const k = pair.key;
      const keyVal = new Val(k as YamlNode, this.path, this.lc, this.offset);
      if (!isScalar(k) || typeof k.value !== 'string') keyVal.fail('keys must be plain words');
      const name = (k as { value: string }).value;
      if (!allowed.includes(name)) keyVal.fail(`unknown key '${name}' (expected one of: ${allowed.join(', ')})`);
      if (out.has(name)) keyVal.fail(`duplicate key '${name}'`);
      out.set(name, new Val(pair.value as YamlNode, this.path === '' ? name : `${this.path}.${name}`, this.lc, keyVal.offset));
    }
    return out;
  }

  list(): Val[] {
    const n = this.node;
    if (!this.present) return [];
    if (!isSeq(n)) this.fail(`must be a list, got ${this.kindName()}`);
    return n.items.map((it, i) => new Val(it as YamlNode, `${this.path}[${i}]`, this.lc, this.offset));
  }

  private scalar(): unknown {
    const n = this.node;
    if (n === undefined || n === null || !isScalar(n)) this.fail(`must be a single value, got ${this.kindName()}`);
    return n.value;
  }

  str(): string {
    const v = this.scalar();
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number') return String(v);
    return this.fail(`must be a non-empty string, got ${this.kindName()}`);
  }

  id(): string {
    const s = this.str();
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(s)) this.fail(`'${s}' is not a valid id (letters, digits, _ . : -, at most 64)`);
    return s;
  }

  num(min: number, max: number): number {
    const v = this.scalar();
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`must be a number, got ${this.kindName()}`);
    if (v < min || v > max) this.fail(`must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  int(min: number, max: number): number {
    const v = this.num(min, max);
    if (!Number.isInteger(v)) this.fail(`must be an integer, got ${v}`);
    return v;
  }

  bool(): boolean {
    const v = this.scalar();
    if (typeof v !== 'boolean') this.fail(`must be true or false, got ${this.kindName()}`);
    return v;
  }

  oneOf<T extends string>(options: readonly T[]): T {
    const s = this.str();
    if (!(options as readonly string[]).includes(s)) this.fail(`must be one of ${options.join(', ')}, got '${s}'`);
    return s as T;
  }

  /** A duration: '250ms', '40s', '2m', '1h', or a plain number of seconds. Returns ms. */
  duration(maxMs = 30 * 24 * 3600 * 1000): number {
    const v = this.scalar();
    let ms: number;
    if (typeof v === 'number') ms = v * 1000;
    else if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h)\s*$/.exec(v);
      if (m === null) this.fail(`'${v}' is not a duration (e.g. 250ms, 40s, 2m)`);
      const unit = { us: 0.001, ms: 1, s: 1000, m: 60000, min: 60000, h: 3600000 }[m[2] as 'us' | 'ms' | 's' | 'm' | 'min' | 'h'];
      ms = Number(m[1]) * unit;
    } else return this.fail(`must be a duration (e.g. 40s), got ${this.kindName()}`);
    if (!Number.isFinite(ms) || ms < 0) this.fail('must not be negative');
    if (ms > maxMs) this.fail(`must be at most ${maxMs / 1000}s`);
    return ms;
  }

  /** '100Mbps', '1Gbps', '64kbps', or bits per second. */
  bitrate(): number {
    const v = this.scalar();
    if (typeof v === 'number' && v >= 0) return v;
    if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(bps|kbps|Mbps|Gbps)\s*$/.exec(v);
      if (m !== null) return Number(m[1]) * { bps: 1, kbps: 1e3, Mbps: 1e6, Gbps: 1e9 }[m[2] as 'bps' | 'kbps' | 'Mbps' | 'Gbps'];
    }
    return this.fail(`must be a bit rate (e.g. 100Mbps), got ${this.kindName()}`);
  }

  /** A probability: 0.05 or '5%'. */
  fraction(): number {
    const v = this.scalar();
    let f: number | undefined;
    if (typeof v === 'number') f = v;
    else if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
      if (m !== null) f = Number(m[1]) / 100;
    }
    if (f === undefined || !(f >= 0 && f <= 1)) this.fail(`must be a fraction between 0 and 1 (or a percentage), got ${this.kindName()}`);
    return f;
  }

  /** '2/s', '120/min' or a plain number per second. */
  rate(): number {
    const v = this.scalar();
    if (typeof v === 'number' && v > 0) return v;
    if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|min|h)\s*$/.exec(v);
      if (m !== null && Number(m[1]) > 0) return Number(m[1]) / { s: 1, min: 60, h: 3600 }[m[2] as 's' | 'min' | 'h'];
    }
    return this.fail(`must be a positive rate (e.g. 2/s), got ${this.kindName()}`);
  }

  /** An IPv4 or IPv6 address, as canonical text (RFC 5952 for IPv6: the form the cores decode from the wire). */
  ip(): string {
    const s = this.str();
    const c = canonicalIp(s);
    if (c === undefined) return this.fail(`'${s}' is not an IPv4 or IPv6 address`);
    return c;
  }

  /** A prefix of either family (`198.18.0.0/15`, `2001:db8::/32`); a bare address is a host prefix. */
  prefix(): Prefix {
    const s = this.str();
    const [a, l] = s.split('/');
    const address = canonicalIp(a);
    const max = address?.includes(':') === true ? 128 : 32;
    const len = l === undefined ? max : Number(l);
    if (address === undefined || !Number.isInteger(len) || len < 0 || len > max) this.fail(`'${s}' is not an IPv4 or IPv6 prefix (e.g. 198.18.0.0/15, 2001:db8::/32)`);
    return { address: address as string, length: len };
  }

  port(): number {
    return this.int(0, 65535);
  }

  protocol(): number {
    const v = this.scalar();
    if (typeof v === 'number') return this.int(0, 255);
    const names: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, icmpv6: 58, sctp: 132 };
    const s = this.str().toLowerCase();
    if (names[s] === undefined) this.fail(`unknown protocol '${s}' (udp, tcp, sctp, dccp, icmp or a number)`);
    return names[s];
  }
}

/** Dotted-quad IPv4 text as a 32-bit number (common/ipv4.ts: no leading zeros, as everywhere in natfw), or undefined. */
export function parseIpv4(s: string): number | undefined {
  const n = ipv4Number(s);
  return n < 0 ? undefined : n;
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}


/** Canonical text of an IPv4 or IPv6 address, or undefined. */
export function canonicalIp(s: string): string | undefined {
  const b = addressBytes(s);
  if (b === undefined) return undefined;
  return b.length === 4 ? formatIpv4Bytes(b, 0) : formatIpv6(b, 0);
}

/** The address `n` places after `base` (same family), as canonical text. */
export function addressPlus(base: string, n: number): string {
  const b = addressBytes(base);
  if (b === undefined) throw new RangeError(`not an address: ${base}`);
  let carry = n;
  for (let i = b.length - 1; i >= 0 && carry > 0; i--) {
    const v = b[i] + carry;
    b[i] = v & 0xff;
    carry = Math.floor(v / 256);
  }
  return b.length === 4 ? formatIpv4Bytes(b, 0) : formatIpv6(b, 0);
}

export function inPrefix(addr: string, p: Prefix): boolean {
  const a = addressBytes(addr);
  const b = addressBytes(p.address);
  return a !== undefined && b !== undefined && bytesInPrefix(b, p.length, a);
}
