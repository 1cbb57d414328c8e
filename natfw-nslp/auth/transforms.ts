/**
 * The HMAC algorithms of a HMAC_SIGNED SESSION_AUTH, named by IKEv2
 * Transform Type 3 (integrity algorithm) IDs as RFC 5981 s4.4 requires.
 *
 * RFC 5981 s4.1.1: "all SESSION_AUTH implementations MUST support the
 * HMAC-SHA2-256 [RFC4868]" algorithm. In the IKEv2 registry RFC 4868's
 * HMAC-SHA-256 is AUTH_HMAC_SHA2_256_128 = 12: HMAC-SHA-256 truncated to its
 * first 128 bits, so the MAC is 16 octets. That is natfw's default. No
 * untruncated HMAC-SHA-256 ID exists in Transform Type 3 (rfc-traps.md).
 */
import { createHmac } from 'node:crypto';
import { hmac, type HMAC } from '@noble/hashes/hmac';
import { sha1 } from '@noble/hashes/legacy';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2';
import { HmacSha256 } from '../../gist/core/hmac-sha256';

type Hash = typeof sha256 | typeof sha1;
type Sha1 = ReturnType<typeof sha1.create>;

export interface HmacTransform {
  /** IKEv2 Transform Type 3 ID. */
  readonly id: number;
  /** The IKEv2 registry name. */
  readonly name: string;
  /** Octets of MAC carried (the truncation of RFC 4868 / RFC 2404). */
  readonly macLength: number;
  /** The hash (@noble/hashes), for callers that hash themselves. */
  readonly hash: Hash;
  /** Its OpenSSL name, for node:crypto's HMAC (PreparedHmac says which implementation each transform uses). */
  readonly digest: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

export const TRANSFORMS: ReadonlyMap<number, HmacTransform> = new Map<number, HmacTransform>([
  [2, { id: 2, name: 'AUTH_HMAC_SHA1_96', macLength: 12, hash: sha1, digest: 'sha1' }],
  [12, { id: 12, name: 'AUTH_HMAC_SHA2_256_128', macLength: 16, hash: sha256, digest: 'sha256' }],
  [13, { id: 13, name: 'AUTH_HMAC_SHA2_384_192', macLength: 24, hash: sha384, digest: 'sha384' }],
  [14, { id: 14, name: 'AUTH_HMAC_SHA2_512_256', macLength: 32, hash: sha512, digest: 'sha512' }],
]);

export const DEFAULT_TRANSFORM_ID = 12;

/** Transforms a verifier accepts unless configured otherwise (SHA-1 only on request). */
export const DEFAULT_ALLOWED_TRANSFORMS: readonly number[] = [12, 13, 14];

/** CLI names: sha256 / sha384 / sha512 / sha1, or the numeric ID. */
export function transformByName(s: string): HmacTransform | undefined {
  const names: Record<string, number> = { sha1: 2, sha256: 12, 'sha2-256': 12, sha384: 13, 'sha2-384': 13, sha512: 14, 'sha2-512': 14 };
  const id = /^\d+$/.test(s) ? Number(s) : names[s.toLowerCase()];
  return id === undefined ? undefined : TRANSFORMS.get(id);
}

/** Scratch for the MAC input of a multi-part message (the parts are short: a token, or a token plus one message). */
let scratch = new Uint8Array(512);

/** Copies `parts` one after another into `scratch` (grown if needed); returns the length. */
function concatIntoScratch(parts: readonly Uint8Array[]): number {
  let len = 0;
  for (const p of parts) len += p.length;
  if (len > scratch.length) scratch = new Uint8Array(Math.max(len, scratch.length * 2));
  let at = 0;
  for (const p of parts) {
    scratch.set(p, at);
    at += p.length;
  }
  return len;
}

/**
 * A keyed HMAC for one key and transform, with the key schedule paid once (the
 * key's inner and outer pad states are computed at construction), measured
 * against node:crypto's per-call `createHmac` in one run (bench/auth.bench.ts,
 * `auth.mac.*`, on 108-octet inputs):
 * - SHA-256 (the RFC 5981 MUST, natfw's default): gist/core/hmac-sha256.ts,
 *   the pre-keyed HMAC-SHA256 the Responder-Cookie uses, about 2.5x node:crypto;
 *   checked against node:crypto in test/auth/transforms.test.ts.
 * - SHA-1: a pre-keyed @noble/hashes HMAC copied into one reused instance per
 *   message, about 1.8x node:crypto.
 * - SHA-384 / SHA-512: node:crypto, which beats @noble's 64-bit arithmetic
 *   (pre-keyed @noble measured about 0.55x).
 */
export class PreparedHmac {
  private readonly sha256: HmacSha256 | undefined;
  private readonly noble: HMAC<Sha1> | undefined;
  private readonly nobleWork: HMAC<Sha1> | undefined;
  private readonly key: Uint8Array | undefined;
  /** The untruncated digest of the last check (the length of the hash's output). */
  private readonly digestOut: Uint8Array;

  constructor(
    readonly transform: HmacTransform,
    key: Uint8Array,
  ) {
    this.digestOut = new Uint8Array(transform.hash.outputLen);
    if (transform.digest === 'sha256') this.sha256 = new HmacSha256(key);
    else if (transform.digest === 'sha1') {
      this.noble = hmac.create(sha1, key) as HMAC<Sha1>;
      this.nobleWork = this.noble.clone();
    } else this.key = key.slice();
  }

  /** Writes the untruncated HMAC over the concatenation of `parts` to `digestOut`. */
  private run(parts: readonly Uint8Array[]): Uint8Array {
    const out = this.digestOut;
    if (this.sha256 !== undefined) {
      if (parts.length === 1) this.sha256.macInto(parts[0], parts[0].length, out, 0, out.length);
      else this.sha256.macInto(scratch, concatIntoScratch(parts), out, 0, out.length);
    } else if (this.noble !== undefined && this.nobleWork !== undefined) {
      const h = this.noble._cloneInto(this.nobleWork);
      for (const p of parts) h.update(p);
      h.digestInto(out);
    } else {
      const h = createHmac(this.transform.digest, this.key as Uint8Array);
      for (const p of parts) h.update(p);
      out.set(h.digest());
    }
    return out;
  }

  /** HMAC over the concatenation of `parts`, truncated to the transform's MAC length (a new array). */
  mac(parts: readonly Uint8Array[]): Uint8Array {
    return this.run(parts).slice(0, this.transform.macLength);
  }

  /** Whether `expected` is the (truncated) HMAC over `parts`, compared in constant time; allocates nothing for SHA-256 and SHA-1. */
  verify(parts: readonly Uint8Array[], expected: Uint8Array): boolean {
    const n = this.transform.macLength;
    if (expected.length !== n) return false;
    return sameOctets(this.run(parts), expected, n);
  }
}

/** Compares in time that depends only on the lengths (which are public), not on where the MACs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return sameOctets(a, b, a.length);
}

/** The first `n` octets of `a` and `b` agree; the time depends only on `n`. */
function sameOctets(a: Uint8Array, b: Uint8Array, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
