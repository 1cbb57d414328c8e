/**
 * A compact model of GIST + the NATFW NSLP, used by the simulator when the real
 * cores are not available (or with `--stack model`, to compare). It follows
 * the protocol's shape — Q-mode Query with Router Alert intercepted by the next
 * NATFW node, Response, then Data straight to the peer; CREATE hop by hop with
 * a pinhole at each NF; RESPONSE back; refresh before the lifetime ends; expiry;
 * teardown with lifetime 0; NOTIFY on asynchronous teardown; routing-state
 * refresh that finds a new peer after a route change; EXTERNAL to the edge NAT
 * — but it is not the real implementation: no cookies, no messaging
 * associations, no wire encoding (packets carry a placeholder payload of a
 * realistic size).
 */
import { toHex } from '../../common/bytes';
import type { PinholeSpec } from '../../enforcement/types';
import type { ScheduledHandle as EventHandle } from '../clock';
import { VirtualNetwork } from '../network';
import { inPrefix } from '../scenario/values';
import type { ExternalRequest, FlowRequest, NodeStack, SimPacket, SimWorld, StackEnv, WorldContext } from '../stack';

/** The model's stacks see packets as objects: they send through this and are offered what arrives. */
interface ModelEnv extends StackEnv {
  send(pkt: SimPacket): void;
}

/** The model world: the simulator's own network (with link capacity) and a ModelStack per NSIS node. */
export function modelWorld(ctx: WorldContext): SimWorld {
  const stacks: Array<ModelStack | undefined> = [];
  const nslp = (u: number): boolean => ctx.topo.nodes[u].role !== 'router';
  const net = new VirtualNetwork(ctx.topo, ctx.clock, ctx.rng, {
    nslpCapable: (u) => nslp(u) && ctx.up(u),
    up: (u) => ctx.up(u),
    intercept: (u, now, pkt) => stacks[u]?.intercept(now, pkt) ?? false,
    deliver: (u, now, pkt) => stacks[u]?.deliver(now, pkt),
    dropped: (_now, _pkt, reason) => ctx.dropped(reason),
  });
  return {
    attach(env: StackEnv): NodeStack {
      const s = new ModelStack({
        ...env,
        send: (pkt) => {
          if (!ctx.up(env.node)) return;
          ctx.sent(env.node, ctx.clock.now, pkt);
          net.send(env.node, ctx.clock.now, pkt);
        },
      });
      stacks[env.node] = s;
      return s;
    },
    detach(node: number): void {
      stacks[node] = undefined;
    },
    linksChanged(): void {
      // The model network reads the topology's links directly.
    },
  };
}

const GIST_PORT = 270;
/** Query retransmission: T1 doubling, a bounded number of tries (RFC 5971 s4.4.1 uses T1 = 500 ms, T2 = 64 s). */
const QUERY_T1 = 500;
const QUERY_TRIES = 5;
/** Routing state refresh period (RFC 5971 s4.4.4: a new Query before the peer's state expires). */
const RS_REFRESH = 10000;
/** The NI retransmits a CREATE that got no RESPONSE. */
const CREATE_RETRY = 2000;
const CREATE_TRIES = 4;

interface FlowKey {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly subPorts: 0 | 1;
  readonly action: 'allow' | 'deny';
}

type Nslp =
  | { readonly m: 'CREATE'; readonly msn: number; readonly lifetimeMs: number; readonly flow: FlowKey; readonly key?: string; readonly toward?: string }
  | { readonly m: 'EXTERNAL'; readonly msn: number; readonly lifetimeMs: number; readonly flow: FlowKey; readonly key?: string; readonly toward?: string }
  | { readonly m: 'RESPONSE'; readonly msn: number; readonly cls: number; readonly code: number; readonly lifetimeMs: number; readonly ext?: { address: string; port: number } }
  | { readonly m: 'NOTIFY'; readonly cls: number; readonly code: number };

type Msg =
  | { readonly t: 'Query'; readonly sid: string; readonly querier: string; readonly nslp?: Nslp; readonly target: string }
  | { readonly t: 'Response'; readonly sid: string; readonly responder: string }
  | { readonly t: 'Data'; readonly sid: string; readonly from: string; readonly nslp: Nslp };

const SIZES: Record<string, number> = { Query: 112, Response: 132, Data: 84, CREATE: 64, EXTERNAL: 64, RESPONSE: 28, NOTIFY: 20 };

/** Downstream routing state of one session at one node. */
interface RoutingState {
  peer?: string;
  querying: boolean;
  tries: number;
  timer?: EventHandle;
  refresh?: EventHandle;
  /** Sent when the handshake completes (the message that started the Query is carried in it). */
  target: string;
}

interface Session {
  readonly sid: string;
  role: 'NI' | 'NF' | 'NR' | 'NAT';
  flow: FlowKey;
  /** The flow as forwarded downstream (a NAT rewrites the destination). */
  downFlow: FlowKey;
  upstream?: string;
  rs?: RoutingState;
  msn: number;
  lifetimeMs: number;
  expiresAt: number;
  expiry?: EventHandle;
  pinholeId?: string;
  bindingId?: string;
  /** NI: the application's flow id, the last CREATE, retransmission state. */
  flowId?: string;
  externalId?: string;
  last?: Nslp;
  awaiting?: { msn: number; tries: number; timer?: EventHandle; sentAt: number; first: boolean };
  refreshTimer?: EventHandle;
  established: boolean;
  /** A message kind this session forwards (CREATE or EXTERNAL). */
  kind: 'CREATE' | 'EXTERNAL';
  key?: string;
  /** Where downstream Queries go: the flow's destination, or for an EXTERNAL the outside address. */
  toward: string;
}

export class ModelStack implements NodeStack {
  private sessions = new Map<string, Session>();
  private byFlow = new Map<string, string>();
  private nextPort: number;
  private stopped = false;

  constructor(private readonly env: ModelEnv) {
    this.nextPort = env.spec.nat?.ports.from ?? 0;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sessions.values()) this.clearTimers(s);
    this.sessions.clear();
  }

  // ---- application side

  create(now: number, req: FlowRequest): void {
    const flow: FlowKey = { src: req.src, dst: req.dst, protocol: req.protocol, srcPort: req.srcPort, dstPort: req.dstPort, subPorts: req.subPorts, action: req.action };
    this.startNi(now, req.flowId, undefined, 'CREATE', flow, req.lifetimeMs, req.key, req.dst);
  }

  external(now: number, req: ExternalRequest): void {
    // The loose-end MRI: data towards this receiver, signalled towards the edge (RFC 5973 s3.7.2).
    const flow: FlowKey = { src: req.address.includes(':') ? '::' : '0.0.0.0', dst: req.address, protocol: req.protocol, srcPort: 0, dstPort: req.port, subPorts: req.subPorts, action: 'allow' };
    this.startNi(now, undefined, req.externalId, 'EXTERNAL', flow, req.lifetimeMs, req.key, req.toward);
  }

  private startNi(now: number, flowId: string | undefined, externalId: string | undefined, kind: 'CREATE' | 'EXTERNAL', flow: FlowKey, lifetimeMs: number, key: string | undefined, toward: string): void {
    const sid = toHex(this.env.rng.bytes(16));
    const s: Session = { sid, role: 'NI', flow, downFlow: flow, msn: 0, lifetimeMs, expiresAt: Infinity, flowId, externalId, established: false, kind, key, toward };
    this.sessions.set(sid, s);
    this.byFlow.set(flowId ?? `ext:${externalId}`, sid);
    this.niSend(now, s, true);
  }

  private niSend(now: number, s: Session, first: boolean): void {
    s.msn++;
    const msg: Nslp = { m: s.kind, msn: s.msn, lifetimeMs: s.lifetimeMs, flow: s.flow, key: s.key, toward: s.toward };
    s.last = msg;
    if (s.awaiting?.timer !== undefined) s.awaiting.timer.cancel();
    s.awaiting = { msn: s.msn, tries: 1, sentAt: now, first };
    this.armRetry(s);
    this.sendDown(now, s, msg);
  }

  private armRetry(s: Session): void {
    const a = s.awaiting;
    if (a === undefined) return;
    a.timer = this.env.schedule(this.env.now() + CREATE_RETRY * a.tries, (now) => {
      if (this.stopped || s.awaiting !== a) return;
      if (a.tries >= CREATE_TRIES) {
        s.awaiting = undefined;
        this.niFailed(now, s, 5, 0x07);
        return;
      }
      a.tries++;
      this.armRetry(s);
      if (s.last !== undefined) this.sendDown(now, s, s.last);
    });
  }

  private niFailed(now: number, s: Session, cls: number, code: number): void {
    this.drop(s);
    if (s.flowId !== undefined) {
      if (s.established) this.env.events.terminated(s.flowId, now, `no RESPONSE (class ${cls} code ${code})`);
      else this.env.events.rejected(s.flowId, now, cls, code);
    } else if (s.externalId !== undefined) this.env.events.externalRejected(s.externalId, now, cls, code);
  }

  teardown(now: number, flowId: string): void {
    const sid = this.byFlow.get(flowId);
    const s = sid === undefined ? undefined : this.sessions.get(sid);
    if (s === undefined) return;
    s.msn++;
    // RFC 5973 s3.7.2: a CREATE with lifetime 0 removes the state at every hop.
    this.sendDown(now, s, { m: s.kind, msn: s.msn, lifetimeMs: 0, flow: s.flow, key: s.key, toward: s.toward });
    this.drop(s);
  }

  operatorTeardown(now: number, f: FlowRequest): boolean {
    // The operator names the flow by its addresses and ports, as they would on a real firewall.
    const same = (k: FlowKey): boolean => k.src === f.src && k.dst === f.dst && k.protocol === f.protocol && k.srcPort === f.srcPort && k.dstPort === f.dstPort;
    for (const s of this.sessions.values()) {
      if (s.role === 'NI' || s.role === 'NR') continue;
      if (same(s.flow) || same(s.downFlow)) {
        this.removeState(now, s);
        if (s.upstream !== undefined) this.sendTo(now, s.upstream, { t: 'Data', sid: s.sid, from: this.env.spec.address, nslp: { m: 'NOTIFY', cls: 1, code: 0x05 } });
        return true;
      }
    }
    return false;
  }

  // ---- network side

  intercept(now: number, pkt: SimPacket): boolean {
    const role = this.env.spec.role;
    if (role !== 'firewall' && role !== 'nat') return false;
    const msg = pkt.model as Msg | undefined;
    if (msg === undefined || msg.t !== 'Query') return false;
    // A NAT on the way of an EXTERNAL is the edge; a firewall installs and passes it on (s3.7.2).
    this.onQuery(now, msg);
    return true;
  }

  deliver(now: number, pkt: SimPacket): void {
    const msg = pkt.model as Msg | undefined;
    if (msg === undefined || this.stopped) return;
    if (msg.t === 'Query') this.onQuery(now, msg);
    else if (msg.t === 'Response') this.onResponse(now, msg);
    else this.onNslp(now, msg.sid, msg.from, msg.nslp);
  }

  private onQuery(now: number, q: Msg & { t: 'Query' }): void {
    this.sendTo(now, q.querier, { t: 'Response', sid: q.sid, responder: this.env.spec.address });
    if (q.nslp !== undefined) this.onNslp(now, q.sid, q.querier, q.nslp);
    else {
      const s = this.sessions.get(q.sid);
      if (s !== undefined) s.upstream = q.querier;
    }
  }

  private onResponse(now: number, r: Msg & { t: 'Response' }): void {
    const s = this.sessions.get(r.sid);
    const rs = s?.rs;
    if (s === undefined || rs === undefined || !rs.querying) return;
    rs.querying = false;
    rs.timer?.cancel();
    this.env.events.handshake(now);
    const changed = rs.peer !== undefined && rs.peer !== r.responder;
    rs.peer = r.responder;
    rs.refresh?.cancel();
    rs.refresh = this.env.schedule(now + RS_REFRESH, (t) => this.refreshRouting(t, s));
    // A different peer after a refresh Query: the route changed (RFC 5971 s7.1); the NSLP
    // re-signals along the new path at once (RFC 5973 s3.9).
    if (changed && s.last !== undefined && s.last.m !== 'RESPONSE' && s.last.m !== 'NOTIFY') {
      if (s.role === 'NI') this.niSend(now, s, false);
      else this.sendDown(now, s, s.last);
    }
  }

  private refreshRouting(now: number, s: Session): void {
    if (this.stopped || this.sessions.get(s.sid) !== s || s.rs === undefined) return;
    this.query(now, s, s.rs, undefined);
  }

  private query(now: number, s: Session, rs: RoutingState, nslp: Nslp | undefined): void {
    rs.querying = true;
    rs.tries = 1;
    const send = (): void => this.env.send(this.packet({ t: 'Query', sid: s.sid, querier: this.env.spec.address, nslp, target: rs.target }, rs.target, true));
    send();
    const retry = (t: number): void => {
      if (this.stopped || !rs.querying || this.sessions.get(s.sid) !== s) return;
      if (rs.tries >= QUERY_TRIES) {
        rs.querying = false;
        this.noNextNode(t, s);
        return;
      }
      rs.tries++;
      send();
      rs.timer = this.env.schedule(t + QUERY_T1 * 2 ** (rs.tries - 1), retry);
    };
    rs.timer = this.env.schedule(now + QUERY_T1, retry);
  }

  private noNextNode(now: number, s: Session): void {
    if (s.role === 'NI') {
      this.niFailed(now, s, 5, 0x07);
      return;
    }
    // An NF that cannot reach the next hop: "did not reach the NR" upstream, and no state left behind.
    if (s.upstream !== undefined && !s.established) this.respondUp(now, s, 5, 0x07, 0);
    if (!s.established) this.removeState(now, s);
  }

  /** Sends an NSLP message downstream: as Data to the known peer, or inside a Query when there is none yet. */
  private sendDown(now: number, s: Session, nslp: Nslp): void {
    if (s.rs === undefined) s.rs = { querying: false, tries: 0, target: s.kind === 'EXTERNAL' ? s.toward : s.downFlow.dst };
    const rs = s.rs;
    if (rs.peer !== undefined) this.sendTo(now, rs.peer, { t: 'Data', sid: s.sid, from: this.env.spec.address, nslp });
    else if (!rs.querying) this.query(now, s, rs, nslp);
  }

  private sendTo(now: number, to: string, msg: Msg): void {
    void now;
    this.env.send(this.packet(msg, to, false));
  }

  private packet(msg: Msg, dst: string, rao: boolean): SimPacket {
    const nslp = msg.t === 'Response' ? undefined : msg.nslp;
    const size = SIZES[msg.t] + (nslp === undefined ? 0 : SIZES[nslp.m]);
    return {
      src: this.env.spec.address, dst, transport: 'udp', srcPort: GIST_PORT, dstPort: GIST_PORT, rao,
      payload: placeholder(size), label: nslp === undefined ? msg.t : `${msg.t}/${nslp.m}`, model: msg,
    };
  }

  private respondUp(now: number, s: Session, cls: number, code: number, lifetimeMs: number, ext?: { address: string; port: number }): void {
    if (s.upstream === undefined) return;
    this.sendTo(now, s.upstream, { t: 'Data', sid: s.sid, from: this.env.spec.address, nslp: { m: 'RESPONSE', msn: s.msn, cls, code, lifetimeMs, ext } });
  }

  private onNslp(now: number, sid: string, from: string, m: Nslp): void {
    if (m.m === 'CREATE' || m.m === 'EXTERNAL') this.onRequest(now, sid, from, m);
    else if (m.m === 'RESPONSE') this.onNslpResponse(now, sid, m);
    else this.onNotify(now, sid, m);
  }

  private onRequest(now: number, sid: string, from: string, m: Nslp & { m: 'CREATE' | 'EXTERNAL' }): void {
    const me = this.env.spec;
    let s = this.sessions.get(sid);
    if (s !== undefined) {
      if (m.msn <= s.msn) return; // RFC 5973 s3.4: an old or duplicate message is ignored
      s.upstream = from;
    }
    if (m.lifetimeMs === 0) {
      if (s === undefined) return;
      s.msn = m.msn;
      if (s.role !== 'NR') this.sendDown(now, s, { ...m, flow: s.downFlow });
      this.removeState(now, s);
      return;
    }
    const natHere = me.nat !== undefined && (m.m === 'EXTERNAL' || m.flow.dst === me.nat.externalAddress);
    const isNr = m.m === 'CREATE' ? m.flow.dst === me.address : me.role === 'host';
    if (s === undefined) {
      const role = natHere ? 'NAT' : isNr ? 'NR' : 'NF';
      const toward = m.m === 'EXTERNAL' ? (m.toward ?? m.flow.dst) : m.flow.dst;
      s = { sid, role, flow: m.flow, downFlow: m.flow, upstream: from, msn: m.msn, lifetimeMs: m.lifetimeMs, expiresAt: 0, established: false, kind: m.m, key: m.key, toward };
      if (m.m === 'EXTERNAL' && me.role === 'host') {
        // EXTERNAL reached a host: no NAT or firewall edge on the way (s4.2.5 "No edge-device here").
        this.respondUp(now, s, 5, 0x06, 0);
        return;
      }
      if (role !== 'NR' || me.role !== 'host') {
        const refusal = this.policyCheck(m);
        if (refusal !== undefined) {
          this.respondUp(now, s, refusal[0], refusal[1], 0);
          return;
        }
      }
      this.sessions.set(sid, s);
    }
    s.msn = m.msn;
    const lifetimeMs = Math.min(m.lifetimeMs, me.role === 'host' ? m.lifetimeMs : me.policy.maxLifetimeMs);
    s.lifetimeMs = lifetimeMs;
    s.last = { ...m, lifetimeMs };
    s.expiresAt = now + lifetimeMs;
    this.armExpiry(s);
    if (s.role === 'NR') {
      this.respondUp(now, s, 2, 0x01, lifetimeMs);
      s.established = true;
      return;
    }
    const session = s;
    void this.install(now, s, m).then((ext) => {
      if (this.stopped || this.sessions.get(sid) !== session) return;
      if (ext === 'failed') {
        this.respondUp(now, session, 5, 0x04, 0);
        this.removeState(now, session);
        return;
      }
      if (m.m === 'EXTERNAL' && me.role === 'nat' && ext !== undefined) {
        // The edge NAT answers the EXTERNAL with the reserved address and port (NATFW_EXTERNAL_IP).
        session.established = true;
        this.respondUp(now, session, 2, 0x01, lifetimeMs, ext);
        return;
      }
      this.sendDown(now, session, { ...m, lifetimeMs, flow: session.downFlow });
    });
  }

  /** The NF's local policy (RFC 5973 s3.6): protocols, destination prefixes, deny permission, authorization. */
  private policyCheck(m: Nslp & { m: 'CREATE' | 'EXTERNAL' }): [number, number] | undefined {
    const p = this.env.spec.policy;
    if (this.env.spec.role === 'host') return undefined;
    if (p.keys !== undefined && (m.key === undefined || !p.keys.includes(m.key))) return [5, 0x02];
    if (p.protocols !== undefined && !p.protocols.includes(m.flow.protocol)) return [7, 0x09];
    if (p.prefixes !== undefined && !p.prefixes.some((pr) => inPrefixText(m.flow.dst, pr.address, pr.length))) return [7, 0x04];
    if (m.flow.action === 'deny' && !p.allowDeny) return [7, 0x06];
    return undefined;
  }

  private async install(now: number, s: Session, m: Nslp & { m: 'CREATE' | 'EXTERNAL' }): Promise<{ address: string; port: number } | undefined | 'failed'> {
    const me = this.env.spec;
    const tx = this.env.pinholes.begin();
    let ext: { address: string; port: number } | undefined;
    try {
      if (s.pinholeId !== undefined) tx.refresh(s.pinholeId, s.expiresAt);
      if (s.bindingId !== undefined) tx.refreshBinding(s.bindingId, s.expiresAt);
      if (s.pinholeId === undefined) {
        let flow = m.flow;
        if (s.role === 'NAT' && me.nat !== undefined && m.m === 'CREATE') {
          const b = this.env.pinholes.listBindings().find((x) => x.external.address === flow.dst && x.external.port === flow.dstPort && x.protocol === flow.protocol);
          if (b !== undefined) flow = { ...flow, dst: b.internal.address, dstPort: b.internal.port };
          s.downFlow = flow;
        }
        if (m.m === 'EXTERNAL' && me.nat !== undefined) {
          const port = this.allocPort();
          ext = { address: me.nat.externalAddress, port };
          s.bindingId = tx.addBinding({ protocol: flow.protocol, external: ext, internal: { address: flow.dst, port: flow.dstPort }, owner: s.sid, expiresAt: s.expiresAt });
        }
        s.pinholeId = tx.add(pinholeFor(flow, s.sid, s.expiresAt));
      }
      await tx.commit(now);
    } catch {
      return 'failed';
    }
    if (ext === undefined && m.m === 'EXTERNAL' && s.bindingId !== undefined) {
      const b = this.env.pinholes.listBindings().find((x) => x.id === s.bindingId);
      if (b !== undefined) ext = b.external;
    }
    return ext;
  }

  private allocPort(): number {
    const r = this.env.spec.nat?.ports ?? { from: 40000, to: 60000 };
    const used = new Set(this.env.pinholes.listBindings().map((b) => b.external.port));
    for (let i = 0; i <= r.to - r.from; i++) {
      const p = this.nextPort;
      this.nextPort = p >= r.to - 1 ? r.from : p + 2;
      if (!used.has(p) && !used.has(p + 1)) return p;
    }
    return r.from;
  }

  private onNslpResponse(now: number, sid: string, m: Nslp & { m: 'RESPONSE' }): void {
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    if (s.role === 'NI') {
      if (s.awaiting === undefined || m.msn !== s.awaiting.msn) return; // s3.4: matched to its request by MSN
      s.awaiting.timer?.cancel();
      s.awaiting = undefined;
      if (m.cls !== 2) {
        this.niFailed(now, s, m.cls, m.code);
        return;
      }
      const first = !s.established;
      s.established = true;
      if (first) {
        if (s.flowId !== undefined) this.env.events.established(s.flowId, now, m.lifetimeMs);
        if (s.externalId !== undefined && m.ext !== undefined) this.env.events.externalReserved(s.externalId, now, m.ext.address, m.ext.port);
      }
      // Refresh well before the lifetime ends, with jitter (RFC 5973 s3.4: about half the lifetime).
      s.refreshTimer?.cancel();
      const period = m.lifetimeMs * (0.4 + 0.2 * this.env.rng.next());
      s.refreshTimer = this.env.schedule(now + period, (t) => {
        if (!this.stopped && this.sessions.get(sid) === s) this.niSend(t, s, false);
      });
      return;
    }
    if (m.cls === 2) s.established = true;
    else this.removeState(now, s);
    this.respondUp(now, s, m.cls, m.code, m.lifetimeMs, m.ext);
  }

  private onNotify(now: number, sid: string, m: Nslp & { m: 'NOTIFY' }): void {
    const s = this.sessions.get(sid);
    if (s === undefined) return;
    if (s.role === 'NI') {
      this.drop(s);
      if (s.flowId !== undefined) this.env.events.terminated(s.flowId, now, `NOTIFY class ${m.cls} code ${m.code}`);
      return;
    }
    this.removeState(now, s);
    if (s.upstream !== undefined) this.sendTo(now, s.upstream, { t: 'Data', sid, from: this.env.spec.address, nslp: m });
  }

  private armExpiry(s: Session): void {
    if (s.expiry !== undefined) return;
    s.expiry = this.env.schedule(s.expiresAt, (now) => this.checkExpiry(now, s));
  }

  private checkExpiry(now: number, s: Session): void {
    s.expiry = undefined;
    if (this.stopped || this.sessions.get(s.sid) !== s) return;
    if (now < s.expiresAt) {
      s.expiry = this.env.schedule(s.expiresAt, (t) => this.checkExpiry(t, s));
      return;
    }
    // No refresh within the lifetime: the session and its pinholes go (RFC 5973 s3.4).
    this.removeState(now, s);
  }

  private removeState(now: number, s: Session): void {
    this.drop(s);
    if (s.pinholeId === undefined && s.bindingId === undefined) return;
    const tx = this.env.pinholes.begin();
    try {
      if (s.pinholeId !== undefined) tx.remove(s.pinholeId);
      if (s.bindingId !== undefined) tx.removeBinding(s.bindingId);
      void tx.commit(now).catch(() => undefined);
    } catch {
      tx.abort();
    }
    s.pinholeId = undefined;
    s.bindingId = undefined;
  }

  private drop(s: Session): void {
    this.clearTimers(s);
    if (this.sessions.get(s.sid) === s) this.sessions.delete(s.sid);
    if (s.flowId !== undefined && this.byFlow.get(s.flowId) === s.sid) this.byFlow.delete(s.flowId);
  }

  private clearTimers(s: Session): void {
    s.expiry?.cancel();
    s.refreshTimer?.cancel();
    s.awaiting?.timer?.cancel();
    s.rs?.timer?.cancel();
    s.rs?.refresh?.cancel();
  }
}

function pinholeFor(f: FlowKey, owner: string, expiresAt: number): PinholeSpec {
  return {
    protocol: f.protocol,
    src: { address: f.src, length: f.src === '0.0.0.0' || f.src === '::' ? 0 : hostLength(f.src) },
    srcPorts: f.srcPort === 0 ? undefined : { from: f.srcPort, to: f.srcPort },
    dst: { address: f.dst, length: hostLength(f.dst) },
    dstPorts: f.dstPort === 0 ? undefined : { from: f.dstPort, to: f.dstPort + f.subPorts },
    action: f.action,
    owner,
    expiresAt,
  };
}

const ZEROS = new Uint8Array(512);

/** A placeholder payload of the message's size (shared and never written: the model carries objects, not bytes). */
function placeholder(size: number): Uint8Array {
  return ZEROS.subarray(0, Math.min(size, ZEROS.length));
}


function inPrefixText(addr: string, prefix: string, len: number): boolean {
  return inPrefix(addr, { address: prefix, length: len });
}

function hostLength(address: string): number {
  return address.includes(':') ? 128 : 32;
}
