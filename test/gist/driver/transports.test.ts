/**
 * The driver's sockets on loopback (no namespaces needed): the GIST UDP
 * socket (D-mode and Q-mode sends, per-packet IP options), the TCP transport
 * (connect, accept, ordered bytes, close, failure) and the deadline timer.
 */
import { monotonicNow } from '../../../gist/driver/clock';
import { GistTcpTransport, type TcpTransportEvents } from '../../../gist/driver/tcp-transport';
import { DeadlineTimer } from '../../../gist/driver/timer';
import { GistUdpSocket, type ReceivedDatagram } from '../../../gist/driver/udp-socket';
import { isRoot } from '../../../testbed/netns';

interface RawModule {
  createSocket(o: { protocol: number; bufferSize?: number }): { on(e: 'message', cb: (b: Buffer) => void): void; close(): void };
}
let raw: RawModule | undefined;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  raw = require('raw-socket') as RawModule;
} catch {
  raw = undefined; // optional dependency missing: the raw-socket check is skipped
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

describe('GistUdpSocket', () => {
  let a: GistUdpSocket;
  let b: GistUdpSocket;
  const got: ReceivedDatagram[] = [];

  beforeAll(async () => {
    a = await GistUdpSocket.open({ address: '127.0.0.1', port: 0 });
    b = await GistUdpSocket.open({ address: '127.0.0.1', port: 0 });
    b.onDatagram = (d) => got.push(d);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('sends D-mode and Q-mode datagrams from its own port, in order', async () => {
    got.length = 0;
    const msgs = Array.from({ length: 50 }, (_, i) => new Uint8Array([0x4e, 0x04, 0xbd, 0xa5, i]));
    msgs.forEach((m, i) => {
      const r = a.send('127.0.0.1', b.port, m, i % 2 === 0 ? { rao: 65, ttl: 255, tos: 0x28 } : undefined);
      expect(r.ok).toBe(true);
    });
    await until(() => got.length === 50);
    expect(got.map((d) => d.bytes[4])).toEqual(msgs.map((_, i) => i));
    expect(got[0].from).toEqual({ address: '127.0.0.1', port: a.port });
  });

  it('returns typed errors instead of throwing', async () => {
    const bad = a.send('not-an-address', 1, new Uint8Array(4));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('DRIVER_BAD_ADDRESS');
    const fam = a.send('::1', b.port, new Uint8Array(4));
    expect(fam.ok).toBe(false);
    await expect(GistUdpSocket.open({ address: 'nope', port: 0 })).rejects.toMatchObject({ code: 'DRIVER_BAD_ADDRESS' });
    const s = await GistUdpSocket.open({ address: '127.0.0.1', port: 0 });
    await s.close();
    const closed = s.send('127.0.0.1', b.port, new Uint8Array(4));
    expect(closed.ok).toBe(false);
    if (!closed.ok) expect(closed.error.code).toBe('DRIVER_CLOSED');
    // Too large for one UDP datagram, with and without per-packet options (sendto / sendmsg paths).
    for (const opts of [undefined, { rao: 65 }]) {
      const big = a.send('127.0.0.1', b.port, new Uint8Array(70_000), opts);
      expect(big.ok).toBe(false);
      if (!big.ok) expect(big.error).toMatchObject({ code: 'DRIVER_SEND', errno: 90 }); // EMSGSIZE
    }
    // An out-of-range TTL is the kernel's EINVAL, reported, not thrown.
    const ttl = a.send('127.0.0.1', b.port, new Uint8Array(4), { rao: 65, ttl: 300 });
    expect(ttl.ok).toBe(false);
  });

  it('IPv6 on ::1', async () => {
    const x = await GistUdpSocket.open({ address: '::1', port: 0 });
    const y = await GistUdpSocket.open({ address: '::1', port: 0 });
    const seen: ReceivedDatagram[] = [];
    y.onDatagram = (d) => seen.push(d);
    expect(x.send('::1', y.port, new Uint8Array([1, 2, 3, 4])).ok).toBe(true);
    await until(() => seen.length === 1);
    expect(seen[0].from).toEqual({ address: '::1', port: x.port });
    await x.close();
    await y.close();
  });

  (isRoot() && raw !== undefined ? it : it.skip)('puts the Router Alert, DF and TTL on Q-mode packets only (seen by a raw socket; root)', async () => {
    if (raw === undefined) return;
    const seen: Buffer[] = [];
    const sniff = raw.createSocket({ protocol: 17, bufferSize: 65535 });
    sniff.on('message', (buf) => {
      const ihl = (buf[0] & 0x0f) * 4;
      if (buf.readUInt16BE(ihl + 2) === b.port) seen.push(Buffer.from(buf));
    });
    try {
      await sleep(50);
      a.send('127.0.0.1', b.port, new Uint8Array([0x4e, 0x04, 0xbd, 0xa5, 1]), { rao: 65, ttl: 255 });
      a.send('127.0.0.1', b.port, new Uint8Array([0x4e, 0x04, 0xbd, 0xa5, 2]));
      a.send('127.0.0.1', b.port, new Uint8Array([0x4e, 0x04, 0xbd, 0xa5, 3]), { rao: 0 });
      await until(() => seen.length >= 3);
    } finally {
      sniff.close();
    }
    const [q1, d2, q3] = seen;
    expect(q1[0] & 0x0f).toBe(6);
    expect(Array.from(q1.subarray(20, 24))).toEqual([0x94, 0x04, 0x00, 65]);
    expect(q1[8]).toBe(255);
    expect(q1[6] & 0x40).toBe(0x40); // DF, RFC 5971 s5.3.2.1
    expect(d2[0] & 0x0f).toBe(5); // no options on the D-mode packet in between
    expect(d2[8]).not.toBe(255);
    expect(Array.from(q3.subarray(20, 24))).toEqual([0x94, 0x04, 0x00, 0x00]);
    expect(q3[8]).toBe(d2[8]); // TTL back to the default
  });
});

describe('GistTcpTransport', () => {
  function recorder(): { ev: TcpTransportEvents; log: string[]; data: Map<number, number[]>; nextInbound: number } {
    const log: string[] = [];
    const data = new Map<number, number[]>();
    const r = {
      log,
      data,
      nextInbound: 100,
      ev: {
        accepted: (local: { address: string; port: number }, remote: { address: string; port: number }) => {
          const id = r.nextInbound++;
          log.push(`accepted ${id} ${remote.address} -> ${local.address}`);
          return id;
        },
        opened: (id: number) => void log.push(`opened ${id}`),
        data: (id: number, b: Uint8Array) => void data.set(id, [...(data.get(id) ?? []), ...b]),
        closed: (id: number, e?: Error) => void log.push(`closed ${id}${e ? ' error' : ''}`),
      },
    };
    return r;
  }

  it('connects, accepts, carries bytes in order both ways, closes', async () => {
    const srv = recorder();
    const cli = recorder();
    const server = await GistTcpTransport.open(srv.ev, { listenAddresses: ['127.0.0.1'], port: 0 });
    const client = await GistTcpTransport.open(cli.ev, { listenAddresses: [], port: 0 });
    try {
      client.connect(7, '127.0.0.1', server.port);
      // Written before the connection is up: buffered, then sent in order.
      for (let i = 0; i < 200; i++) expect(client.send(7, new Uint8Array([i & 0xff, 0, 0, 0])).ok).toBe(true);
      await until(() => cli.log.includes('opened 7') && (srv.data.get(100)?.length ?? 0) === 800);
      expect(srv.log[0]).toBe('accepted 100 127.0.0.1 -> 127.0.0.1');
      expect(srv.data.get(100)!.filter((_, i) => i % 4 === 0)).toEqual(Array.from({ length: 200 }, (_, i) => i & 0xff));
      expect(server.send(100, new Uint8Array([9, 9, 9, 9])).ok).toBe(true);
      await until(() => (cli.data.get(7)?.length ?? 0) === 4);
      client.closeConnection(7);
      await until(() => srv.log.includes('closed 100'));
      expect(cli.log.filter((l) => l.startsWith('closed'))).toEqual([]); // our own close is not reported
      expect(client.send(7, new Uint8Array(4)).ok).toBe(false);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('reports a refused connection as closed with an error', async () => {
    const probe = await GistTcpTransport.open(recorder().ev, { listenAddresses: ['127.0.0.1'], port: 0 });
    const deadPort = probe.port;
    await probe.close();
    const cli = recorder();
    const client = await GistTcpTransport.open(cli.ev, { listenAddresses: [], port: 0 });
    client.connect(3, '127.0.0.1', deadPort);
    await until(() => cli.log.includes('closed 3 error'));
    expect(cli.log).not.toContain('opened 3');
    await client.close();
  });
});

describe('DeadlineTimer', () => {
  it('fires once, not before the deadline; re-arming replaces; undefined disarms', async () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(monotonicNow, (now) => fired.push(now));
    const d1 = monotonicNow() + 30;
    t.set(d1);
    t.set(monotonicNow() + 10_000); // replaced by a later one
    t.set(d1);
    await sleep(80);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(d1);
    t.set(monotonicNow() + 20);
    t.set(undefined);
    await sleep(60);
    expect(fired).toHaveLength(1);
    t.set(monotonicNow() - 5); // already due: fires promptly
    await sleep(20);
    expect(fired).toHaveLength(2);
    t.set(monotonicNow() + 10);
    t.close();
    await sleep(40);
    expect(fired).toHaveLength(2);
  });

  it('a later deadline keeps the pending Node timer (no clearTimeout/setTimeout per move); an earlier one re-arms', async () => {
    const fired: number[] = [];
    const t = new DeadlineTimer(monotonicNow, (now) => fired.push(now));
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      const d0 = monotonicNow() + 20;
      t.set(d0);
      expect(spy).toHaveBeenCalledTimes(1);
      // A busy core: the earliest deadline moves later after every message.
      for (let i = 1; i <= 50; i++) t.set(d0 + i);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(t.deadline).toBe(d0 + 50);
      await sleep(120);
      // Fired once, at the deadline finally asked for, not at the first one.
      expect(fired).toHaveLength(1);
      expect(fired[0]).toBeGreaterThanOrEqual(d0 + 50);
      const far = monotonicNow() + 10_000;
      t.set(far);
      const calls = spy.mock.calls.length;
      const near = monotonicNow() + 15;
      t.set(near); // earlier than the pending timer: must re-arm
      expect(spy.mock.calls.length).toBe(calls + 1);
      await sleep(60);
      expect(fired).toHaveLength(2);
      expect(fired[1]).toBeGreaterThanOrEqual(near);
    } finally {
      spy.mockRestore();
      t.close();
    }
  });
});
