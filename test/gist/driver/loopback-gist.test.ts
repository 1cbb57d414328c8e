/**
 * Two GIST nodes (core + RealGistDriver) in this process on loopback
 * addresses, no root needed: the Query goes Q-mode to the flow's destination,
 * the three-way handshake completes over real UDP, then Data goes D-mode and,
 * for reliable transfer, C-mode over a real TCP messaging association.
 */
import type { RecvMessageEvent } from '../../../gist/api';
import { createGistNode, type GistNode } from '../../../gist/core';
import { RealGistDriver } from '../../../gist/driver/real-driver';
import type { PathCoupledMri } from '../../../gist/types';

const NSLP = 33;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}
const pad = (s: string): Uint8Array => {
  const b = Buffer.from(s);
  const o = new Uint8Array(Math.ceil(b.length / 4) * 4);
  o.set(b);
  return o;
};
const text = (b: Uint8Array): string => Buffer.from(b).toString().replace(/\0+$/, '');

interface Peer {
  node: GistNode;
  driver: RealGistDriver;
  recv: RecvMessageEvent[];
}

// Random loopback addresses, so parallel runs never share an (address, port).
const base = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const A = `${base}.1`;
const B = `${base}.2`;
const PORTS = { udpPort: 41270, qmodePort: 41270, tcpPort: 41271 };

async function peer(address: string): Promise<Peer> {
  const node = createGistNode({ addresses: [address], ...PORTS, t1Ms: 100 });
  node.registerNslp(NSLP);
  const recv: RecvMessageEvent[] = [];
  node.events.on('recvMessage', (ev) => recv.push(ev));
  const driver = await RealGistDriver.start(node, { bindAddresses: [address] });
  return { node, driver, recv };
}

describe('GIST over loopback sockets (RealGistDriver)', () => {
  let a: Peer;
  let b: Peer;
  beforeAll(async () => {
    a = await peer(A);
    b = await peer(B);
  });
  afterAll(async () => {
    await a?.driver.close();
    await b?.driver.close();
  });

  const mri: PathCoupledMri = {
    mrm: 'path-coupled',
    ipVersion: 4,
    sourceAddress: A,
    destinationAddress: B,
    sourcePrefix: 32,
    destinationPrefix: 32,
    protocol: 17,
    sourcePort: 5000,
    destinationPort: 6000,
    direction: 'downstream',
  };
  const sid = new Uint8Array(16).fill(7);

  it('handshake, then D-mode and C-mode Data, and a reply upstream', async () => {
    a.driver.run((now) => a.node.sendMessage(now, { nslpId: NSLP, sessionId: sid, mri, nslpData: pad('hello') }));
    await until(() => a.node.routingState(NSLP, mri, sid)?.phase === 'established');
    expect(b.recv[0]).toMatchObject({ routingStateCheck: true });
    expect(text(b.recv[0].nslpData)).toBe('hello');
    expect(a.node.routingState(NSLP, mri, sid)).toMatchObject({ role: 'querier', peerAddress: B });
    await until(() => b.node.stats.confirmsAccepted === 1);
    expect(a.driver.stats.qmodeSent).toBe(1);

    a.driver.run((now) => a.node.sendMessage(now, { nslpId: NSLP, sessionId: sid, mri, nslpData: pad('d-mode') }));
    await until(() => b.recv.some((e) => text(e.nslpData) === 'd-mode'));
    expect(b.recv.find((e) => text(e.nslpData) === 'd-mode')).toMatchObject({ routingStateCheck: false, transfer: { reliable: false } });

    for (let i = 0; i < 20; i++)
      a.driver.run((now) => a.node.sendMessage(now, { nslpId: NSLP, sessionId: sid, mri, nslpData: pad(`c-mode-${i}`), transfer: { reliable: true } }));
    await until(() => b.recv.filter((e) => text(e.nslpData).startsWith('c-mode-')).length === 20);
    // In order, over one TCP association.
    expect(b.recv.filter((e) => text(e.nslpData).startsWith('c-mode-')).map((e) => text(e.nslpData))).toEqual(Array.from({ length: 20 }, (_, i) => `c-mode-${i}`));
    expect(b.recv.find((e) => text(e.nslpData) === 'c-mode-0')?.transfer.reliable).toBe(true);
    expect(a.driver.stats.tcpConnects).toBe(1);
    expect(b.driver.stats.tcpAccepted).toBe(1);

    const up: PathCoupledMri = { ...mri, direction: 'upstream' };
    b.driver.run((now) => b.node.sendMessage(now, { nslpId: NSLP, sessionId: sid, mri: up, nslpData: pad('reply'), transfer: { reliable: true } }));
    await until(() => a.recv.some((e) => text(e.nslpData) === 'reply'));
  });

  it('survives garbage on its UDP and TCP ports', async () => {
    const dgram = await import('node:dgram');
    const net = await import('node:net');
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < 50; i++) s.send(Buffer.from(Array.from({ length: 1 + i * 7 }, (_, k) => (k * 31 + i) & 0xff)), PORTS.udpPort, B);
    s.send(Buffer.from([0x4e, 0x04, 0xbd, 0xa5, 1, 1, 0xff, 0xff, 0, 33, 0, 0]), PORTS.udpPort, B);
    const c = net.connect(PORTS.tcpPort, B);
    await new Promise<void>((r) => c.once('connect', () => r()));
    c.write(Buffer.alloc(300, 0xab));
    await sleep(200);
    c.destroy();
    s.close();
    // Still working: a fresh session handshakes.
    const sid2 = new Uint8Array(16).fill(9);
    a.driver.run((now) => a.node.sendMessage(now, { nslpId: NSLP, sessionId: sid2, mri, nslpData: pad('again') }));
    await until(() => a.node.routingState(NSLP, mri, sid2)?.phase === 'established');
    expect(b.driver.stats.coreErrors).toBe(0);
  });
});
