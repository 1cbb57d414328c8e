/**
 * Output buffers for encoders: views into 16 KB slabs, handed out once each
 * and never reused (every byte starts zeroed, no two outputs alias). A view
 * costs a fraction of a fresh Uint8Array of message size, which V8 backs
 * with separately allocated, GC-tracked external memory. A slab is freed
 * when the last view into it is. Callers get an ordinary Uint8Array; code
 * that needs its own ArrayBuffer must honour byteOffset (as with Buffer).
 */
const SLAB_BYTES = 16 * 1024;
const SLAB_MAX = 2048;
let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zeroed Uint8Array of `n` bytes. */
export function allocOutput(n: number): Uint8Array {
  if (n > SLAB_MAX) return new Uint8Array(n);
  if (used + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const b = new Uint8Array(slab, used, n);
  used += (n + 7) & ~7;
  return b;
}
