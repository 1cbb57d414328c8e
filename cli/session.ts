/**
 * `natfw create|external|teardown|list|stats|events`: the end-host verbs, talking to a
 * running natfwd over its control socket (daemon/control-protocol.ts).
 * Refusals by the path are reported with their RFC 5973 s4.2.5 class/code and
 * name, exit 1; bad arguments exit 2.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { isIP } from 'node:net';
import { connect, type Socket } from 'node:net';
import { DEFAULT_CONTROL_SOCKET } from '../daemon/config';
import type { ControlErrorBody, SessionJson } from '../daemon/control-protocol';
import { action, CliFailure, CliUsageError, intArg } from './common';
import { parseProto, readTokenFile } from './token';
import { toHex } from '../common/bytes';

const socketOption = (): Option =>
  new Option('--socket <path>', 'natfwd control socket').default(process.env.NATFWD_SOCKET ?? DEFAULT_CONTROL_SOCKET, process.env.NATFWD_SOCKET !== undefined ? '$NATFWD_SOCKET' : undefined);

/** One connection to natfwd: JSON lines, answers matched by id. */
export class ControlClient {
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (v: Record<string, unknown>) => void>();
  onEvent: ((e: Record<string, unknown>) => void) | undefined;
  onClose: (() => void) | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.buf += chunk;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof v !== 'object' || v === null) continue;
        const o = v as Record<string, unknown>;
        if (typeof o.event === 'string') {
          this.onEvent?.(o);
          continue;
        }
        const w = typeof o.id === 'number' ? this.waiting.get(o.id) : undefined;
        if (w !== undefined) {
          this.waiting.delete(o.id as number);
          w(o);
        }
      }
    });
    sock.on('close', () => {
      for (const w of this.waiting.values()) w({ ok: false, error: { code: 'NATFWD_CLOSED', message: 'natfwd closed the connection' } });
      this.waiting.clear();
      this.onClose?.();
    });
  }

  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => {
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        resolve(new ControlClient(s));
      });
      s.once('error', (e: NodeJS.ErrnoException) => reject(new CliFailure(`cannot reach natfwd at ${path} (${e.code ?? e.message}): is it running?`, 'NATFWD_UNREACHABLE')));
    });
  }

  /** Sends a request; resolves with the answer's body or throws the daemon's error as one line. */
  request(op: string, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new CliFailure(`natfwd did not answer '${op}' within ${timeoutMs / 1000} s`, 'NATFWD_TIMEOUT'));
      }, timeoutMs);
      this.waiting.set(id, (v) => {
        clearTimeout(t);
        if (v.ok === true) resolve(v);
        else reject(refusal(op, v.error as ControlErrorBody | undefined));
      });
      this.sock.write(JSON.stringify({ id, op, ...body }) + '\n');
    });
  }

  close(): void {
    this.sock.end();
  }
}

/** A request the path refused with an RFC 5973 s4.2.5 RESPONSE: programs read its class and code. */
export class ControlRefusal extends CliFailure {
  constructor(
    message: string,
    code: string,
    readonly responseClass: number,
    readonly responseCode: number,
  ) {
    super(message, code);
  }
}

function refusal(op: string, e: ControlErrorBody | undefined): CliFailure {
  if (e === undefined) return new CliFailure(`${op} failed: no reason given`);
  if (e.responseClass !== undefined && e.responseCode !== undefined) {
    const code = `${e.responseClass}/0x${e.responseCode.toString(16).padStart(2, '0')}`;
    return new ControlRefusal(`${op} refused: ${e.responseName ?? 'RESPONSE'} (${code}): ${e.message}`, e.code, e.responseClass, e.responseCode);
  }
  return new CliFailure(`${op} failed: ${e.message}`, e.code);
}

async function withClient<T>(path: string, fn: (c: ControlClient) => Promise<T>): Promise<T> {
  const c = await ControlClient.connect(path);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

interface CreateOpts {
  dst?: string;
  src?: string;
  proto?: string;
  dport?: number;
  sport?: number;
  subPorts?: number;
  action?: 'allow' | 'deny';
  lifetime?: number;
  token?: string;
  socket: string;
  json?: boolean;
}

/** The control request of `natfw create`, from its options (exported for tests). */
export function createRequest(o: CreateOpts): Record<string, unknown> {
  if (o.dst === undefined) throw new CliUsageError('--dst is required');
  if (isIP(o.dst) === 0) throw new CliUsageError(`--dst: '${o.dst}' is not an IP address`);
  if (o.src !== undefined && isIP(o.src) === 0) throw new CliUsageError(`--src: '${o.src}' is not an IP address`);
  if (o.src !== undefined && isIP(o.src) !== isIP(o.dst)) throw new CliUsageError('--src and --dst must be of the same address family');
  const { proto, req } = commonRequest(o);
  const hasPorts = proto === 6 || proto === 17 || proto === 33 || proto === 132;
  if (!hasPorts && (o.dport !== undefined || o.sport !== undefined)) throw new CliUsageError(`--dport/--sport: protocol ${o.proto} has no ports`);
  req.dst = o.dst;
  if (o.src !== undefined) req.src = o.src;
  if (o.dport !== undefined) req.dport = o.dport;
  if (o.sport !== undefined) req.sport = o.sport;
  return req;
}

/** What CREATE and EXTERNAL requests share: --proto (required), --sub-ports, --action, --lifetime, --token. */
function commonRequest(o: Pick<CreateOpts, 'proto' | 'subPorts' | 'action' | 'lifetime' | 'token'>): { proto: number; req: Record<string, unknown> } {
  if (o.proto === undefined) throw new CliUsageError('--proto is required');
  const proto = parseProto('--proto', o.proto);
  const req: Record<string, unknown> = { proto };
  if (o.subPorts !== undefined) req.subPorts = o.subPorts;
  if (o.action !== undefined) req.action = o.action;
  if (o.lifetime !== undefined) req.lifetime = o.lifetime;
  if (o.token !== undefined) req.token = toHex(readTokenFile(o.token).raw);
  return { proto, req };
}

interface ExternalOpts extends Pick<CreateOpts, 'proto' | 'subPorts' | 'action' | 'lifetime' | 'token' | 'socket' | 'json'> {
  sda?: string;
  dport?: number;
  ds?: string;
  dsPort?: number;
}

/** The control request of `natfw external`, from its options (exported for tests). */
export function externalRequest(o: ExternalOpts): Record<string, unknown> {
  if (o.sda === undefined) throw new CliUsageError('--sda is required');
  if (isIP(o.sda) === 0) throw new CliUsageError(`--sda: '${o.sda}' is not an IP address`);
  if (o.ds !== undefined && isIP(o.ds) !== isIP(o.sda)) throw new CliUsageError(`--ds: '${o.ds}' is not an IP address of the same family as --sda`);
  if (o.dport === undefined) throw new CliUsageError('--dport is required (the port this host receives on)');
  const { proto, req } = commonRequest(o);
  if (proto !== 6 && proto !== 17 && proto !== 33 && proto !== 132) throw new CliUsageError(`--proto: protocol ${o.proto} has no ports, and EXTERNAL reserves a port`);
  req.sda = o.sda;
  req.dport = o.dport;
  if (o.ds !== undefined) req.dsAddress = o.ds;
  if (o.dsPort !== undefined) req.dsPort = o.dsPort;
  return req;
}

function fmtMri(m: unknown): string {
  if (typeof m !== 'object' || m === null) return '?';
  const r = m as Record<string, unknown>;
  if (r.mrm === 'loose-end') return `loose-end ${String(r.sourceAddress)} -> ${String(r.destinationAddress)}`;
  const port = (p: unknown): string => (p === undefined || p === 0 ? '*' : String(p));
  return `proto ${String(r.protocol ?? 'any')} ${String(r.sourceAddress)}/${String(r.sourcePrefix)}:${port(r.sourcePort)} -> ${String(r.destinationAddress)}/${String(r.destinationPrefix)}:${port(r.destinationPort)}`;
}

export function describeSession(s: SessionJson): string {
  const pins = s.pinholes.length === 0 ? '-' : s.pinholes.map((p) => ('dst' in p ? `${p.id}(${p.action} ${p.src}:${p.srcPorts} -> ${p.dst}:${p.dstPorts})` : p.id)).join(',');
  return `${s.session} ${s.role} ${s.state} ${fmtMri(s.mri)} lifetime ${s.lifetime}s expires in ${s.expiresIn}s pinholes ${pins}`;
}

function describeEvent(e: Record<string, unknown>): string {
  const skip = new Set(['event', 'time', 'session', 'role']);
  const rest = Object.entries(e)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return [e.time ?? '', e.event, e.session ?? '-', e.role ?? '-', ...rest].join(' ');
}

const out = (s: string): void => void process.stdout.write(s + '\n');

/** `a.b.c value` lines of a nested object, for people. */
function flatten(o: Record<string, unknown>, prefix = ''): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) lines.push(...flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else lines.push(`${prefix}${k} ${String(v)}`);
  }
  return lines;
}

export function register(program: Command): void {
  program
    .command('create')
    .description('ask natfwd to open a pinhole along the path to --dst (NATFW CREATE, RFC 5973 s3.7.1); prints the session id and the granted lifetime')
    .option('--dst <ip>', 'data receiver address')
    .option('--src <ip>', 'data sender address (default: this host)')
    .option('--proto <p>', 'udp, tcp, sctp, dccp, icmp or 0-255')
    .option('--dport <port>', 'destination port (0: any)', intArg('--dport', 0, 65535))
    .option('--sport <port>', 'source port (0: any)', intArg('--sport', 0, 65535))
    .option('--sub-ports <n>', '1 also opens dport + 1 (RTP/RTCP)', intArg('--sub-ports', 0, 1))
    .addOption(new Option('--action <a>', 'allow or deny').choices(['allow', 'deny']))
    .option('--lifetime <s>', 'requested lifetime in seconds (the path may lower it)', intArg('--lifetime', 1, 0xffffffff))
    .option('--token <file>', 'SESSION_AUTH token file (natfw token issue)')
    .addOption(socketOption())
    .option('--json', 'one JSON object on stdout')
    .action(
      action(async (o: CreateOpts) => {
        const req = createRequest(o);
        const r = await withClient(o.socket, (c) => c.request('create', req, 60_000));
        if (o.json === true) out(JSON.stringify({ session: r.session, lifetime: r.lifetime }));
        else out(`session ${String(r.session)} lifetime ${String(r.lifetime)}s`);
      }),
    );

  program
    .command('external')
    .description(
      'ask natfwd to reserve an external address and port at the edge NAT/firewall for this host to receive on (NATFW EXTERNAL, RFC 5973 s3.7.2); prints the session id, the granted lifetime and the external address:port to give the data sender',
    )
    .option('--sda <ip>', 'signalling destination: an address beyond the edge, e.g. the data sender')
    .option('--proto <p>', 'udp, tcp, sctp or dccp')
    .option('--dport <port>', 'the port this host receives on', intArg('--dport', 0, 65535))
    .option('--ds <ip>', 'data sender address, when known (default: any)')
    .option('--ds-port <port>', 'data sender port, when known (default: any)', intArg('--ds-port', 0, 65535))
    .option('--sub-ports <n>', '1 also reserves dport + 1 (RTP/RTCP)', intArg('--sub-ports', 0, 1))
    .addOption(new Option('--action <a>', 'allow or deny').choices(['allow', 'deny']))
    .option('--lifetime <s>', 'requested lifetime in seconds (the edge may lower it)', intArg('--lifetime', 1, 0xffffffff))
    .option('--token <file>', 'SESSION_AUTH token file (natfw token issue)')
    .addOption(socketOption())
    .option('--json', 'one JSON object on stdout')
    .action(
      action(async (o: ExternalOpts) => {
        const req = externalRequest(o);
        const r = await withClient(o.socket, (c) => c.request('external', req, 60_000));
        const ext = r.externalAddress !== undefined ? { externalAddress: r.externalAddress, externalPort: r.externalPort } : {};
        if (o.json === true) out(JSON.stringify({ session: r.session, lifetime: r.lifetime, ...ext }));
        else out(`session ${String(r.session)} lifetime ${String(r.lifetime)}s${r.externalAddress !== undefined ? ` external ${String(r.externalAddress)}:${String(r.externalPort)}` : ' (no NAT on the way: receive on the own address)'}`);
      }),
    );

  program
    .command('teardown')
    .description('end a session (lifetime 0 along the path, RFC 5973 s3.7.4)')
    .argument('<session-id>', 'Session ID (32 hex digits) as natfw create/list print it')
    .addOption(socketOption())
    .action(
      action(async (sid: string, o: { socket: string }) => {
        if (!/^[0-9a-fA-F]{32}$/.test(sid)) throw new CliUsageError(`<session-id>: '${sid}' is not 32 hex digits`);
        await withClient(o.socket, (c) => c.request('teardown', { session: sid.toLowerCase() }));
      }),
    );

  program
    .command('list')
    .description("natfwd's sessions: role, state, MRI, lifetime, pinholes")
    .addOption(socketOption())
    .option('--json', 'one JSON object per session')
    .action(
      action(async (o: { socket: string; json?: boolean }) => {
        const r = await withClient(o.socket, (c) => c.request('list'));
        const sessions = (r.sessions as SessionJson[] | undefined) ?? [];
        for (const s of sessions) out(o.json === true ? JSON.stringify(s) : describeSession(s));
      }),
    );

  program
    .command('stats')
    .description("natfwd's counters: GIST messages and errors by kind, the driver's I/O, sessions by role, SESSION_AUTH refusals, pinholes")
    .addOption(socketOption())
    .option('--json', 'one JSON object')
    .action(
      action(async (o: { socket: string; json?: boolean }) => {
        const { id: _id, ok: _ok, ...r } = await withClient(o.socket, (c) => c.request('stats'));
        if (o.json === true) out(JSON.stringify(r));
        else for (const line of flatten(r)) out(line);
      }),
    );

  program
    .command('events')
    .description("stream natfwd's session events until interrupted")
    .addOption(socketOption())
    .option('--json', 'one JSON object per event')
    .action(
      action(async (o: { socket: string; json?: boolean }) => {
        const c = await ControlClient.connect(o.socket);
        c.onEvent = (e) => out(o.json === true ? JSON.stringify(e) : describeEvent(e));
        const closed = new Promise<void>((resolve) => (c.onClose = resolve));
        await c.request('events');
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (c.close(), process.exit(0)));
        await closed;
        throw new CliFailure('natfwd closed the connection');
      }),
    );
}
