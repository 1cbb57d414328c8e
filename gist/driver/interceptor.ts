/**
 * Q-mode interception at an on-path node (RFC 5971 s4.3.1, s5.3.2): packets
 * that carry a Router Alert Option, go to the GIST UDP port and start with
 * the magic number are offered to the node, which answers synchronously
 * whether it takes them (its NSLPID runs here: the packet is consumed) or
 * not (the packet continues to its destination untouched). Anything that is
 * not a well-formed candidate is passed on (s5.3.2.3). A token bucket caps
 * how many candidates per second reach the node; the excess is dropped
 * (s5.3.2.3: "Any excess packets SHOULD be discarded").
 *
 * Two mechanisms (router-alert.md):
 * - `NfqueueInterceptor` (default): an iptables NFQUEUE rule plus the
 *   `nfqueue` addon; sees every RAO value; the kernel forwards on ACCEPT.
 *   Needs CAP_NET_ADMIN and the optional dependency `nfqueue`
 *   (libnetfilter-queue-dev at install time).
 * - `RouterAlertSocketInterceptor` (fallback): a raw IPPROTO_UDP socket with
 *   IP_ROUTER_ALERT; Linux gives it RAO value 0 only; a passed-on packet is
 *   re-sent through a HDRINCL raw socket with TTL-1 and fresh checksums.
 *   Needs CAP_NET_RAW and the optional dependency `raw-socket`. IPv4 only.
 */
import { networkInterfaces } from 'node:os';
import { DriverError } from './errors';
import { installQueueRule, removeQueueRule, type QueueRuleSpec } from './iptables';
import { parseUdpPacket, withUdpPayload, type UdpInIp } from './ip-packet';
import { currentNamedNetns } from './netns-guard';
import type { Clock } from './clock';

export const GIST_MAGIC_BYTES = [0x4e, 0x04, 0xbd, 0xa5] as const;

export interface InterceptedPacket {
  readonly packet: UdpInIp;
  /** The interface it arrived on, when known (local significance only). */
  readonly inboundInterface?: string;
}

/**
 * `consume`: the node took the packet, it goes no further. `forward`: it
 * continues to its destination, unchanged or with `payload` as its new UDP
 * payload (RFC 5971 s4.3.4: GIST hop count decremented; s4.3.2: NSLP update).
 */
export type InterceptVerdict = { readonly kind: 'consume' } | { readonly kind: 'forward'; readonly payload?: Uint8Array };
export type InterceptHandler = (p: InterceptedPacket) => InterceptVerdict;

export interface InterceptorStats {
  offered: number;
  consumed: number;
  passed: number;
  notGist: number;
  rateLimited: number;
}

export interface QueryInterceptor {
  readonly kind: 'nfqueue' | 'router-alert-socket';
  readonly stats: InterceptorStats;
  close(): Promise<void>;
}

export interface InterceptorOptions {
  /** Destination port of Q-mode packets (270 on a real network). */
  readonly gistPort: number;
  /** Candidates per second handed to the node (token bucket rate and depth). Default 100,000. */
  readonly maxPerSecond?: number;
  readonly clock: Clock;
}

const FORWARD: InterceptVerdict = { kind: 'forward' };

function hasMagic(payload: Uint8Array): boolean {
  return payload.length >= 4 && payload[0] === 0x4e && payload[1] === 0x04 && payload[2] === 0xbd && payload[3] === 0xa5;
}

/** The decision shared by both mechanisms (exported for tests). */
export class QmodeJudge {
  readonly stats: InterceptorStats = { offered: 0, consumed: 0, passed: 0, notGist: 0, rateLimited: 0 };
  private tokens: number;
  private last: number;
  private readonly rate: number;

  constructor(
    private readonly handler: InterceptHandler,
    private readonly o: InterceptorOptions,
  ) {
    this.rate = o.maxPerSecond ?? 100_000;
    this.tokens = this.rate;
    this.last = o.clock();
  }

  judge(packet: Uint8Array, inboundInterface: string | undefined): { verdict: InterceptVerdict | 'drop'; pkt?: UdpInIp } {
    const pkt = parseUdpPacket(packet);
    if (pkt === undefined || pkt.rao === undefined || pkt.destinationPort !== this.o.gistPort || !hasMagic(pkt.payload)) {
      this.stats.notGist++;
      return { verdict: FORWARD, pkt };
    }
    const now = this.o.clock();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) {
      this.stats.rateLimited++;
      return { verdict: 'drop', pkt };
    }
    this.tokens -= 1;
    this.stats.offered++;
    let v: InterceptVerdict;
    try {
      v = this.handler({ packet: pkt, inboundInterface });
    } catch {
      v = FORWARD; // a bug in the node must not black-hole other people's packets
    }
    if (v.kind === 'consume') this.stats.consumed++;
    else this.stats.passed++;
    return { verdict: v, pkt };
  }
}

function requireNamedNetns(allowAnyNamespace: boolean | undefined): void {
  if (allowAnyNamespace === true) return;
  if (currentNamedNetns() === undefined)
    throw new DriverError(
      'DRIVER_FIREWALL',
      'refusing to install an interception rule outside a named network namespace (run under `ip netns exec`, or set allowAnyNamespace on a real router)',
    );
}

interface NfqPacket {
  info: { id: number; indev_name?: string };
  payload: Buffer;
  setVerdict(verdict: number, mark?: number, buffer?: Buffer): void;
}
interface NfqModule {
  NF_DROP: number;
  NF_ACCEPT: number;
  createQueueHandler(num: number, buf: number, cb: (p: NfqPacket) => void): unknown;
}

export interface NfqueueInterceptorOptions extends InterceptorOptions {
  /** NFQUEUE number (one per intercepting process in a namespace). Default 270. */
  readonly queueNum?: number;
  readonly ipVersions?: readonly (4 | 6)[];
  /** Allow installing the rule outside a named netns (production routers). */
  readonly allowAnyNamespace?: boolean;
  /** Netlink receive buffer of the queue. Default 8 MiB. */
  readonly bufferBytes?: number;
}

/**
 * Note: the `nfqueue` addon offers no close(); after close() the rule is gone
 * (so nothing more is queued) but the netlink handle stays open, and keeps
 * the event loop alive, until the process exits. Run intercepting nodes as
 * their own process (natfwd, cli-node.ts) and exit it to end them.
 */
export class NfqueueInterceptor implements QueryInterceptor {
  readonly kind = 'nfqueue' as const;
  private readonly judge: QmodeJudge;
  private readonly rules: QueueRuleSpec[] = [];
  private closed = false;
  private readonly exitHook = (): void => this.removeRules();

  private constructor(handler: InterceptHandler, o: NfqueueInterceptorOptions) {
    this.judge = new QmodeJudge(handler, o);
  }

  get stats(): InterceptorStats {
    return this.judge.stats;
  }

  static open(handler: InterceptHandler, o: NfqueueInterceptorOptions): NfqueueInterceptor {
    let nfq: NfqModule;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      nfq = require('nfqueue') as NfqModule;
    } catch (e) {
      throw new DriverError(
        'DRIVER_MISSING_ADDON',
        `the optional dependency 'nfqueue' is not installed or did not build (apt-get install libnetfilter-queue-dev, then npm install): ${(e as Error).message}`,
      );
    }
    requireNamedNetns(o.allowAnyNamespace);
    const self = new NfqueueInterceptor(handler, o);
    const queueNum = o.queueNum ?? 270;
    try {
      nfq.createQueueHandler(queueNum, o.bufferBytes ?? 8 * 1024 * 1024, (p) => {
        if (self.closed) {
          p.setVerdict(nfq.NF_ACCEPT);
          return;
        }
        const bytes = new Uint8Array(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength);
        const { verdict, pkt } = self.judge.judge(bytes, p.info.indev_name);
        if (verdict === 'drop' || verdict.kind === 'consume') {
          p.setVerdict(nfq.NF_DROP);
          return;
        }
        const changed = verdict.payload !== undefined && pkt !== undefined ? withUdpPayload(bytes, pkt, verdict.payload, false) : undefined;
        if (changed === undefined) p.setVerdict(nfq.NF_ACCEPT);
        else p.setVerdict(nfq.NF_ACCEPT, 0, Buffer.from(changed.buffer, changed.byteOffset, changed.byteLength));
      });
    } catch (e) {
      throw new DriverError('DRIVER_NEEDS_PRIVILEGE', `cannot open NFQUEUE ${queueNum}: ${(e as Error).message} (needs CAP_NET_ADMIN)`);
    }
    process.on('exit', self.exitHook);
    try {
      for (const v of o.ipVersions ?? [4]) {
        const spec = { ipVersion: v, queueNum, gistPort: o.gistPort };
        installQueueRule(spec);
        self.rules.push(spec);
      }
    } catch (e) {
      self.removeRules();
      throw e;
    }
    return self;
  }

  private removeRules(): void {
    for (const r of this.rules.splice(0)) removeQueueRule(r);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeRules();
    process.off('exit', this.exitHook);
  }
}

interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  setOption(level: number, option: number, value: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (e: Error | null) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number; bufferSize?: number }): RawSocket;
}

const IP_ROUTER_ALERT = 5;

export class RouterAlertSocketInterceptor implements QueryInterceptor {
  readonly kind = 'router-alert-socket' as const;
  private readonly judge: QmodeJudge;
  private closed = false;
  private listen: RawSocket | undefined;
  private reinject: RawSocket | undefined;
  reinjectErrors = 0;

  private readonly clock: Clock;

  private constructor(handler: InterceptHandler, o: InterceptorOptions) {
    this.judge = new QmodeJudge(handler, o);
    this.clock = o.clock;
  }

  get stats(): InterceptorStats {
    return this.judge.stats;
  }

  static open(handler: InterceptHandler, o: InterceptorOptions): RouterAlertSocketInterceptor {
    let raw: RawModule;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      raw = require('raw-socket') as RawModule;
    } catch (e) {
      throw new DriverError('DRIVER_MISSING_ADDON', `the optional dependency 'raw-socket' is not installed or did not build: ${(e as Error).message}`);
    }
    const self = new RouterAlertSocketInterceptor(handler, o);
    try {
      self.listen = raw.createSocket({ protocol: 17, bufferSize: 65535 });
      self.listen.setOption(0, IP_ROUTER_ALERT, 1);
      self.reinject = raw.createSocket({ protocol: 255 });
    } catch (e) {
      self.listen?.close();
      throw new DriverError('DRIVER_NEEDS_PRIVILEGE', `cannot open a raw IP_ROUTER_ALERT socket: ${(e as Error).message} (needs CAP_NET_RAW)`);
    }
    self.listen.on('error', () => undefined);
    self.reinject.on('error', () => undefined);
    self.listen.on('message', (buf) => self.onPacket(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)));
    return self;
  }

  private localAddresses = new Set<string>();
  private localAddressesAt = -Infinity;

  /** Packets to this host are delivered normally (the RA chain runs in ip_forward only): its UDP socket gets them. */
  private isLocal(address: string): boolean {
    const now = this.clock();
    if (now - this.localAddressesAt > 1000) {
      this.localAddressesAt = now;
      this.localAddresses = new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
    }
    return this.localAddresses.has(address);
  }

  private onPacket(bytes: Uint8Array): void {
    if (this.closed) return;
    const peek = parseUdpPacket(bytes);
    if (peek === undefined || peek.rao === undefined || this.isLocal(peek.destination)) return;
    // The RA chain hands this socket every RAO-0 UDP packet and copies of UDP
    // addressed to this host (router-alert.md s2a). Only RA packets are taken
    // off the forwarding path, so only they must be re-injected.
    const { verdict, pkt } = this.judge.judge(bytes, undefined);
    if (verdict === 'drop' || verdict.kind === 'consume' || pkt === undefined || pkt.ipVersion !== 4) return;
    const copy = withUdpPayload(bytes, pkt, verdict.payload ?? pkt.payload, true);
    if (copy === undefined || this.reinject === undefined) return;
    this.reinject.send(Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength), 0, copy.length, pkt.destination, null, (e) => {
      if (e) this.reinjectErrors++;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listen?.close();
    this.reinject?.close();
  }
}
