/**
 * The pinhole model shared by every backend: validation and normalisation of
 * specs, and the reference match ("does this pinhole cover this packet").
 *
 * Semantics (issue 7, RFC 5973 s4.2.2/s5.2):
 * - a pinhole matches a packet when the protocol is equal, both addresses lie
 *   in their prefixes and both ports lie in their ranges (an absent range = any
 *   port); a port range never matches a packet without that port;
 * - sub_ports=1 is the range { p, p + 1 } (RTP and RTCP), see `subPortsRange`;
 * - where an allow and a deny both match, deny wins.
 */
import { type Addr, type Family, bits, formatAddress, inPrefix, maskOf, parseAddress, parseV4Number } from './address';
import { EnforcementError } from './errors';
import type { NatBindingSpec, PacketKey, Pinhole, PinholeSpec, PortRange, Prefix } from './types';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_DCCP = 33;
export const PROTO_ICMPV6 = 58;
export const PROTO_UDPLITE = 136;
export const PROTO_SCTP = 132;

/** Protocols whose headers start with 16-bit source and destination ports. */
export function hasPorts(protocol: number): boolean {
  return (
    protocol === PROTO_TCP || protocol === PROTO_UDP || protocol === PROTO_SCTP || protocol === PROTO_DCCP || protocol === PROTO_UDPLITE
  );
}

/** RFC 5973 s4.2.2 / s5.2: sub_ports=1 asks for the port and the next one. */
export function subPortsRange(port: number, subPorts: 0 | 1): PortRange {
  return { from: port, to: subPorts === 1 ? port + 1 : port };
}

const PROTO_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136 };

export function protocolNumber(text: string): number | undefined {
  const byName = PROTO_NAMES[text.toLowerCase()];
  if (byName !== undefined) return byName;
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return Number(text);
  return undefined;
}

export function protocolName(p: number): string {
  for (const [k, v] of Object.entries(PROTO_NAMES)) if (v === p && k !== 'icmpv6') return k;
  return String(p);
}

/** A validated prefix, with its network as a number. */
export interface NetPrefix {
  readonly family: Family;
  readonly net: Addr;
  readonly length: number;
}

function invalid(message: string): EnforcementError {
  return new EnforcementError('ENF_INVALID_SPEC', message);
}

export function parsePrefix(p: Prefix, what: string): NetPrefix {
  const a = parseAddress(p.address);
  if (a === undefined) throw invalid(`${what}: '${p.address}' is not an IPv4 or IPv6 address`);
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > bits(a.family))
    throw invalid(`${what}: prefix length ${p.length} out of range for IPv${a.family}`);
  return { family: a.family, net: { family: a.family, value: a.value & maskOf(a.family, p.length) }, length: p.length };
}

/** Parses "198.18.1.0/24", "2001:db8::1" (host prefix), into a Prefix. */
export function prefixFromText(text: string): Prefix | undefined {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const a = parseAddress(addr);
  if (a === undefined) return undefined;
  if (len === undefined) return { address: formatAddress(a), length: bits(a.family) };
  if (!/^\d{1,3}$/.test(len) || Number(len) > bits(a.family)) return undefined;
  return { address: formatAddress({ family: a.family, value: a.value & maskOf(a.family, Number(len)) }), length: Number(len) };
}

/** Parses "5000" or "5000-5010". */
export function portRangeFromText(text: string): PortRange | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m === null) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535 || from > to) return undefined;
  return { from, to };
}

function checkPorts(r: PortRange | undefined, what: string): void {
  if (r === undefined) return;
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (!ok(r.from) || !ok(r.to) || r.from > r.to) throw invalid(`${what}: bad port range ${r.from}-${r.to}`);
}

/** canonicalPrefix for IPv4 text already parsed to `v` (parsePrefix's checks and messages). */
function canonicalV4(v: number, given: Prefix, what: string): Prefix {
  const len = given.length;
  if (!Number.isInteger(len) || len < 0 || len > 32) throw invalid(`${what}: prefix length ${len} out of range for IPv4`);
  const net = len === 0 ? 0 : (v & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
  if (net === v) return { address: given.address, length: len };
  return { address: `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}`, length: len };
}

function canonicalPrefix(p: NetPrefix, given: Prefix): Prefix {
  // Dotted-quad text that parses is canonical already; keep the caller's string when no host bits were cleared.
  if (p.family === 4 && parseV4Number(given.address) === Number(p.net.value)) return { address: given.address, length: p.length };
  return { address: formatAddress(p.net), length: p.length };
}

/**
 * Validates a spec and returns it in canonical form (host bits cleared,
 * addresses in canonical text, a full port range 0-65535 folded to "any").
 * Throws EnforcementError('ENF_INVALID_SPEC').
 */
export function normalizeSpec(spec: PinholeSpec): PinholeSpec {
  if (!Number.isInteger(spec.protocol) || spec.protocol < 0 || spec.protocol > 255) throw invalid(`protocol ${spec.protocol} is not 0-255`);
  // IPv4 (the common case): numbers instead of the BigInt parse (fewer allocations per change).
  const s4 = parseV4Number(spec.src.address);
  const d4 = s4 >= 0 ? parseV4Number(spec.dst.address) : -1;
  let srcP: Prefix;
  let dstP: Prefix;
  if (s4 >= 0 && d4 >= 0) {
    srcP = canonicalV4(s4, spec.src, 'src');
    dstP = canonicalV4(d4, spec.dst, 'dst');
  } else {
    const src = parsePrefix(spec.src, 'src');
    const dst = parsePrefix(spec.dst, 'dst');
    if (src.family !== dst.family) throw invalid('src and dst are of different address families');
    srcP = canonicalPrefix(src, spec.src);
    dstP = canonicalPrefix(dst, spec.dst);
  }
  checkPorts(spec.srcPorts, 'srcPorts');
  checkPorts(spec.dstPorts, 'dstPorts');
  if (!hasPorts(spec.protocol) && (spec.srcPorts !== undefined || spec.dstPorts !== undefined))
    throw invalid(`protocol ${spec.protocol} has no ports; srcPorts/dstPorts must be absent`);
  if (spec.action !== 'allow' && spec.action !== 'deny') throw invalid(`action must be allow or deny`);
  if (typeof spec.owner !== 'string') throw invalid('owner must be a string');
  if (!Number.isFinite(spec.expiresAt)) throw invalid('expiresAt must be a finite number');
  const full = (r: PortRange | undefined): PortRange | undefined => (r !== undefined && r.from === 0 && r.to === 65535 ? undefined : r);
  const sp = full(spec.srcPorts);
  const dp = full(spec.dstPorts);
  return pinholeOf(
    {
      protocol: spec.protocol,
      src: srcP,
      dst: dstP,
      action: spec.action,
      owner: spec.owner,
      expiresAt: spec.expiresAt,
      srcPorts: sp === undefined ? undefined : { from: sp.from, to: sp.to },
      dstPorts: dp === undefined ? undefined : { from: dp.from, to: dp.to },
    },
    undefined,
    spec.expiresAt,
  );
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A pinhole object built property by property in one fixed order. Object spread (`{ ...spec, id }`)
 * gave every pinhole its own V8 hidden class after the first few dozen (measured: 99,991 hidden
 * classes for 100,000 pinholes, ~300 bytes each, and megamorphic property access on every use).
 */
export function pinholeOf(spec: PinholeSpec, id: string, expiresAt?: number): Pinhole;
export function pinholeOf(spec: PinholeSpec, id: undefined, expiresAt?: number): PinholeSpec;
export function pinholeOf(spec: PinholeSpec, id: string | undefined, expiresAt = spec.expiresAt): PinholeSpec | Pinhole {
  const o: Mutable<PinholeSpec> & { id?: string } = {
    protocol: spec.protocol,
    src: spec.src,
    dst: spec.dst,
    action: spec.action,
    owner: spec.owner,
    expiresAt,
  };
  if (spec.srcPorts !== undefined) o.srcPorts = spec.srcPorts;
  if (spec.dstPorts !== undefined) o.dstPorts = spec.dstPorts;
  if (id !== undefined) o.id = id;
  return o;
}

export function normalizeBinding(spec: NatBindingSpec): NatBindingSpec {
  if (!hasPorts(spec.protocol)) throw invalid(`NAT binding protocol ${spec.protocol} has no ports`);
  const e = parseAddress(spec.external.address);
  const i = parseAddress(spec.internal.address);
  if (e === undefined) throw invalid(`external: '${spec.external.address}' is not an address`);
  if (i === undefined) throw invalid(`internal: '${spec.internal.address}' is not an address`);
  if (e.family !== i.family) throw invalid('external and internal are of different address families');
  for (const [n, p] of [
    ['external', spec.external.port],
    ['internal', spec.internal.port],
  ] as const)
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`${n}: bad port ${p}`);
  if (!Number.isFinite(spec.expiresAt)) throw invalid('expiresAt must be a finite number');
  return {
    protocol: spec.protocol,
    external: { address: formatAddress(e), port: spec.external.port },
    internal: { address: formatAddress(i), port: spec.internal.port },
    owner: spec.owner,
    expiresAt: spec.expiresAt,
  };
}

/** A packet with parsed addresses, to match many pinholes against. */
export interface ParsedPacket {
  readonly protocol: number;
  readonly src: Addr;
  readonly dst: Addr;
  readonly srcPort?: number;
  readonly dstPort?: number;
}

export function parsePacket(p: PacketKey): ParsedPacket | undefined {
  const src = parseAddress(p.src);
  const dst = parseAddress(p.dst);
  if (src === undefined || dst === undefined || src.family !== dst.family) return undefined;
  return { protocol: p.protocol, src, dst, srcPort: p.srcPort, dstPort: p.dstPort };
}

function portIn(port: number | undefined, r: PortRange | undefined): boolean {
  if (r === undefined) return true;
  return port !== undefined && port >= r.from && port <= r.to;
}

/** The reference match of one (normalized) pinhole against a packet. */
export function pinholeMatches(ph: PinholeSpec, pkt: ParsedPacket): boolean {
  if (ph.protocol !== pkt.protocol) return false;
  const s = parseAddress(ph.src.address);
  const d = parseAddress(ph.dst.address);
  if (s === undefined || d === undefined) return false;
  return (
    inPrefix(pkt.src, s, ph.src.length) && inPrefix(pkt.dst, d, ph.dst.length) && portIn(pkt.srcPort, ph.srcPorts) && portIn(pkt.dstPort, ph.dstPorts)
  );
}

/** Orders matches as LookupResult wants them: denies first, then by id order given. */
export function verdictOf(matches: readonly Pinhole[]): 'allow' | 'deny' | 'none' {
  if (matches.some((m) => m.action === 'deny')) return 'deny';
  return matches.length > 0 ? 'allow' : 'none';
}

export function familyOf(p: Prefix): Family | undefined {
  return parseAddress(p.address)?.family;
}
