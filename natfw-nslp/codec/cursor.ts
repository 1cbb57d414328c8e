/**
 * A bounds-checked big-endian reader like common/bytes.ts `ByteReader`, but
 * whose `sub` readers share one DataView: NATFW messages are many small
 * objects, and a DataView per object was the decoder's main cost. Never
 * throws when callers check `has(n)` / `remaining` first.
 */
export class Cursor {
  offset: number;

  constructor(
    readonly buf: Uint8Array,
    readonly view: DataView,
    start: number,
    readonly end: number,
  ) {
    this.offset = start;
  }

  static of(buf: Uint8Array): Cursor {
    return new Cursor(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0, buf.length);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  has(n: number): boolean {
    return n >= 0 && this.offset + n <= this.end;
  }

  u8(): number {
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** A copy of the next n octets. */
  bytes(n: number): Uint8Array {
    const out = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A cursor over the next n octets (same buffer and view), advancing this one past them. */
  sub(n: number): Cursor {
    const c = new Cursor(this.buf, this.view, this.offset, this.offset + n);
    this.offset += n;
    return c;
  }
}
