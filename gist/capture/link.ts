/**
 * Link layers: finds the IP packet inside a captured frame. Ethernet (with
 * 802.1Q/802.1ad VLAN tags), raw IP (LINKTYPE_RAW, _IPV4, _IPV6), BSD
 * loopback (NULL, LOOP), Linux cooked capture v1 and v2 (what `tcpdump -i any`
 * writes). Never throws.
 */
import { err, ok, type Result } from '../../common/result';
import { CaptureError } from './errors';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from './frame';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
/** More stacked tags than this is not a real frame. */
const MAX_VLAN_TAGS = 4;

const be16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

export type LinkPayload =
  /** An IP packet starts at `offset`; `version` is what the link layer said (undefined: read the IP version nibble). */
  | { readonly kind: 'ip'; readonly offset: number; readonly version?: 4 | 6; readonly vlan?: readonly number[] }
  /** A frame that carries no IP (ARP, LLC, ...): not an error, just nothing for GIST. */
  | { readonly kind: 'other'; readonly what: string };

function etherTypeToPayload(type: number, offset: number, vlan?: number[]): LinkPayload {
  if (type === ETHERTYPE_IPV4) return { kind: 'ip', offset, version: 4, vlan };
  if (type === ETHERTYPE_IPV6) return { kind: 'ip', offset, version: 6, vlan };
  return { kind: 'other', what: `ethertype 0x${type.toString(16).padStart(4, '0')}` };
}

export function decodeLink(linkType: number, data: Uint8Array): Result<LinkPayload, CaptureError> {
  const need = (n: number, what: string): CaptureError | undefined =>
    data.length < n ? new CaptureError('LINK_TRUNCATED', data.length, `${what} needs ${n} bytes, frame has ${data.length}`) : undefined;
  switch (linkType) {
    case LINKTYPE_RAW:
      return ok({ kind: 'ip', offset: 0 });
    case LINKTYPE_IPV4:
      return ok({ kind: 'ip', offset: 0, version: 4 });
    case LINKTYPE_IPV6:
      return ok({ kind: 'ip', offset: 0, version: 6 });
    case LINKTYPE_ETHERNET: {
      const e = need(14, 'Ethernet header');
      if (e) return err(e);
      let type = be16(data, 12);
      let off = 14;
      const vlan: number[] = [];
      while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
        if (vlan.length >= MAX_VLAN_TAGS) {
          return err(new CaptureError('LINK_UNSUPPORTED', off, `more than ${MAX_VLAN_TAGS} VLAN tags`));
        }
        if (off + 4 > data.length) return err(new CaptureError('LINK_TRUNCATED', data.length, `VLAN tag at offset ${off} needs 4 bytes`));
        vlan.push(be16(data, off) & 0x0fff);
        type = be16(data, off + 2);
        off += 4;
      }
      // Values below 0x0600 are an IEEE 802.3 length: LLC, not IP.
      return ok(etherTypeToPayload(type, off, vlan.length > 0 ? vlan : undefined));
    }
    case LINKTYPE_LINUX_SLL: {
      // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
      const e = need(16, 'Linux cooked (SLL) header');
      if (e) return err(e);
      return ok(etherTypeToPayload(be16(data, 14), 16));
    }
    case LINKTYPE_LINUX_SLL2: {
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
      const e = need(20, 'Linux cooked v2 (SLL2) header');
      if (e) return err(e);
      return ok(etherTypeToPayload(be16(data, 0), 20));
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      // A 4-byte address family: host byte order for NULL, network order for LOOP. AF_INET is 2 everywhere;
      // AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      const e = need(4, 'loopback header');
      if (e) return err(e);
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const fam = linkType === LINKTYPE_LOOP ? dv.getUint32(0) : dv.getUint32(0, true) > 0xffff ? dv.getUint32(0) : dv.getUint32(0, true);
      if (fam === 2) return ok({ kind: 'ip', offset: 4, version: 4 });
      if (fam === 10 || fam === 24 || fam === 28 || fam === 30) return ok({ kind: 'ip', offset: 4, version: 6 });
      return ok({ kind: 'other', what: `address family ${fam}` });
    }
    default:
      return err(new CaptureError('LINK_UNSUPPORTED', 0, `link type ${linkType} is not supported`));
  }
}
