/**
 * Fast deep equality for codec models (jest's toEqual costs ~10 ms on a
 * message with byte arrays): undefined properties equal missing ones, byte
 * arrays compare by content. On a mismatch, toEqual runs to print the diff.
 */
export function sameModel(a: unknown, b: unknown): boolean {
  return same(a, b);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!same(ra[k], rb[k])) return false;
  return true;
}

export function expectSame(actual: unknown, expected: unknown): void {
  if (!same(actual, expected)) expect(actual).toEqual(expected);
}

export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (!Buffer.from(actual).equals(expected)) expect(Buffer.from(actual).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
}
