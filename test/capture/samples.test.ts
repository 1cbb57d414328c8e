import { execFileSync, spawnSync } from 'child_process';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { makeSamples } from '../../samples/make-samples';

const dir = join(__dirname, '../../samples');

describe('bundled sample captures', () => {
  const samples = makeSamples();
  if (process.env.NATFW_WRITE_SAMPLES === '1') {
    for (const [name, bytes] of Object.entries(samples)) writeFileSync(join(dir, name), bytes);
  }
  for (const [name, bytes] of Object.entries(samples)) {
    it(`${name} is what samples/make-samples.ts builds today`, () => {
      expect(existsSync(join(dir, name))).toBe(true);
      expect(Buffer.compare(readFileSync(join(dir, name)), Buffer.from(bytes))).toBe(0);
    });
  }
});

const tshark = spawnSync('tshark', ['--version']).status === 0;
if (!tshark) console.log('SKIP tshark checks of the samples: tshark is not installed');
(tshark ? describe : describe.skip)('tshark reads the bundled samples', () => {
  const fields = (file: string, ...f: string[]): string[][] =>
    execFileSync(
      'tshark',
      ['-r', join(dir, file), '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x])],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20000 },
    )
      .trim()
      .split('\n')
      .map((l) => l.split('|'));

  it('handshake.pcap: the Query carries IP option 148 (Router Alert) with value 65; all checksums good', () => {
    const rows = fields('handshake.pcap', 'frame.number', 'ip.opt.type', 'ip.opt.ra', 'ip.checksum.status', 'udp.checksum.status', 'udp.dstport');
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual(['1', '148', '65', '1', '1', '270']);
    for (const r of rows.slice(1)) expect([r[1], r[3], r[4]]).toEqual(['', '1', '1']);
  });

  it('cmode.pcap: IPv6 Hop-by-Hop Router Alert 68 on the Query, a clean TCP stream', () => {
    const rows = fields('cmode.pcap', 'frame.number', 'ipv6.opt.router_alert', 'udp.checksum.status', 'tcp.checksum.status', 'tcp.analysis.flags', 'eth.type');
    expect(rows).toHaveLength(15);
    expect(rows[0].slice(1, 3)).toEqual(['68', '1']);
    for (const r of rows.slice(2)) {
      expect(r[3]).toBe('1');
      expect(r[4]).toBe(''); // no retransmission / out-of-order / lost-segment warnings
      expect(r[5]).toBe('0x86dd');
    }
  });
});
