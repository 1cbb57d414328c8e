/**
 * Shared HMAC keys by Key-ID (RFC 5981 s4.1.1, s4.4: the first 32 bits of
 * AUTHENTICATION_DATA name the key). Several keys may be active at once so
 * keys can be rolled over; the authorizer's store can be replaced at run time
 * (a reload). File I/O is in daemon/auth-keys.ts; this module is pure.
 */
import { PreparedHmac, type HmacTransform } from './transforms';

/** RFC 5981 s4.4: "The key length MUST be at least 64 bits". */
export const MIN_KEY_BYTES = 8;

export interface HmacKey {
  /** 32-bit Key-ID. */
  readonly keyId: number;
  readonly key: Uint8Array;
}

export interface KeyStore {
  get(keyId: number): HmacKey | undefined;
  /** The keyed HMAC for a key and transform (implementations cache it). */
  prepared(keyId: number, transform: HmacTransform): PreparedHmac | undefined;
  readonly size: number;
  keyIds(): number[];
}

export class MemoryKeyStore implements KeyStore {
  private readonly keys = new Map<number, HmacKey>();
  /** By keyId * 65536 + transform ID (both numbers, no key text per check). */
  private readonly cache = new Map<number, PreparedHmac>();

  constructor(keys: Iterable<HmacKey> = []) {
    for (const k of keys) {
      if (!Number.isInteger(k.keyId) || k.keyId < 0 || k.keyId > 0xffffffff) throw new RangeError(`Key-ID ${k.keyId} is not a 32-bit unsigned integer`);
      if (k.key.length < MIN_KEY_BYTES) throw new RangeError(`key ${k.keyId} is shorter than 64 bits (RFC 5981 s4.4)`);
      this.keys.set(k.keyId, { keyId: k.keyId, key: k.key.slice() });
    }
  }

  get size(): number {
    return this.keys.size;
  }

  keyIds(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  get(keyId: number): HmacKey | undefined {
    return this.keys.get(keyId);
  }

  prepared(keyId: number, transform: HmacTransform): PreparedHmac | undefined {
    const k = this.keys.get(keyId);
    if (k === undefined) return undefined;
    const ck = keyId * 65536 + transform.id;
    let p = this.cache.get(ck);
    if (p === undefined) {
      p = new PreparedHmac(transform, k.key);
      this.cache.set(ck, p);
    }
    return p;
  }
}
