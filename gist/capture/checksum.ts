/** The Internet checksum (RFC 1071) and the UDP/TCP pseudo-headers of IPv4 (RFC 768) and IPv6 (RFC 8200 s8.1). */

/** One's-complement sum of 16-bit big-endian words, folded to 16 bits but not complemented. */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return ~onesSum(bytes, start, end) & 0xffff;
}

/** Sum of the pseudo-header for an upper-layer segment of `length` bytes. */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = onesSum(src) + onesSum(dst);
  if (src.length === 4) sum += protocol + length;
  else sum += (length >>> 16) + (length & 0xffff) + protocol;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The UDP or TCP checksum of `segment` (with its checksum field zeroed or not: pass where it is to skip it). */
export function transportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): number {
  const sum = onesSum(segment, 0, segment.length, pseudoHeaderSum(src, dst, protocol, segment.length));
  return ~sum & 0xffff;
}

/** True when a received segment's checksum verifies (its own checksum field included in the sum). */
export function verifyTransportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): boolean {
  return onesSum(segment, 0, segment.length, pseudoHeaderSum(src, dst, protocol, segment.length)) === 0xffff;
}
