/**
 * One captured frame decoded down to its transport layer: link layer, IP
 * (with Router Alert), then UDP or TCP. Never throws.
 */
import { err, ok, type Result } from '../../common/result';
import type { CaptureError } from './errors';
import { decodeIp, IPPROTO_TCP, IPPROTO_UDP, type IpPacket } from './ip';
import { decodeLink } from './link';
import { decodeTcp, decodeUdp, type TcpSegment, type UdpDatagram } from './transport';

export type DecodedPacket =
  | { readonly kind: 'non-ip'; readonly what: string }
  | { readonly kind: 'ip'; readonly ip: IpPacket; readonly vlan?: readonly number[]; readonly transport: Transport };

export type Transport =
  | { readonly kind: 'udp'; readonly udp: UdpDatagram }
  | { readonly kind: 'tcp'; readonly tcp: TcpSegment }
  /** An IP fragment: GIST decoding needs the whole datagram, which natfw does not reassemble. */
  | { readonly kind: 'fragment' }
  | { readonly kind: 'other'; readonly protocol: number };

export function decodePacket(linkType: number, data: Uint8Array): Result<DecodedPacket, CaptureError> {
  const link = decodeLink(linkType, data);
  if (!link.ok) return link;
  if (link.value.kind === 'other') return ok({ kind: 'non-ip', what: link.value.what });
  const ipr = decodeIp(data, link.value.offset, link.value.version);
  if (!ipr.ok) return ipr;
  const ip = ipr.value;
  const vlan = link.value.vlan;
  if (ip.fragment) return ok({ kind: 'ip', ip, vlan, transport: { kind: 'fragment' } });
  if (ip.protocol === IPPROTO_UDP) {
    const u = decodeUdp(data, ip.payloadOffset, ip.payloadEnd, ip.truncated);
    return u.ok ? ok({ kind: 'ip', ip, vlan, transport: { kind: 'udp', udp: u.value } }) : err(u.error);
  }
  if (ip.protocol === IPPROTO_TCP) {
    const t = decodeTcp(data, ip.payloadOffset, ip.payloadEnd);
    return t.ok ? ok({ kind: 'ip', ip, vlan, transport: { kind: 'tcp', tcp: t.value } }) : err(t.error);
  }
  return ok({ kind: 'ip', ip, vlan, transport: { kind: 'other', protocol: ip.protocol } });
}
