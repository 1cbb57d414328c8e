/**
 * Cryptographic randomness for a node's core (GistNodeConfig.randomBytes:
 * cookies, secrets, refresh jitter) and for Session IDs, drawn from a pool
 * refilled with crypto.randomFillSync 64 KiB at a time: the same CSPRNG as
 * crypto.randomBytes, without a call into the OS for every 16 bytes (which
 * showed up as a top cost in handshake profiles). Every byte is handed out
 * once. For the driver side only; simulations inject a seeded source instead.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 64 * 1024;
let pool = new Uint8Array(0);
let used = 0;

export function pooledRandomBytes(n: number): Uint8Array {
  if (n > POOL_BYTES) return randomFillSync(new Uint8Array(n));
  if (used + n > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  const out = pool.slice(used, used + n);
  used += n;
  return out;
}
