/**
 * natfwd end to end, against the real thing: three daemons on the line
 * A - R - B (dist/bin/natfwd.js under `ip netns exec`): A an end host (NI),
 * R a firewall (nftables standalone, NFQUEUE interception, tokens required),
 * B the receiver (NR). `natfw create` on A's control socket must open UDP
 * A -> B:5004 through R's nftables, `natfw teardown` close it again, and a
 * CREATE without a token be refused at R with the RFC code, installing nothing.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LINE, NetnsLab } from '../../testbed/netns';
import { DaemonTestbed, natfwdConfig, until, type Daemon, type ProbeSink } from '../../testbed/daemons';
import { describeNetns } from '../helpers/netns';
import { ControlClient } from '../../cli/session';

jest.setTimeout(60_000);

describeNetns(
  'natfwd on A - R - B (real sockets, NFQUEUE, nftables)',
  () => {
    let bed: DaemonTestbed;
    let sink: ProbeSink;
    let sink6: ProbeSink;
    let token: string;
    let issuerKeys: string;
    let rKeys: string;

    const natfw = (args: string[]) => bed.natfw(args);
    const pinholesAtR = () => bed.pinholes('R');
    const delivered = (tag: string): Promise<boolean> => bed.delivered(sink, 'A', LINE.A4, LINE.B4, 5004, tag);

    beforeAll(async () => {
      bed = new DaemonTestbed(NetnsLab.line('nfd'));
      // Key and token for R's authorization (natfw token keygen/issue).
      // The issuer's key reaches R's key directory only later (SIGHUP test).
      issuerKeys = join(bed.dir, 'issuer');
      rKeys = join(bed.dir, 'r-keys');
      mkdirSync(rKeys, { mode: 0o700 });
      token = join(bed.dir, 'a.token');
      expect(natfw(['token', 'keygen', '--out', issuerKeys, '--key-id', '7']).status).toBe(0);
      const issued = natfw(['token', 'issue', '--keys', issuerKeys, '--key-id', '7', '--src', LINE.A4, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--out', token]);
      expect(issued.stderr).toBe('');

      sink = await bed.udpSink('B', LINE.B4, 5004);
      sink6 = await bed.udpSink('B', LINE.B6, 5004);
      await bed.start('B', natfwdConfig('b', [LINE.B4, `"${LINE.B6}"`], ['gist: { interception: none }', 'enforcement: { backend: memory }']));
      await bed.start(
        'R',
        natfwdConfig(
          'r',
          [LINE.R4a, LINE.R4b, `"${LINE.R6a}"`, `"${LINE.R6b}"`],
          ['gist: { interception: nfqueue }', 'enforcement: { backend: nftables, mode: standalone }', `authorization: { keys: "${rKeys}", requireForCreate: true }`],
          { role: 'firewall' },
        ),
      );
      await bed.start('A', natfwdConfig('a', [LINE.A4, `"${LINE.A6}"`], ['gist: { interception: none }', 'enforcement: { backend: memory }']));
    });

    afterAll(async () => {
      await bed?.stop();
    });

    const A = (): Daemon => bed.daemon('A');
    const R = (): Daemon => bed.daemon('R');

    it('blocks UDP A -> B:5004 at R before any signalling', async () => {
      expect(pinholesAtR()).toHaveLength(0);
      expect(await delivered('before')).toBe(false);
    });

    it('refuses a CREATE without a token at R with the RFC code and installs nothing', async () => {
      const r = natfw(['create', '--socket', A().socket, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--lifetime', '30']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/AUTHORIZATION_FAILED \(5\/0x02\)|AUTHENTICATION_FAILED \(5\/0x01\)/);
      expect(pinholesAtR()).toHaveLength(0);
      // The refusal is logged at R with its reason (the log arrives through a pipe: wait for it, bounded).
      expect(await until(() => R().log.some((l) => l.includes('"event":"authorization.refused"') && l.includes('"reason":"missing"')), 3000)).toBe(true);
    });

    it('takes a new key on SIGHUP without restart', async () => {
      // The token's key is unknown to R yet: refused, nothing installed.
      const before = natfw(['create', '--socket', A().socket, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--token', token]);
      expect(before.status).toBe(1);
      expect(before.stderr).toMatch(/\((5\/0x01|5\/0x02)\)/);
      expect(await until(() => R().log.some((l) => l.includes('"event":"authorization.refused"') && l.includes('"reason":"unknown-key"')), 3000)).toBe(true);
      expect(pinholesAtR()).toHaveLength(0);
      copyFileSync(join(issuerKeys, '7.key'), join(rKeys, '7.key'));
      const pid = R().proc.pid;
      expect(pid).toBeDefined();
      process.kill(pid as number, 'SIGHUP');
      expect(await until(() => R().log.some((l) => l.includes('"event":"keys.reloaded"') && l.includes('"keys":1')), 5000)).toBe(true);
      expect(R().proc.exitCode).toBeNull();
    });

    it('opens the pinhole with natfw create and closes it with natfw teardown', async () => {
      const events: Record<string, unknown>[] = [];
      const sub = await ControlClient.connect(R().socket);
      sub.onEvent = (e) => events.push(e);
      await sub.request('events');
      try {
        const r = natfw(['create', '--socket', A().socket, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--token', token, '--json']);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const created = JSON.parse(r.stdout) as { session: string; lifetime: number };
        expect(created.session).toMatch(/^[0-9a-f]{32}$/);
        expect(created.lifetime).toBeGreaterThan(0);
        expect(created.lifetime).toBeLessThanOrEqual(30);

        // The pinhole is in R's nftables, owned by the session.
        const ph = pinholesAtR();
        expect(ph).toHaveLength(1);
        expect(ph[0]).toMatchObject({ dst: `${LINE.B4}/32`, dstPorts: { from: 5004, to: 5004 }, owner: created.session });
        expect(await delivered('open')).toBe(true);

        // Both ends list the session.
        const listA = natfw(['list', '--socket', A().socket, '--json']);
        expect(listA.status).toBe(0);
        const sa = listA.stdout.trim().split('\n').map((l) => JSON.parse(l) as { session: string; role: string; state: string });
        expect(sa).toContainEqual(expect.objectContaining({ session: created.session, role: 'NI', state: 'established' }));
        const listR = natfw(['list', '--socket', R().socket]);
        expect(listR.stdout).toContain(`${created.session} NF established`);
        expect(await until(() => events.some((e) => e.event === 'session.created' && e.session === created.session && e.role === 'NF'), 2000)).toBe(true);

        // Each daemon logged the session in its role (one JSON line per event).
        const logged = (node: string, event: string, role: string): boolean => bed.logged(node, { event, session: created.session, role });
        expect(await until(() => logged('A', 'session.created', 'NI') && logged('B', 'session.created', 'NR') && logged('R', 'session.created', 'NF'), 3000)).toBe(true);

        const t = natfw(['teardown', '--socket', A().socket, created.session]);
        expect(t.stderr).toBe('');
        expect(t.status).toBe(0);
        expect(await until(() => pinholesAtR().length === 0, 5000)).toBe(true);
        expect(await delivered('closed')).toBe(false);
        expect(await until(() => events.some((e) => e.event === 'session.torn-down' && e.session === created.session), 2000)).toBe(true);
        expect(await until(() => logged('B', 'session.torn-down', 'NR'), 3000)).toBe(true);
        expect(natfw(['list', '--socket', A().socket]).stdout).not.toContain(created.session);
      } finally {
        sub.close();
      }
    });

    it('opens and closes an IPv6 pinhole the same way (Hop-by-Hop Router Alert, ip6 sets)', async () => {
      const token6 = join(bed.dir, 'a6.token');
      expect(natfw(['token', 'issue', '--keys', issuerKeys, '--key-id', '7', '--src', LINE.A6, '--dst', LINE.B6, '--proto', 'udp', '--dport', '5004', '--out', token6]).status).toBe(0);
      const delivered6 = (tag: string): Promise<boolean> => bed.delivered(sink6, 'A', LINE.A6, LINE.B6, 5004, tag);
      expect(await delivered6('v6-before')).toBe(false);
      const r = natfw(['create', '--socket', A().socket, '--src', LINE.A6, '--dst', LINE.B6, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--token', token6, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const sid = (JSON.parse(r.stdout) as { session: string }).session;
      expect(pinholesAtR()).toContainEqual(expect.objectContaining({ owner: sid, src: `${LINE.A6}/128`, dst: `${LINE.B6}/128`, dstPorts: { from: 5004, to: 5004 } }));
      expect(await delivered6('v6-open')).toBe(true);
      expect(natfw(['teardown', '--socket', A().socket, sid]).status).toBe(0);
      expect(await until(() => !pinholesAtR().some((p) => p.owner === sid), 5000)).toBe(true);
      expect(await delivered6('v6-closed')).toBe(false);
    });

    it('on SIGTERM: R leaves its pinholes to the kernel timeout, A tears its sessions down; both remove their sockets', async () => {
      // A fresh token: the first one is bound to the session it authorized (RFC 5981 s5 replay protection).
      const token2 = join(bed.dir, 'a2.token');
      expect(natfw(['token', 'issue', '--keys', issuerKeys, '--key-id', '7', '--src', LINE.A4, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--out', token2]).status).toBe(0);
      const r = natfw(['create', '--socket', A().socket, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--lifetime', '30', '--token', token2, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const sid = (JSON.parse(r.stdout) as { session: string }).session;
      const rd = R();
      rd.proc.kill('SIGTERM');
      expect(await until(() => rd.proc.exitCode !== null, 8000)).toBe(true);
      expect(rd.proc.exitCode).toBe(0);
      expect(existsSync(rd.socket)).toBe(false);
      // Fail closed: the pinhole stays until its kernel timeout; nothing removed it.
      expect(pinholesAtR()).toContainEqual(expect.objectContaining({ owner: sid }));

      const a = A();
      a.proc.kill('SIGTERM');
      expect(await until(() => a.proc.exitCode !== null, 8000)).toBe(true);
      expect(a.proc.exitCode).toBe(0);
      expect(await until(() => a.log.some((l) => l.includes('"event":"natfwd.stopped"')), 2000)).toBe(true);
      expect(a.log.some((l) => l.includes('"event":"session.torn-down"') && l.includes(sid))).toBe(true);
      expect(existsSync(a.socket)).toBe(false);
      expect(natfw(['list', '--socket', a.socket]).status).toBe(1);
    });
  },
  ['nft', 'iptables'],
);
