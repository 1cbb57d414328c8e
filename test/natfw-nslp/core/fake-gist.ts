/**
 * A small stand-in for GIST (gist/api.ts) for unit tests of the NATFW core:
 * nodes on paths the test gives (`route(src, dst)` = host names in order),
 * a Query-like discovery for the first message of a (SID, MRI), stored peers
 * afterwards, explicit routing by SII handle, and deliveries queued on a
 * virtual time line. It is not GIST; tests over the real GIST core use
 * sim/vnet (harness.ts).
 */
import EventEmitter from 'eventemitter3';
import type {
  GistService,
  GistServiceEvents,
  InvalidateRoutingStateRequest,
  RecvMessageEvent,
  SendMessageRequest,
} from '../../../gist/api';
import { invertDirection, mriKey, sessionIdKey, type Mri, type NslpId, type SessionId } from '../../../gist/types';

interface Peer {
  up?: number;
  down?: number;
}

export class FakeGist implements GistService {
  readonly events = new EventEmitter<GistServiceEvents>();
  readonly nslps = new Set<number>();
  /** (sid|mriKey of the downstream MRI) -> peers */
  readonly state = new Map<string, Peer>();
  lifetimes = new Map<string, number>();

  constructor(
    readonly net: FakeGistNet,
    readonly id: number,
    readonly name: string,
    readonly addresses: string[],
  ) {}

  sendMessage(now: number, req: SendMessageRequest): void {
    this.net.send(now, this, req);
  }

  setStateLifetime(now: number, nslpId: NslpId, mri: Mri, sessionId: SessionId | undefined, lifetimeMs: number): void {
    if (sessionId === undefined) return;
    const k = stateKey(sessionId, mri);
    if (lifetimeMs === 0) {
      this.state.delete(k);
      this.lifetimes.delete(k);
    } else this.lifetimes.set(k, now + lifetimeMs);
  }

  invalidateRoutingState(now: number, req: InvalidateRoutingStateRequest): void {
    for (const k of [...this.state.keys()]) if (k.endsWith(mriKey(downstreamOf(req.mri)))) this.state.delete(k);
  }

  registerNslp(nslpId: NslpId): void {
    this.nslps.add(nslpId);
  }
}

function downstreamOf(m: Mri): Mri {
  if (m.mrm === 'loose-end') return m.direction === 'towards-edge' ? m : invertDirection(m);
  return m.direction === 'downstream' ? m : invertDirection(m);
}

function stateKey(sid: SessionId, mri: Mri): string {
  return `${sessionIdKey(sid)}|${mriKey(downstreamOf(mri))}`;
}

function isDownstream(m: Mri): boolean {
  return m.mrm === 'loose-end' ? m.direction === 'towards-edge' : m.direction === 'downstream';
}

interface Pending {
  at: number;
  seq: number;
  run: () => void;
}

export class FakeGistNet {
  readonly nodes: FakeGist[] = [];
  now = 0;
  delayMs = 1;
  /** Host names from the flow source's host to the destination's host. */
  route: (src: string, dst: string) => string[] = () => [];
  private queue: Pending[] = [];
  private head = 0;
  private seq = 0;
  /** Drop a delivery when this returns true. */
  drop: (from: string, to: string, req: SendMessageRequest) => boolean = () => false;
  delivered = 0;

  add(name: string, addresses: string[]): FakeGist {
    const g = new FakeGist(this, this.nodes.length + 1, name, addresses);
    this.nodes.push(g);
    return g;
  }

  byName(name: string): FakeGist | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  private byId(id: number): FakeGist | undefined {
    return this.nodes[id - 1];
  }

  private later(fn: () => void): void {
    this.queue.push({ at: this.now + this.delayMs, seq: this.seq++, run: fn });
  }

  /** Time of the next queued delivery (FIFO: every delivery takes the same delay, time never goes back). */
  nextAt(): number | undefined {
    return this.head < this.queue.length ? this.queue[this.head].at : undefined;
  }

  /** Runs the earliest queued delivery. */
  step(): boolean {
    if (this.head >= this.queue.length) return false;
    const p = this.queue[this.head++];
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.now = Math.max(this.now, p.at);
    p.run();
    return true;
  }

  get idle(): boolean {
    return this.head >= this.queue.length;
  }

  send(now: number, from: FakeGist, req: SendMessageRequest): void {
    this.now = Math.max(this.now, now);
    const key = stateKey(req.sessionId, req.mri);
    const peers = from.state.get(key);
    if (req.siiHandle !== undefined) {
      const to = this.byId(req.siiHandle);
      if (to !== undefined) this.deliver(from, to, req, false);
      return;
    }
    if (!isDownstream(req.mri)) {
      const to = peers?.up !== undefined ? this.byId(peers.up) : undefined;
      if (to !== undefined) this.deliver(from, to, req, false);
      return;
    }
    const path = this.pathFor(req.mri);
    const idx = path.indexOf(from.name);
    const ahead = idx >= 0 ? path.slice(idx + 1) : path;
    if (peers?.down !== undefined) {
      const to = this.byId(peers.down);
      if (to !== undefined && ahead.includes(to.name)) {
        this.deliver(from, to, req, false);
        return;
      }
      // The stored peer is no longer on the path: GIST would notice on its next refresh Query.
      from.events.emit('networkNotification', {
        now: this.now,
        nslpId: req.nslpId,
        mri: req.mri,
        sessionId: req.sessionId,
        notification: { kind: 'routing-status-change', status: 'bad', previousSiiHandle: peers.down },
      });
    }
    this.later(() => this.discover(from, ahead, req));
  }

  private pathFor(mri: Mri): string[] {
    if (mri.mrm === 'loose-end') return this.route(mri.sourceAddress, mri.destinationAddress);
    return this.route(mri.sourceAddress, mri.destinationAddress);
  }

  /** Query-like: offer the message to each NSLP-running node ahead until one peers. */
  private discover(from: FakeGist, ahead: string[], req: SendMessageRequest): void {
    for (const name of ahead) {
      const to = this.byName(name);
      if (to === undefined || !to.nslps.has(req.nslpId)) continue;
      if (this.drop(from.name, to.name, req)) return;
      const ev = this.recvEvent(from, to, req, true);
      to.events.emit('recvMessage', ev);
      const accept = ev.peering?.accept ?? true;
      if (accept) {
        const key = stateKey(req.sessionId, req.mri);
        from.state.set(key, { ...from.state.get(key), down: to.id });
        to.state.set(key, { ...to.state.get(key), up: from.id });
        this.delivered++;
        return;
      }
    }
    if (req.nslpMessageHandle !== undefined) {
      from.events.emit('messageStatus', { now: this.now, nslpMessageHandle: req.nslpMessageHandle, transfer: { reliable: false }, error: 'no-next-node' });
    }
  }

  private recvEvent(from: FakeGist, to: FakeGist, req: SendMessageRequest, check: boolean): RecvMessageEvent {
    return {
      now: this.now,
      nslpData: req.nslpData,
      nslpId: req.nslpId,
      sessionId: req.sessionId,
      mri: req.mri,
      routingStateCheck: check,
      siiHandle: from.id,
      transfer: { reliable: false },
      ipDistance: 1,
      gistHopCount: 16,
    };
  }

  private deliver(from: FakeGist, to: FakeGist, req: SendMessageRequest, check: boolean): void {
    this.later(() => {
      if (this.drop(from.name, to.name, req)) return;
      this.delivered++;
      // An explicitly routed/known-peer message sets peer state in the receiver too.
      const key = stateKey(req.sessionId, req.mri);
      const st = to.state.get(key) ?? {};
      if (isDownstream(req.mri)) st.up = from.id;
      else st.down = from.id;
      to.state.set(key, st);
      to.events.emit('recvMessage', this.recvEvent(from, to, req, check));
    });
  }
}
