/**
 * natfwd: the NATFW NSLP daemon. It wires the sans-I/O cores to the world:
 *
 *   enforcement backend (nftables | iptables | memory, set up and reconciled)
 *   GIST core + RealGistDriver (sockets, Q-mode interception per config)
 *   NatfwNode (policy, SESSION_AUTH authorizer) + NatfwClient (end-host API)
 *   control socket (daemon/control-server.ts) for `natfw create|teardown|list|events`
 *
 * One clock: the GIST driver's monotonic ms is `now` for both cores and for
 * the backend (kernel backends only use `expiresAt - now`). The authorizer
 * alone sees wall-clock epoch ms, because token validity times are absolute
 * (CONTRACTS.md).
 *
 * Drain rule: every call into the NATFW node goes through `call()`, which runs
 * it inside `driver.run` (so GIST transmits are drained) and then `pump()`s
 * the node (starts its enforcement jobs, re-arms its timer). Calls the node
 * makes from GIST events are pumped by listeners on those events.
 */
import EventEmitter from 'eventemitter3';
import type { Logger } from 'pino';
import { createGistNode, type GistNode } from '../gist/core';
import { DeadlineTimer } from '../gist/driver/timer';
import { pooledRandomBytes } from '../gist/driver/random';
import { localAddresses, RealGistDriver, type InterceptionMode } from '../gist/driver/real-driver';
import { KernelRoutes } from '../gist/driver/routes';
import { sessionIdKey } from '../gist/types';
import { MemoryPinholeSet } from '../enforcement/memory';
import { IptablesPinholeSet } from '../enforcement/iptables';
import { NftPinholeSet } from '../enforcement/nft/backend';
import type { Pinhole, PinholeSet, PortRange } from '../enforcement/types';
import { decodeSessionAuth, type SessionAuthObject } from '../natfw-nslp/auth/codec';
import type { HmacSessionAuthorizer } from '../natfw-nslp/auth/authorizer';
import {
  NatfwClient,
  NatfwNode,
  NatfwResponseError,
  responseName,
  runEnforcementJob,
  wireCodec,
  type EnforcementJob,
  type MiddleboxConfig,
  type NatfwPolicy,
  type NatfwRandom,
  type ProtocolSpec,
  type SessionAuthorizer,
  type SessionInfo,
} from '../natfw-nslp';
import { randomBytes } from 'node:crypto';
import { authorizerFromSettings, reloadKeys } from './auth-keys';
import type { NatfwdConfig } from './config';
import type { ControlErrorBody, CreateRequest, ExternalRequest, PinholeJson, SessionJson } from './control-protocol';
import { NatfwError } from '../common/errors';
import { toHex } from '../common/bytes';

export class NatfwdError extends NatfwError {}

/** A session event, as logged and as streamed to `natfw events`. */
export interface SessionEvent {
  readonly event:
    | 'session.created'
    | 'session.refreshed'
    | 'session.expired'
    | 'session.torn-down'
    | 'session.terminated'
    | 'session.failed'
    | 'authorization.refused'
    | 'enforcement.failed';
  readonly session?: string;
  readonly role?: string;
  readonly [k: string]: unknown;
}

interface DaemonEvents {
  event: (e: SessionEvent) => void;
}

/** Cryptographic randomness (RFC 5973 s3.2.8: Session IDs MUST be random). */
export const cryptoRandom: NatfwRandom = {
  u32: () => randomBytes(4).readUInt32BE(0),
  float: () => randomBytes(4).readUInt32BE(0) / 0x100000000,
  bytes: (n) => new Uint8Array(randomBytes(n)),
};

function policyFromConfig(c: NatfwdConfig): NatfwPolicy {
  const p = c.policy;
  return {
    maxLifetime: p.maxLifetime,
    minLifetime: p.minLifetime,
    allowDeny: p.allowDeny,
    ...(p.protocols !== undefined ? { protocols: p.protocols } : {}),
    ...(p.sources !== undefined ? { sources: p.sources } : {}),
    ...(p.destinations !== undefined ? { destinations: p.destinations } : {}),
    ...(p.dstPorts !== undefined ? { dstPorts: p.dstPorts } : {}),
    ...(p.maxSessions !== undefined ? { maxSessions: p.maxSessions } : {}),
  };
}

function middleboxFromConfig(c: NatfwdConfig): MiddleboxConfig | undefined {
  if (c.node.role === 'host') return undefined;
  return {
    kind: c.node.role,
    edge: c.node.edge,
    policy: policyFromConfig(c),
    ...(c.node.role === 'nat' && c.nat !== undefined ? { nat: c.nat } : {}),
  };
}

const INTERCEPTION: Record<NatfwdConfig['gist']['interception'], InterceptionMode> = {
  nfqueue: 'nfqueue',
  'router-alert': 'router-alert-socket',
  none: 'none',
};

/** Opens (and for kernel backends sets up and reconciles) the configured pinhole set. */
export async function openConfiguredBackend(c: NatfwdConfig, now: number): Promise<PinholeSet & { close?(): void }> {
  const e = c.enforcement;
  switch (e.backend) {
    case 'memory':
      return new MemoryPinholeSet();
    case 'nftables': {
      // No `desired`: pinholes of an earlier run are adopted and run out on their kernel timeouts (fail closed).
      const { set } = await NftPinholeSet.open({ now, mode: e.mode, markBits: e.mark, graceMs: e.grace * 1000, setup: true, repair: true });
      return set;
    }
    case 'iptables':
      await IptablesPinholeSet.setup({ mode: e.mode, markBits: e.mark });
      return IptablesPinholeSet.open({ now, mode: e.mode, markBits: e.mark });
  }
}

const ports = (r: PortRange | undefined): string => (r === undefined ? 'any' : r.from === r.to ? String(r.from) : `${r.from}-${r.to}`);

export function pinholeToJson(p: Pinhole): PinholeJson {
  return {
    id: p.id,
    action: p.action,
    protocol: p.protocol,
    src: `${p.src.address}/${p.src.length}`,
    srcPorts: ports(p.srcPorts),
    dst: `${p.dst.address}/${p.dst.length}`,
    dstPorts: ports(p.dstPorts),
  };
}

/** An error as the control socket reports it (RFC code and name for path refusals). */
export function errorBody(e: unknown): ControlErrorBody {
  if (e instanceof NatfwResponseError) {
    return { code: e.code, message: e.message, responseClass: e.responseClass, responseCode: e.responseCode, responseName: e.responseName };
  }
  if (e instanceof NatfwError) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export class Natfwd {
  readonly events = new EventEmitter<DaemonEvents>();
  private readonly natfwTimer: DeadlineTimer;
  private readonly client: NatfwClient;
  private jobChain: Promise<void> = Promise.resolve();
  private expireTimer: NodeJS.Timeout | undefined;
  /** NF sessions whose pinholes were installed at least once (the next `installed` is a refresh). */
  private readonly installedOnce = new Set<string>();
  private stopped = false;
  private readonly startedAt = Date.now();
  /** Requests refused by the SESSION_AUTH check (RFC 5981), counted for `natfw stats`. */
  authorizationRefusals = 0;

  private constructor(
    readonly config: NatfwdConfig,
    readonly log: Logger,
    readonly backend: PinholeSet & { close?(): void },
    readonly gist: GistNode,
    readonly driver: RealGistDriver,
    readonly node: NatfwNode,
    readonly addresses: readonly string[],
    private readonly hmac: HmacSessionAuthorizer,
    /** The kernel's routes, followed while there is a choice of address (RFC 5971 s5.2.2); undefined otherwise. */
    private readonly routes: KernelRoutes | undefined,
  ) {
    this.natfwTimer = new DeadlineTimer(
      () => driver.now(),
      () => this.call((now) => node.handleTimeout(now)),
    );
    this.client = new NatfwClient(
      node,
      {
        now: () => driver.now(),
        wake: () => {
          driver.drain();
          this.pump();
        },
      },
      { localAddresses: addresses },
    );
    this.wireEvents();
  }

  static async start(config: NatfwdConfig, log: Logger): Promise<Natfwd> {
    const auth = authorizerFromSettings(config.authorization);
    if (!auth.ok) throw auth.error;
    const hmac = auth.value;
    const addresses = config.node.addresses.length > 0 ? [...config.node.addresses] : localAddresses();
    if (addresses.length === 0) throw new NatfwdError('NATFWD_NO_ADDRESS', 'no local IP address to signal from (set node.addresses)');

    const ipVersions = [...new Set(addresses.map((a) => (a.includes(':') ? 6 : 4) as 4 | 6))];
    // The driver's start-up rehearsal (gist/driver/warmup.ts) before any GIST object exists, so the
    // node's own objects are born with the shapes the optimized code expects (no deopt at the first Query).
    await RealGistDriver.warmUp({ ipVersions });
    const clockNow = performance.now();
    const backend = await openConfiguredBackend(config, clockNow);
    let driver: RealGistDriver | undefined;
    let routes: KernelRoutes | undefined;
    try {
      const g = config.gist;
      routes = await followRoutes(addresses, log);
      const gist = createGistNode({
        addresses,
        interfaceAddressFor: routes?.interfaceAddressFor,
        udpPort: g.dmodePort,
        tcpPort: g.cmodePort,
        qmodePort: g.qmodePort,
        confirmRequired: g.confirmRequired,
        confirmRefreshes: g.confirmRefreshes,
        routingStateValidityMs: g.routingStateValidity * 1000,
        dmodeRateLimit: g.dmodeRateLimit,
        routerAlertFor: () => g.routerAlert,
        randomBytes: pooledRandomBytes,
      });
      // Every NATFW decision goes through the wrapper: wall-clock time for token validity, and a log line per refusal.
      let daemon: Natfwd | undefined;
      const authorizer: SessionAuthorizer = {
        authorize: (_now, req) => {
          const r = hmac.authorize(Date.now(), req);
          if (!r.ok) {
            if (daemon !== undefined) daemon.authorizationRefusals++;
            daemon?.emitEvent({
              event: 'authorization.refused',
              session: toHex(req.sessionId),
              messageType: req.messageType,
              reason: r.reason,
              responseClass: r.responseClass,
              responseCode: r.responseCode,
              responseName: responseName(r.responseClass, r.responseCode),
              message: r.message,
            });
          }
          return r;
        },
      };
      const node = new NatfwNode(gist, {
        addresses,
        middlebox: middleboxFromConfig(config),
        authorizer,
        random: cryptoRandom,
        codec: wireCodec,
        nrMaxLifetime: config.policy.maxLifetime,
      });
      driver = await RealGistDriver.start(gist, {
        bindAddresses: addresses,
        interception: INTERCEPTION[g.interception],
        nfqueueNum: g.nfqueueNum,
        interceptIpVersions: ipVersions,
        allowAnyNamespace: g.interceptAnyNamespace,
        onError: (e) => log.warn({ event: 'driver.error', code: (e as { code?: unknown }).code }, e.message),
      });
      daemon = new Natfwd(config, log, backend, gist, driver, node, addresses, hmac, routes);
      daemon.startExpirySweep();
      return daemon;
    } catch (e) {
      routes?.close();
      await driver?.close();
      backend.close?.();
      // Name the configuration option, not the driver's.
      if (e instanceof Error && e.message.includes('allowAnyNamespace')) {
        throw new NatfwdError('NATFWD_NAMESPACE', e.message.replace('allowAnyNamespace', "'gist.interceptAnyNamespace: true'"));
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- core plumbing

  /** Calls into the NATFW node with the driver's clock, drains GIST, then pumps the node. */
  call<T>(fn: (now: number) => T): T | undefined {
    const r = this.driver.run(fn);
    this.pump();
    return r;
  }

  /** Starts the node's pending enforcement jobs (serially) and re-arms its timer. */
  private pump(): void {
    if (this.stopped) return;
    for (let i = 0; i < 100_000; i++) {
      const job = this.node.pollEnforcement();
      if (job === undefined) break;
      // The chain must survive a failing job, or every later job would be skipped.
      this.jobChain = this.jobChain
        .then(() => this.runJob(job))
        .catch((e: unknown) => this.log.error({ event: 'enforcement.job-error', jobId: job.jobId }, errorBody(e).message));
    }
    this.natfwTimer.set(this.node.nextDeadline());
  }

  private async runJob(job: EnforcementJob): Promise<void> {
    const result = await runEnforcementJob(this.backend, job, this.driver.now());
    if (!result.ok) {
      const owners = job.ops.flatMap((o) => (o.op === 'add' || o.op === 'addBinding' ? [o.spec.owner] : []));
      this.emitEvent({ event: 'enforcement.failed', ...(owners[0] !== undefined ? { session: owners[0] } : {}), code: result.code, message: result.message, ops: job.ops.length });
    }
    this.call((now) => this.node.enforcementDone(now, job.jobId, result));
  }

  private startExpirySweep(): void {
    this.expireTimer = setInterval(() => {
      this.jobChain = this.jobChain.then(async () => {
        if (this.stopped) return;
        try {
          const gone = await this.backend.expire(this.driver.now());
          const ids = [...gone.pinholes.map((p) => p.id), ...gone.bindings.map((b) => b.id)];
          if (ids.length > 0) {
            this.log.debug({ event: 'enforcement.expired', pinholes: ids }, `${ids.length} pinholes expired in the backend`);
            // Normally the core removed them first (pinhole grace); anything still owned lost its state.
            this.call((now) => this.node.enforcementFailure(now, ids));
          }
        } catch (e) {
          this.emitEvent({ event: 'enforcement.failed', code: errorBody(e).code, message: errorBody(e).message, ops: 0 });
        }
      });
    }, this.config.enforcement.expireInterval * 1000);
    this.expireTimer.unref();
  }

  private wireEvents(): void {
    const n = this.node.events;
    const pump = (): void => this.pump();
    // Registered after NatfwNode's own listeners: they run once the node has handled the GIST event.
    this.gist.events.on('recvMessage', pump);
    this.gist.events.on('messageStatus', pump);
    this.gist.events.on('networkNotification', pump);

    n.on('established', (e) => this.emitEvent({ event: 'session.created', session: e.key, role: this.roleOf(e.key) ?? 'NI', lifetime: e.lifetime, ...this.mriOf(e.key) }));
    n.on('refreshed', (e) => this.emitEvent({ event: 'session.refreshed', session: e.key, role: this.roleOf(e.key) ?? 'NI', lifetime: e.lifetime }));
    n.on('failed', (e) =>
      this.emitEvent({
        event: 'session.failed',
        session: e.key,
        role: 'NI',
        responseClass: e.error.responseClass,
        responseCode: e.error.responseCode,
        responseName: e.error.responseName,
        message: e.error.message,
      }),
    );
    n.on('refreshFailed', (e) =>
      this.emitEvent({ event: 'session.terminated', session: e.key, role: 'NI', reason: 'refresh-failed', responseName: e.error.responseName, message: e.error.message }),
    );
    n.on('incoming', (e) => this.emitEvent({ event: 'session.created', session: e.key, role: this.roleOf(e.key) ?? 'NR', lifetime: e.lifetime, mri: e.mri }));
    n.on('installed', (e) => {
      const first = !this.installedOnce.has(e.key);
      this.installedOnce.add(e.key);
      const s = this.node.session(e.key);
      this.emitEvent({
        event: first ? 'session.created' : 'session.refreshed',
        session: e.key,
        role: s?.role ?? 'NF',
        lifetime: s?.lifetime,
        pinholes: e.pinholeIds,
        rule: { ...e.rule, srcPorts: ports(e.rule.srcPorts), dstPorts: ports(e.rule.dstPorts) },
      });
    });
    n.on('reserved', (e) =>
      this.emitEvent({
        event: e.first ? 'session.created' : 'session.refreshed',
        session: e.key,
        role: 'NF',
        kind: 'EXTERNAL',
        lifetime: e.lifetime,
        ...(e.externalIp !== undefined ? { externalAddress: e.externalIp.address, externalPort: e.externalIp.port } : {}),
      }),
    );
    n.on('terminated', (e) => {
      this.installedOnce.delete(e.key);
      const ev = e.reason === 'expired' ? 'session.expired' : e.reason === 'teardown' ? 'session.torn-down' : 'session.terminated';
      this.emitEvent({
        event: ev,
        session: e.key,
        role: e.role,
        reason: e.reason,
        ...(e.info !== undefined ? { responseName: responseName(e.info.responseClass, e.info.responseCode) } : {}),
      });
    });
    n.on('log', (e) => {
      const fields = { event: 'natfw.log', ...(e.key !== undefined ? { session: e.key } : {}) };
      if (e.level === 'warn') this.log.warn(fields, e.msg);
      else if (e.level === 'info') this.log.info(fields, e.msg);
      else this.log.debug(fields, e.msg);
    });
  }

  private roleOf(key: string): string | undefined {
    return this.node.session(key)?.role;
  }

  private mriOf(key: string): { mri?: unknown } {
    const s = this.node.session(key);
    return s === undefined ? {} : { mri: s.mri };
  }

  emitEvent(e: SessionEvent): void {
    this.log.info(e, e.event);
    this.events.emit('event', e);
  }

  // ---------------------------------------------------------------- operations (control socket)

  /** NI: CREATE (s3.7.1); resolves with the granted lifetime or rejects with the path's RESPONSE code. */
  async create(r: CreateRequest): Promise<{ session: string; lifetime: number }> {
    const s = await this.client.create({
      dst: r.dst,
      ...commonOptions(r),
      ...(r.src !== undefined ? { src: r.src } : {}),
      ...(r.dport !== undefined ? { dport: r.dport } : {}),
      ...(r.sport !== undefined ? { sport: r.sport } : {}),
    });
    return { session: sessionIdKey(s.sessionId), lifetime: s.lifetime };
  }

  /**
   * DR: EXTERNAL (s3.7.2) with the loose-end MRM toward `sda`; resolves with the
   * granted lifetime and, behind a NAT, the reserved external address and port
   * (NATFW_EXTERNAL_IP) the data sender is to be told.
   */
  async external(r: ExternalRequest): Promise<{ session: string; lifetime: number; externalAddress?: string; externalPort?: number }> {
    const s = await this.client.external({
      sda: r.sda,
      dport: r.dport,
      ...commonOptions(r),
      ...(r.dsAddress !== undefined ? { dsAddress: r.dsAddress } : {}),
      ...(r.dsPort !== undefined ? { dsPort: r.dsPort } : {}),
    });
    const ext = s.externalIp;
    return { session: sessionIdKey(s.sessionId), lifetime: s.lifetime, ...(ext !== undefined ? { externalAddress: ext.address, externalPort: ext.port } : {}) };
  }

  /** Ends a session: an NI's own (teardown, lifetime 0 along the path) or, on an NF/NR, as the operator (NOTIFY). */
  teardown(session: string): boolean {
    const s = this.node.session(session);
    if (s === undefined) return false;
    if (s.role === 'NI' || s.role === 'NI+') {
      this.client.teardown(session);
      this.emitEvent({ event: 'session.torn-down', session, role: s.role, reason: 'local' });
    } else {
      this.call((now) => this.node.terminate(now, session, 'operator'));
    }
    return true;
  }

  listSessions(): SessionJson[] {
    const now = this.driver.now();
    const pins = new Map(this.backend.list().map((p) => [p.id, p]));
    return this.node.listSessions().map((s: SessionInfo) => ({
      session: s.key,
      role: s.role,
      kind: s.kind,
      state: s.state,
      mri: s.mri,
      lifetime: s.lifetime,
      expiresIn: Math.max(0, Math.round((s.expiresAt - now) / 1000)),
      pinholes: s.pinholeIds.map((id) => {
        const p = pins.get(id);
        return p === undefined ? { id } : pinholeToJson(p);
      }),
    }));
  }

  /** Counters for operators (`natfw stats`): GIST messages and errors, the driver's I/O, sessions by role, pinholes. */
  stats(): Record<string, unknown> {
    const roles: Record<string, number> = {};
    for (const s of this.node.listSessions()) roles[s.role] = (roles[s.role] ?? 0) + 1;
    return {
      node: this.config.node.name,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
      gist: { ...this.gist.stats, routingStates: this.gist.routingStateCount, messagingAssociations: this.gist.maCount },
      driver: { ...this.driver.stats },
      sessions: roles,
      authorizationRefusals: this.authorizationRefusals,
      enforcement: { backend: this.config.enforcement.backend, pinholes: this.backend.list().length },
    };
  }

  /** Reloads the key directory (SIGHUP); the old keys stay on error. */
  reloadKeys(): void {
    const dir = this.config.authorization.keys;
    if (dir === undefined) {
      this.log.info({ event: 'keys.reloaded', keys: 0 }, 'no key directory configured');
      return;
    }
    const r = reloadKeys(this.hmac, dir);
    if (r.ok) this.log.info({ event: 'keys.reloaded', keys: r.value, dir }, `reloaded ${r.value} keys`);
    else this.log.error({ event: 'keys.reload-failed', dir }, r.error.message);
  }

  /**
   * Clean shutdown: sessions this node initiated are torn down along the path;
   * pinholes of NF sessions stay and run out on their kernel timeouts (fail
   * closed, no gap for sessions a restarted natfwd will see refreshed).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const mine = this.node.listSessions().filter((s) => s.role === 'NI' || s.role === 'NI+');
    for (const s of mine) this.teardown(s.key);
    if (mine.length > 0) await new Promise((r) => setTimeout(r, 300)); // let the teardown datagrams leave
    this.stopped = true;
    if (this.expireTimer !== undefined) clearInterval(this.expireTimer);
    this.natfwTimer.close();
    // Running jobs finish (bounded): a half-applied transaction never stays behind.
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.jobChain, new Promise((r) => (t = setTimeout(r, 2000)))]);
    clearTimeout(t);
    this.routes?.close();
    await this.driver.close();
    this.backend.close?.();
  }
}

/**
 * RFC 5971 s5.2.2: with more than one address of an IP version (a NAT's inside and outside, a
 * multihomed host) GIST names the one the kernel routes from towards the next hop, so the node
 * follows the routing table. Without a choice, or when `ip` cannot be read, the first address
 * of the version is named (a warning says so).
 */
async function followRoutes(addresses: readonly string[], log: Logger): Promise<KernelRoutes | undefined> {
  const v6 = addresses.filter((a) => a.includes(':')).length;
  if (v6 < 2 && addresses.length - v6 < 2) return undefined;
  try {
    return await KernelRoutes.start(addresses, { onError: (e) => log.warn({ event: 'routes.error', code: (e as { code?: unknown }).code }, e.message) });
  } catch (e) {
    log.warn({ event: 'routes.error', code: (e as { code?: unknown }).code }, `${e instanceof Error ? e.message : String(e)}; GIST names the first address of each IP version`);
    return undefined;
  }
}

/** The options CREATE and EXTERNAL requests share, as the NATFW client takes them (the token decoded). */
function commonOptions(r: CreateRequest | ExternalRequest): {
  proto: ProtocolSpec;
  subPorts?: number;
  action?: 'allow' | 'deny';
  lifetime?: number;
  token?: SessionAuthObject;
} {
  let token: SessionAuthObject | undefined;
  if (r.token !== undefined) {
    const d = decodeSessionAuth(new Uint8Array(Buffer.from(r.token, 'hex')));
    if (!d.ok) throw new NatfwdError('NATFWD_BAD_TOKEN', `token is not a SESSION_AUTH object: ${d.error.message}`);
    token = d.value;
  }
  return {
    // A name the client does not know is refused there (NATFW_BAD_ARGUMENT), so the cast only narrows the type.
    proto: typeof r.proto === 'number' ? r.proto : (r.proto.toLowerCase() as ProtocolSpec),
    ...(r.subPorts !== undefined ? { subPorts: r.subPorts } : {}),
    ...(r.action !== undefined ? { action: r.action } : {}),
    ...(r.lifetime !== undefined ? { lifetime: r.lifetime } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}
