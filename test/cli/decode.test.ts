/**
 * `natfw decode` and `natfw demo` as a user runs them: `node dist/bin/natfw.js`
 * (built by `npm ci` / `npm run build`; rebuilt here when a source is newer
 * than the build), checking stdout lines, stderr and exit codes.
 */
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { LINKTYPE_LINUX_SLL2, PcapWriter, synthesizeUdp } from '../../gist/capture';
import { encodeGistDatagram, encodeGistMessage, MessageType, type GistMessage } from '../../gist/codec';
import { encodeNatfwMessage, NATFW_NSLPID } from '../../natfw-nslp/codec';
import { PcapngBuilder, sll2 } from '../capture/builders';

const root = join(__dirname, '../..');
const bin = join(root, 'dist/bin/natfw.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let dir: string;
beforeAll(() => {
  const built = statSync(join(root, 'dist/cli/decode.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = ['bin', 'cli', 'common', 'gist', 'natfw-nslp'].map((d) => join(root, d)).filter((d) => existsSync(d));
  if (!existsSync(bin) || Math.max(...sources.map(newestSource)) > built) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore', timeout: 120000 });
  }
  dir = mkdtempSync(join(tmpdir(), 'natfw-decode-'));
}, 130000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number; out: string[]; err: string } {
  return runWith(undefined, ...args);
}

function runWith(input: Uint8Array | undefined, ...args: string[]): { code: number; out: string[]; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30000, input });
  return { code: r.status ?? -1, out: r.stdout.split('\n').filter((l) => l !== ''), err: r.stderr };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (lines: string[]): Array<Record<string, any>> => lines.map((l) => JSON.parse(l));

const mri = {
  mrm: 'path-coupled' as const,
  ipVersion: 4 as const,
  sourceAddress: '198.18.0.1',
  destinationAddress: '198.19.0.2',
  sourcePrefix: 32,
  destinationPrefix: 32,
  direction: 'downstream' as const,
};
const nli = { peerIdentity: Uint8Array.of(1, 2, 3, 4), ipTtl: 64, ipVersion: 4 as const, interfaceAddress: '198.18.0.1', routingStateValidityTime: 30000 };
function dataMsg(nslpData: Uint8Array, nslpId = NATFW_NSLPID, cFlag = false): GistMessage {
  return {
    type: 'Data',
    header: { version: 1, gistHopCount: 8, messageType: MessageType.Data, nslpId, cFlag, sFlag: true, rFlag: false, eFlag: false },
    unknownObjects: [],
    mri,
    sessionId: new Uint8Array(16).fill(9),
    nli,
    nslpData,
  };
}
const create = encodeNatfwMessage({
  type: 'CREATE',
  header: { messageType: 1, proxy: false, edge: false },
  lifetime: 30,
  efi: { ruleAction: 'deny', subPorts: 1 },
  msn: 7,
  sessionAuth: [],
  unknownObjects: [],
});
const udp = (payload: Uint8Array, routerAlert?: number): Uint8Array =>
  synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 40000, dstPort: 270, payload, routerAlert });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('natfw decode --pcap', () => {
  it('decodes the bundled D-mode handshake: Query with RAO 65, Response, Confirm, Data with CREATE and RESPONSE', () => {
    const r = run('decode', '--pcap', join(root, 'samples/handshake.pcap'));
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = json(r.out);
    expect(lines.map((l) => [l.frame, l.gist?.messageType, l.mode, l.nslp?.messageType ?? null])).toEqual([
      [1, 'Query', 'Q', null],
      [2, 'Response', 'D', null],
      [3, 'Confirm', 'D', null],
      [4, 'Data', 'D', 'CREATE'],
      [5, 'Data', 'D', 'RESPONSE'],
    ]);
    expect(lines[0]).toMatchObject({ routerAlert: 65, src: '198.18.0.1', dst: '198.19.0.2', srcPort: 40000, dstPort: 270, transport: 'udp', ipVersion: 4 });
    expect(lines[0].time).toBe('1767225600.000000000');
    expect(lines[1].routerAlert).toBeUndefined();
    expect(lines[0].gist.commonHeader).toMatchObject({ version: 1, nslpId: 33, cFlag: true, rFlag: true, type: 0 });
    expect(lines[3].nslp.objects).toEqual(expect.arrayContaining([{ type: 'NATFW_LT', lifetime: 30 }]));
  });

  it('decodes the bundled C-mode capture: IPv6, Ethernet, TCP reassembled, SESSION_AUTH shown', () => {
    const r = run('decode', '--pcap', join(root, 'samples/cmode.pcap'));
    expect(r.code).toBe(0);
    const lines = json(r.out);
    expect(lines.map((l) => [l.gist?.messageType, l.transport, l.mode])).toEqual([
      ['Query', 'udp', 'Q'],
      ['Response', 'udp', 'D'],
      ['Confirm', 'tcp', 'C'],
      ['Data', 'tcp', 'C'],
      ['Data', 'tcp', 'C'],
    ]);
    expect(lines[0]).toMatchObject({ ipVersion: 6, routerAlert: 68, src: '2001:db8:1::1' });
    expect(lines[2]).toMatchObject({ dstPort: 30270, detectedBy: 'announced-tcp' });
    const auth = lines[3].nslp.objects.find((o: { type: string }) => o.type === 'SESSION_AUTH_OBJECT');
    expect(auth.attributes.map((a: { xType: string }) => a.xType)).toEqual(['AUTH_ENT_ID', 'START_TIME', 'END_TIME', 'NSLP_OBJECT_LIST', 'AUTHENTICATION_DATA']);
  });

  it('reads pcapng with Linux cooked v2 frames', () => {
    const file = join(dir, 'sll2.pcapng');
    writeFileSync(file, new PcapngBuilder(false).shb().idb(LINKTYPE_LINUX_SLL2, { tsresol: 9 }).epb(0, 1700000000000000001n, sll2(0x0800, udp(encodeGistDatagram(dataMsg(create))))).bytes());
    const r = run('decode', '--pcap', file);
    expect(r.code).toBe(0);
    expect(json(r.out)).toEqual([expect.objectContaining({ frame: 1, time: '1700000000.000000001', gist: expect.objectContaining({ messageType: 'Data' }), nslp: expect.objectContaining({ messageType: 'CREATE' }) })]);
  });

  it('gives an undecodable frame its own error line and decodes the rest (layered for a bad NSLP payload)', () => {
    const good = udp(encodeGistDatagram(dataMsg(create)));
    const bytes = encodeGistDatagram(dataMsg(create));
    bytes[4 + 8 + 1] = 0x77; // the first object's type becomes an unknown mandatory one (AB=00)
    const badNslp = udp(encodeGistDatagram(dataMsg(Uint8Array.of(1, 0, 0, 0, 0xff, 0xff, 0, 1))));
    const w = new PcapWriter({ linkType: 'ethernet' });
    [good, udp(bytes), good, badNslp].forEach((p, i) => w.addMs(1700000000000 + i, p));
    const file = join(dir, 'mixed.pcap');
    writeFileSync(file, w.finish());
    const r = run('decode', '--pcap', file);
    expect(r.code).toBe(0);
    const lines = json(r.out);
    expect(lines.map((l) => l.frame)).toEqual([1, 2, 3, 4]);
    expect(lines[0].gist.messageType).toBe('Data');
    expect(lines[1].gist).toBeUndefined();
    expect(lines[1].error).toMatchObject({ layer: 'gist', errorClass: expect.any(Number), errorCode: expect.any(Number), offset: 12 });
    expect(lines[1].error.frameOffset).toBe(14 + 20 + 8 + 12);
    expect(lines[2].gist.messageType).toBe('Data');
    expect(lines[3].gist.messageType).toBe('Data');
    expect(lines[3].nslp).toBeUndefined();
    expect(lines[3].nslpError).toMatchObject({ layer: 'nslp', responseClass: expect.any(Number), responseCode: expect.any(Number), offset: expect.any(Number) });
  });

  it('reports a capture cut short after the frames it could read', () => {
    const w = new PcapWriter();
    w.addMs(1, udp(encodeGistDatagram(dataMsg(create))));
    w.addMs(2, udp(encodeGistDatagram(dataMsg(create))));
    const b = w.finish();
    const file = join(dir, 'cut.pcap');
    writeFileSync(file, b.subarray(0, b.length - 10));
    const r = run('decode', '--pcap', file);
    expect(r.code).toBe(0);
    const lines = json(r.out);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ afterFrame: 1, error: { code: 'CAPTURE_TRUNCATED' } });
  });

  it('fails with one line and exit 1 on a file that is not a capture, or is missing', () => {
    const file = join(dir, 'text.txt');
    writeFileSync(file, 'this is not a capture\n');
    const r = run('decode', '--pcap', file);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/not a capture file.*byte 0/);
    const missing = run('decode', '--pcap', join(dir, 'nope.pcap'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOENT/);
  });

  it("reads the capture from stdin with --pcap -", () => {
    const r = runWith(readFileSync(join(root, 'samples/handshake.pcap')), 'decode', '--pcap', '-');
    expect(r.code).toBe(0);
    expect(json(r.out).map((l) => l.gist.messageType)).toEqual(['Query', 'Response', 'Confirm', 'Data', 'Data']);
  });

  it('decodes a TCP flow on a port named with --tcp-port', () => {
    const r = run('decode', '--pcap', join(root, 'samples/cmode.pcap'), '--tcp-port', '30270');
    expect(r.code).toBe(0);
    expect(json(r.out)).toHaveLength(5);
  });
});

describe('natfw decode --hex', () => {
  it('decodes a datagram, a bare message and a whole IP packet', () => {
    const dgram = run('decode', '--hex', hex(encodeGistDatagram(dataMsg(create))));
    expect(dgram.code).toBe(0);
    expect(json(dgram.out)[0]).toMatchObject({ gist: { messageType: 'Data' }, nslp: { messageType: 'CREATE', objects: expect.arrayContaining([{ type: 'NATFW_EFI', ruleAction: 'deny', subPorts: 1 }]) } });
    const bare = run('decode', '--hex', hex(encodeGistMessage(dataMsg(create, 99))));
    expect(bare.code).toBe(0);
    const l = json(bare.out)[0];
    expect(l.gist.commonHeader.nslpId).toBe(99);
    expect(l.nslp).toBeUndefined(); // not NATFW's NSLPID: the payload stays opaque
    // a Q-mode Data (C=1, RFC 5971 s5.1) inside its IPv4/UDP headers with the Router Alert
    const ip = run('decode', '--hex', hex(udp(encodeGistDatagram(dataMsg(create, NATFW_NSLPID, true)), 65)));
    expect(ip.code).toBe(0);
    expect(json(ip.out)[0]).toMatchObject({ routerAlert: 65, mode: 'Q', gist: { messageType: 'Data' } });
  });

  it('names the RFC error and the byte offset in one line, exit 1', () => {
    const b = encodeGistDatagram(dataMsg(create));
    const r = run('decode', '--hex', hex(b.subarray(0, b.length - 8)));
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^natfw: GIST [A-Za-z-]+: .* at byte \d+/);
  });

  it('locates a GIST error inside a whole IP packet, exit 1', () => {
    const b = encodeGistDatagram(dataMsg(create));
    b[4] = 2; // GIST version 2 (RFC 5971 A.4.4.1: Common Header Parse Error, Unknown Version)
    const r = run('decode', '--hex', hex(udp(b)));
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toMatch(/^natfw: GIST .*Unknown Version.* \(byte 32 of the IP packet\)\n$/);
  });

  it('says why an IP packet yields no message (a fragment, or not GIST), exit 1', () => {
    const frag = udp(encodeGistDatagram(dataMsg(create))).slice(0, 44);
    frag[2] = 0;
    frag[3] = 44;
    frag[6] = 0x20; // More Fragments
    const r = run('decode', '--hex', hex(frag));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^natfw: IPv4 fragment of a GIST datagram .* not reassembled/);
    const dns = run('decode', '--hex', hex(synthesizeUdp({ src: '198.18.0.1', dst: '198.18.0.2', srcPort: 1, dstPort: 53, payload: new Uint8Array(8) })));
    expect(dns.code).toBe(1);
    expect(dns.err).toMatch(/carries no GIST message/);
  });

  it('shows the GIST layer and names the NATFW error when only the payload is bad, exit 1', () => {
    const r = run('decode', '--hex', hex(encodeGistDatagram(dataMsg(Uint8Array.of(1, 0, 0, 0, 0xff, 0xff, 0, 1)))));
    expect(r.code).toBe(1);
    const [l] = json(r.out);
    expect(l.gist.messageType).toBe('Data');
    expect(l.nslpError.offset).toEqual(expect.any(Number));
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^natfw: NATFW \d+\/0x[0-9a-f]{2} .* at offset \d+/);
  });
});

describe('natfw decode arguments', () => {
  const cases: Array<[string, string[]]> = [
    ['no input', ['decode']],
    ['both inputs', ['decode', '--hex', '00', '--pcap', 'x']],
    ['bad hex', ['decode', '--hex', 'zz']],
    ['odd hex', ['decode', '--hex', 'abc']],
    ['bad port', ['decode', '--pcap', 'x', '--tcp-port', 'abc']],
    ['unknown option', ['decode', '--frobnicate']],
  ];
  for (const [what, args] of cases) {
    it(`exits 2 with one line on ${what}`, () => {
      const r = run(...args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^natfw: /);
    });
  }

  it('has --help', () => {
    const r = run('decode', '--help');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/--pcap <file>/);
  });
});

describe('natfw demo', () => {
  it('runs route-change, shows its first messages from the capture and names the other shipped scenarios', () => {
    const r = run('demo');
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/GIST Query/);
    expect(text).toMatch(/RAO=65/);
    expect(text).toMatch(/NATFW CREATE/);
    expect(text).toMatch(/NATFW RESPONSE/);
    const shipped = readdirSync(join(__dirname, '../../sim/scenarios'))
      .filter((f) => f.endsWith('.yaml') && f !== 'route-change.yaml')
      .map((f) => f.replace(/\.yaml$/, ''))
      .sort();
    expect(text).toContain(`sim/scenarios/<${shipped.join('|')}>.yaml`);
  });
});
