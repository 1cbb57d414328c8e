/**
 * A real firewall daemon under hostile input. On A - R - B, R runs natfwd
 * (nftables standalone, NFQUEUE interception, tokens required). From A, a
 * seeded corpus of mutated GIST datagrams (truncated, bit-flipped, lengths
 * lied about, junk appended; Queries carrying NATFW CREATEs with and without
 * a forged SESSION_AUTH) goes three ways: as Q-mode with the Router Alert
 * through R toward B (intercepted at R), straight to R's Q-mode port, and to
 * R's D-mode port. R must stay up, answer what it answers with decodable GIST
 * messages (the RFC 5971 A.4 errors among them), keep no session and install
 * no pinhole, and afterwards still open a properly signed flow.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeGistDatagram, encodeGistDatagram, type GistMessage } from '../../gist/codec';
import { DaemonTestbed, natfwdConfig, until, type ProbeSink } from '../../testbed/daemons';
import { LINE, NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { typicalMessages } from '../gist/codec/fixtures';
import { Prng } from '../../sim/prng';

jest.setTimeout(90_000);

const DMODE = 27000;
const COPIES = 150; // mutants per seed and target: bounded

/** Seeded, so a failing corpus replays (the simulator's generator). */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** NATFW CREATE (RFC 5973 s4.3.1): lifetime 30 s, allow with sub_ports 1, MSN 5. */
const CREATE = hex('01000000 000c0001 0000001e 000f0001 00010001 00120001 00000005');
/** The same with sub_ports 5 (s4.2.2: refused) and a SESSION_AUTH (RFC 5981, type 0x016, AB=10) of random bytes. */
const CREATE_BAD = hex('01000000 000c0001 0000001e 000f0001 00010005 00120001 00000005 80160003 0102a5a5 5a5a0304 deadbeef');

/** The seeds: every typical GIST message, addressed as a flow A -> B:5004, the Query carrying each CREATE. */
function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of typicalMessages()) {
    const flow = (msg: GistMessage): GistMessage => {
      if (!('mri' in msg) || msg.mri === undefined || msg.mri.mrm !== 'path-coupled') return msg;
      return { ...msg, mri: { ...msg.mri, sourceAddress: LINE.A4, destinationAddress: LINE.B4, destinationPort: 5004 } } as GistMessage;
    };
    const f = flow(m);
    out.push(encodeGistDatagram(f));
    if (f.type === 'Query') for (const nslpData of [CREATE, CREATE_BAD]) out.push(encodeGistDatagram({ ...f, nslpData }));
  }
  return out;
}

function mutate(b: Uint8Array, r: () => number): Uint8Array {
  const c = Uint8Array.from(b);
  switch (Math.floor(r() * 4)) {
    case 0:
      return c.subarray(0, Math.floor(r() * c.length));
    case 1: {
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) c[4 + Math.floor(r() * (c.length - 4))] ^= 1 << Math.floor(r() * 8);
      return c;
    }
    case 2: {
      // A length field lied about: the common header's message length or an object's.
      const at = r() < 0.5 ? 6 : 4 + 4 * (1 + Math.floor(r() * ((c.length - 4) / 4 - 1)));
      c[at] = Math.floor(r() * 256);
      return c;
    }
    default: {
      const junk = Uint8Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
      const out = new Uint8Array(c.length + junk.length);
      out.set(c);
      out.set(junk, c.length);
      return out;
    }
  }
}

/** The sender in A's namespace: sends every datagram of the corpus, collects what comes back for 2 s, prints JSON. */
const SENDER = `
const { GistUdpSocket } = require(process.argv[1]);
const corpus = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
(async () => {
  const s = await GistUdpSocket.open({ address: '${LINE.A4}', port: 0 });
  const replies = [];
  s.onDatagram = (d) => replies.push(Buffer.from(d.bytes).toString('hex'));
  let sent = 0;
  for (const item of corpus) {
    const r = s.send(item.to, item.port, Buffer.from(item.hex, 'hex'), item.rao === undefined ? undefined : { rao: item.rao });
    if (r.ok) sent++;
    if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 2000));
  process.stdout.write(JSON.stringify({ sent, replies }));
  await s.close();
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e)); process.exit(1); });
`;

describeNetns(
  'natfwd under hostile input (real daemon, NFQUEUE, nftables)',
  () => {
    let bed: DaemonTestbed;
    let sink: ProbeSink;
    let issuerKeys: string;

    beforeAll(async () => {
      bed = new DaemonTestbed(NetnsLab.line('hst'));
      issuerKeys = join(bed.dir, 'issuer');
      const rKeys = join(bed.dir, 'r-keys');
      mkdirSync(rKeys, { mode: 0o700 });
      expect(bed.natfw(['token', 'keygen', '--out', issuerKeys, '--key-id', '9']).status).toBe(0);
      copyFileSync(join(issuerKeys, '9.key'), join(rKeys, '9.key'));
      sink = await bed.udpSink('B', LINE.B4, 5004);
      await bed.start('B', natfwdConfig('b', [LINE.B4], ['gist: { interception: none }', 'enforcement: { backend: memory }']));
      await bed.start(
        'R',
        natfwdConfig(
          'r',
          [LINE.R4a, LINE.R4b],
          ['gist: { interception: nfqueue }', 'enforcement: { backend: nftables, mode: standalone }', `authorization: { keys: "${rKeys}", requireForCreate: true }`],
          { role: 'firewall' },
        ),
      );
      await bed.start('A', natfwdConfig('a', [LINE.A4], ['gist: { interception: none }', 'enforcement: { backend: memory }']));
    });

    afterAll(async () => {
      if (process.env.NATFW_TESTBED_LOGS === '1') for (const n of ['A', 'R', 'B']) console.log(n, bed.daemon(n).proc.exitCode, bed.daemon(n).log.slice(-40).join('\n'));
      await bed?.stop();
    });

    it('stays up, answers with GIST errors, keeps no state and opens nothing', async () => {
      const r = rng(0x5eed);
      const corpus: Array<{ to: string; port: number; rao?: number; hex: string }> = [];
      const targets = [
        { to: LINE.B4, port: 270, rao: 65 }, // Q-mode through R: intercepted there
        { to: LINE.R4a, port: 270 }, // R's Q-mode port, R as the destination
        { to: LINE.R4a, port: DMODE }, // R's D-mode port
      ];
      for (const seed of seeds()) for (const t of targets) for (let i = 0; i < COPIES; i++) corpus.push({ ...t, hex: Buffer.from(mutate(seed, r)).toString('hex') });
      const file = join(bed.dir, 'corpus.json');
      writeFileSync(file, JSON.stringify(corpus));
      const out = bed.lab.exec('A', process.execPath, ['-e', SENDER, resolve(__dirname, '../../dist/gist/driver/udp-socket.js'), file]);
      const { sent, replies } = JSON.parse(out) as { sent: number; replies: string[] };
      expect(sent).toBe(corpus.length);

      // R is up and answers its control socket.
      const rd = bed.daemon('R');
      expect(rd.proc.exitCode).toBeNull();
      const listed = bed.natfw(['list', '--socket', rd.socket]);
      expect(listed.stderr).toBe('');
      expect(listed.status).toBe(0);
      // Whatever R sent back is a well-formed GIST message, and errors are among them (RFC 5971 A.4).
      const decoded = replies.map((h) => decodeGistDatagram(Uint8Array.from(Buffer.from(h, 'hex'))));
      expect(decoded.filter((d) => !d.ok)).toEqual([]);
      expect(decoded.some((d) => d.ok && d.value.type === 'Error')).toBe(true);
      // No session survives, no pinhole was installed.
      expect(await until(() => bed.natfw(['list', '--socket', rd.socket]).stdout.trim() === '', 5000)).toBe(true);
      expect(bed.pinholes('R')).toEqual([]);
      // The counters say the same: errors sent, nothing established.
      const stats = JSON.parse(bed.natfw(['stats', '--socket', rd.socket, '--json']).stdout) as { gist: { errorsSent: number; handshakesCompleted: number }; sessions: object };
      expect(stats.gist.errorsSent).toBeGreaterThan(0);
      expect(stats.sessions).toEqual({});
    });

    it('still opens a properly signed flow afterwards', async () => {
      const token = join(bed.dir, 'a.token');
      expect(bed.natfw(['token', 'issue', '--keys', issuerKeys, '--key-id', '9', '--src', LINE.A4, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--out', token]).status).toBe(0);
      const c = bed.natfw(['create', '--socket', bed.daemon('A').socket, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--token', token, '--json']);
      expect(c.stderr).toBe('');
      expect(c.status).toBe(0);
      const sid = (JSON.parse(c.stdout) as { session: string }).session;
      expect(bed.pinholes('R')).toContainEqual(expect.objectContaining({ owner: sid }));
      expect(await bed.delivered(sink, 'A', LINE.A4, LINE.B4, 5004, 'after-hostile')).toBe(true);
    });
  },
  ['nft'],
);
