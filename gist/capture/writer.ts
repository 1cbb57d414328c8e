/**
 * Classic pcap writer (microsecond or nanosecond magic, host-independent:
 * always written little-endian, as libpcap on x86 does), LINKTYPE_RAW or
 * Ethernet. Records accumulate in memory; `finish()` returns the file bytes.
 * Timestamps come from the caller (the simulator's virtual clock).
 */
import { UsageError } from '../../common/errors';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, type Timestamp, timestampFromMs } from './frame';
import { PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO } from './pcap';

export interface PcapWriterOptions {
  /** 'raw' (LINKTYPE_RAW, the IP packet alone; default) or 'ethernet' (with synthesized MAC addresses). */
  readonly linkType?: 'raw' | 'ethernet';
  /** Nanosecond timestamps (magic 0xa1b23c4d); default microseconds. */
  readonly nanosecond?: boolean;
  /** Snap length in the file header (default 262144); longer packets are still written whole. */
  readonly snapLen?: number;
}

export class PcapWriter {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private count = 0;
  readonly linkType: number;
  private readonly nano: boolean;

  constructor(opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType === 'ethernet' ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
    this.nano = opts.nanosecond ?? false;
    const h = new Uint8Array(24);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, this.nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setUint32(16, opts.snapLen ?? 262144, true);
    dv.setUint32(20, this.linkType, true);
    this.push(h);
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.bytes += b.length;
  }

  get packetCount(): number {
    return this.count;
  }

  /** Appends one IP packet (as `synthesizeUdp` / `synthesizeTcpSegment` return) at time `ts`. */
  add(ts: Timestamp, ipPacket: Uint8Array): void {
    if (!Number.isInteger(ts.sec) || ts.sec < 0 || ts.sec > 0xffffffff || !Number.isInteger(ts.nsec) || ts.nsec < 0 || ts.nsec >= 1e9) {
      throw new UsageError('CAPTURE_BAD_TIMESTAMP', `timestamp ${ts.sec}.${ts.nsec} cannot be written to pcap`);
    }
    const frame = this.linkType === LINKTYPE_ETHERNET ? ethernetFrame(ipPacket) : ipPacket;
    const r = new Uint8Array(16);
    const dv = new DataView(r.buffer);
    dv.setUint32(0, ts.sec, true);
    dv.setUint32(4, this.nano ? ts.nsec : Math.floor(ts.nsec / 1000), true);
    dv.setUint32(8, frame.length, true);
    dv.setUint32(12, frame.length, true);
    this.push(r);
    this.push(frame);
    this.count++;
  }

  /** `add` with a time in milliseconds since the epoch (fractions kept to the microsecond, see `timestampFromMs`). */
  addMs(ms: number, ipPacket: Uint8Array): void {
    this.add(timestampFromMs(ms), ipPacket);
  }

  /** The whole file so far. The writer can go on accepting packets afterwards. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** A locally administered unicast MAC derived from an IP address, so each host keeps one MAC across the capture. */
function macFor(addr: Uint8Array): Uint8Array {
  let h = 0x811c9dc5;
  for (const b of addr) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return new Uint8Array([0x02, 0x00, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]);
}

function ethernetFrame(ip: Uint8Array): Uint8Array {
  const v6 = ip.length > 0 && ip[0] >> 4 === 6;
  const src = v6 ? ip.subarray(8, 24) : ip.subarray(12, 16);
  const dst = v6 ? ip.subarray(24, 40) : ip.subarray(16, 20);
  const f = new Uint8Array(14 + ip.length);
  f.set(macFor(dst), 0);
  f.set(macFor(src), 6);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  f.set(ip, 14);
  return f;
}
