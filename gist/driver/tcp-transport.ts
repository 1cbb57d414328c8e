/**
 * C-mode over TCP (RFC 5971 s5.4, s5.7.2 Forwards-TCP): a listening socket
 * for messaging associations peers open to this node, and outgoing
 * connections this node opens. GIST's framing (messages back to back, cut by
 * the common header's Message Length) is the core's job: this layer carries
 * bytes in order, chunked as TCP delivers them.
 *
 * Connections are numbered by the caller (the core numbers them: the id of an
 * outbound one comes with its `tcp-connect`, an inbound one gets its id from
 * the `accepted` callback).
 *
 * Nagle is off: trigger messages must not wait for bundling (s5.4, type 1
 * bundling MUST NOT be used for them). Messages written in the same tick still
 * go out in one write (corked until the next tick), the always-allowed second
 * kind of bundling. Ports are configurable so several nodes can share a host.
 */
import net from 'node:net';
import { err, ok, type Result } from '../../common/result';
import { DriverError, privilegeHint } from './errors';
import { canonicalAddress, ipVersionOf } from './ip-address';
import type { UdpEndpoint } from './udp-socket';

export type ConnectionId = number;

export interface TcpTransportOptions {
  /** Addresses to listen on (one per family, e.g. ['0.0.0.0', '::']); none = outbound only. */
  readonly listenAddresses: readonly string[];
  /** 0 = ephemeral; every address gets the same port. */
  readonly port: number;
  /** Per connection: unsent bytes beyond this make send() fail (the peer is not reading). Default 16 MiB. */
  readonly maxWriteBufferBytes?: number;
  /** How long a connect() may take. Default 10 s. */
  readonly connectTimeoutMs?: number;
}

export interface TcpTransportEvents {
  /** An inbound connection was accepted; return the id to use for it. */
  accepted(local: UdpEndpoint, remote: UdpEndpoint): ConnectionId;
  /** An outbound connection from connect() is up. */
  opened(id: ConnectionId): void;
  data(id: ConnectionId, bytes: Uint8Array): void;
  /** After a connection ended for any reason; `error` when it failed (refused, reset, timed out). Not reported for close(). */
  closed(id: ConnectionId, error?: DriverError): void;
}

interface Conn {
  readonly id: ConnectionId;
  readonly sock: net.Socket;
  up: boolean;
  corked: boolean;
  done: boolean;
  /** Closed by us: do not report. */
  quiet: boolean;
}

function endpoint(address: string | undefined, port: number | undefined): UdpEndpoint {
  const a = address ?? '';
  return { address: canonicalAddress(a) ?? a, port: port ?? 0 };
}

export class GistTcpTransport {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Map<ConnectionId, Conn>();
  private closing = false;
  private readonly maxWrite: number;
  private readonly connectTimeout: number;
  port = 0;

  private constructor(
    private readonly events: TcpTransportEvents,
    opts: TcpTransportOptions,
  ) {
    this.maxWrite = opts.maxWriteBufferBytes ?? 16 * 1024 * 1024;
    this.connectTimeout = opts.connectTimeoutMs ?? 10_000;
  }

  static async open(events: TcpTransportEvents, opts: TcpTransportOptions): Promise<GistTcpTransport> {
    const t = new GistTcpTransport(events, opts);
    let port = opts.port;
    try {
      for (const address of opts.listenAddresses) {
        if (ipVersionOf(address) === undefined) throw new DriverError('DRIVER_BAD_ADDRESS', `not an IP address literal: '${address}'`);
        const server = net.createServer({ noDelay: true }, (s) => t.adopt(s));
        await new Promise<void>((resolve, reject) => {
          server.once('error', (e: NodeJS.ErrnoException) => {
            const priv = e.code === 'EACCES' || e.code === 'EPERM';
            reject(new DriverError(priv ? 'DRIVER_NEEDS_PRIVILEGE' : 'DRIVER_SOCKET', `TCP listen on ${address} port ${port} failed: ${e.message}${privilegeHint(priv ? 13 : undefined)}`));
          });
          server.listen({ host: address, port, ipv6Only: ipVersionOf(address) === 6 }, () => resolve());
        });
        server.on('error', () => undefined);
        const a = server.address();
        if (a !== null && typeof a === 'object') port = a.port;
        t.servers.push(server);
      }
    } catch (e) {
      await t.close();
      throw e;
    }
    t.port = port;
    return t;
  }

  /** Opens connection `id`; `opened` or `closed` (with an error) follows. */
  connect(id: ConnectionId, address: string, port: number, localAddress?: string): void {
    const sock = new net.Socket();
    const c = this.track(id, sock);
    if (this.closing) {
      queueMicrotask(() => this.finish(c, new DriverError('DRIVER_CLOSED', 'TCP transport closed')));
      return;
    }
    sock.setTimeout(this.connectTimeout, () => {
      if (!c.up) sock.destroy(new Error(`connect to ${address} port ${port} timed out`));
    });
    sock.connect({ host: address, port, localAddress, noDelay: true }, () => {
      sock.setTimeout(0);
      c.up = true;
      this.events.opened(id);
    });
  }

  private adopt(sock: net.Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    let id: ConnectionId;
    try {
      id = this.events.accepted(endpoint(sock.localAddress, sock.localPort), endpoint(sock.remoteAddress, sock.remotePort));
    } catch {
      sock.destroy();
      return;
    }
    const c = this.track(id, sock);
    c.up = true;
  }

  private track(id: ConnectionId, sock: net.Socket): Conn {
    const old = this.conns.get(id);
    if (old !== undefined) this.abort(old);
    const c: Conn = { id, sock, up: false, corked: false, done: false, quiet: false };
    this.conns.set(id, c);
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      if (!c.done && !c.quiet) this.events.data(id, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    sock.on('error', (e) => this.finish(c, new DriverError('DRIVER_SOCKET', `TCP connection ${id}: ${e.message}`)));
    sock.on('close', () => this.finish(c));
    return c;
  }

  private finish(c: Conn, error?: DriverError): void {
    if (c.done) return;
    c.done = true;
    if (this.conns.get(c.id) === c) this.conns.delete(c.id);
    if (!c.sock.destroyed) c.sock.destroy();
    if (!c.quiet) this.events.closed(c.id, error);
  }

  private abort(c: Conn): void {
    c.quiet = true;
    this.finish(c);
  }

  /** Writes bytes on a connection (in order with earlier writes). */
  send(id: ConnectionId, bytes: Uint8Array): Result<void, DriverError> {
    const c = this.conns.get(id);
    if (c === undefined || c.done) return err(new DriverError('DRIVER_CLOSED', `no TCP connection ${id}`));
    if (c.sock.writableLength > this.maxWrite) return err(new DriverError('DRIVER_SEND', `TCP connection ${id}: peer is not reading (write buffer full)`));
    if (!c.corked) {
      c.corked = true;
      c.sock.cork();
      process.nextTick(() => {
        c.corked = false;
        c.sock.uncork();
      });
    }
    // Before the connection is up, net.Socket buffers the write until connect completes.
    c.sock.write(bytes);
    return ok(undefined);
  }

  /** Closes a connection: gracefully (FIN after queued data) or, with abort, at once (RST). Not reported back. */
  closeConnection(id: ConnectionId, abort = false): void {
    const c = this.conns.get(id);
    if (c === undefined) return;
    c.quiet = true;
    this.conns.delete(id);
    if (abort) {
      c.sock.resetAndDestroy();
      c.done = true;
      return;
    }
    c.sock.end();
    // A peer that never answers the FIN must not keep the socket forever.
    setTimeout(() => this.finish(c), 2000).unref();
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Stops listening and destroys every connection (not reported back). */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of [...this.conns.values()]) this.abort(c);
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}
