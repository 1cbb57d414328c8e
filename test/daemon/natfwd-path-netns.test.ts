/**
 * Five real natfwd daemons on a path with two firewalls in series and a route
 * that changes under a running session (the real counterpart of the
 * simulator's route-change scenario):
 *
 *            +-- R1 --+
 *   A (NI) --+        +-- R3 -- B (NR)
 *            +-- R2 --+
 *
 * R1, R2 and R3 are firewalls (nftables standalone, NFQUEUE interception).
 * A's route to B goes through R1 first, then through R2. RFC 5973 s3.9 and
 * RFC 5971 s7.1: A's next routing-state refresh Query is answered by R2, GIST
 * reports the route change, the NI sends the CREATE again on the same
 * session, and R2 opens the pinhole; R1 hears no more refreshes and its
 * pinhole goes when the lifetime runs out; R3 keeps it throughout.
 */
import { NetnsLab } from '../../testbed/netns';
import { DaemonTestbed, natfwdConfig, until, type ProbeSink } from '../../testbed/daemons';
import { describeNetns } from '../helpers/netns';

jest.setTimeout(120_000);

const A = '198.18.10.1'; // on A's loopback, so the flow's source stays the same on either path
const B = '198.18.15.2';
const VIA_R1 = '198.18.11.2';
const VIA_R2 = '198.18.12.2';
/** Seconds: the lifetime A asks for, the RS-validity-time the responders advertise, the kernel grace. */
const LIFETIME = 8;
const RS_VALIDITY = 4;
const GRACE = 2;

function diamond(): NetnsLab {
  return NetnsLab.build('path', (lab) => {
    lab.addNode({ name: 'A' });
    for (const r of ['R1', 'R2', 'R3']) lab.addNode({ name: r, forward: true });
    lab.addNode({ name: 'B' });
    lab.exec('A', 'ip', ['addr', 'add', `${A}/32`, 'dev', 'lo']);
    lab.addLink({ a: 'A', b: 'R1', aAddrs: ['198.18.11.1/24'], bAddrs: [`${VIA_R1}/24`] });
    lab.addLink({ a: 'A', b: 'R2', aAddrs: ['198.18.12.1/24'], bAddrs: [`${VIA_R2}/24`] });
    lab.addLink({ a: 'R1', b: 'R3', aAddrs: ['198.18.13.1/24'], bAddrs: ['198.18.13.2/24'] });
    lab.addLink({ a: 'R2', b: 'R3', aAddrs: ['198.18.14.1/24'], bAddrs: ['198.18.14.2/24'] });
    lab.addLink({ a: 'R3', b: 'B', aAddrs: ['198.18.15.1/24'], bAddrs: [`${B}/24`] });
    // Every node reaches every signalling address; only the route to B's subnet flips at A.
    lab.route('A', '198.18.15.0/24', VIA_R1);
    lab.route('A', '198.18.13.0/24', VIA_R1);
    lab.route('A', '198.18.14.0/24', VIA_R2);
    for (const [r, up, down, other] of [
      ['R1', '198.18.11.1', '198.18.13.2', '198.18.14.0/24'],
      ['R2', '198.18.12.1', '198.18.14.2', '198.18.13.0/24'],
    ]) {
      lab.route(r, `${A}/32`, up);
      lab.route(r, '198.18.15.0/24', down);
      lab.route(r, other, down); // R3's other address, which R3's NLI may name
    }
    lab.route('R3', `${A}/32`, '198.18.13.1');
    lab.route('R3', '198.18.11.0/24', '198.18.13.1');
    lab.route('R3', '198.18.12.0/24', '198.18.14.1');
    lab.route('B', 'default', '198.18.15.1');
  });
}

describeNetns(
  'natfwd on a path with two firewalls in series and a route change (real daemons, nftables)',
  () => {
    let bed: DaemonTestbed;
    let sink: ProbeSink;
    let session: string;

    const owned = (node: string): boolean => bed.pinholes(node).some((p) => p.owner === session && p.dst === `${B}/32`);
    const delivered = (tag: string): Promise<boolean> => bed.delivered(sink, 'A', A, B, 5004, tag);

    beforeAll(async () => {
      bed = new DaemonTestbed(diamond());
      sink = await bed.udpSink('B', B, 5004);
      const host = ['gist: { interception: none }', 'enforcement: { backend: memory }'];
      const firewall = [
        `gist: { interception: nfqueue, routingStateValidity: ${RS_VALIDITY} }`,
        `enforcement: { backend: nftables, mode: standalone, grace: ${GRACE}, expireInterval: 1 }`,
      ];
      await bed.start('B', natfwdConfig('b', [B], [`gist: { interception: none, routingStateValidity: ${RS_VALIDITY} }`, 'enforcement: { backend: memory }']));
      await bed.start('R3', natfwdConfig('r3', ['198.18.13.2', '198.18.14.2', '198.18.15.1'], firewall, { role: 'firewall' }));
      await bed.start('R1', natfwdConfig('r1', [VIA_R1, '198.18.13.1'], firewall, { role: 'firewall' }));
      await bed.start('R2', natfwdConfig('r2', [VIA_R2, '198.18.14.1'], firewall, { role: 'firewall' }));
      await bed.start('A', natfwdConfig('a', [A], host));
    });

    afterAll(async () => {
      if (process.env.NATFW_TESTBED_LOGS === '1') for (const n of ['A', 'R1', 'R2', 'R3', 'B']) console.log(n, bed.daemon(n).log.join('\n'));
      await bed?.stop();
    });

    it('blocks A -> B:5004 before any signalling', async () => {
      expect(await delivered('before')).toBe(false);
      for (const r of ['R1', 'R2', 'R3']) expect(bed.pinholes(r)).toHaveLength(0);
    });

    it('opens the pinhole at both firewalls of the path, and at no other', async () => {
      const r = bed.natfw(['create', '--socket', bed.daemon('A').socket, '--src', A, '--dst', B, '--proto', 'udp', '--dport', '5004', '--lifetime', String(LIFETIME), '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      session = (JSON.parse(r.stdout) as { session: string }).session;
      expect(owned('R1')).toBe(true);
      expect(owned('R3')).toBe(true);
      expect(bed.pinholes('R2')).toHaveLength(0);
      expect(await delivered('r1-path')).toBe(true);
    });

    it('after the route flips to R2: R2 opens within one refresh period, R1 closes by expiry, R3 stays open', async () => {
      bed.lab.exec('A', 'ip', ['route', 'replace', '198.18.15.0/24', 'via', VIA_R2]);
      // s4.4.4: the next Query refresh comes within 3/4 of the RS-validity-time (plus the handshake).
      expect(await until(() => owned('R2'), (RS_VALIDITY * 0.75 + 3) * 1000)).toBe(true);
      expect(owned('R3')).toBe(true);
      expect(await delivered('r2-path')).toBe(true);
      // R1 hears no refresh on the old path: gone within the lifetime plus the sweep and a second of slack.
      expect(await until(() => !owned('R1'), (LIFETIME + 1 + 1) * 1000)).toBe(true);
      // The session lived on across the change: R3 never lost its pinhole and the flow still passes.
      expect(owned('R3')).toBe(true);
      expect(await delivered('after-expiry')).toBe(true);
      expect(bed.logged('R1', { event: 'session.created', session, role: 'NF' })).toBe(true);
      expect(bed.logged('R2', { event: 'session.created', session, role: 'NF' })).toBe(true);
    });

    it('teardown closes the new path at once', async () => {
      const t = bed.natfw(['teardown', '--socket', bed.daemon('A').socket, session]);
      expect(t.stderr).toBe('');
      expect(t.status).toBe(0);
      expect(await until(() => !owned('R2') && !owned('R3'), 5000)).toBe(true);
      expect(await delivered('closed')).toBe(false);
    });

    it('when the NI dies without a word (SIGKILL), the firewalls close the flow once its lifetime runs out', async () => {
      const r = bed.natfw(['create', '--socket', bed.daemon('A').socket, '--src', A, '--dst', B, '--proto', 'udp', '--dport', '5004', '--lifetime', String(LIFETIME), '--json']);
      expect(r.status).toBe(0);
      session = (JSON.parse(r.stdout) as { session: string }).session;
      expect(owned('R2') && owned('R3')).toBe(true);
      const a = bed.daemon('A').proc;
      a.kill('SIGKILL');
      expect(await until(() => a.signalCode !== null, 5000)).toBe(true);
      // The firewalls cannot know yet: the session was created a moment ago and its lifetime has not run out.
      expect(owned('R2') && owned('R3')).toBe(true);
      // No refresh comes: gone within the lifetime plus the expiry sweep (1 s) and a second of slack.
      expect(await until(() => !owned('R2') && !owned('R3'), (LIFETIME + 2) * 1000)).toBe(true);
      expect(await delivered('ni-dead')).toBe(false);
    });
  },
  ['nft'],
);
