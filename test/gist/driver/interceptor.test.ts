/** The interception decision shared by NFQUEUE and the RA socket (no sockets needed). */
import { QmodeJudge, type InterceptedPacket } from '../../../gist/driver/interceptor';
import { ipv4RouterAlertOption } from '../../../gist/driver/router-alert';

function packet(payload: number[], opts: { rao?: number; dport?: number } = {}): Uint8Array {
  const opt = opts.rao === undefined ? [] : Array.from(ipv4RouterAlertOption(opts.rao));
  const ihl = 20 + opt.length;
  const total = ihl + 8 + payload.length;
  const p = new Uint8Array(total);
  p[0] = 0x40 | (ihl / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([198, 18, 1, 1], 12);
  p.set([198, 18, 2, 2], 16);
  p.set(opt, 20);
  const dport = opts.dport ?? 270;
  p[ihl + 2] = dport >> 8;
  p[ihl + 3] = dport & 0xff;
  p[ihl + 5] = 8 + payload.length;
  p.set(payload, ihl + 8);
  return p;
}
const QUERY = [0x4e, 0x04, 0xbd, 0xa5, 1, 64, 0, 0, 0, 33, 0, 0x40];

describe('QmodeJudge', () => {
  let t = 0;
  const clock = (): number => t;

  it('offers only RAO + GIST port + magic to the node; everything else is forwarded untouched', () => {
    const seen: InterceptedPacket[] = [];
    const j = new QmodeJudge((p) => (seen.push(p), { kind: 'consume' }), { gistPort: 270, clock });
    expect(j.judge(packet(QUERY, { rao: 65 }), 'eth0').verdict).toEqual({ kind: 'consume' });
    expect(seen[0]).toMatchObject({ inboundInterface: 'eth0', packet: { rao: 65, source: '198.18.1.1' } });
    for (const p of [packet(QUERY), packet(QUERY, { rao: 65, dport: 271 }), packet([1, 2, 3, 4, 5], { rao: 65 }), new Uint8Array([0x45, 0, 0])]) {
      expect(j.judge(p, undefined).verdict).toEqual({ kind: 'forward' });
    }
    expect(seen).toHaveLength(1);
    expect(j.stats).toMatchObject({ offered: 1, consumed: 1, notGist: 4 });
  });

  it('a throwing node never black-holes the packet', () => {
    const j = new QmodeJudge(() => {
      throw new Error('bug');
    }, { gistPort: 270, clock });
    expect(j.judge(packet(QUERY, { rao: 0 }), undefined).verdict).toEqual({ kind: 'forward' });
  });

  it('rate-limits candidates with a token bucket and drops the excess (RFC 5971 s5.3.2.3)', () => {
    t = 0;
    let calls = 0;
    const j = new QmodeJudge(() => (calls++, { kind: 'forward' }), { gistPort: 270, clock, maxPerSecond: 10 });
    const verdicts = Array.from({ length: 15 }, () => j.judge(packet(QUERY, { rao: 65 }), undefined).verdict);
    expect(verdicts.filter((v) => v === 'drop')).toHaveLength(5);
    expect(calls).toBe(10);
    t = 500; // half a second refills 5 tokens
    const more = Array.from({ length: 6 }, () => j.judge(packet(QUERY, { rao: 65 }), undefined).verdict);
    expect(more.filter((v) => v === 'drop')).toHaveLength(1);
    expect(j.stats.rateLimited).toBe(6);
  });
});
