/**
 * Randomness is injected (DESIGN.md, STYLE.md point 11): Session IDs, initial
 * MSNs, nonces and refresh jitter come from a `NatfwRandom`, so simulations
 * replay exactly. The daemon passes a cryptographic source (RFC 5973 s3.2.8:
 * the SID MUST be cryptographically random).
 */
export interface NatfwRandom {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Uniform in [0, 1). */
  float(): number;
  bytes(n: number): Uint8Array;
}

/** Deterministic (splitmix32-style) source for tests and the simulator; not for production. */
export function seededRandom(seed: number): NatfwRandom {
  let s = seed >>> 0;
  const u32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    u32,
    float: () => u32() / 0x100000000,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = u32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}
