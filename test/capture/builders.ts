/**
 * Hand-made capture files for the reader tests, built from their format
 * descriptions byte by byte (independently of gist/capture/writer.ts).
 */

export interface RawRecord {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

export function classicPcap(opts: { le: boolean; nano: boolean; linkType: number; records: RawRecord[] }): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number): void => {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    parts.push(...(opts.le ? b.reverse() : b));
  };
  const u16 = (v: number): void => {
    const b = [(v >>> 8) & 0xff, v & 0xff];
    parts.push(...(opts.le ? b.reverse() : b));
  };
  u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4);
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(opts.linkType);
  for (const r of opts.records) {
    u32(r.sec);
    u32(r.frac);
    u32(r.data.length);
    u32(r.origLen ?? r.data.length);
    parts.push(...r.data);
  }
  return new Uint8Array(parts);
}

/** pcapng blocks, in one byte order. */
export class PcapngBuilder {
  private parts: number[] = [];
  constructor(private le: boolean) {}

  private u32(v: number, into: number[]): void {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    into.push(...(this.le ? b.reverse() : b));
  }
  private u16(v: number, into: number[]): void {
    const b = [(v >>> 8) & 0xff, v & 0xff];
    into.push(...(this.le ? b.reverse() : b));
  }
  private pad(into: number[]): void {
    while (into.length % 4 !== 0) into.push(0);
  }

  block(type: number, body: number[]): this {
    const b = [...body];
    this.pad(b);
    const total = 12 + b.length;
    this.u32(type, this.parts);
    this.u32(total, this.parts);
    this.parts.push(...b);
    this.u32(total, this.parts);
    return this;
  }

  shb(): this {
    const b: number[] = [];
    this.u32(0x1a2b3c4d, b);
    this.u16(1, b);
    this.u16(0, b);
    b.push(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff); // section length -1: unknown
    return this.block(0x0a0d0d0a, b);
  }

  /** `tsresol` as the raw if_tsresol byte; `tsoffset` in seconds. */
  idb(linkType: number, opts: { snapLen?: number; tsresol?: number; tsoffset?: number } = {}): this {
    const b: number[] = [];
    this.u16(linkType, b);
    this.u16(0, b);
    this.u32(opts.snapLen ?? 0, b);
    if (opts.tsresol !== undefined) {
      this.u16(9, b);
      this.u16(1, b);
      b.push(opts.tsresol, 0, 0, 0);
    }
    if (opts.tsoffset !== undefined) {
      this.u16(14, b);
      this.u16(8, b);
      const hi = Math.floor(opts.tsoffset / 2 ** 32);
      const lo = opts.tsoffset >>> 0;
      if (this.le) {
        this.u32(lo, b);
        this.u32(hi, b);
      } else {
        this.u32(hi, b);
        this.u32(lo, b);
      }
    }
    this.u16(0, b);
    this.u16(0, b);
    return this.block(1, b);
  }

  epb(ifId: number, units: bigint, data: Uint8Array, origLen?: number): this {
    const b: number[] = [];
    this.u32(ifId, b);
    this.u32(Number(units >> 32n), b);
    this.u32(Number(units & 0xffffffffn), b);
    this.u32(data.length, b);
    this.u32(origLen ?? data.length, b);
    b.push(...data);
    return this.block(6, b);
  }

  spb(data: Uint8Array, origLen?: number): this {
    const b: number[] = [];
    this.u32(origLen ?? data.length, b);
    b.push(...data);
    return this.block(3, b);
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

/** Concatenates byte arrays. */
export function cat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * An IPv4/UDP packet written from RFC 791 / RFC 768 directly (checksums zero:
 * the readers do not check them), with optional raw IPv4 option bytes.
 */
export function ipv4Udp(src: number[], dst: number[], sport: number, dport: number, payload: number[], options: number[] = []): Uint8Array {
  const ihl = 20 + options.length;
  const udpLen = 8 + payload.length;
  const total = ihl + udpLen;
  return new Uint8Array([
    0x40 | (ihl / 4), 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0, ...src, ...dst, ...options,
    sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0, ...payload,
  ]);
}

/** An IPv6/UDP packet (RFC 8200) with optional raw extension headers: `ext` starts with the first header's bytes, `first` is its number. */
export function ipv6Udp(src: number[], dst: number[], sport: number, dport: number, payload: number[], first = 17, ext: number[] = []): Uint8Array {
  const udpLen = 8 + payload.length;
  const plen = ext.length + udpLen;
  return new Uint8Array([
    0x60, 0, 0, 0, plen >> 8, plen & 0xff, first, 64, ...src, ...dst, ...ext,
    sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0, ...payload,
  ]);
}

export const V4A = [198, 18, 0, 1];
export const V4B = [198, 18, 0, 2];
/** 2001:db8::1 and 2001:db8::2 */
export const V6A = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
export const V6B = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

export function ethernet(etherType: number, payload: Uint8Array, vlanIds: number[] = []): Uint8Array {
  const hdr = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  for (const v of vlanIds) hdr.push(0x81, 0x00, v >> 8, v & 0xff);
  hdr.push(etherType >> 8, etherType & 0xff);
  return cat(hdr, payload);
}

export function sll(etherType: number, payload: Uint8Array): Uint8Array {
  // packet type 0 (to us), ARPHRD_ETHER 1, address length 6, address padded to 8, protocol
  return cat([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, etherType >> 8, etherType & 0xff], payload);
}

export function sll2(etherType: number, payload: Uint8Array): Uint8Array {
  // protocol, reserved, ifindex 1, ARPHRD_ETHER, packet type 0, address length 6, address padded to 8
  return cat([etherType >> 8, etherType & 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], payload);
}
