/**
 * The A – R – B lab the backend tests share (R forwards; the backend under
 * test acts in R): the namespaces, echo servers on B, the backend opened in R,
 * a `commit` shorthand and a pinhole spec builder, all torn down in afterAll.
 * Call `pinholeLab` at the top of a `describe` body: it registers the hooks.
 */
import type { PinholeSet, PinholeSpec, Transaction } from '../../../enforcement';
import { LINE, NetnsLab } from '../../../testbed/netns';
import { echoServer, killAll, probe } from './traffic';

export interface PinholeLab<S extends PinholeSet> {
  /** Set in beforeAll. */
  lab: NetnsLab;
  set: S;
  /** One transaction built by `f`, committed now. */
  commit(f: (tx: Transaction) => void): Promise<void>;
  /** A UDP allow pinhole A -> B:5000 (v4, 60 s) with `over` applied. */
  spec(over?: Partial<PinholeSpec>): PinholeSpec;
}

export interface LabOptions<S extends PinholeSet> {
  /** Namespace name prefix (3 characters are used). */
  readonly tag: string;
  /** Opens the backend in R. */
  readonly open: (netns: string, lab: NetnsLab) => Promise<S>;
  /** Closes it (afterAll). */
  readonly close?: (set: S) => void;
  /** Echo servers on B: protocol, port, and whether on B's IPv6 address too. */
  readonly servers: ReadonlyArray<readonly ['udp' | 'tcp', number, boolean]>;
  /** Owner of `spec()` pinholes. */
  readonly owner: string;
}

export function pinholeLab<S extends PinholeSet>(o: LabOptions<S>): PinholeLab<S> {
  const stops: Array<() => void> = [];
  const h = {
    async commit(f: (tx: Transaction) => void): Promise<void> {
      const tx = h.set.begin();
      f(tx);
      await tx.commit(Date.now());
    },
    spec(over: Partial<PinholeSpec> = {}): PinholeSpec {
      return {
        protocol: 17,
        src: { address: LINE.A4, length: 32 },
        dst: { address: LINE.B4, length: 32 },
        dstPorts: { from: 5000, to: 5000 },
        action: 'allow',
        owner: o.owner,
        expiresAt: Date.now() + 60_000,
        ...over,
      };
    },
  } as PinholeLab<S>;
  beforeAll(async () => {
    h.lab = NetnsLab.line(o.tag);
    h.set = await o.open(h.lab.ns('R'), h.lab);
    for (const [proto, port, v6] of o.servers) {
      stops.push((await echoServer(h.lab, 'B', proto, LINE.B4, port)).stop);
      if (v6) stops.push((await echoServer(h.lab, 'B', proto, LINE.B6, port)).stop);
    }
  }, 60_000);
  afterAll(() => {
    for (const s of stops) s();
    killAll();
    if (h.set !== undefined) o.close?.(h.set);
    h.lab?.destroy();
  });
  return h;
}

/** The IPv6 NAT binding test both backends pass: B reaches A's UDP server through R's external address; removal closes it. */
export function ipv6BindingTest<S extends PinholeSet>(h: PinholeLab<S>): void {
  test('an IPv6 NAT binding carries UDP to the internal host and back; removal closes it', async () => {
    const stop = (await echoServer(h.lab, 'A', 'udp', LINE.A6, 6100)).stop;
    try {
      let id = '';
      await h.commit((tx) => {
        id = tx.addBinding({ protocol: 17, external: { address: LINE.R6b, port: 30100 }, internal: { address: LINE.A6, port: 6100 }, owner: 'nat6', expiresAt: Date.now() + 60_000 });
      });
      expect(await probe(h.lab, 'B', 'udp', LINE.B6, 46100, LINE.R6b, 30100)).toBe(true);
      await h.commit((tx) => tx.removeBinding(id));
      expect(await probe(h.lab, 'B', 'udp', LINE.B6, 46101, LINE.R6b, 30100)).toBe(false);
    } finally {
      stop();
    }
  }, 30_000);
}
