/**
 * The control socket of natfwd, in process and without root: a real daemon
 * (memory backend, no interception, loopback, high ports) behind a real unix
 * socket, driven by the CLI's ControlClient.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import pino from 'pino';
import { ControlClient } from '../../cli/session';
import { parseConfig } from '../../daemon/config';
import { parseRequest } from '../../daemon/control-protocol';
import { ControlServer } from '../../daemon/control-server';
import { Natfwd } from '../../daemon/natfwd';

jest.setTimeout(20_000);

describe('control protocol requests', () => {
  it('accepts well-formed requests and names what is wrong with the others', () => {
    expect(parseRequest({ op: 'ping' })).toEqual({ ok: true, value: { op: 'ping' } });
    expect(parseRequest({ op: 'create', dst: '198.18.2.2', proto: 'udp', dport: 5004, lifetime: 30 })).toEqual({
      ok: true,
      value: { op: 'create', dst: '198.18.2.2', proto: 'udp', dport: 5004, lifetime: 30 },
    });
    expect(parseRequest({ op: 'external', sda: '198.18.1.1', proto: 'udp', dport: 5004, dsPort: 6000, subPorts: 1 })).toEqual({
      ok: true,
      value: { op: 'external', sda: '198.18.1.1', proto: 'udp', dport: 5004, dsPort: 6000, subPorts: 1 },
    });
    const bad: Array<[unknown, RegExp]> = [
      [[1], /JSON object/],
      [{ op: 'fly' }, /unknown op "fly"/],
      [{ op: 'teardown', session: 'abc' }, /32 hex digits/],
      [{ op: 'create', proto: 'udp' }, /'dst' is required/],
      [{ op: 'create', dst: '198.18.2.2', proto: 'udp', dport: 70000 }, /'dport' must be an integer 0-65535/],
      [{ op: 'create', dst: '198.18.2.2', proto: 'udp', lifetime: 0 }, /'lifetime'/],
      [{ op: 'create', dst: '198.18.2.2', proto: 'udp', action: 'maybe' }, /'action'/],
      [{ op: 'create', dst: '198.18.2.2', proto: 'udp', token: 'xyz' }, /'token' must be hex/],
      [{ op: 'create', dst: '198.18.2.2', proto: 300 }, /'proto'/],
      [{ op: 'external', proto: 'udp', dport: 5004 }, /'sda' is required/],
      [{ op: 'external', sda: '198.18.1.1', proto: 'udp' }, /'dport' is required/],
      [{ op: 'external', sda: '198.18.1.1', proto: 'udp', dport: 5004, dsPort: -1 }, /'dsPort' must be an integer 0-65535/],
      [{ op: 'external', sda: '198.18.1.1', dport: 5004 }, /'proto'/],
    ];
    for (const [v, re] of bad) {
      const r = parseRequest(v);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(re);
    }
  });
});

describe('natfwd control socket (in process, loopback)', () => {
  let dir: string;
  let daemon: Natfwd;
  let server: ControlServer;
  let socket: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'natfwd-ctl-'));
    socket = join(dir, 'natfwd.sock');
    const port = 40000 + (process.pid % 10000);
    const cfg = parseConfig(
      [
        'node: { name: t1, addresses: [127.0.0.1] }',
        `control: { socket: "${socket}" }`,
        `gist: { interception: none, dmodePort: ${port}, cmodePort: ${port}, qmodePort: ${port + 1} }`,
        'enforcement: { backend: memory, expireInterval: 1 }',
      ].join('\n'),
      'test.yaml',
    );
    const log = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });
    daemon = await Natfwd.start(cfg, log);
    server = await ControlServer.listen(daemon, socket, cfg.control.mode);
  });

  afterAll(async () => {
    await server?.close();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers ping and an empty list', async () => {
    const c = await ControlClient.connect(socket);
    try {
      await expect(c.request('ping')).resolves.toMatchObject({ ok: true, node: 't1', role: 'host', addresses: ['127.0.0.1'] });
      await expect(c.request('list')).resolves.toMatchObject({ ok: true, sessions: [] });
      await expect(c.request('stats')).resolves.toMatchObject({
        ok: true,
        node: 't1',
        gist: { queriesSent: 0, errorsSent: 0, routingStates: 0 },
        driver: { udpSent: 0 },
        sessions: {},
        authorizationRefusals: 0,
        enforcement: { backend: 'memory', pinholes: 0 },
      });
    } finally {
      c.close();
    }
  });

  it('refuses a second daemon on the same socket', async () => {
    await expect(ControlServer.listen(daemon, socket, 0o660)).rejects.toThrow(/another natfwd answers/);
  });

  it('answers bad lines with one error each and keeps the connection', async () => {
    const answers = await new Promise<string[]>((resolve) => {
      const s = connect(socket);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n').filter((l) => l !== '');
        if (lines.length >= 3) {
          s.end();
          resolve(lines);
        }
      });
      s.write('{not json\n{"id":7,"op":"fly"}\n{"id":8,"op":"teardown","session":"00112233445566778899aabbccddeeff"}\n');
    });
    const parsed = answers.map((l) => JSON.parse(l) as { id: unknown; ok: boolean; error: { code: string; message: string } });
    expect(parsed[0]).toMatchObject({ ok: false, error: { code: 'NATFWD_BAD_REQUEST', message: 'not a JSON line' } });
    expect(parsed[1]).toMatchObject({ id: 7, ok: false, error: { code: 'NATFWD_BAD_REQUEST' } });
    expect(parsed[2]).toMatchObject({ id: 8, ok: false, error: { code: 'NATFWD_NO_SESSION' } });
  });

  it('rejects a create the API refuses before sending anything', async () => {
    const c = await ControlClient.connect(socket);
    try {
      await expect(c.request('create', { dst: '2001:db8::1', proto: 'udp', dport: 5004 })).rejects.toThrow(/no local IPv6 address/);
      await expect(c.request('create', { dst: '127.0.0.2', proto: 'udp', subPorts: 2 })).rejects.toThrow(/SUB_PORTS_NOT_PERMITTED \(7\/0x08\)/);
    } finally {
      c.close();
    }
  });

  it('lists a pending CREATE as NI, tears it down, and streams the event', async () => {
    const events: Record<string, unknown>[] = [];
    const sub = await ControlClient.connect(socket);
    sub.onEvent = (e) => events.push(e);
    await sub.request('events');
    const c = await ControlClient.connect(socket);
    try {
      // Nobody answers at 127.0.0.2: the CREATE stays pending until torn down.
      const pending = c.request('create', { dst: '127.0.0.2', proto: 'udp', dport: 5004, lifetime: 20 });
      let sessions: Array<{ session: string; role: string; state: string; mri: { destinationAddress: string; destinationPort: number } }> = [];
      for (let i = 0; i < 50 && sessions.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        sessions = (await c.request('list')).sessions as typeof sessions;
      }
      expect(sessions).toHaveLength(1);
      expect(sessions[0]).toMatchObject({ role: 'NI', state: 'pending', mri: { destinationAddress: '127.0.0.2', destinationPort: 5004 } });
      await expect(c.request('teardown', { session: sessions[0].session })).resolves.toMatchObject({ ok: true });
      // The waiting create ends with the local teardown's code (RFC 5973 s4.2.5 1/0x05).
      await expect(pending).rejects.toThrow(/SESSION_TERMINATED \(1\/0x05\)/);
      await expect(c.request('list')).resolves.toMatchObject({ sessions: [] });
      for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(events).toContainEqual(expect.objectContaining({ event: 'session.torn-down', session: sessions[0].session, role: 'NI' }));
      expect(logLines.some((l) => l.includes('"event":"session.torn-down"'))).toBe(true);
    } finally {
      c.close();
      sub.close();
    }
  });

  it('natfw events streams session events until interrupted', async () => {
    const child = spawn(process.execPath, [join(__dirname, '../../dist/bin/natfw.js'), 'events', '--json', '--socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Subscribed once the daemon counts a second connection: poll by doing the work until an event shows up (bounded).
      const c = await ControlClient.connect(socket);
      try {
        for (let i = 0; i < 40 && !out.includes('session.torn-down'); i++) {
          const pending = c.request('create', { dst: '127.0.0.2', proto: 'udp', dport: 5006, lifetime: 20 }).catch(() => undefined);
          const sessions = (await c.request('list')).sessions as Array<{ session: string }>;
          for (const s of sessions) await c.request('teardown', { session: s.session });
          await pending;
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        c.close();
      }
      const ev = out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { event: string; role?: string; time?: string });
      expect(ev).toContainEqual(expect.objectContaining({ event: 'session.torn-down', role: 'NI' }));
      expect(ev.every((e) => typeof e.time === 'string')).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('removes its socket when closed', async () => {
    await server.close();
    expect(existsSync(socket)).toBe(false);
  });
});
