/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) with the key schedule paid once: the
 * inner and outer pad states are compressed at construction, so a MAC over
 * a short message costs one or two compressions plus one for the outer
 * hash, with no allocation; the padded last blocks are assembled as words (the Responder-Cookie path, RFC 5971 s8.5, runs
 * twice per handshake). Checked against node:crypto in
 * test/gist/core/hmac.test.ts.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);

/** One SHA-256 compression of the block whose 16 big-endian words are in W[0..16), into `st`. */
function compressW(st: Int32Array): void {
  const w = W;
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15];
    const w2 = w[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = st[0];
  let bb = st[1];
  let c = st[2];
  let d = st[3];
  let e = st[4];
  let f = st[5];
  let g = st[6];
  let h = st[7];
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + K[i] + w[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & bb) ^ (a & c) ^ (bb & c);
    const t2 = (s0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  st[0] = (st[0] + a) | 0;
  st[1] = (st[1] + bb) | 0;
  st[2] = (st[2] + c) | 0;
  st[3] = (st[3] + d) | 0;
  st[4] = (st[4] + e) | 0;
  st[5] = (st[5] + f) | 0;
  st[6] = (st[6] + g) | 0;
  st[7] = (st[7] + h) | 0;
}

/** One SHA-256 compression of the 64-byte block b[off..off+64) into `st`. */
function compress(st: Int32Array, b: Uint8Array, off: number): void {
  const w = W;
  for (let i = 0; i < 16; i++, off += 4) w[i] = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  compressW(st);
}

/**
 * Processes `len` bytes of `data` after `prefixBlocks` already-hashed blocks, with the final
 * padding (FIPS 180-4 s5.1.1); state ends in `st`. The last block is assembled as words in W
 * (no byte block to clear and copy into).
 */
function finish(st: Int32Array, data: Uint8Array, len: number, prefixBlocks: number): void {
  let off = 0;
  for (; off + 64 <= len; off += 64) compress(st, data, off);
  const rest = len - off;
  const w = W;
  for (let i = 0; i < 16; i++) w[i] = 0;
  for (let j = 0; j < rest; j++) w[j >> 2] |= data[off + j] << (24 - 8 * (j & 3));
  w[rest >> 2] |= 0x80 << (24 - 8 * (rest & 3));
  if (rest >= 56) {
    compressW(st);
    for (let i = 0; i < 16; i++) w[i] = 0;
  }
  // 64-bit big-endian bit length; messages here are far below 2^53 bits.
  const bits = (prefixBlocks * 64 + len) * 8;
  w[14] = Math.floor(bits / 2 ** 32) | 0;
  w[15] = bits | 0;
  compressW(st);
}

export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly st = new Int32Array(8);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      // RFC 2104: keys longer than the block are hashed first.
      const st = IV.slice();
      finish(st, k, k.length, 0);
      k = new Uint8Array(32);
      writeState(st, k, 0, 32);
    }
    const pad = new Uint8Array(64);
    pad.fill(0x36);
    for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
    this.inner.set(IV);
    compress(this.inner, pad, 0);
    pad.fill(0x5c);
    for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
    this.outer.set(IV);
    compress(this.outer, pad, 0);
  }

  /** Writes the first `outLen` (<= 32) bytes of HMAC(key, data[0..len)) to out[outOff..]. */
  macInto(data: Uint8Array, len: number, out: Uint8Array, outOff: number, outLen: number): void {
    const st = this.st;
    st.set(this.inner);
    finish(st, data, len, 1);
    // The outer hash's one block: the inner digest (its state words are the digest's big-endian
    // words), the 0x80 pad byte, and the bit length of key block + digest (64 + 32 bytes).
    const w = W;
    for (let i = 0; i < 8; i++) w[i] = st[i];
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (64 + 32) * 8;
    st.set(this.outer);
    compressW(st);
    writeState(st, out, outOff, outLen);
  }

  /** The full 32-byte HMAC. */
  mac(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(32);
    this.macInto(data, data.length, out, 0, 32);
    return out;
  }
}

function writeState(st: Int32Array, out: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) out[off + i] = (st[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}
