/**
 * natfw's decoder on real traffic: two GIST nodes (core + RealGistDriver,
 * each a process in its own namespace, A - B over a veth) signal for IPv4 and
 * IPv6 flows while tcpdump records A's interface; `decodeCaptureBytes` (what
 * `natfw decode --pcap` prints) must find every message with nothing left
 * undecoded: the Q-mode Queries with the kernel-built Router Alert (65, 68),
 * Response, Confirm, D-mode Data, and C-mode Data over the Forwards-TCP MA the
 * Response announced, with the NATFW CREATE inside decoded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCaptureBytes } from '../../cli/decode';
import { encodeNatfwMessage, NATFW_NSLPID } from '../../natfw-nslp/codec';
import { NetnsLab } from '../../testbed/netns';
import { FixtureChild, type ChildEvent } from '../gist/driver/fixtures/child';
import { describeNetns } from '../helpers/netns';

const CLI_NODE = join(__dirname, '..', '..', 'gist', 'driver', 'cli-node.ts');
const A4 = '198.18.7.1';
const B4 = '198.18.7.2';
const A6 = '2001:db8:7::1';
const B6 = '2001:db8:7::2';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const createBytes = (msn: number): string =>
  Buffer.from(
    encodeNatfwMessage({ type: 'CREATE', header: { messageType: 1, proxy: false, edge: false }, lifetime: 30, efi: { ruleAction: 'allow', subPorts: 0 }, msn, sessionAuth: [], unknownObjects: [] }),
  ).toString('hex');

function mri(v: 4 | 6): Record<string, unknown> {
  return {
    mrm: 'path-coupled',
    ipVersion: v,
    sourceAddress: v === 4 ? A4 : A6,
    destinationAddress: v === 4 ? B4 : B6,
    sourcePrefix: v === 4 ? 32 : 128,
    destinationPrefix: v === 4 ? 32 : 128,
    protocol: 17,
    sourcePort: 5000,
    destinationPort: 6000,
    direction: 'downstream',
  };
}

describeNetns(
  'natfw decode on a capture of real GIST nodes',
  () => {
    let lab: NetnsLab;
    let dir: string;
    let aIf: string;
    const kids: FixtureChild[] = [];
    let tcpdump: ChildProcess | undefined;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'natfw-live-'));
      lab = new NetnsLab('cap');
      lab.addNode({ name: 'A' });
      lab.addNode({ name: 'B' });
      aIf = lab.addLink({ a: 'A', b: 'B', aAddrs: [`${A4}/24`, `${A6}/64`], bAddrs: [`${B4}/24`, `${B6}/64`] }).aIf;
    });

    afterAll(async () => {
      if (tcpdump?.pid !== undefined && tcpdump.exitCode === null) tcpdump.kill('SIGKILL');
      await Promise.all(kids.map((k) => k.stop()));
      lab?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    async function node(name: string, addresses: string[]): Promise<FixtureChild> {
      const c = new FixtureChild(lab.ns(name), CLI_NODE);
      kids.push(c);
      await c.waitFor((e) => e.ev === 'ready', 30_000, `${name} ready`);
      await c.call({ op: 'start', node: { addresses, t1Ms: 200 }, driver: { bindAddresses: addresses, interception: 'none' }, nslps: [NATFW_NSLPID] }, 20_000);
      return c;
    }

    it('finds the handshake, D-mode and C-mode messages of IPv4 and IPv6 sessions, all decodable', async () => {
      const file = join(dir, 'live.pcap');
      tcpdump = spawn('ip', ['netns', 'exec', lab.ns('A'), 'tcpdump', '-i', aIf, '--immediate-mode', '-U', '-n', '-w', file, 'ip or ip6'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
        tcpdump!.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening on')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      await sleep(300);
      const a = await node('A', [A4, A6]);
      await node('B', [B4, B6]);
      const recvAtB = (b: FixtureChild, data: string) => (e: ChildEvent) => e.ev === 'recv' && e.data === data;
      const b = kids[1];
      let msn = 1;
      for (const v of [4, 6] as const) {
        const sid = (v === 4 ? 'a' : 'b').repeat(32);
        for (const reliable of [false, false, true]) {
          // the first send makes the handshake (NSLP data in the Query), then D-mode, then C-mode
          const data = createBytes(msn++);
          await a.call({ op: 'send', nslpId: NATFW_NSLPID, sid, mri: mri(v), data, reliable });
          await b.waitFor(recvAtB(b, data), 10_000, `IPv${v} ${reliable ? 'C' : 'D'}-mode message at B`);
        }
      }
      await sleep(500);
      tcpdump.kill('SIGINT');
      await new Promise<void>((r) => (tcpdump!.exitCode !== null ? r() : tcpdump!.once('exit', () => r())));

      const res = decodeCaptureBytes(new Uint8Array(readFileSync(file)));
      expect(res.failure).toBeUndefined();
      const lines = res.lines;
      // nothing undecodable, nothing the decoder had to warn about
      expect(lines.filter((l) => 'error' in l || 'nslpError' in l || 'note' in l)).toEqual([]);
      if (process.env.NATFW_LIVE_DEBUG) console.log(lines.map((l) => `${l.frame} ${l.ipVersion} ${l.mode} ${(l.gist as { messageType: string }).messageType} ${(l.nslp as { messageType?: string } | undefined)?.messageType ?? ""}`).join("\n"));
      const sig = (l: Record<string, unknown>): string => `${l.ipVersion}:${l.mode}:${(l.gist as { messageType: string }).messageType}`;
      for (const v of [4, 6]) {
        const mine = lines.filter((l) => l.ipVersion === v).map(sig);
        // A Query retransmitted after T1 (e.g. when the first met a cold neighbour cache) is
        // legitimate and is answered again, so only the order is fixed: the first message is a
        // Query, a Response follows it, and a Confirm follows the first Response.
        const firstResponse = mine.indexOf(`${v}:D:Response`);
        expect(mine[0]).toBe(`${v}:Q:Query`);
        expect(firstResponse).toBeGreaterThan(0);
        expect(mine.indexOf(`${v}:D:Confirm`)).toBeGreaterThan(firstResponse);
        expect(mine).toContain(`${v}:D:Data`);
        expect(mine).toContain(`${v}:C:Data`);
        const q = lines.find((l) => l.ipVersion === v && l.mode === 'Q')!;
        expect(q.routerAlert).toBe(v === 4 ? 65 : 68); // RFC 5973 s7.5, set by the kernel from the driver's socket options
      }
      // every NATFW CREATE the nodes carried decodes, in whichever GIST message carried it
      const creates = lines.filter((l) => (l.nslp as { messageType?: string } | undefined)?.messageType === 'CREATE');
      expect(creates.length).toBeGreaterThanOrEqual(6);
      expect(lines.filter((l) => l.transport === 'tcp').every((l) => l.detectedBy === 'announced-tcp')).toBe(true);
    }, 120_000);
  },
  ['tcpdump'],
);
