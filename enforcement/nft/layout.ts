/**
 * The netfilter layout of the nftables backend (see README "Enforcement"):
 * pinholes are elements of hash maps, one per pinhole "shape", plus small
 * concatenated-range (pipapo) maps for prefixes and port ranges; every
 * element maps to the pinhole's 32-bit number, which becomes the flow's ct
 * mark, and a `live` set of those numbers keeps established flows alive only
 * while their pinhole exists (removal cuts them, no conntrack call).
 *
 * Facts behind the choices are in shared/notes/netfilter.md: hash sets for
 * exact tuples cost ~nothing per packet at 100k; pipapo needs its most
 * selective field first (dport . sport . proto . daddr . saddr here); deny and
 * allow live in separate sets and deny is looked up first (deny wins); deny
 * looks at the conntrack original tuple on every packet so a later deny cuts
 * a running flow.
 */
import { type Family, formatAddress, maskOf, parseAddress, parseV4Number } from '../address';
import { hasPorts } from '../model';
import type { NatBinding, Pinhole, PortRange } from '../types';

export type Mode = 'standalone' | 'integration';

export interface LayoutOptions {
  readonly mode: Mode;
  /** Filter table (inet). */
  readonly table: string;
  /** NAT table (inet). */
  readonly natTable: string;
  /** Integration mode: packet-mark bits set on packets a pinhole admits. */
  readonly markBits: number;
  /** Base chain priority of the forward chain. */
  readonly priority: number;
  /** Standalone: accept established/related flows that no pinhole admitted (ct mark 0). */
  readonly acceptEstablished: boolean;
  /** Standalone: accept ICMP and ICMPv6 (errors are related anyway; this admits echo etc.). */
  readonly acceptIcmp: boolean;
}

export function layoutOptions(o: Partial<LayoutOptions> = {}): LayoutOptions {
  const mode = o.mode ?? 'standalone';
  return {
    mode,
    table: o.table ?? 'natfw',
    natTable: o.natTable ?? 'natfw_nat',
    markBits: o.markBits ?? 0x00100000,
    priority: o.priority ?? (mode === 'standalone' ? 0 : -10),
    acceptEstablished: o.acceptEstablished ?? true,
    acceptIcmp: o.acceptIcmp ?? true,
  };
}

export type Shape = 'full' | 'nosp' | 'noport' | 'anysrc' | 'range' | 'rangenp' | 'masked';
export const HASH_SHAPES: readonly Shape[] = ['full', 'nosp', 'noport', 'anysrc'];

/**
 * A masked hash shape: prefixes and port ranges without pipapo. The key is the whole 5-tuple,
 * each field ANDed with a mask in the rule (`(ct original ip saddr & 255.255.255.0) . … .
 * (ct original proto-dst & 0xfffe)`), so a /24 source is one element and a port range is a few
 * aligned blocks of 2^k ports. One hash map (and one rule in chain `dyn`) per mask combination,
 * created when first needed. Hash inserts and deletes cost the same at any size; pipapo's cost
 * per change grows with its element count (insert, delete, and the GC's `bitmap_cut`).
 */
export interface MaskShape {
  /** Source and destination prefix lengths. */
  readonly sl: number;
  readonly dl: number;
  /** Low bits of the source / destination port masked off (16 = any port). */
  readonly sk: number;
  readonly dk: number;
}

/** A pinhole goes to a masked map only if it needs at most this many elements (else pipapo). */
export const MAX_MASKED_ELEMENTS = 16;
/** Masked maps per family and action (each one rule, looked up by new flows that miss the static maps). */
export const MAX_MASKED_MAPS = 32;
/** Slots per mask combination (identical masked keys of two pinholes). */
export const MASKED_SLOTS = 2;
/**
 * Sets per (action, shape). Hash shapes: a second set for an identical key of another pinhole.
 * Interval (pipapo) shapes: the kernel refuses overlapping elements in one set, and a pipapo delete
 * costs O(elements in the set), so allow ranges are spread over 16 sets (a new flow pays at most
 * 16 more lookups once; established packets never reach them). Denies are looked up on every
 * packet, so they get few sets.
 */
const SLOT_TABLE: Record<'allow' | 'deny', Record<Shape, number>> = {
  allow: { full: 2, nosp: 2, noport: 2, anysrc: 2, range: 4, rangenp: 2, masked: MASKED_SLOTS },
  deny: { full: 0, nosp: 0, noport: 0, anysrc: 0, range: 3, rangenp: 2, masked: 0 },
};

export function slotsOf(action: 'allow' | 'deny', shape: Shape): number {
  return SLOT_TABLE[action][shape];
}
export const FAMILIES: readonly Family[] = [4, 6];

/** Static shapes: `a4_full_0`; masked: `a4_m_24_32_16_1_0` (source and destination prefix length, masked port bits, slot). */
export function setName(action: 'allow' | 'deny', family: Family, shape: Shape, slot: number, mask?: MaskShape): string {
  const a = `${action === 'allow' ? 'a' : 'd'}${family}`;
  if (shape === 'masked') {
    if (mask === undefined) throw new Error('masked set name without a mask');
    return `${a}_m_${mask.sl}_${mask.dl}_${mask.sk}_${mask.dk}_${slot}`;
  }
  return `${a}_${shape}_${slot}`;
}

export interface SetInfo {
  readonly action: 'allow' | 'deny';
  readonly family: Family;
  readonly shape: Shape;
  readonly slot: number;
  readonly mask?: MaskShape;
}

export function parseSetName(name: string): SetInfo | undefined {
  const m = /^([ad])([46])_(?:(full|nosp|noport|anysrc|range|rangenp)|m_(\d{1,3})_(\d{1,3})_(\d{1,2})_(\d{1,2}))_(\d{1,2})$/.exec(name);
  if (m === null) return undefined;
  const family: Family = m[2] === '4' ? 4 : 6;
  const action = m[1] === 'a' ? 'allow' : 'deny';
  const slot = Number(m[8]);
  if (m[3] !== undefined) return { action, family, shape: m[3] as Shape, slot };
  const mask = { sl: Number(m[4]), dl: Number(m[5]), sk: Number(m[6]), dk: Number(m[7]) };
  const bits = family === 4 ? 32 : 128;
  if (action !== 'allow' || mask.sl > bits || mask.dl > bits || mask.sk > 16 || mask.dk > 16) return undefined;
  return { action, family, shape: 'masked', slot, mask };
}

/** Every (action, shape) pair that has static sets (masked maps are made when needed). Denies are rare: they all go to range maps. */
export function shapesFor(action: 'allow' | 'deny'): readonly Shape[] {
  return action === 'allow' ? [...HASH_SHAPES, 'range', 'rangenp'] : ['range', 'rangenp'];
}

export type Field = { readonly t: 'addr'; readonly f: Family; readonly v: bigint } | { readonly t: 'proto'; readonly v: number } | { readonly t: 'port'; readonly v: number };

/** One kernel element of a pinhole: its set (without slot) and key (start and, for ranges, end). */
export interface ElementKey {
  readonly shape: Shape;
  readonly start: readonly Field[];
  readonly end?: readonly Field[];
}

const addrType = (f: Family): string => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const ipx = (f: Family): string => (f === 4 ? 'ip' : 'ip6');

function keyTypes(shape: Shape, f: Family): string[] {
  const a = addrType(f);
  switch (shape) {
    case 'full':
      return [a, a, 'inet_proto', 'inet_service', 'inet_service'];
    case 'nosp':
      return [a, a, 'inet_proto', 'inet_service'];
    case 'noport':
      return [a, a, 'inet_proto'];
    case 'anysrc':
      return [a, 'inet_proto', 'inet_service'];
    case 'range':
      return ['inet_service', 'inet_service', 'inet_proto', a, a];
    case 'rangenp':
      return [a, a, 'inet_proto'];
    case 'masked':
      return [a, a, 'inet_proto', 'inet_service', 'inet_service'];
  }
}

const PORTED = 'meta l4proto { tcp, udp, sctp, dccp, udplite }';

/** The lookup key expression of a shape, on the conntrack original-direction tuple. */
function keyExpr(shape: Shape, f: Family): { guard: string; expr: string } {
  const s = `ct original ${ipx(f)} saddr`;
  const d = `ct original ${ipx(f)} daddr`;
  const sp = 'ct original proto-src';
  const dp = 'ct original proto-dst';
  const p = 'meta l4proto';
  switch (shape) {
    case 'full':
      return { guard: PORTED, expr: `${s} . ${d} . ${p} . ${sp} . ${dp}` };
    case 'nosp':
      return { guard: PORTED, expr: `${s} . ${d} . ${p} . ${dp}` };
    case 'noport':
      return { guard: `meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'}`, expr: `${s} . ${d} . ${p}` };
    case 'anysrc':
      return { guard: PORTED, expr: `${d} . ${p} . ${dp}` };
    case 'range':
      return { guard: PORTED, expr: `${dp} . ${sp} . ${p} . ${d} . ${s}` };
    case 'rangenp':
      return { guard: `meta nfproto ${f === 4 ? 'ipv4' : 'ipv6'}`, expr: `${d} . ${s} . ${p}` };
    case 'masked':
      throw new Error('masked shapes have their own key expression (maskedKeyExpr)');
  }
}

/** The address mask of a prefix length, as nft writes it (`255.255.255.0`, `ffff:ffff::`). */
export function addressMaskText(f: Family, length: number): string {
  return formatAddress({ family: f, value: maskOf(f, length) });
}

function maskedField(expr: string, mask: string | undefined): string {
  return mask === undefined ? expr : `(${expr} & ${mask})`;
}

/** Port mask of `k` masked low bits; undefined = all bits kept. */
function portMask(k: number): string | undefined {
  return k === 0 ? undefined : `0x${((0xffff << k) & 0xffff).toString(16)}`;
}

/** Key expression of a masked shape, fields in key order (saddr . daddr . proto . sport . dport). */
export function maskedKeyExpr(f: Family, m: MaskShape): string {
  const bits = f === 4 ? 32 : 128;
  const x = ipx(f);
  return [
    maskedField(`ct original ${x} saddr`, m.sl === bits ? undefined : addressMaskText(f, m.sl)),
    maskedField(`ct original ${x} daddr`, m.dl === bits ? undefined : addressMaskText(f, m.dl)),
    'meta l4proto',
    maskedField('ct original proto-src', portMask(m.sk)),
    maskedField('ct original proto-dst', portMask(m.dk)),
  ].join(' . ');
}

/**
 * The `nft -f` script that creates one masked map and its rule in chain `dyn` (jumped to from
 * `forward` after the static allow rules; `return` there hands the live mark back to forward's accept).
 */
export function maskedMapScript(o: LayoutOptions, name: string): string {
  const info = parseSetName(name);
  if (info?.mask === undefined) throw new Error(`not a masked map name: ${name}`);
  const T = `inet ${o.table}`;
  return (
    [
      `add map ${T} ${name} { type ${keyTypes('masked', info.family).join(' . ')} : mark; flags timeout; }`,
      `add rule ${T} dyn ${PORTED} meta nfproto ${info.family === 4 ? 'ipv4' : 'ipv6'} ct mark set ${maskedKeyExpr(info.family, info.mask)} map @${name} ct mark @live return`,
    ].join('\n') + '\n'
  );
}

function isInterval(shape: Shape): boolean {
  return shape === 'range' || shape === 'rangenp';
}

/** The whole ruleset of both tables as one `nft -f` batch; idempotent, keeps existing elements. */
export function setupScript(o: LayoutOptions): string {
  const L: string[] = [];
  const T = `inet ${o.table}`;
  const N = `inet ${o.natTable}`;
  L.push(`add table ${T}`);
  for (const action of ['allow', 'deny'] as const)
    for (const f of FAMILIES)
      for (const shape of shapesFor(action))
        for (let slot = 0; slot < slotsOf(action, shape); slot++)
          L.push(
            `add map ${T} ${setName(action, f, shape, slot)} { type ${keyTypes(shape, f).join(' . ')} : mark; flags ${isInterval(shape) ? 'interval, ' : ''}timeout; }`,
          );
  L.push(`add set ${T} live { type mark; flags timeout; }`);
  // Chain of the masked maps' rules (maskedMapScript): kept across setups, like the maps and elements.
  L.push(`add chain ${T} dyn`);
  // Rebuild the chain atomically (the mode or options may have changed); sets and elements stay.
  L.push(`add chain ${T} forward`, `flush chain ${T} forward`, `delete chain ${T} forward`);
  const policy = o.mode === 'standalone' ? 'drop' : 'accept';
  L.push(`add chain ${T} forward { type filter hook forward priority ${o.priority}; policy ${policy}; }`);
  const R = (r: string): void => {
    L.push(`add rule ${T} forward ${r}`);
  };
  const markStmt = o.mode === 'integration' ? ` meta mark set meta mark or 0x${(o.markBits >>> 0).toString(16)}` : '';
  if (o.mode === 'standalone') R('ct state invalid drop');
  // Deny first, on every packet of every flow: deny wins, and a deny added later cuts running flows.
  for (const f of FAMILIES)
    for (const shape of shapesFor('deny'))
      for (let slot = 0; slot < slotsOf('deny', shape); slot++) {
        const k = keyExpr(shape, f);
        R(`${k.guard} ${k.expr} @${setName('deny', f, shape, slot)} drop`);
      }
  // Flows a live pinhole (or NAT binding) admitted.
  R(`ct mark @live${markStmt} accept`);
  if (o.mode === 'standalone' && o.acceptEstablished) R('ct state established,related ct mark 0 accept');
  // New flows (and flows whose pinhole died, should a new pinhole now cover them): mark with the pinhole number.
  for (const f of FAMILIES)
    for (const shape of shapesFor('allow'))
      for (let slot = 0; slot < slotsOf('allow', shape); slot++) {
        const k = keyExpr(shape, f);
        // `ct mark @live` after the map: an element whose pinhole was removed (a killed range element
        // in its last millisecond, see backend.ts) admits nothing.
        R(`${k.guard} ct mark set ${k.expr} map @${setName('allow', f, shape, slot)} ct mark @live${markStmt} accept`);
      }
  // Masked maps (prefixes and port ranges as hash elements): their rules set the mark and return.
  R('jump dyn');
  R(`ct mark @live${markStmt} accept`);
  // A flow we admitted whose pinhole is gone: cut it (also in integration mode, where the policy accepts).
  R('ct mark != 0 drop');
  if (o.mode === 'standalone' && o.acceptIcmp) R('meta l4proto { icmp, ipv6-icmp } accept');

  // NAT bindings: dnat/snat maps, and marks so the forward chain admits (and cuts) their flows.
  L.push(`add table ${N}`);
  for (const f of FAMILIES) {
    const a = addrType(f);
    L.push(`add map ${N} dnat${f} { type ${a} . inet_proto . inet_service : ${a} . inet_service; flags timeout; }`);
    L.push(`add map ${N} snat${f} { type ${a} . inet_proto . inet_service : ${a} . inet_service; flags timeout; }`);
    L.push(`add map ${N} dmark${f} { type ${a} . inet_proto . inet_service : mark; flags timeout; }`);
    L.push(`add map ${N} smark${f} { type ${a} . inet_proto . inet_service : mark; flags timeout; }`);
  }
  for (const c of ['premark', 'pre', 'post']) L.push(`add chain ${N} ${c}`, `flush chain ${N} ${c}`, `delete chain ${N} ${c}`);
  L.push(`add chain ${N} premark { type filter hook prerouting priority dstnat - 10; policy accept; }`);
  L.push(`add chain ${N} pre { type nat hook prerouting priority dstnat; policy accept; }`);
  L.push(`add chain ${N} post { type nat hook postrouting priority srcnat; policy accept; }`);
  for (const f of FAMILIES) {
    const x = ipx(f);
    L.push(`add rule ${N} premark ct state new ${PORTED} ct mark set ${x} daddr . meta l4proto . th dport map @dmark${f}`);
    L.push(`add rule ${N} premark ct state new ${PORTED} ct mark set ${x} saddr . meta l4proto . th sport map @smark${f}`);
    L.push(`add rule ${N} pre ${PORTED} dnat ${x} to ${x} daddr . meta l4proto . th dport map @dnat${f}`);
    L.push(`add rule ${N} post ${PORTED} snat ${x} to ${x} saddr . meta l4proto . th sport map @snat${f}`);
  }
  return L.join('\n') + '\n';
}

export function teardownScript(o: LayoutOptions): string {
  // nft 1.0.6 has no `destroy`: add-then-delete is the idempotent delete.
  return [`add table inet ${o.table}`, `delete table inet ${o.table}`, `add table inet ${o.natTable}`, `delete table inet ${o.natTable}`].join('\n') + '\n';
}

// ---- Pinhole -> elements ----

function prefixBounds(address: string, length: number): { f: Family; lo: bigint; hi: bigint } {
  const a = parseAddress(address);
  if (a === undefined) throw new Error(`bad address ${address}`);
  const m = maskOf(a.family, length);
  const all = a.family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  return { f: a.family, lo: a.value & m, hi: (a.value & m) | (all & ~m) };
}

function isHost(length: number, f: Family): boolean {
  return length === (f === 4 ? 32 : 128);
}

function small(r: PortRange | undefined): boolean {
  return r !== undefined && r.to - r.from <= 1;
}

function ctz16(v: number): number {
  if (v === 0 || v === 65536) return 16;
  let k = 0;
  while ((v & 1) === 0 && k < 16) {
    v >>>= 1;
    k++;
  }
  return k;
}

/** A port range as equal aligned blocks of 2^k ports: k and the block starts (undefined range = any port = one block, k 16). */
export function portBlocks(r: PortRange | undefined): { k: number; starts: number[] } {
  if (r === undefined) return { k: 16, starts: [0] };
  const k = Math.min(ctz16(r.from), ctz16(r.to + 1));
  const starts: number[] = [];
  const n = (r.to - r.from + 1) >>> k;
  if (n > MAX_MASKED_ELEMENTS) return { k, starts };
  for (let i = 0; i < n; i++) starts.push(r.from + (i << k));
  return { k, starts };
}

function portsOf(r: PortRange): number[] {
  const out: number[] = [];
  for (let p = r.from; p <= r.to; p++) out.push(p);
  return out;
}

export interface PinholeElements {
  readonly family: Family;
  readonly shape: Shape;
  readonly keys: ElementKey[];
  /** Masked shapes: the masks (the map is chosen per mask combination). */
  readonly mask?: MaskShape;
}

/**
 * The shape and elements of a pinhole (sub_ports=1 becomes two exact elements). An allow with
 * prefixes or port ranges goes to a masked hash map when it needs at most MAX_MASKED_ELEMENTS
 * elements; `masked: false` gives its pipapo form (the backend's fallback when no masked map is
 * free).
 */
export function pinholeElements(ph: Pinhole, opts?: { readonly masked?: boolean }): PinholeElements {
  const s = prefixBounds(ph.src.address, ph.src.length);
  const d = prefixBounds(ph.dst.address, ph.dst.length);
  const f = s.f;
  const A = (v: bigint): Field => ({ t: 'addr', f, v });
  const P: Field = { t: 'proto', v: ph.protocol };
  const port = (v: number): Field => ({ t: 'port', v });
  const ported = hasPorts(ph.protocol);
  const hostS = isHost(ph.src.length, f);
  const hostD = isHost(ph.dst.length, f);
  if (ph.action === 'allow' && hostD) {
    if (!ported && hostS) return { family: f, shape: 'noport', keys: [{ shape: 'noport', start: [A(s.lo), A(d.lo), P] }] };
    if (ported && hostS) {
      const sp = ph.srcPorts;
      if (sp !== undefined && sp.from === sp.to && small(ph.dstPorts))
        return { family: f, shape: 'full', keys: portsOf(ph.dstPorts!).map((dp) => ({ shape: 'full' as const, start: [A(s.lo), A(d.lo), P, port(sp.from), port(dp)] })) };
      if (sp === undefined && small(ph.dstPorts))
        return { family: f, shape: 'nosp', keys: portsOf(ph.dstPorts!).map((dp) => ({ shape: 'nosp' as const, start: [A(s.lo), A(d.lo), P, port(dp)] })) };
      if (sp === undefined && ph.dstPorts === undefined) return { family: f, shape: 'noport', keys: [{ shape: 'noport', start: [A(s.lo), A(d.lo), P] }] };
    }
    if (ported && ph.src.length === 0 && ph.srcPorts === undefined && small(ph.dstPorts))
      return { family: f, shape: 'anysrc', keys: portsOf(ph.dstPorts!).map((dp) => ({ shape: 'anysrc' as const, start: [A(d.lo), P, port(dp)] })) };
  }
  if (!ported) return { family: f, shape: 'rangenp', keys: [{ shape: 'rangenp', start: [A(d.lo), A(s.lo), P], end: [A(d.hi), A(s.hi), P] }] };
  if (ph.action === 'allow' && opts?.masked !== false) {
    const sb = portBlocks(ph.srcPorts);
    const db = portBlocks(ph.dstPorts);
    const n = sb.starts.length * db.starts.length;
    if (n > 0 && n <= MAX_MASKED_ELEMENTS) {
      const keys: ElementKey[] = [];
      for (const a of sb.starts) for (const b of db.starts) keys.push({ shape: 'masked', start: [A(s.lo), A(d.lo), P, port(a), port(b)] });
      return { family: f, shape: 'masked', keys, mask: { sl: ph.src.length, dl: ph.dst.length, sk: sb.k, dk: db.k } };
    }
  }
  const sp = ph.srcPorts ?? { from: 0, to: 65535 };
  const dp = ph.dstPorts ?? { from: 0, to: 65535 };
  return {
    family: f,
    shape: 'range',
    keys: [{ shape: 'range', start: [port(dp.from), port(sp.from), P, A(d.lo), A(s.lo)], end: [port(dp.to), port(sp.to), P, A(d.hi), A(s.hi)] }],
  };
}

/** Network mask of an IPv4 prefix length as a 32-bit unsigned number. */
function mask4(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

const fcc = String.fromCharCode;

/**
 * The IPv4 fast path of `pinholeElements` + `encodeKeyStr` for the hash shapes (the common case of
 * every commit): the latin1 key strings straight from numbers, without Field objects and BigInts
 * (they were a fifth of the bytes a change allocated). undefined: not IPv4, or a pipapo shape; use
 * the general path. Same shapes and bytes as the general path (a property test compares them).
 */
export function v4HashKeys(ph: Pinhole): { shape: Shape; mask?: MaskShape; keys: string[] } | undefined {
  const sa = parseV4Number(ph.src.address);
  const da = parseV4Number(ph.dst.address);
  if (sa < 0 || da < 0) return undefined;
  const sl = ph.src.length;
  const dl = ph.dst.length;
  const s = (sa & mask4(sl)) >>> 0;
  const d = (da & mask4(dl)) >>> 0;
  const p = ph.protocol;
  const ported = hasPorts(p);
  const S0 = s >>> 24, S1 = (s >>> 16) & 255, S2 = (s >>> 8) & 255, S3 = s & 255; // prettier-ignore
  const D0 = d >>> 24, D1 = (d >>> 16) & 255, D2 = (d >>> 8) & 255, D3 = d & 255; // prettier-ignore
  const sp = ph.srcPorts;
  const dp = ph.dstPorts;
  if (ph.action === 'allow' && dl === 32) {
    if (sl === 32 && (!ported || (sp === undefined && dp === undefined))) return { shape: 'noport', keys: [fcc(S0, S1, S2, S3, D0, D1, D2, D3, p, 0, 0, 0)] };
    if (ported && sl === 32 && small(dp)) {
      if (sp !== undefined && sp.from === sp.to) {
        const keys: string[] = [];
        for (let v = dp!.from; v <= dp!.to; v++) keys.push(fcc(S0, S1, S2, S3, D0, D1, D2, D3, p, 0, 0, 0, sp.from >>> 8, sp.from & 255, 0, 0, v >>> 8, v & 255, 0, 0));
        return { shape: 'full', keys };
      }
      if (sp === undefined) {
        const keys: string[] = [];
        for (let v = dp!.from; v <= dp!.to; v++) keys.push(fcc(S0, S1, S2, S3, D0, D1, D2, D3, p, 0, 0, 0, v >>> 8, v & 255, 0, 0));
        return { shape: 'nosp', keys };
      }
    }
    if (ported && sl === 0 && sp === undefined && small(dp)) {
      const keys: string[] = [];
      for (let v = dp!.from; v <= dp!.to; v++) keys.push(fcc(D0, D1, D2, D3, p, 0, 0, 0, v >>> 8, v & 255, 0, 0));
      return { shape: 'anysrc', keys };
    }
  }
  if (!ported || ph.action !== 'allow') return undefined;
  const sb = portBlocks(sp);
  const db = portBlocks(dp);
  const n = sb.starts.length * db.starts.length;
  if (n === 0 || n > MAX_MASKED_ELEMENTS) return undefined;
  const keys: string[] = [];
  for (const a of sb.starts)
    for (const b of db.starts) keys.push(fcc(S0, S1, S2, S3, D0, D1, D2, D3, p, 0, 0, 0, a >>> 8, a & 255, 0, 0, b >>> 8, b & 255, 0, 0));
  return { shape: 'masked', mask: { sl, dl, sk: sb.k, dk: db.k }, keys };
}

/** Kernel key bytes: every field padded to 4 bytes (nft registers), addresses and ports in network order. */
export function encodeKey(fields: readonly Field[]): Buffer {
  let n = 0;
  for (const x of fields) n += x.t === 'addr' && x.f === 6 ? 16 : 4;
  const b = Buffer.allocUnsafe(n).fill(0);
  let o = 0;
  for (const x of fields) {
    if (x.t === 'addr') {
      if (x.f === 4) {
        b.writeUInt32BE(Number(x.v), o);
        o += 4;
      } else {
        for (let i = 3; i >= 0; i--) b.writeUInt32BE(Number((x.v >> BigInt(32 * (3 - i))) & 0xffffffffn), o + 4 * i);
        o += 16;
      }
    } else if (x.t === 'proto') {
      b[o] = x.v;
      o += 4;
    } else {
      b.writeUInt16BE(x.v, o);
      o += 4;
    }
  }
  return b;
}

const scratch = Buffer.alloc(256);

/** encodeKey as a latin1 string (one char per byte), without a Buffer per key: the backend's index keeps keys this way. */
export function encodeKeyStr(fields: readonly Field[]): string {
  let n = 0;
  for (const x of fields) n += x.t === 'addr' && x.f === 6 ? 16 : 4;
  if (n > scratch.length) return encodeKey(fields).toString('latin1');
  const b = scratch;
  b.fill(0, 0, n);
  let o = 0;
  for (const x of fields) {
    if (x.t === 'addr') {
      if (x.f === 4) {
        b.writeUInt32BE(Number(x.v), o);
        o += 4;
      } else {
        for (let i = 3; i >= 0; i--) b.writeUInt32BE(Number((x.v >> BigInt(32 * (3 - i))) & 0xffffffffn), o + 4 * i);
        o += 16;
      }
    } else if (x.t === 'proto') {
      b[o] = x.v;
      o += 4;
    } else {
      b.writeUInt16BE(x.v, o);
      o += 4;
    }
  }
  return b.toString('latin1', 0, n);
}

/** encodeMark as a latin1 string (the index and the encoder take keys and data this way). */
export function encodeMarkStr(m: number): string {
  return String.fromCharCode(m & 0xff, (m >>> 8) & 0xff, (m >>> 16) & 0xff, (m >>> 24) & 0xff);
}

/** ct mark values are host-endian 32-bit integers. */
export function encodeMark(m: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(m >>> 0);
  return b;
}

/** NAT binding elements: key addr . proto . port; data addr . port. */
export function bindingElements(b: NatBinding): {
  family: Family;
  dnatKey: Buffer;
  dnatData: Buffer;
  snatKey: Buffer;
  snatData: Buffer;
} {
  const e = parseAddress(b.external.address)!;
  const i = parseAddress(b.internal.address)!;
  const P: Field = { t: 'proto', v: b.protocol };
  return {
    family: e.family,
    dnatKey: encodeKey([{ t: 'addr', f: e.family, v: e.value }, P, { t: 'port', v: b.external.port }]),
    dnatData: encodeKey([{ t: 'addr', f: i.family, v: i.value }, { t: 'port', v: b.internal.port }]),
    snatKey: encodeKey([{ t: 'addr', f: i.family, v: i.value }, P, { t: 'port', v: b.internal.port }]),
    snatData: encodeKey([{ t: 'addr', f: e.family, v: e.value }, { t: 'port', v: b.external.port }]),
  };
}
