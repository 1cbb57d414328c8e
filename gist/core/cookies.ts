/**
 * Cookies (RFC 5971 s8.5).
 *
 * Responder-Cookie: the responder keeps NO per-flow state between Query and
 * Confirm ("delayed state installation", s4.4.1 case 2, s6.3 case 3), so the
 * cookie must let it re-validate the Confirm by itself: it is an HMAC-SHA256
 * (truncated to 128 bits) under a local secret over everything the Confirm
 * must repeat from the Query (NSLPID, SID, MRI, the querier's Peer-Identity
 * and Interface-Address, whether an MA was offered). The secret rotates:
 * generation g = floor(now / period) has secret HMAC(master, g), so no timer
 * and no table is needed; cookies of the current and the previous generation
 * are accepted (s8.5: "the generator can change the secret periodically").
 * Layout: generation (u32) | MAC (16 bytes) = 20 bytes, a whole number of words.
 *
 * Query-Cookie: random 8 bytes per querying state + a 32-bit retransmission
 * counter, so every retransmitted Query carries a different cookie (s5.3.3)
 * and a reply to any of them is matched.
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';

const MAC_BYTES = 16;
export const RESPONDER_COOKIE_BYTES = 4 + MAC_BYTES;

export interface CookieBinding {
  readonly nslpId: number;
  readonly sessionIdHex: string;
  /** A canonical text of the MRI (gist/types.ts mriKey) as carried in the Query. */
  readonly mriKey: string;
  readonly peerIdentity: Uint8Array;
  readonly interfaceAddress: string;
  /** An MA was offered in the Response (Stack-Proposal + SCD). */
  readonly maOffered: boolean;
}

const enc = new TextEncoder();

export class ResponderCookieJar {
  private readonly master: Uint8Array;
  /** Keyed HMAC states of the two live generations (cloned per MAC: the key schedule is paid once per generation). */
  private cache: { gen: number; keyed: ReturnType<typeof hmac.create> }[] = [];

  constructor(
    randomBytes: (n: number) => Uint8Array,
    private readonly periodMs: number,
  ) {
    this.master = randomBytes(32);
  }

  private keyed(gen: number): ReturnType<typeof hmac.create> {
    for (const c of this.cache) if (c.gen === gen) return c.keyed;
    const g = new Uint8Array(4);
    new DataView(g.buffer).setUint32(0, gen >>> 0);
    const key = hmac(sha256, this.master, g);
    const keyed = hmac.create(sha256, key);
    this.cache.unshift({ gen, keyed });
    if (this.cache.length > 2) this.cache.length = 2;
    return keyed;
  }

  private generation(now: number): number {
    return Math.floor(now / this.periodMs) >>> 0;
  }

  private mac(gen: number, b: CookieBinding): Uint8Array {
    const text = `${b.nslpId}|${b.sessionIdHex}|${b.mriKey}|${b.interfaceAddress}|${b.maOffered ? 1 : 0}|`;
    const h = this.keyed(gen).clone();
    h.update(enc.encode(text));
    h.update(b.peerIdentity);
    return h.digest().subarray(0, MAC_BYTES);
  }

  mint(now: number, b: CookieBinding): Uint8Array {
    const gen = this.generation(now);
    const out = new Uint8Array(RESPONDER_COOKIE_BYTES);
    new DataView(out.buffer).setUint32(0, gen);
    out.set(this.mac(gen, b), 4);
    return out;
  }

  /** true when the cookie was minted by us, for exactly this binding, in this or the previous generation. */
  verify(now: number, cookie: Uint8Array, b: CookieBinding): boolean {
    if (cookie.length !== RESPONDER_COOKIE_BYTES) return false;
    const gen = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength).getUint32(0);
    const cur = this.generation(now);
    if (gen !== cur && gen !== ((cur - 1) >>> 0)) return false;
    const expect = this.mac(gen, b);
    let diff = 0;
    for (let i = 0; i < MAC_BYTES; i++) diff |= expect[i] ^ cookie[4 + i];
    return diff === 0;
  }
}

/** Query-Cookie: 8 random bytes (kept as two u32 in the routing state) + the retransmission counter. */
export function makeQueryCookie(hi: number, lo: number, counter: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, hi >>> 0);
  v.setUint32(4, lo >>> 0);
  v.setUint32(8, counter >>> 0);
  return out;
}

/** The counter of a Query-Cookie that carries our (hi, lo), or undefined when it is not ours. */
export function matchQueryCookie(cookie: Uint8Array, hi: number, lo: number): number | undefined {
  if (cookie.length !== 12) return undefined;
  const v = new DataView(cookie.buffer, cookie.byteOffset, cookie.byteLength);
  if (v.getUint32(0) !== hi >>> 0 || v.getUint32(4) !== lo >>> 0) return undefined;
  return v.getUint32(8);
}
