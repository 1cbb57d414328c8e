/**
 * natfwd end to end, against the real thing: three daemons on the line
 * A - R - B (dist/bin/natfwd.js under `ip netns exec`): A an end host (NI),
 * R a firewall (nftables standalone, NFQUEUE interception, tokens required),
 * B the receiver (NR). `natfw create` on A's control socket must open UDP
 * A -> B:5004 through R's nftables, `natfw teardown` close it again, and a
 * CREATE without a token be refused at R with the RFC code, installing nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LINE, NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { ControlClient } from '../../cli/session';

const ROOT = resolve(__dirname, '../..');
const NATFWD = join(ROOT, 'dist/bin/natfwd.js');
const NATFW = join(ROOT, 'dist/bin/natfw.js');

jest.setTimeout(60_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 100 ms until it holds or `ms` pass. */
async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

interface Daemon {
  name: string;
  proc: ChildProcess;
  socket: string;
  log: string[];
}

describeNetns(
  'natfwd on A - R - B (real sockets, NFQUEUE, nftables)',
  () => {
    let lab: NetnsLab;
    let dir: string;
    const daemons: Daemon[] = [];
    let receiver: ChildProcess | undefined;
    const received: string[] = [];
    let token: string;
    let issuerKeys: string;
    let rKeys: string;

    const natfw = (args: string[]): { status: number; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [NATFW, ...args], { encoding: 'utf8', timeout: 40_000 });
      return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };

    async function startDaemon(name: string, yaml: string): Promise<Daemon> {
      const cfg = join(dir, `${name}.yaml`);
      const socket = join(dir, `${name}.sock`);
      writeFileSync(cfg, yaml.replace('@SOCKET@', socket));
      const check = spawnSync(process.execPath, [NATFWD, '--config', cfg, '--check'], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      const proc = spawn('ip', ['netns', 'exec', lab.ns(name), process.execPath, NATFWD, '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
      const d: Daemon = { name, proc, socket, log: [] };
      daemons.push(d);
      let errText = '';
      proc.stdout?.setEncoding('utf8').on('data', (s: string) => d.log.push(...s.split('\n').filter((l) => l !== '')));
      proc.stderr?.setEncoding('utf8').on('data', (s: string) => (errText += s));
      // Ready when the control socket answers a ping (bounded).
      const ready = await until(async () => {
        if (proc.exitCode !== null) return true;
        try {
          const c = await ControlClient.connect(socket);
          try {
            await c.request('ping', {}, 1000);
            return true;
          } finally {
            c.close();
          }
        } catch {
          return false;
        }
      }, 15_000);
      if (!ready || proc.exitCode !== null) throw new Error(`natfwd on ${name} did not start: ${errText.trim()}`);
      return d;
    }

    const cfg = (name: string, addresses: string[], extra: string, role = 'host'): string =>
      [`node: { name: ${name}, role: ${role}, addresses: [${addresses.join(', ')}] }`, 'control: { socket: "@SOCKET@" }', 'log: { level: debug }', extra].join('\n') + '\n';

    /** Sends one UDP datagram A -> B:5004. */
    const probe = (text: string): void => {
      lab.exec('A', process.execPath, [
        '-e',
        `const s=require('dgram').createSocket('udp4');s.send(${JSON.stringify(text)},5004,'${LINE.B4}',()=>s.close())`,
      ]);
    };

    /** Whether a probe gets through within ~1.5 s (sent three times). */
    async function delivered(tag: string): Promise<boolean> {
      for (let i = 0; i < 3; i++) {
        probe(`${tag}-${i}`);
        if (await until(() => received.some((r) => r.startsWith(tag)), 500)) return true;
      }
      return false;
    }

    const pinholesAtR = (): Array<{ dst: string; dstPorts: { from: number; to: number } | null; owner: string }> =>
      lab
        .exec('R', process.execPath, [NATFW, 'pinhole', 'list', '--json'])
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { type: string; dst: string; dstPorts: { from: number; to: number } | null; owner: string })
        .filter((p) => p.type === 'pinhole');

    beforeAll(async () => {
      lab = NetnsLab.line('nfd');
      dir = mkdtempSync(join(tmpdir(), 'natfwd-test-'));
      // Key and token for R's authorization (natfw token keygen/issue).
      // The issuer's key reaches R's key directory only later (SIGHUP test).
      issuerKeys = join(dir, 'issuer');
      rKeys = join(dir, 'r-keys');
      mkdirSync(rKeys, { mode: 0o700 });
      token = join(dir, 'a.token');
      expect(natfw(['token', 'keygen', '--out', issuerKeys, '--key-id', '7']).status).toBe(0);
      const issued = natfw(['token', 'issue', '--keys', issuerKeys, '--key-id', '7', '--src', LINE.A4, '--dst', LINE.B4, '--proto', 'udp', '--dport', '5004', '--out', token]);
      expect(issued.stderr).toBe('');

      receiver = spawn('ip', ['netns', 'exec', lab.ns('B'), process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.on('message',(m)=>process.stdout.write(m+'\\n'));s.bind(5004,'${LINE.B4}',()=>process.stdout.write('bound\\n'))`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      receiver.stdout?.setEncoding('utf8').on('data', (s: string) => received.push(...s.split('\n').filter((l) => l !== '')));
      expect(await until(() => received.includes('bound'), 10_000)).toBe(true);

      await startDaemon('B', cfg('b', [LINE.B4], 'gist: { interception: none }\nenforcement: { backend: memory }'));
      await startDaemon(
        'R',
        cfg(
          'r',
          [LINE.R4a, LINE.R4b],
          [
            'gist: { interception: nfqueue }',
            'enforcement: { backend: nftables, mode: standalone }',
            `authorization: { keys: "${rKeys}", requireForCreate: true }`,
          ].join('\n'),
          'firewall',
        ),
      );
      await startDaemon('A', cfg('a', [LINE.A4], 'gist: { interception: none }\nenforcement: { backend: memory }'));
    });

    afterAll(async () => {
      for (const d of daemons) {
        if (d.proc.exitCode === null && d.proc.pid !== undefined) d.proc.kill('SIGTERM');
      }
      await until(() => daemons.every((d) => d.proc.exitCode !== null || d.proc.signalCode !== null), 5000);
      for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
      if (receiver?.pid !== undefined && receiver.exitCode === null) receiver.kill('SIGKILL');
      lab?.destroy();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    const A = (): Daemon => daemons.find((d) => d.name === 'A') as Daemon;
    const R = (): Daemon => daemons.find((d) => d.name === 'R') as Daemon;

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
        const logged = (d: Daemon, event: string, role: string): boolean =>
          d.log.some((l) => {
            const o = JSON.parse(l) as { event?: string; session?: string; role?: string };
            return o.event === event && o.session === created.session && o.role === role;
          });
        const B = daemons.find((d) => d.name === 'B') as Daemon;
        expect(await until(() => logged(A(), 'session.created', 'NI') && logged(B, 'session.created', 'NR') && logged(R(), 'session.created', 'NF'), 3000)).toBe(true);

        const t = natfw(['teardown', '--socket', A().socket, created.session]);
        expect(t.stderr).toBe('');
        expect(t.status).toBe(0);
        expect(await until(() => pinholesAtR().length === 0, 5000)).toBe(true);
        expect(await delivered('closed')).toBe(false);
        expect(await until(() => events.some((e) => e.event === 'session.torn-down' && e.session === created.session), 2000)).toBe(true);
        expect(await until(() => logged(B, 'session.torn-down', 'NR'), 3000)).toBe(true);
        expect(natfw(['list', '--socket', A().socket]).stdout).not.toContain(created.session);
      } finally {
        sub.close();
      }
    });

    it('on SIGTERM: R leaves its pinholes to the kernel timeout, A tears its sessions down; both remove their sockets', async () => {
      // A fresh token: the first one is bound to the session it authorized (RFC 5981 s5 replay protection).
      const token2 = join(dir, 'a2.token');
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
