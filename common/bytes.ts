/**
 * Bounds-checked big-endian reading and growable writing of network bytes.
 * `ByteReader` never throws: every read first checks `remaining`, and callers
 * test the boolean result of `has(n)` before reading. Decoders use it to turn
 * truncation into typed errors with the offset where the bytes ran out.
 */
export class ByteReader {
  offset: number;
  readonly end: number;

  /** `view` must be a DataView over all of `buf`; sub-readers share it (a DataView per small object was a decoder's main cost). */
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    readonly view: DataView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  ) {
    this.offset = start;
    this.end = end;
  }

  static of(buf: Uint8Array): ByteReader {
    return new ByteReader(buf);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  has(n: number): boolean {
    return n >= 0 && this.offset + n <= this.end;
  }

  /** Callers must have checked `has(1)`. */
  u8(): number {
    return this.view.getUint8(this.offset++);
  }

  /** Callers must have checked `has(2)`. */
  u16(): number {
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  /** Callers must have checked `has(4)`. */
  u32(): number {
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** A copy, so decoded values do not pin the whole input buffer. Callers must have checked `has(n)`. */
  bytes(n: number): Uint8Array {
    const out = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A reader over the next `n` bytes, advancing this one past them. Callers must have checked `has(n)`. */
  sub(n: number): ByteReader {
    const r = new ByteReader(this.buf, this.offset, this.offset + n, this.view);
    this.offset += n;
    return r;
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  /** Overwrite a 16-bit field written earlier (a length known only at the end). */
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  /** Pad with zeros to the next multiple of 4 (TLV values are 32-bit aligned in GIST and NSLP). */
  pad4(): this {
    return this.zeros((4 - (this.length % 4)) % 4);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Reused character codes for the most frequent input, a 16-octet Session ID. */
const CODES_16: number[] = new Array<number>(32).fill(0);

/**
 * Lowercase hex. Short inputs (Session IDs, Peer-Identities: on every
 * message's path) are read in place: a decoded field is a small on-heap typed
 * array, and wrapping its `.buffer` in a Buffer would make V8 move it off the
 * heap (an allocation, a copy and an ArrayBuffer for the GC to sweep) on every
 * call, which once made Session ID keys the costliest function of a large
 * simulation. Long inputs (captures, CLI output) take Buffer's encoder.
 */
export function toHex(b: Uint8Array): string {
  const n = b.length;
  if (n > 1024) return Buffer.from(b.buffer, b.byteOffset, n).toString('hex');
  const codes = n === 16 ? CODES_16 : new Array<number>(2 * n);
  for (let i = 0; i < n; i++) {
    const x = b[i];
    codes[2 * i] = HEX_CODES[x >> 4];
    codes[2 * i + 1] = HEX_CODES[x & 15];
  }
  return String.fromCharCode.apply(null, codes);
}

/** Returns undefined for anything that is not an even-length string of hex digits (spaces and colons allowed). */
export function fromHex(s: string): Uint8Array | undefined {
  const clean = s.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
