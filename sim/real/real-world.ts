/**
 * The real protocol stack in the simulator: on every NSIS node the project's
 * GIST core (gist/core) and NATFW NSLP core (natfw-nslp/core) — the objects the
 * daemon runs — with the memory enforcement backend, on the simulator's network
 * for real cores (./net.ts: the topology's routes, link delay, loss and capacity).
 *
 * The driver duties of gist/core/driver-api.ts are the network's (it drains
 * pollTransmit and arms the GIST timer after every input); this world adds the
 * NATFW core's: run its enforcement jobs as transactions on the node's pinhole
 * set and answer them, and arm its timer on the virtual clock. Nodes touched
 * by an input are marked and settled before the clock moves on.
 */
import { createGistNode, type GistNode } from '../../gist/core';
import type { Transmit } from '../../gist/core/driver-api';
import type { LooseEndMri, PathCoupledMri } from '../../gist/types';
import { NatfwNode, runEnforcementJobNow, seededRandom, wireCodec, type EnforcementResult, type MiddleboxConfig, type NatfwNodeConfig } from '../../natfw-nslp';
import type { NatfwPolicy } from '../../natfw-nslp';
import { HmacSessionAuthorizer } from '../../natfw-nslp/auth/authorizer';
import { decodeSessionAuth, type SessionAuthObject } from '../../natfw-nslp/auth/codec';
import { MemoryKeyStore } from '../../natfw-nslp/auth/keys';
import { issueToken } from '../../natfw-nslp/auth/token';
import type { SessionAuthorizer } from '../../natfw-nslp';
import { datagramLabel, streamLabels } from '../labels';
import type { ExternalRequest, FlowRequest, NodeStack, SimPacket, SimWorld, StackEnv, WorldContext } from '../stack';
import { nodeAddresses, type NodeSpec } from '../scenario/types';
import { ClockTask } from '../clock';
import { RealNetwork } from './net';

interface RealNode {
  readonly index: number;
  readonly name: string;
  readonly env: StackEnv;
  readonly gist: GistNode;
  readonly natfw: NatfwNode;
  /** NATFW timer armed on the clock: its deadline and generation (a newer arm or a crash invalidates older ones). */
  timerAt?: number;
  timerGen: number;
  alive: boolean;
  /** In the list of nodes to settle. */
  dirty: boolean;
  /** Session key -> flow id (NI) or external id (NI+). */
  readonly flows: Map<string, { flowId?: string; externalId?: string }>;
  readonly keyOfFlow: Map<string, string>;
}

/** An enforcement job's outcome on its way back to the node's core. */
interface Answer {
  readonly n: RealNode;
  readonly jobId: number;
  readonly result: EnforcementResult;
}

/** A node's NATFW timer on the clock (one object per arming, no closure); a newer generation makes it a no-op. */
class NatfwTimer extends ClockTask {
  constructor(
    private readonly n: RealNode,
    private readonly gen: number,
    private readonly fire: (n: RealNode, gen: number) => void,
  ) {
    super();
  }

  run(): void {
    this.fire(this.n, this.gen);
  }
}

/** Our policy of the scenario as the NATFW core's policy (RFC 5973 s3.6). */
function natfwPolicy(spec: NodeSpec): NatfwPolicy {
  return {
    maxLifetime: Math.max(1, Math.floor(spec.policy.maxLifetimeMs / 1000)),
    minLifetime: 1,
    allowDeny: spec.policy.allowDeny,
    protocols: spec.policy.protocols,
    destinations: spec.policy.prefixes,
  };
}

function middlebox(spec: NodeSpec): MiddleboxConfig | undefined {
  if (spec.role === 'firewall') return { kind: 'firewall', policy: natfwPolicy(spec) };
  if (spec.role === 'nat' && spec.nat !== undefined) {
    return {
      kind: 'nat',
      edge: true,
      policy: natfwPolicy(spec),
      nat: { externalAddress: spec.nat.externalAddress, internalPrefixes: spec.nat.inside, ports: spec.nat.ports },
    };
  }
  return undefined;
}

/**
 * Token times are absolute (RFC 5981 START_TIME/END_TIME, NTP): virtual time 0
 * is this instant (2026-01-01T00:00:00Z), for the tokens and the authorizers alike.
 */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

/** Scenario keys get Key-IDs 1, 2, ... in the order the scenario lists them. */
function keyIds(keys: ReadonlyMap<string, Uint8Array>): Map<string, number> {
  return new Map([...keys.keys()].map((k, i) => [k, i + 1]));
}

/** An NF whose policy names keys requires an HMAC_SIGNED SESSION_AUTH token under one of them (RFC 5981). */
function authorizerFor(spec: NodeSpec, keys: ReadonlyMap<string, Uint8Array>): SessionAuthorizer | undefined {
  const names = spec.policy.keys;
  if (names === undefined || (spec.role !== 'firewall' && spec.role !== 'nat')) return undefined;
  const ids = keyIds(keys);
  const store = new MemoryKeyStore(names.map((n) => ({ keyId: ids.get(n) as number, key: keys.get(n) as Uint8Array })));
  return new HmacSessionAuthorizer(
    { requireForCreate: true, requireForExternal: true, trustedKeyIds: names.map((n) => ids.get(n) as number), clockOffsetMs: SIM_EPOCH_MS },
    store,
  );
}

/** The prefix length of one host of the address's family. */
function hostLength(address: string): number {
  return address.includes(':') ? 128 : 32;
}

/** The token an NI carries for a flow signed with a scenario key: exactly the flow, valid for the whole run. */
function tokenFor(req: FlowRequest, keys: ReadonlyMap<string, Uint8Array>, now: number): SessionAuthObject[] {
  if (req.key === undefined) return [];
  const key = keys.get(req.key);
  const id = keyIds(keys).get(req.key);
  if (key === undefined || id === undefined) return [];
  const ports = req.protocol === 6 || req.protocol === 17;
  const raw = issueToken({
    key, keyId: id,
    src: [{ address: req.src, length: hostLength(req.src) }], dst: [{ address: req.dst, length: hostLength(req.dst) }],
    protocol: req.protocol,
    dstPorts: ports && req.dstPort !== 0 ? { from: req.dstPort, to: req.dstPort + req.subPorts } : undefined,
    srcPorts: ports && req.srcPort !== 0 ? { from: req.srcPort, to: req.srcPort } : undefined,
    notBefore: SIM_EPOCH_MS + now - 60_000,
    notAfter: SIM_EPOCH_MS + now + 30 * 24 * 3600_000,
  });
  const obj = decodeSessionAuth(raw);
  return obj.ok ? [obj.value] : [];
}

export function realWorld(ctx: WorldContext, extra: { natfw?: Partial<NatfwNodeConfig> } = {}): SimWorld {
  const topo = ctx.topo;
  const nodes: Array<RealNode | undefined> = [];
  /** Nodes touched by an input since they were last settled (each once, in the order they were touched). */
  let dirty: RealNode[] = [];
  const mark = (n: RealNode): void => {
    if (n.dirty) return;
    n.dirty = true;
    dirty.push(n);
  };
  /** Local end of each C-mode connection, to put TCP headers on its bytes in the capture. */
  const conns = new Map<string, { local: { address: string; port: number }; remote: { address: string; port: number } }>();

  const observe = (u: number, t: Transmit): void => {
    const n = nodes[u];
    if (n === undefined || !n.alive) return;
    const now = ctx.clock.now;
    if (t.kind === 'udp') {
      const label = datagramLabel(t.bytes);
      if (!ctx.capturing) return ctx.counted(label, t.bytes.length);
      const pkt: SimPacket = {
        src: t.source.address, dst: t.destination.address, transport: 'udp', srcPort: t.source.port, dstPort: t.destination.port,
        rao: t.qmode !== undefined, payload: t.bytes, label,
      };
      ctx.sent(u, now, pkt);
    } else if (t.kind === 'tcp-send') {
      const labels = streamLabels(t.bytes);
      if (!ctx.capturing) {
        // The bytes are counted with the first message of the write (as in the capture below).
        if (labels.length === 0) return ctx.counted('unparsed', t.bytes.length);
        for (let i = 0; i < labels.length; i++) ctx.counted(labels[i], i === 0 ? t.bytes.length : 0);
        return;
      }
      const c = conns.get(`${u}/${t.connId}`);
      const first: SimPacket = {
        src: c?.local.address ?? '0.0.0.0', dst: c?.remote.address ?? '0.0.0.0', transport: 'tcp', srcPort: c?.local.port ?? 0, dstPort: c?.remote.port ?? 0,
        rao: false, payload: t.bytes, label: labels[0] ?? 'unparsed',
      };
      ctx.sent(u, now, first);
      // Further messages in the same write are counted, but the bytes are in the first record already.
      for (const l of labels.slice(1)) ctx.sent(u, now, { ...first, payload: new Uint8Array(0), label: l });
    } else if (t.kind === 'tcp-connect') {
      const local = { address: t.localAddress ?? topo.nodes[u].address, port: 40000 + (t.connId % 20000) };
      conns.set(`${u}/${t.connId}`, { local, remote: t.remote });
    }
  };

  const net = new RealNetwork(topo, ctx.clock, ctx.rng, {
    dropped: (reason) => ctx.dropped(reason),
    touched: (u) => {
      const n = nodes[u];
      if (n !== undefined) mark(n);
    },
    transmit: observe,
    accepted: (u, id, info) => conns.set(`${u}/${id}`, { local: info.local, remote: info.remote }),
  });

  /**
   * Enforcement answers not yet given to their cores, in the order the jobs ran. The memory backend
   * commits at once; the answers still go back after every touched node has run its jobs (settleAll),
   * as a kernel backend's would arrive later, and in job order.
   */
  let answers: Answer[] = [];

  const settle = (n: RealNode): void => {
    if (!n.alive) return;
    for (let i = 0; i < 100_000; i++) {
      const job = n.natfw.pollEnforcement();
      if (job === undefined) break;
      answers.push({ n, jobId: job.jobId, result: runEnforcementJobNow(n.env.pinholes, job, ctx.clock.now) });
    }
    armTimer(n);
  };

  const armTimer = (n: RealNode): void => {
    const d = n.natfw.nextDeadline();
    if (d === undefined) return;
    if (n.timerAt !== undefined && n.timerAt <= d && n.timerAt >= ctx.clock.now) return;
    n.timerAt = d;
    ctx.clock.scheduleTask(d, new NatfwTimer(n, ++n.timerGen, natfwTimeout));
  };

  const natfwTimeout = (n: RealNode, gen: number): void => {
    if (!n.alive || gen !== n.timerGen) return;
    n.timerAt = undefined;
    n.natfw.handleTimeout(ctx.clock.now);
    net.pump(n.index);
    settle(n);
  };

  const world: SimWorld & { settleAll(): void } = {
    attach(env: StackEnv): NodeStack {
      const spec = env.spec;
      const addresses = nodeAddresses(spec);
      // RFC 5971 s5.2.2: a NAT names (and sends from) the side that faces the next hop.
      const gist = createGistNode({ ...ctx.gist, addresses, randomBytes: (k) => env.rng.bytes(k), interfaceAddressFor: (dst) => net.interfaceAddress(env.node, dst) });
      const natfw = new NatfwNode(gist, {
        addresses,
        middlebox: middlebox(spec),
        random: seededRandom(env.rng.nextU32()),
        codec: wireCodec,
        authorizer: authorizerFor(spec, env.keys),
        ...extra.natfw,
      });
      const n: RealNode = { index: env.node, name: spec.id, env, gist, natfw, timerGen: 0, alive: true, dirty: false, flows: new Map(), keyOfFlow: new Map() };
      nodes[env.node] = n;
      natfw.events.on('established', (e) => {
        const f = n.flows.get(e.key);
        if (f?.flowId !== undefined) env.events.established(f.flowId, e.now, e.lifetime * 1000);
        if (f?.externalId !== undefined && e.externalIp !== undefined) env.events.externalReserved(f.externalId, e.now, e.externalIp.address, e.externalIp.port);
      });
      natfw.events.on('failed', (e) => {
        const f = n.flows.get(e.key);
        if (f?.flowId !== undefined) env.events.rejected(f.flowId, e.now, e.error.responseClass, e.error.responseCode);
        if (f?.externalId !== undefined) env.events.externalRejected(f.externalId, e.now, e.error.responseClass, e.error.responseCode);
      });
      natfw.events.on('refreshFailed', (e) => {
        const f = n.flows.get(e.key);
        if (f?.flowId !== undefined) env.events.terminated(f.flowId, e.now, `refresh failed: ${e.error.responseName}`);
      });
      natfw.events.on('terminated', (e) => {
        const f = n.flows.get(e.key);
        if (f?.flowId !== undefined && (e.role === 'NI' || e.role === 'NI+')) env.events.terminated(f.flowId, e.now, e.reason);
      });
      net.attach(env.node, gist);
      mark(n);
      const poke = (): void => {
        net.pump(n.index);
        mark(n);
      };
      return {
        create(now: number, req: FlowRequest): void {
          const full = hostLength(req.src);
          const mri: PathCoupledMri = {
            mrm: 'path-coupled', ipVersion: full === 128 ? 6 : 4, sourceAddress: req.src, destinationAddress: req.dst, sourcePrefix: full, destinationPrefix: full,
            protocol: req.protocol, sourcePort: req.srcPort === 0 ? undefined : req.srcPort, destinationPort: req.dstPort === 0 ? undefined : req.dstPort,
            direction: 'downstream',
          };
          const sessionAuth = tokenFor(req, env.keys, now);
          const key = natfw.create(now, {
            mri, action: req.action, subPorts: req.subPorts, lifetime: Math.max(1, Math.round(req.lifetimeMs / 1000)),
            sessionAuth: sessionAuth.length > 0 ? sessionAuth : undefined,
          });
          n.flows.set(key, { flowId: req.flowId });
          n.keyOfFlow.set(req.flowId, key);
          poke();
        },
        teardown(now: number, flowId: string): void {
          const key = n.keyOfFlow.get(flowId);
          if (key === undefined) return;
          natfw.teardown(now, key);
          poke();
        },
        external(now: number, req: ExternalRequest): void {
          // RFC 5973 s3.7.2: loose-end MRI from the receiver towards the signalling destination beyond the edge.
          const v6 = req.address.includes(':');
          const mri: LooseEndMri = { mrm: 'loose-end', ipVersion: v6 ? 6 : 4, sourceAddress: req.address, destinationAddress: req.toward, direction: 'towards-edge' };
          const key = natfw.external(now, {
            mri,
            dtinfo: { protocol: req.protocol, drPort: req.port, dsPort: 0, senderPrefix: 0, senderAddress: v6 ? '::' : '0.0.0.0' },
            subPorts: req.subPorts,
            lifetime: Math.max(1, Math.round(req.lifetimeMs / 1000)),
          });
          n.flows.set(key, { externalId: req.externalId });
          n.keyOfFlow.set(`ext:${req.externalId}`, key);
          poke();
        },
        operatorTeardown(now: number, f: FlowRequest): boolean {
          for (const s of natfw.listSessions()) {
            const r = s.rule;
            if (r === undefined || s.role === 'NI' || s.role === 'NR') continue;
            if (r.protocol !== f.protocol || r.src.address !== f.src) continue;
            if ((r.srcPorts?.from ?? 0) !== f.srcPort) continue;
            const sameDst = r.dst.address === f.dst && (r.dstPorts?.from ?? 0) === f.dstPort;
            const m = s.mri;
            const mriDst = m.mrm === 'path-coupled' && m.destinationAddress === f.dst && (m.destinationPort ?? 0) === f.dstPort;
            if (!sameDst && !mriDst) continue;
            natfw.terminate(now, s.key, 'operator');
            poke();
            return true;
          }
          return false;
        },
        sessionCount: () => natfw.sessionCount,
        handshakes: () => gist.stats.handshakesCompleted,
        stop(): void {
          n.alive = false;
          n.timerGen++;
        },
      };
    },
    detach(node: number): void {
      const n = nodes[node];
      if (n !== undefined) {
        n.alive = false;
        n.timerGen++;
      }
      nodes[node] = undefined;
      net.detach(node);
    },
    linksChanged(): void {
      net.linksChanged();
    },
    settleAll(): void {
      for (let guard = 0; (dirty.length > 0 || answers.length > 0) && guard < 1000; guard++) {
        const list = dirty;
        dirty = [];
        for (const n of list) {
          n.dirty = false;
          settle(n);
        }
        const done = answers;
        answers = [];
        for (const a of done) {
          if (!a.n.alive) continue;
          a.n.natfw.enforcementDone(ctx.clock.now, a.jobId, a.result);
          net.pump(a.n.index);
          mark(a.n);
        }
      }
    },
  };
  return world;
}
