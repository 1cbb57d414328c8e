/**
 * The semantic model of GIST identifiers shared by the codec, the core and the
 * NSLP API. Addresses are canonical text (IPv4 dotted quad; IPv6 lowercase,
 * RFC 5952 compressed, as Node's `net` module prints them).
 */
import { toHex } from '../common/bytes';

export type IpVersion = 4 | 6;

/** RFC 5971 A.3.2: a 128-bit random Session Identifier, chosen by the NSLP. */
export type SessionId = Uint8Array;

/** IANA NSLP identifier (iana-gist-parameters): 0 = GIST itself, 33 = NATFW. GIST carries any NSLPID opaquely. */
export type NslpId = number;

/** RFC 5971 A.3.1.1: path-coupled MRM (MRM-ID 0). Optional fields are present exactly when their flag is set. */
export interface PathCoupledMri {
  readonly mrm: 'path-coupled';
  readonly ipVersion: IpVersion;
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  readonly sourcePrefix: number;
  readonly destinationPrefix: number;
  /** P flag: IP protocol number. */
  readonly protocol?: number;
  /** T flag: 6-bit Diffserv field. */
  readonly dsField?: number;
  /** F flag (IPv6 only): 20-bit flow label. */
  readonly flowLabel?: number;
  /** S flag (needs P): IPsec SPI. */
  readonly spi?: number;
  /** A flag (needs P): source port; 0 means "specific, but not yet known". */
  readonly sourcePort?: number;
  /** B flag (needs P): destination port; 0 means "specific, but not yet known". */
  readonly destinationPort?: number;
  /** D flag: 0 = downstream (with the flow), 1 = upstream. */
  readonly direction: 'downstream' | 'upstream';
  /** N flag of the MRI (A.3.1): present (true) only when set; RFC 5971 says it is 0 for this MRM. */
  readonly nFlag?: boolean;
}

/** RFC 5971 A.3.1.2: loose-end MRM (MRM-ID 1). */
export interface LooseEndMri {
  readonly mrm: 'loose-end';
  readonly ipVersion: IpVersion;
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  /** D flag: 0 = towards the edge of the network, 1 = from the edge. */
  readonly direction: 'towards-edge' | 'from-edge';
  /** N flag of the MRI (A.3.1): present (true) only when set; RFC 5971 says it is 0 for this MRM. */
  readonly nFlag?: boolean;
}

export type Mri = PathCoupledMri | LooseEndMri;

/** Lowercase hex of a Session ID (RFC 5971 s3.7: 128 bits), the key of maps keyed by session. */
export function sessionIdKey(sid: SessionId): string {
  return toHex(sid);
}

/** A stable string key for an MRI (all fields), for maps of routing state. */
export function mriKey(m: Mri): string {
  if (m.mrm === 'loose-end') return `le|${m.ipVersion}|${m.sourceAddress}|${m.destinationAddress}|${m.direction}`;
  return [
    'pc',
    m.ipVersion,
    m.sourceAddress,
    m.sourcePrefix,
    m.destinationAddress,
    m.destinationPrefix,
    m.protocol ?? '',
    m.dsField ?? '',
    m.flowLabel ?? '',
    m.spi ?? '',
    m.sourcePort ?? '',
    m.destinationPort ?? '',
    m.direction,
  ].join('|');
}

/** The same flow seen from the other end (D flag inverted), e.g. for the upstream routing state of a flow. */
export function invertDirection(m: Mri): Mri {
  if (m.mrm === 'loose-end') return { ...m, direction: m.direction === 'towards-edge' ? 'from-edge' : 'towards-edge' };
  return { ...m, direction: m.direction === 'downstream' ? 'upstream' : 'downstream' };
}

/** A downstream path-coupled MRI for one UDP flow between two hosts, with full-length prefixes; `over` changes any field. */
export function udpFlowMri(src: string, dst: string, over: Partial<PathCoupledMri> = {}): PathCoupledMri {
  const v: IpVersion = src.includes(':') ? 6 : 4;
  const full = v === 4 ? 32 : 128;
  return { mrm: 'path-coupled', ipVersion: v, sourceAddress: src, destinationAddress: dst, sourcePrefix: full, destinationPrefix: full, protocol: 17, direction: 'downstream', ...over };
}
