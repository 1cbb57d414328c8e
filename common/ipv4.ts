/**
 * Dotted-quad IPv4 text to its 32-bit value without allocating, or -1 when it
 * is not one: four decimal parts 0-255 without leading zeros, as node:net's
 * isIPv4 accepts them. Such text is also the canonical form, so callers on a
 * hot path (pinhole tables, prefix checks of SESSION_AUTH) can compare numbers
 * instead of parsing to bytes.
 */
export function ipv4Number(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
}
