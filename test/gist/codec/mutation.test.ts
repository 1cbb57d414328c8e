/**
 * Mutation test: valid messages truncated, extended, bit-flipped, with lengths
 * lied about, and random bytes. Decoding must return a message or a typed
 * GistDecodeError, never throw, and finish: many thousands of cases, bounded
 * in count and time. A mutant that still decodes must re-encode and decode to
 * the same model.
 */
import fc from 'fast-check';
import {
  decodeGistDatagram,
  decodeGistMessage,
  encodeGistDatagram,
  encodeGistMessage,
  GistDecodeError,
  GistStreamDecoder,
  buildErrorMessage,
  type GistMessage,
} from '../../../gist/codec';
import * as A from './arbitraries';
import { sameModel } from './equal';
import { typicalMessages } from './fixtures';

const TIME_BUDGET_MS = 8_000;

/** Seeded PRNG (mulberry32) so failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let checked = 0;

/** Plain checks (jest's expect costs ~100 us a call, which would cap the number of cases). */
function fail(what: string, bytes: Uint8Array): never {
  throw new Error(`${what}; input ${Buffer.from(bytes).toString('hex')}`);
}

function check(bytes: Uint8Array, datagram: boolean): void {
  checked++;
  let r;
  try {
    r = datagram ? decodeGistDatagram(bytes) : decodeGistMessage(bytes);
  } catch (e) {
    fail(`decoder threw ${String(e)}`, bytes);
  }
  if (r.ok) {
    // Whatever decodes is a valid model: it re-encodes and decodes to the same thing.
    const again = decodeGistMessage(encodeGistMessage(r.value));
    if (!again.ok) fail(`re-encoded mutant fails: ${again.error.message}`, bytes);
    if (!sameModel(again.value, r.value)) fail('re-encoded mutant decodes differently', bytes);
    return;
  }
  const e = r.error;
  if (!(e instanceof GistDecodeError) || typeof e.code !== 'string') fail('not a GistDecodeError', bytes);
  if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > bytes.length) fail(`offset ${e.offset} outside the input`, bytes);
  if (e.reply) {
    // Whatever error we would answer can be built, encoded and decoded.
    const reply = buildErrorMessage(e, { encapsulation: datagram ? 'datagram' : 'C' });
    const back = decodeGistMessage(encodeGistMessage(reply));
    if (!back.ok) fail(`error reply does not decode: ${back.error.message}`, bytes);
  }
}

function mutants(src: Uint8Array, rand: () => number, datagram: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const pick = (n: number): number => Math.floor(rand() * n);
  const hdr = datagram ? 4 : 0;
  // Truncations.
  for (let i = 0; i < 4; i++) out.push(src.slice(0, pick(src.length)));
  // Extensions: zeros, random bytes, a whole extra word.
  out.push(Buffer.concat([src, new Uint8Array(1 + pick(8))]));
  out.push(Buffer.concat([src, Uint8Array.from({ length: 4 }, () => pick(256))]));
  // Bit flips: one, and several.
  for (let i = 0; i < 6; i++) {
    const m = src.slice();
    const flips = 1 + (i > 3 ? pick(6) : 0);
    for (let f = 0; f < flips; f++) m[pick(m.length)] ^= 1 << pick(8);
    out.push(m);
  }
  // Lies about lengths: the Message Length and each TLV Length.
  {
    const m = src.slice();
    const v = pick(0x10000);
    m[hdr + 2] = v >> 8;
    m[hdr + 3] = v & 0xff;
    out.push(m);
  }
  let p = hdr + 8;
  while (p + 4 <= src.length) {
    const words = ((src[p + 2] & 0x0f) << 8) | src[p + 3];
    const m = src.slice();
    const lie = rand() < 0.5 ? Math.max(0, words + pick(5) - 2) : pick(0x1000);
    m[p + 2] = (m[p + 2] & 0xf0) | (lie >> 8);
    m[p + 3] = lie & 0xff;
    out.push(m);
    // and an inner length byte of the value (counts, PI-Length, MRI Length...)
    if (words > 0) {
      const m2 = src.slice();
      m2[p + 4 + pick(Math.min(words * 4, 8))] = pick(256);
      out.push(m2);
    }
    p += 4 + words * 4;
  }
  return out;
}

describe('mutation: decode never throws and always terminates', () => {
  test('mutants of generated and typical messages (plain and datagram)', () => {
    const start = Date.now();
    const rand = rng(0x5eed);
    const seeds: GistMessage[] = [...typicalMessages(), ...fc.sample(A.message, { numRuns: 400, seed: 42 })];
    let rounds = 0;
    outer: for (let pass = 0; pass < 8; pass++) {
      for (const m of seeds) {
        for (const datagram of [false, true]) {
          const src = datagram ? encodeGistDatagram(m) : encodeGistMessage(m);
          for (const x of mutants(src, rand, datagram)) check(x, datagram);
        }
        rounds++;
        if (Date.now() - start > TIME_BUDGET_MS) break outer;
      }
    }
    console.log(`mutation: ${checked} cases, ${rounds} seed messages, ${Date.now() - start} ms`);
    expect(rounds).toBeGreaterThan(100);
    expect(checked).toBeGreaterThan(5000);
  });

  test('random bytes, and random bytes behind a valid header', () => {
    const start = Date.now();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, withHeader) => {
        if (withHeader && b.length >= 8) {
          b[0] = 1;
          b[2] = ((b.length - 8) >> 10) & 0xff;
          b[3] = ((b.length - 8) >> 2) & 0xff;
        }
        check(b, false);
        check(Buffer.concat([Buffer.from([0x4e, 0x04, 0xbd, 0xa5]), b]), true);
      }),
      { numRuns: 5000, interruptAfterTimeLimit: TIME_BUDGET_MS },
    );
    expect(Date.now() - start).toBeLessThan(TIME_BUDGET_MS + 5000);
  });

  test('the stream decoder on garbage: bounded, never throws, never loops', () => {
    const rand = rng(7);
    for (let i = 0; i < 300; i++) {
      const dec = new GistStreamDecoder({ highWaterMark: 1 << 16 });
      const len = Math.floor(rand() * 2000);
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(rand() * 256));
      if (len >= 8) bytes[0] = 1;
      let consumed = 0;
      dec.push(bytes);
      for (let guard = 0; guard < 10_000; guard++) {
        const before = dec.buffered;
        const r = dec.next();
        if (r === undefined) break;
        expect(dec.buffered).toBeLessThan(before); // every message consumes at least the 8-byte header
        consumed++;
      }
      expect(dec.buffered).toBeLessThan(8 + 0xffff * 4);
      expect(consumed).toBeLessThanOrEqual(len / 8);
    }
  });
});
