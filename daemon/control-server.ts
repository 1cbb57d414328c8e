/**
 * The control socket of natfwd (protocol: daemon/control-protocol.ts). A unix
 * stream socket; a stale socket file of a dead daemon is replaced, a live one
 * is refused (two daemons would fight over the same pinholes).
 */
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { MAX_REQUEST_BYTES, parseRequest, type ControlRequest } from './control-protocol';
import { errorBody, NatfwdError, type Natfwd, type SessionEvent } from './natfwd';

/** Whether something answers on the socket path (a running daemon). */
function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => (s.destroy(), resolve(true)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}

/** Octets queued to one client before it is considered stalled and dropped. */
const MAX_PENDING_OUTPUT = 4 * 1024 * 1024;

export class ControlServer {
  private readonly conns = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(daemon: Natfwd, path: string, mode: number): Promise<ControlServer> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (await inUse(path)) throw new NatfwdError('NATFWD_SOCKET_IN_USE', `${path}: another natfwd answers on this control socket`);
    try {
      unlinkSync(path);
    } catch {
      /* not there */
    }
    const server = createServer();
    const cs = new ControlServer(server, path);
    server.on('connection', (sock) => cs.serve(daemon, sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => daemon.log.error({ event: 'control.error' }, e.message));
    chmodSync(path, mode);
    return cs;
  }

  private serve(daemon: Natfwd, sock: Socket): void {
    this.conns.add(sock);
    let buf = '';
    let unsubscribe: (() => void) | undefined;
    const send = (o: unknown): void => {
      if (sock.destroyed) return;
      // A client that does not read (e.g. a stalled `natfw events`) is dropped, not buffered without bound.
      if (sock.writableLength > MAX_PENDING_OUTPUT) {
        sock.destroy();
        return;
      }
      sock.write(JSON.stringify(o) + '\n');
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES && !buf.includes('\n')) {
        send({ id: null, ok: false, error: { code: 'NATFWD_BAD_REQUEST', message: `request longer than ${MAX_REQUEST_BYTES} octets` } });
        sock.destroy();
        return;
      }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          send({ id: null, ok: false, error: { code: 'NATFWD_BAD_REQUEST', message: 'not a JSON line' } });
          continue;
        }
        const id = typeof v === 'object' && v !== null && 'id' in v ? (v as { id: unknown }).id : null;
        const r = parseRequest(v);
        if (!r.ok) {
          send({ id, ok: false, error: { code: 'NATFWD_BAD_REQUEST', message: r.error } });
          continue;
        }
        if (r.value.op === 'events') {
          if (unsubscribe === undefined) {
            const l = (e: SessionEvent): void => send({ time: new Date().toISOString(), ...e });
            daemon.events.on('event', l);
            unsubscribe = () => daemon.events.off('event', l);
          }
          send({ id, ok: true });
          continue;
        }
        this.handle(daemon, r.value).then(
          (body) => send({ id, ok: true, ...body }),
          (e: unknown) => send({ id, ok: false, error: errorBody(e) }),
        );
      }
    });
    const gone = (): void => {
      unsubscribe?.();
      this.conns.delete(sock);
    };
    sock.on('close', gone);
    sock.on('error', gone);
  }

  private async handle(daemon: Natfwd, req: Exclude<ControlRequest, { op: 'events' }>): Promise<Record<string, unknown>> {
    switch (req.op) {
      case 'ping':
        return { node: daemon.config.node.name, role: daemon.config.node.role, pid: process.pid, addresses: daemon.addresses };
      case 'create':
        return { ...(await daemon.create(req)) };
      case 'external':
        return { ...(await daemon.external(req)) };
      case 'teardown':
        if (!daemon.teardown(req.session)) throw new NatfwdError('NATFWD_NO_SESSION', `no session ${req.session}`);
        return {};
      case 'list':
        return { sessions: daemon.listSessions() };
      case 'stats':
        return daemon.stats();
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
