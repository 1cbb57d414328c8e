/**
 * RealGistDriver against a scripted core (driver-api.ts contract): actions are
 * performed in the order polled, the timer follows nextDeadline() and calls
 * handleTimeout with a `now` at or after it, inbound datagrams reach the core
 * with exact local/remote addresses, and a throwing core does not stop the driver.
 */
import dgram from 'node:dgram';
import type { AcceptedStream, ConnId, DatagramDisposition, GistDriverFacing, InboundDatagram, Transmit } from '../../../gist/core/driver-api';
import { RealGistDriver } from '../../../gist/driver/real-driver';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

class ScriptedCore implements GistDriverFacing {
  readonly listen = { udpPort: 0, tcpPort: 0, qmodePort: 0 };
  out: Transmit[] = [];
  deadline: number | undefined;
  datagrams: { now: number; dg: InboundDatagram }[] = [];
  timeouts: number[] = [];
  throwOnNextDatagram = false;
  handleDatagram(now: number, dg: InboundDatagram): DatagramDisposition {
    if (this.throwOnNextDatagram) {
      this.throwOnNextDatagram = false;
      throw new Error('core bug');
    }
    this.datagrams.push({ now, dg });
    return { kind: 'consume' };
  }
  handleStreamAccepted(_now: number, _info: AcceptedStream): ConnId {
    return 1;
  }
  handleStreamOpened(): void {}
  handleStreamData(): void {}
  handleStreamClosed(): void {}
  handleTimeout(now: number): void {
    this.timeouts.push(now);
    if (this.deadline !== undefined && now >= this.deadline) this.deadline = undefined;
  }
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  nextDeadline(): number | undefined {
    return this.deadline;
  }
}

describe('RealGistDriver (scripted core)', () => {
  let core: ScriptedCore;
  let driver: RealGistDriver;
  let peer: dgram.Socket;
  const got: { msg: Buffer; port: number }[] = [];
  const errors: Error[] = [];

  beforeAll(async () => {
    core = new ScriptedCore();
    driver = await RealGistDriver.start(core, { bindAddresses: ['127.0.0.1'], onError: (e) => errors.push(e) });
    peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    peer.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port }));
  });
  afterAll(async () => {
    peer.close();
    await driver.close();
  });

  it('performs polled UDP transmits in order, from the core port, Q-mode or not', async () => {
    const port = driver.ports.udp;
    const dst = { address: '127.0.0.1', port: peer.address().port };
    for (let i = 0; i < 10; i++)
      core.out.push({
        kind: 'udp',
        source: { address: '127.0.0.1', port },
        destination: dst,
        ipVersion: 4,
        bytes: new Uint8Array([i]),
        qmode: i % 3 === 0 ? { routerAlert: 65, dontFragment: true, ipTtl: 255 } : undefined,
      });
    driver.drain();
    await until(() => got.length === 10);
    expect(got.map((g) => g.msg[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(got.map((g) => g.port))).toEqual(new Set([port]));
    expect(driver.stats).toMatchObject({ udpSent: 10, qmodeSent: 4, sendErrors: 0 });
  });

  it('delivers datagrams with exact local and remote endpoints, and survives a throwing core', async () => {
    core.throwOnNextDatagram = true;
    peer.send(Buffer.from([1]), driver.ports.udp, '127.0.0.1');
    peer.send(Buffer.from([2]), driver.ports.udp, '127.0.0.1');
    await until(() => core.datagrams.length === 1);
    expect(core.datagrams[0].dg).toMatchObject({ local: { address: '127.0.0.1', port: driver.ports.udp }, remote: { address: '127.0.0.1', port: peer.address().port } });
    expect(Array.from(core.datagrams[0].dg.bytes)).toEqual([2]);
    expect(driver.stats.coreErrors).toBe(1);
    expect(errors.some((e) => e.message === 'core bug')).toBe(true);
  });

  it('arms the timer for nextDeadline and calls handleTimeout no earlier', async () => {
    const due = driver.now() + 40;
    core.deadline = due;
    driver.drain();
    await until(() => core.timeouts.length > 0, 2000);
    expect(core.timeouts[0]).toBeGreaterThanOrEqual(due);
    await sleep(60);
    expect(core.timeouts).toHaveLength(1); // deadline cleared by the core: no more calls
  });

  it('reports a transmit from an address it has no socket for, without throwing', () => {
    core.out.push({ kind: 'udp', source: { address: '127.0.0.1', port: 9 }, destination: { address: '::1', port: 9 }, ipVersion: 6, bytes: new Uint8Array(4) });
    driver.drain();
    expect(driver.stats.sendErrors).toBeGreaterThanOrEqual(1);
  });
});
