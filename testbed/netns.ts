/**
 * Network namespaces for tests and benchmarks that cross a real network.
 *
 * Every namespace and veth made here is named with a per-process prefix and is
 * deleted by `destroy()` (call it in afterAll / finally) and, as a last resort,
 * when the process exits. Addresses come from 198.18.0.0/15 and 2001:db8::/32
 * only (DESIGN.md), so nothing ever leaves the namespaces.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why namespace tests cannot run here, or undefined when they can.
 * Tests skip with this reason printed; CI runs as root with iproute2 installed.
 */
export function netnsUnavailableReason(extraCommands: string[] = []): string | undefined {
  if (!isRoot()) return 'needs root (network namespaces, netfilter); run as root, as CI does';
  for (const c of ['ip', ...extraCommands]) if (!haveCommand(c)) return `needs the '${c}' command (see .ci/run for the packages)`;
  return undefined;
}

const live = new Set<NetnsLab>();
let exitHookInstalled = false;
let labCounter = 0;

export interface NodeSpec {
  /** Short logical name, e.g. 'A', 'R', 'B'. */
  name: string;
  /** Enable IPv4/IPv6 forwarding (a router). */
  forward?: boolean;
}

export interface LinkSpec {
  a: string;
  b: string;
  /** Addresses with prefix length for each end, e.g. ['198.18.1.1/24', '2001:db8:1::1/64']. */
  aAddrs: string[];
  bAddrs: string[];
}

export class NetnsLab {
  readonly prefix: string;
  private readonly nsNames = new Map<string, string>();
  private linkCount = 0;
  private destroyed = false;

  constructor(tag = 'lab') {
    // veth names are limited to 15 characters; keep the prefix short.
    this.prefix = `nf${tag.slice(0, 3)}${process.pid % 100000}x${labCounter++}`;
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const lab of live) lab.destroy();
      });
    }
  }

  ns(name: string): string {
    const n = this.nsNames.get(name);
    if (n === undefined) throw new Error(`no namespace '${name}' in this lab`);
    return n;
  }

  addNode(spec: NodeSpec): string {
    const nsName = `${this.prefix}${spec.name}`;
    run('ip', ['netns', 'add', nsName]);
    this.nsNames.set(spec.name, nsName);
    this.exec(spec.name, 'ip', ['link', 'set', 'lo', 'up']);
    if (spec.forward) {
      this.exec(spec.name, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    }
    return nsName;
  }

  addLink(spec: LinkSpec): { aIf: string; bIf: string } {
    const i = this.linkCount++;
    const aIf = `v${process.pid % 100000}${this.labId()}${i}a`.slice(0, 15);
    const bIf = `v${process.pid % 100000}${this.labId()}${i}b`.slice(0, 15);
    run('ip', ['link', 'add', aIf, 'netns', this.ns(spec.a), 'type', 'veth', 'peer', 'name', bIf, 'netns', this.ns(spec.b)]);
    for (const a of spec.aAddrs) this.exec(spec.a, 'ip', addrArgs(a, aIf));
    for (const b of spec.bAddrs) this.exec(spec.b, 'ip', addrArgs(b, bIf));
    this.exec(spec.a, 'ip', ['link', 'set', aIf, 'up']);
    this.exec(spec.b, 'ip', ['link', 'set', bIf, 'up']);
    return { aIf, bIf };
  }

  private labId(): string {
    return this.prefix.slice(this.prefix.lastIndexOf('x') + 1);
  }

  route(node: string, dst: string, via: string): void {
    const v6 = dst.includes(':') || via.includes(':');
    this.exec(node, 'ip', [...(v6 ? ['-6'] : []), 'route', 'add', dst, 'via', via]);
  }

  /** Run a command inside a node's namespace; throws with stderr on failure. */
  exec(node: string, cmd: string, args: string[], input?: string): string {
    return run('ip', ['netns', 'exec', this.ns(node), cmd, ...args], input);
  }

  /** Like exec, without blocking the event loop (daemons and sinks of the same process keep running). */
  execAsync(node: string, cmd: string, args: readonly string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', this.ns(node), cmd, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
        if (e !== null) reject(new Error(`${node}: ${cmd} ${args.slice(0, 3).join(' ')}: ${(stderr || e.message).trim()}`));
        else resolve(stdout);
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** Like exec but returns status and output instead of throwing. */
  tryExec(node: string, cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns(node), cmd, ...args], { input, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const nsName of this.nsNames.values()) {
      spawnSync('ip', ['netns', 'pids', nsName], { encoding: 'utf8' })
        .stdout?.split('\n')
        .filter((p) => /^\d+$/.test(p))
        .forEach((p) => {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* already gone */
          }
        });
      spawnSync('ip', ['netns', 'del', nsName], { stdio: 'ignore' });
    }
    this.nsNames.clear();
  }

  /**
   * The standard line A – R – B (DESIGN.md addresses):
   * A 198.18.1.1 / 2001:db8:1::1, R 198.18.1.2 + 198.18.2.1 / 2001:db8:1::2 + 2001:db8:2::1, B 198.18.2.2 / 2001:db8:2::2.
   */
  static line(tag = 'line'): NetnsLab {
    return NetnsLab.build(tag, (lab) => {
      lab.addNode({ name: 'A' });
      lab.addNode({ name: 'R', forward: true });
      lab.addNode({ name: 'B' });
      lab.addLink({ a: 'A', b: 'R', aAddrs: ['198.18.1.1/24', '2001:db8:1::1/64'], bAddrs: ['198.18.1.2/24', '2001:db8:1::2/64'] });
      lab.addLink({ a: 'R', b: 'B', aAddrs: ['198.18.2.1/24', '2001:db8:2::1/64'], bAddrs: ['198.18.2.2/24', '2001:db8:2::2/64'] });
      lab.route('A', 'default', '198.18.1.2');
      lab.route('A', 'default', '2001:db8:1::2');
      lab.route('B', 'default', '198.18.2.1');
      lab.route('B', 'default', '2001:db8:2::1');
    });
  }

  /** A new lab set up by `setup`; if that throws, the namespaces made so far are deleted and the error goes on. */
  static build(tag: string, setup: (lab: NetnsLab) => void): NetnsLab {
    const lab = new NetnsLab(tag);
    try {
      setup(lab);
      return lab;
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }
}

export const LINE = {
  A4: '198.18.1.1',
  R4a: '198.18.1.2',
  R4b: '198.18.2.1',
  B4: '198.18.2.2',
  A6: '2001:db8:1::1',
  R6a: '2001:db8:1::2',
  R6b: '2001:db8:2::1',
  B6: '2001:db8:2::2',
} as const;

function addrArgs(addr: string, dev: string): string[] {
  return addr.includes(':') ? ['-6', 'addr', 'add', addr, 'dev', dev, 'nodad'] : ['addr', 'add', addr, 'dev', dev];
}

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}
