/**
 * The whole `natfw decode` pipeline (capture reader, GIST extraction and
 * codec, NATFW codec, JSON view) on mutated sample captures and hex: it never
 * throws and always ends, whatever the bytes.
 */
import fc from 'fast-check';
import { readFileSync } from 'fs';
import { join } from 'path';
import { decodeCaptureBytes, decodeHex } from '../../cli/decode';

const samples = ['handshake.pcap', 'cmode.pcap'].map((n) => new Uint8Array(readFileSync(join(__dirname, '../../samples', n))));

describe('natfw decode on mutated input', () => {
  it('decodes the samples without any error line', () => {
    for (const s of samples) {
      const r = decodeCaptureBytes(s);
      expect(r.failure).toBeUndefined();
      expect(r.lines.filter((l) => 'error' in l || 'nslpError' in l || 'note' in l)).toEqual([]);
      expect(r.lines).toHaveLength(5);
    }
  });

  it('never throws on bit flips, byte changes, truncation and lying lengths', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (which, edits, cut) => {
          const base = samples[which % samples.length];
          const b = base.slice(0, base.length - (cut % 40));
          for (const [at, v, flip] of edits) {
            const i = 24 + (at % (b.length - 24)); // keep the file header: exercise the frame contents
            b[i] = flip ? b[i] ^ (1 << (v & 7)) : v;
          }
          const r = decodeCaptureBytes(b);
          for (const l of r.lines) JSON.stringify(l);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated hex input (datagram, bare message, IP packet)', () => {
    const r = decodeCaptureBytes(samples[0]);
    expect(r.lines.length).toBeGreaterThan(0);
    // the UDP payloads of the sample, taken from the frames: bytes 28.. of each raw IPv4 packet (IHL 5 or 6)
    const frames: Uint8Array[] = [];
    let off = 24;
    const s = samples[0];
    while (off + 16 <= s.length) {
      const len = s[off + 8] | (s[off + 9] << 8);
      frames.push(s.slice(off + 16, off + 16 + len));
      off += 16 + len;
    }
    const inputs = [...frames, ...frames.map((f) => f.slice((f[0] & 0x0f) * 4 + 8))];
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), (which, edits, cut) => {
        const base = inputs[which % inputs.length];
        const b = base.slice(0, Math.max(1, base.length - (cut % 24)));
        for (const [at, v] of edits) b[at % b.length] = v;
        const out = decodeHex(b);
        if (out.failure !== undefined) expect(out.failure.split('\n')).toHaveLength(1);
      }),
      { numRuns: 3000 },
    );
  });
});
