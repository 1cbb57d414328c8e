/**
 * A testbed of real natfwd daemons in the network namespaces of a NetnsLab:
 * each node runs `dist/bin/natfwd.js` under `ip netns exec` with its own
 * configuration file and control socket; the testbed starts them, waits until
 * each answers on its control socket, drives them through the `natfw` CLI,
 * reads the pinholes a node's kernel holds, sends and counts UDP probes, and
 * on `stop()` ends every process it started (by PID) and removes the lab and
 * its files. Tests build their topology with NetnsLab and hand it over.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ControlClient } from '../cli/session';
import type { NetnsLab } from './netns';

/** The built tree: this file runs from `testbed/` under ts-jest and from `dist/testbed/` in benchmarks. */
const DIST = basename(resolve(__dirname, '..')) === 'dist' ? resolve(__dirname, '..') : resolve(__dirname, '../dist');
/** The built entry points (tests run after `npm run build`). */
export const NATFWD = join(DIST, 'bin/natfwd.js');
export const NATFW = join(DIST, 'bin/natfw.js');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 100 ms until it holds or `ms` pass; the last answer is returned. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

export interface Daemon {
  readonly node: string;
  readonly proc: ChildProcess;
  /** Control socket (on the host's file system, reachable from outside the namespace). */
  readonly socket: string;
  /** stdout lines so far: one JSON log event per line. */
  readonly log: string[];
  /** The file those lines go to. */
  readonly logFile: string;
}

/**
 * A daemon's stdout and stderr go to files, not pipes: a test blocked in a
 * synchronous call (spawnSync, execFileSync) does not read pipes, and a daemon
 * whose pipe fills blocks in its next log write, so a burst of log lines would
 * freeze it until the test next yields.
 */
class FileLoggedDaemon implements Daemon {
  constructor(
    readonly node: string,
    readonly proc: ChildProcess,
    readonly socket: string,
    readonly logFile: string,
    readonly stderrFile: string,
  ) {}

  get log(): string[] {
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  }
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A pinhole as `natfw pinhole list --json` prints it from the kernel. */
export interface KernelPinhole {
  type: 'pinhole';
  src: string;
  dst: string;
  dstPorts: { from: number; to: number } | null;
  owner: string;
  action: string;
}

/** A NAT binding as `natfw pinhole list --json` prints it: "address:port" on each side. */
export interface KernelBinding {
  type: 'nat-binding';
  external: string;
  internal: string;
  owner: string;
}

/** A receiver in a namespace; `received` holds `<proto> <port> <text>` per datagram or TCP line. */
export interface ProbeSink {
  readonly proc: ChildProcess;
  readonly received: string[];
}

export type ProbeProto = 'udp' | 'tcp';

/** UDP sockets and TCP listeners on `address`; prints `<proto> <port> <text>` per datagram or line (the TCP side closes first, so no TIME_WAIT blocks the next probe from the same port). */
const SINK_SCRIPT = `const dgram=require('dgram'),net=require('net');const [addr,list]=process.argv.slice(1);const ps=JSON.parse(list);let n=0;
const bound=()=>{if(++n===ps.length)process.stdout.write('bound\\n')};
for(const [proto,port] of ps){if(proto==='udp'){const s=dgram.createSocket(addr.includes(':')?'udp6':'udp4');s.on('message',(m)=>process.stdout.write('udp '+port+' '+m+'\\n'));s.bind(port,addr,bound)}
else{net.createServer((c)=>{c.setEncoding('utf8');c.on('error',()=>{});c.on('data',(d)=>{process.stdout.write('tcp '+port+' '+d.trim()+'\\n');c.end()})}).listen(port,addr,bound)}}`;

/** One probe: a datagram, or a TCP connection carrying one line; gives up after 1.5 s. */
const PROBE_SCRIPT = `const [proto,src,sport,dst,dport,tag]=process.argv.slice(1);setTimeout(()=>process.exit(1),1500).unref();
if(proto==='udp'){const s=require('dgram').createSocket(dst.includes(':')?'udp6':'udp4');s.bind(+sport,src,()=>s.send(tag,+dport,dst,()=>s.close()))}
else{const c=require('net').connect({host:dst,port:+dport,localAddress:src,...(+sport>0?{localPort:+sport}:{})},()=>c.write(tag+'\\n'));c.on('end',()=>c.end());c.on('error',()=>process.exit(1))}`;

export interface NatfwdConfigOptions {
  readonly role?: 'host' | 'firewall' | 'nat';
  /** Answers EXTERNAL (edge firewall / edge NAT). */
  readonly edge?: boolean;
  /** Default debug: tests read the log; benchmarks want info. */
  readonly logLevel?: 'debug' | 'info';
}

/** The common head of a natfwd configuration; `extra` adds whole YAML lines (gist, enforcement, policy ...). */
export function natfwdConfig(name: string, addresses: readonly string[], extra: readonly string[], o: NatfwdConfigOptions = {}): string {
  const node = `node: { name: ${name}, role: ${o.role ?? 'host'},${o.edge === true ? ' edge: true,' : ''} addresses: [${addresses.join(', ')}] }`;
  return [node, 'control: { socket: "@SOCKET@" }', `log: { level: ${o.logLevel ?? 'debug'} }`, ...extra].join('\n') + '\n';
}

export class DaemonTestbed {
  readonly dir: string;
  private readonly daemons = new Map<string, Daemon>();
  private readonly sinks: ProbeSink[] = [];
  private stopped = false;

  constructor(readonly lab: NetnsLab) {
    this.dir = mkdtempSync(join(tmpdir(), 'natfw-testbed-'));
  }

  /** Runs the natfw CLI on the host (control sockets are files, so no namespace is needed). */
  natfw(args: readonly string[]): CliResult {
    const r = spawnSync(process.execPath, [NATFW, ...args], { encoding: 'utf8', timeout: 40_000 });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  daemon(node: string): Daemon {
    const d = this.daemons.get(node);
    if (d === undefined) throw new Error(`no natfwd started on '${node}'`);
    return d;
  }

  /**
   * Starts natfwd on `node` with `yaml` (its `@SOCKET@` is replaced by the
   * control socket's path); resolves once the daemon answers a ping, throws
   * with its stderr if it exits or stays silent for 15 s.
   */
  async start(node: string, yaml: string): Promise<Daemon> {
    const cfg = join(this.dir, `${node}.yaml`);
    const socket = join(this.dir, `${node}.sock`);
    writeFileSync(cfg, yaml.replace('@SOCKET@', socket));
    const check = spawnSync(process.execPath, [NATFWD, '--config', cfg, '--check'], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`natfwd --check on ${node}: ${check.stderr.trim()}`);
    const outFile = join(this.dir, `${node}.log`);
    const errFile = join(this.dir, `${node}.err`);
    const out = openSync(outFile, 'w');
    const errOut = openSync(errFile, 'w');
    // NATFW_TESTBED_NODE_ARGS: node options for the daemons only (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile them).
    const nodeArgs = (process.env.NATFW_TESTBED_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const proc = spawn('ip', ['netns', 'exec', this.lab.ns(node), process.execPath, ...nodeArgs, NATFWD, '--config', cfg], { stdio: ['ignore', out, errOut] });
    closeSync(out);
    closeSync(errOut);
    const d = new FileLoggedDaemon(node, proc, socket, outFile, errFile);
    this.daemons.set(node, d);
    const ready = await until(async () => proc.exitCode !== null || (await this.answersPing(socket)), 15_000);
    if (!ready || proc.exitCode !== null) throw new Error(`natfwd on ${node} did not start: ${readFileSync(errFile, 'utf8').trim()}`);
    return d;
  }

  private async answersPing(socket: string): Promise<boolean> {
    try {
      const c = await ControlClient.connect(socket);
      try {
        await c.request('ping', {}, 1000);
        return true;
      } finally {
        c.close();
      }
    } catch {
      return false;
    }
  }

  /** Whether `node`'s daemon logged an event whose JSON has every field of `fields`. */
  logged(node: string, fields: Record<string, unknown>): boolean {
    return this.daemon(node).log.some((l) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(l) as Record<string, unknown>;
      } catch {
        return false;
      }
      return Object.entries(fields).every(([k, v]) => o[k] === v);
    });
  }

  /** What `node`'s kernel holds: pinholes and NAT bindings (natfw pinhole list --json in its namespace). */
  private kernelEntries(node: string): Array<KernelPinhole | KernelBinding> {
    return this.lab
      .exec(node, process.execPath, [NATFW, 'pinhole', 'list', '--json'])
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as KernelPinhole | KernelBinding);
  }

  pinholes(node: string): KernelPinhole[] {
    return this.kernelEntries(node).filter((p): p is KernelPinhole => p.type === 'pinhole');
  }

  bindings(node: string): KernelBinding[] {
    return this.kernelEntries(node).filter((p): p is KernelBinding => p.type === 'nat-binding');
  }

  /** A receiver on `address` in `node`'s namespace for each (protocol, port) of `ports` (resolves once all are bound). */
  async sink(node: string, address: string, ports: ReadonlyArray<readonly [ProbeProto, number]>): Promise<ProbeSink> {
    const proc = spawn('ip', ['netns', 'exec', this.lab.ns(node), process.execPath, '-e', SINK_SCRIPT, address, JSON.stringify(ports)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sink: ProbeSink = { proc, received: [] };
    this.sinks.push(sink);
    proc.stdout?.setEncoding('utf8').on('data', (s: string) => sink.received.push(...s.split('\n').filter((l) => l !== '')));
    if (!(await until(() => sink.received.includes('bound'), 10_000))) throw new Error(`sink on ${node} ${address} ${JSON.stringify(ports)} did not bind`);
    return sink;
  }

  /** A UDP receiver bound to `address`:`port` in `node`'s namespace (resolves once bound). */
  udpSink(node: string, address: string, port: number): Promise<ProbeSink> {
    return this.sink(node, address, [['udp', port]]);
  }

  /**
   * Whether a probe tagged `tag` from `node` (bound to `src`, source port `o.sport`, default any) reaches
   * `sink` at `dst`:`port`: UDP up to three datagrams, TCP one connection. Each wait starts once the sender
   * is done (on a loaded machine a node process takes a while to start).
   */
  async delivered(sink: ProbeSink, node: string, src: string, dst: string, port: number, tag: string, o: { proto?: ProbeProto; sport?: number } = {}): Promise<boolean> {
    const proto = o.proto ?? 'udp';
    const tags: string[] = [];
    const arrived = (): boolean => sink.received.some((l) => tags.some((t) => l.endsWith(` ${t}`)));
    for (let i = 0; i < (proto === 'udp' ? 3 : 1); i++) {
      tags.push(`${tag}-${i}`);
      await this.lab.execAsync(node, process.execPath, ['-e', PROBE_SCRIPT, proto, src, String(o.sport ?? 0), dst, String(port), `${tag}-${i}`]).catch(() => '');
      if (await until(arrived, 500)) return true;
    }
    return false;
  }

  /** Ends every daemon (SIGTERM, then SIGKILL after 5 s) and sink it started, then removes the lab and the files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const procs = [...this.daemons.values()].map((d) => d.proc);
    for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) p.kill('SIGTERM');
    await until(() => procs.every((p) => p.exitCode !== null || p.signalCode !== null), 5000);
    for (const p of [...procs, ...this.sinks.map((s) => s.proc)]) {
      if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) p.kill('SIGKILL');
    }
    this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
