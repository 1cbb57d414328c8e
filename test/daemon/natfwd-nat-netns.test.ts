/**
 * A receiver behind a NAT, with real daemons (the real counterpart of the
 * simulator's nat-traversal scenario):
 *
 *   A (outside, 198.18.1.1) -- N (NAT: 198.18.1.2 | 198.19.0.1) -- B (inside, 198.19.0.10)
 *
 * RFC 5973 s3.7.2: B reserves an external address and port at the edge NAT
 * with `natfw external` (EXTERNAL, loose-end MRM toward A); A signals its flow
 * with `natfw create` to that address and port; N translates the CREATE's MRI
 * to B, and UDP from A to the external address and port reaches B:5004
 * through N's nftables NAT binding. Teardown of both sessions closes it again.
 */
import { NetnsLab } from '../../testbed/netns';
import { DaemonTestbed, natfwdConfig, until, type ProbeSink } from '../../testbed/daemons';
import { describeNetns } from '../helpers/netns';

jest.setTimeout(90_000);

const A = '198.18.1.1';
const N_OUT = '198.18.1.2';
const N_IN = '198.19.0.1';
const B = '198.19.0.10';

function natLine(): NetnsLab {
  return NetnsLab.build('nat', (lab) => {
    lab.addNode({ name: 'A' });
    lab.addNode({ name: 'N', forward: true });
    lab.addNode({ name: 'B' });
    lab.addLink({ a: 'A', b: 'N', aAddrs: [`${A}/24`], bAddrs: [`${N_OUT}/24`] });
    lab.addLink({ a: 'N', b: 'B', aAddrs: [`${N_IN}/24`], bAddrs: [`${B}/24`] });
    // B's private network is not routed outside: A knows only N's public address.
    lab.route('B', 'default', N_IN);
  });
}

describeNetns(
  'natfwd: EXTERNAL at an edge NAT, then CREATE to the reserved address (real daemons, nftables NAT)',
  () => {
    let bed: DaemonTestbed;
    let sink: ProbeSink;
    let external: { session: string; lifetime: number; externalAddress?: string; externalPort?: number };
    let created: { session: string; lifetime: number };

    const delivered = (tag: string): Promise<boolean> => bed.delivered(sink, 'A', A, external.externalAddress ?? N_OUT, external.externalPort ?? 40000, tag);
    const ownedAtN = (session: string): boolean => bed.pinholes('N').some((p) => p.owner === session);

    beforeAll(async () => {
      bed = new DaemonTestbed(natLine());
      sink = await bed.udpSink('B', B, 5004);
      const host = ['gist: { interception: none }', 'enforcement: { backend: memory }'];
      await bed.start('B', natfwdConfig('b', [B], host));
      await bed.start(
        'N',
        natfwdConfig(
          'n',
          [N_OUT, N_IN],
          [
            `nat: { externalAddress: ${N_OUT}, internalPrefixes: [198.19.0.0/24], ports: 40000-40099 }`,
            'gist: { interception: nfqueue }',
            'enforcement: { backend: nftables, mode: standalone }',
          ],
          { role: 'nat', edge: true },
        ),
      );
      await bed.start('A', natfwdConfig('a', [A], host));
    });

    afterAll(async () => {
      if (process.env.NATFW_TESTBED_LOGS === '1') for (const n of ['A', 'N', 'B']) console.log(n, bed.daemon(n).log.join('\n'));
      await bed?.stop();
    });

    it('reserves an external address and port at the NAT for B (natfw external)', async () => {
      const r = bed.natfw(['external', '--socket', bed.daemon('B').socket, '--sda', A, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      external = JSON.parse(r.stdout) as typeof external;
      expect(external.session).toMatch(/^[0-9a-f]{32}$/);
      expect(external.externalAddress).toBe(N_OUT);
      expect(external.externalPort).toBeGreaterThanOrEqual(40000);
      expect(external.externalPort).toBeLessThanOrEqual(40099);
      // N logged the reservation and holds it as an EXTERNAL session (its NAT binding comes with the CREATE, s3.7.1).
      expect(
        await until(
          () => bed.logged('N', { event: 'session.created', session: external.session, kind: 'EXTERNAL', externalAddress: N_OUT, externalPort: external.externalPort }),
          3000,
        ),
      ).toBe(true);
      const atN = bed.natfw(['list', '--socket', bed.daemon('N').socket, '--json']);
      expect(atN.status).toBe(0);
      expect(atN.stdout.trim().split('\n').map((l) => JSON.parse(l) as { session: string; kind: string })).toContainEqual(
        expect.objectContaining({ session: external.session, kind: 'EXTERNAL' }),
      );
    });

    it('passes A -> external address:port to B:5004 after A signals it with CREATE, and not before', async () => {
      expect(await delivered('before-create')).toBe(false);
      const r = bed.natfw([
        'create',
        '--socket',
        bed.daemon('A').socket,
        '--dst',
        String(external.externalAddress),
        '--proto',
        'udp',
        '--dport',
        String(external.externalPort),
        '--lifetime',
        '30',
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      created = JSON.parse(r.stdout) as typeof created;
      expect(ownedAtN(created.session)).toBe(true);
      expect(bed.bindings('N')).toContainEqual(expect.objectContaining({ external: `${N_OUT}:${external.externalPort}`, internal: `${B}:5004` }));
      expect(await delivered('through-nat')).toBe(true);
      // B saw the CREATE as NR, with the MRI translated to its own address.
      expect(await until(() => bed.logged('B', { event: 'session.created', session: created.session, role: 'NR' }), 3000)).toBe(true);
    });

    it('teardown of both sessions removes the pinhole and the binding at N', async () => {
      expect(bed.natfw(['teardown', '--socket', bed.daemon('A').socket, created.session]).status).toBe(0);
      expect(await until(() => !ownedAtN(created.session), 5000)).toBe(true);
      expect(bed.natfw(['teardown', '--socket', bed.daemon('B').socket, external.session]).status).toBe(0);
      expect(await until(() => bed.pinholes('N').length === 0 && bed.bindings('N').length === 0, 5000)).toBe(true);
      expect(await delivered('after-teardown')).toBe(false);
    });
  },
  ['nft'],
);
