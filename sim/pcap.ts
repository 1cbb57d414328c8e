/**
 * `--pcap`: every signalling message of a run as a capture file, with IP and
 * UDP/TCP headers synthesized around the GIST bytes (gist/capture), the Router
 * Alert option on Q-mode Queries (RFC 5971 s5.3.2; NATFW's value 65 for IPv4,
 * RFC 5973 s7.5) and timestamps from the virtual clock (t = 0 is the epoch).
 */
import { PcapWriter, synthesizeTcpSegment, synthesizeUdp } from '../gist/capture';
import type { SimPacket } from './stack';

const NATFW_RAO_IPV4 = 65;
const NATFW_RAO_IPV6 = 68;

export class SimCapture {
  private readonly writer = new PcapWriter({ nanosecond: true });
  private readonly tcpSeq = new Map<string, number>();

  add(nowMs: number, pkt: SimPacket): void {
    const v6 = pkt.src.includes(':');
    const ra = pkt.rao ? (v6 ? NATFW_RAO_IPV6 : NATFW_RAO_IPV4) : undefined;
    if (pkt.transport === 'udp') {
      this.writer.addMs(nowMs, synthesizeUdp({ src: pkt.src, dst: pkt.dst, srcPort: pkt.srcPort, dstPort: pkt.dstPort, payload: pkt.payload, routerAlert: ra }));
      return;
    }
    const key = `${pkt.src}|${pkt.srcPort}|${pkt.dst}|${pkt.dstPort}`;
    const back = `${pkt.dst}|${pkt.dstPort}|${pkt.src}|${pkt.srcPort}`;
    const seq = this.tcpSeq.get(key) ?? 1;
    const ack = this.tcpSeq.get(back) ?? 1;
    this.tcpSeq.set(key, (seq + pkt.payload.length) >>> 0);
    this.writer.addMs(
      nowMs,
      synthesizeTcpSegment({ src: pkt.src, dst: pkt.dst, srcPort: pkt.srcPort, dstPort: pkt.dstPort, seq, ack, flags: { ack: true, psh: true }, payload: pkt.payload }),
    );
  }

  get packets(): number {
    return this.writer.packetCount;
  }

  bytes(): Uint8Array {
    return this.writer.finish();
  }
}
