/**
 * RFC 5973 s3.5: MSNs are 32-bit and wrap; every node compares them with RFC
 * 1982 serial number arithmetic (SERIAL_BITS = 32).
 */
const HALF = 0x80000000;

/** true when `a` is newer than `b` in RFC 1982 terms (undefined when a - b is exactly 2^31). */
export function msnGreater(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < HALF;
}

export function msnNext(a: number): number {
  return (a + 1) >>> 0;
}
