/** UDP (RFC 768) and TCP (RFC 9293) header decoding. Never throws; offsets count from the frame start. */
import { err, ok, type Result } from '../../common/result';
import { CaptureError } from './errors';

/** Big-endian reads; callers have checked the bounds. A DataView per packet costs more than the reads. */
const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export interface UdpDatagram {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly checksum: number;
  readonly payload: Uint8Array;
  /** Frame offset of the payload's first byte. */
  readonly payloadOffset: number;
  /** The capture cut the datagram short of its UDP length. */
  readonly truncated: boolean;
}

export interface TcpFlags {
  readonly fin: boolean;
  readonly syn: boolean;
  readonly rst: boolean;
  readonly psh: boolean;
  readonly ack: boolean;
  readonly urg: boolean;
}

export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: TcpFlags;
  readonly window: number;
  readonly payload: Uint8Array;
  readonly payloadOffset: number;
}

/** `end` is where the IP packet ends in the frame; `truncated` whether the capture cut it. */
export function decodeUdp(data: Uint8Array, start: number, end: number, ipTruncated: boolean): Result<UdpDatagram, CaptureError> {
  if (start + 8 > end) return err(new CaptureError('UDP_TRUNCATED', end, `UDP header at offset ${start} needs 8 bytes`));
  const length = be16(data, start + 4);
  if (length < 8) return err(new CaptureError('UDP_BAD_LENGTH', start + 4, `UDP length ${length} is below 8`));
  const wireEnd = start + length;
  if (wireEnd > end && !ipTruncated) {
    return err(new CaptureError('UDP_BAD_LENGTH', start + 4, `UDP length ${length} exceeds the IP packet (${end - start} bytes)`));
  }
  const payloadEnd = Math.min(wireEnd, end);
  return ok({
    srcPort: be16(data, start),
    dstPort: be16(data, start + 2),
    checksum: be16(data, start + 6),
    payload: data.subarray(start + 8, payloadEnd),
    payloadOffset: start + 8,
    truncated: wireEnd > end,
  });
}

export function decodeTcp(data: Uint8Array, start: number, end: number): Result<TcpSegment, CaptureError> {
  if (start + 20 > end) return err(new CaptureError('TCP_TRUNCATED', end, `TCP header at offset ${start} needs 20 bytes`));
  const dataOffset = (data[start + 12] >> 4) * 4;
  if (dataOffset < 20) return err(new CaptureError('TCP_BAD_DATA_OFFSET', start + 12, `TCP data offset ${dataOffset} is below 20`));
  if (start + dataOffset > end) {
    return err(new CaptureError('TCP_TRUNCATED', end, `TCP header with options needs ${dataOffset} bytes at offset ${start}`));
  }
  const f = data[start + 13];
  return ok({
    srcPort: be16(data, start),
    dstPort: be16(data, start + 2),
    seq: be32(data, start + 4),
    ack: be32(data, start + 8),
    flags: { fin: !!(f & 0x01), syn: !!(f & 0x02), rst: !!(f & 0x04), psh: !!(f & 0x08), ack: !!(f & 0x10), urg: !!(f & 0x20) },
    window: be16(data, start + 14),
    payload: data.subarray(start + dataOffset, end),
    payloadOffset: start + dataOffset,
  });
}
