/**
 * Cookies (RFC 5971 s8.5).
 *
 * Responder-Cookie: the responder keeps NO per-flow state between Query and
 * Confirm ("delayed state installation", s4.4.1 case 2, s6.3 case 3), so the
 * cookie must let it re-validate the Confirm by itself: it is an HMAC-SHA256
 * (truncated to 128 bits, hmac-sha256.ts) under a local secret over
 * everything the Confirm must repeat from the Query (NSLPID, SID and MRI as
 * the responder's state key, the querier's Peer-Identity and
 * Interface-Address, whether an MA was offered). The secret rotates:
 * generation g = floor(now / period) has secret HMAC(master, g), so no timer
 * and no table is needed; cookies of the current and the previous generation
 * are accepted (s8.5: "the generator can change the secret periodically").
 * Layout: generation (u32) | MAC (16 bytes) = 20 bytes, a whole number of words.
 *
 * Query-Cookie: random 8 bytes per querying state + a 32-bit retransmission
 * counter, so every retransmitted Query carries a different cookie (s5.3.3)
 * and a reply to any of them is matched.
 */
import { writeIpv4 } from '../codec/addresses';
import { HmacSha256 } from './hmac-sha256';

const MAC_BYTES = 16;
export const RESPONDER_COOKIE_BYTES = 4 + MAC_BYTES;

/**
 * What a Responder-Cookie binds. `stateKey` is the responder's routing state
 * row key and `half` the half of the reply direction (keys.ts rowKey: NSLPID,
 * SID and the MRI), which the Query and its Confirm both determine.
 */
export interface CookieBinding {
  readonly stateKey: string;
  /** 0 or 1 (state.ts FWD / REV). */
  readonly half: number;
  readonly peerIdentity: Uint8Array;
  readonly interfaceAddress: string;
  /** An MA was offered in the Response (Stack-Proposal + SCD). */
  readonly maOffered: boolean;
}

const MAX_BINDING = 4096;

export class ResponderCookieJar {
  private readonly master: HmacSha256;
  /** Keyed HMACs of the two live generations (the key schedule is paid once per generation). */
  private genA = -1;
  private macA: HmacSha256 | undefined;
  private genB = -1;
  private macB: HmacSha256 | undefined;
  /** The MAC input, written in place: key | flags | interface address (4 bytes, or text + NUL) | Peer-Identity. */
  private readonly scratch = new Uint8Array(MAX_BINDING);
  private readonly out = new Uint8Array(MAC_BYTES);

  constructor(
    randomBytes: (n: number) => Uint8Array,
    private readonly periodMs: number,
  ) {
    this.master = new HmacSha256(randomBytes(32));
  }

  private keyed(gen: number): HmacSha256 {
    if (gen === this.genA && this.macA !== undefined) return this.macA;
    if (gen === this.genB && this.macB !== undefined) return this.macB;
    const g = new Uint8Array(4);
    new DataView(g.buffer).setUint32(0, gen >>> 0);
    const keyed = new HmacSha256(this.master.mac(g));
    this.genB = this.genA;
    this.macB = this.macA;
    this.genA = gen;
    this.macA = keyed;
    return keyed;
  }

  private generation(now: number): number {
    return Math.floor(now / this.periodMs) >>> 0;
  }

  /** false when the binding does not fit the scratch buffer (never with RFC-sized fields). */
  private mac(gen: number, b: CookieBinding, out: Uint8Array, outOff: number): boolean {
    const s = this.scratch;
    const k = b.stateKey;
    const a = b.interfaceAddress;
    const pi = b.peerIdentity;
    if (k.length + 1 + a.length + 1 + pi.length > s.length) return false;
    let o = 0;
    for (let i = 0; i < k.length; i++) s[o++] = k.charCodeAt(i);
    // An IPv4 interface address as its 4 bytes (with a typical key and Peer-Identity the
    // input then fits one SHA-256 block: 55 bytes); anything else as its text, NUL-ended.
    if (writeIpv4(a, s, o + 1)) {
      s[o] = (b.maOffered ? 1 : 0) | ((b.half & 1) << 2);
      o += 5;
    } else {
      s[o++] = (b.maOffered ? 3 : 2) | ((b.half & 1) << 2);
      for (let i = 0; i < a.length; i++) s[o++] = a.charCodeAt(i) & 0xff;
      s[o++] = 0;
    }
    for (let i = 0; i < pi.length; i++) s[o++] = pi[i];
    this.keyed(gen).macInto(s, o, out, outOff, MAC_BYTES);
    return true;
  }

  mint(now: number, b: CookieBinding): Uint8Array {
    const gen = this.generation(now);
    const out = new Uint8Array(RESPONDER_COOKIE_BYTES);
    out[0] = gen >>> 24;
    out[1] = (gen >>> 16) & 0xff;
    out[2] = (gen >>> 8) & 0xff;
    out[3] = gen & 0xff;
    // An unbindable (oversized) binding yields a cookie that never verifies.
    this.mac(gen, b, out, 4);
    return out;
  }

  /** true when the cookie was minted by us, for exactly this binding, in this or the previous generation. */
  verify(now: number, cookie: Uint8Array, b: CookieBinding): boolean {
    if (cookie.length !== RESPONDER_COOKIE_BYTES) return false;
    const gen = ((cookie[0] << 24) | (cookie[1] << 16) | (cookie[2] << 8) | cookie[3]) >>> 0;
    const cur = this.generation(now);
    if (gen !== cur && gen !== ((cur - 1) >>> 0)) return false;
    const expect = this.out;
    if (!this.mac(gen, b, expect, 0)) return false;
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
  const c = cookie;
  if (((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) !== (hi | 0) || ((c[4] << 24) | (c[5] << 16) | (c[6] << 8) | c[7]) !== (lo | 0)) return undefined;
  return ((c[8] << 24) | (c[9] << 16) | (c[10] << 8) | c[11]) >>> 0;
}
