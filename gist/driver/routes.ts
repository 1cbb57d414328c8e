/**
 * The kernel's routing table, read for the GIST core's interfaceAddressFor
 * (gist/core/config.ts): RFC 5971 s5.2.2 wants the NLI interface-address (and,
 * with S=1, the IP source) to be the address of the interface that carries
 * the outbound flow. The core asks synchronously, per message, so the table
 * is read ahead (`ip -j route show table main`, both versions, and `ip -j
 * address show` for routes without a preferred source) and read again when
 * `ip monitor route address` reports a change. A lookup is the longest prefix
 * match (lowest metric among equals): its `prefsrc` when the node owns it,
 * else the node's first address on the route's device; undefined when nothing
 * matches, and the core then keeps its default (the first address).
 *
 * Policy routing (rules, other tables) is not followed: the main table is what
 * a host without rules uses.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { addressBytes, bytesInPrefix } from '../codec/addresses';
import type { IpVersion } from '../types';
import { DriverError } from './errors';
import { canonicalAddress } from './ip-address';

/** One unicast route of the main table. */
export interface KernelRoute {
  readonly ipVersion: IpVersion;
  /** Destination prefix bytes (4 or 16) and length. */
  readonly prefix: Uint8Array;
  readonly length: number;
  readonly metric: number;
  readonly prefsrc: string | undefined;
  readonly dev: string | undefined;
}

interface IpRouteJson {
  readonly dst?: unknown;
  readonly type?: unknown;
  readonly metric?: unknown;
  readonly prefsrc?: unknown;
  readonly dev?: unknown;
}

interface IpAddrJson {
  readonly ifname?: unknown;
  readonly addr_info?: ReadonlyArray<{ readonly local?: unknown }>;
}

/** The bytes of address text of IP version `v`, or undefined (not an address, or of the other version). */
function bytesOfVersion(a: string, v: IpVersion): Uint8Array | undefined {
  const b = addressBytes(a);
  return b !== undefined && b.length === (v === 4 ? 4 : 16) ? b : undefined;
}

/** Routes of one IP version from `ip -j [-6] route show table main` output; unparsable entries and non-unicast types are left out. */
export function parseRoutes(json: string, v: IpVersion): KernelRoute[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  const out: KernelRoute[] = [];
  for (const r of parsed as IpRouteJson[]) {
    if (typeof r.dst !== 'string' || (r.type !== undefined && r.type !== 'unicast')) continue;
    const [addr, len] = r.dst === 'default' ? [v === 4 ? '0.0.0.0' : '::', '0'] : r.dst.split('/');
    const prefix = bytesOfVersion(addr, v);
    const length = len === undefined ? (v === 4 ? 32 : 128) : Number(len);
    if (prefix === undefined || !Number.isInteger(length) || length < 0 || length > prefix.length * 8) continue;
    const prefsrc = typeof r.prefsrc === 'string' ? canonicalAddress(r.prefsrc) : undefined;
    out.push({ ipVersion: v, prefix, length, metric: typeof r.metric === 'number' ? r.metric : 0, prefsrc, dev: typeof r.dev === 'string' ? r.dev : undefined });
  }
  return out;
}

/** Interface name -> its addresses (canonical text) from `ip -j address show` output. */
export function parseInterfaceAddresses(json: string): Map<string, string[]> {
  const parsed: unknown = JSON.parse(json);
  const out = new Map<string, string[]>();
  if (!Array.isArray(parsed)) return out;
  for (const i of parsed as IpAddrJson[]) {
    if (typeof i.ifname !== 'string') continue;
    const list: string[] = [];
    for (const a of i.addr_info ?? []) {
      const c = typeof a.local === 'string' ? canonicalAddress(a.local) : undefined;
      if (c !== undefined) list.push(c);
    }
    out.set(i.ifname, list);
  }
  return out;
}

/** Lookups cached per destination text; the cache is dropped when it grows past this. */
const CACHE_LIMIT = 4096;

/** A snapshot of the routes and the node's addresses per device: pure, synchronous lookups. */
export class RouteTable {
  private readonly cache = new Map<string, string | undefined>();

  constructor(
    private readonly routes: readonly KernelRoute[],
    private readonly devAddresses: ReadonlyMap<string, readonly string[]>,
    /** The node's own addresses (GistNodeConfig.addresses): only these are answered. */
    private readonly own: readonly string[],
  ) {}

  get size(): number {
    return this.routes.length;
  }

  /** The node's address the kernel would send from towards `destination`, or undefined. */
  lookup(destination: string, v: IpVersion): string | undefined {
    if (this.cache.has(destination)) return this.cache.get(destination);
    const a = this.resolve(destination, v);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(destination, a);
    return a;
  }

  private resolve(destination: string, v: IpVersion): string | undefined {
    const b = bytesOfVersion(destination, v);
    if (b === undefined) return undefined;
    let best: KernelRoute | undefined;
    for (const r of this.routes) {
      if (r.ipVersion !== v || !bytesInPrefix(r.prefix, r.length, b)) continue;
      if (best === undefined || r.length > best.length || (r.length === best.length && r.metric < best.metric)) best = r;
    }
    if (best === undefined) return undefined;
    if (best.prefsrc !== undefined && this.own.includes(best.prefsrc)) return best.prefsrc;
    const onDev = best.dev === undefined ? undefined : this.devAddresses.get(best.dev);
    const isV6 = v === 6;
    return onDev?.find((a) => a.includes(':') === isV6 && this.own.includes(a));
  }
}

function run(netns: string | undefined, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', netns === undefined ? args : ['-n', netns, ...args], { timeout: 10_000, maxBuffer: 64 << 20 }, (e, stdout) => {
      if (e !== null) reject(new DriverError('DRIVER_ROUTES', `ip ${args.join(' ')}: ${e.message}`));
      else resolve(stdout);
    });
  });
}

/** Reads the main table of both versions and the interface addresses now (of the named namespace, `ip -n`, when given). */
export async function readRouteTable(own: readonly string[], netns?: string): Promise<RouteTable> {
  const [r4, r6, addrs] = await Promise.all([
    run(netns, ['-j', '-4', 'route', 'show', 'table', 'main']),
    run(netns, ['-j', '-6', 'route', 'show', 'table', 'main']),
    run(netns, ['-j', 'address', 'show']),
  ]);
  try {
    return new RouteTable([...parseRoutes(r4, 4), ...parseRoutes(r6, 6)], parseInterfaceAddresses(addrs), own);
  } catch (e) {
    throw new DriverError('DRIVER_ROUTES', `unreadable ip -j output: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface KernelRoutesOptions {
  /** The named network namespace to follow (`ip -n`); default: the process's own (natfwd runs inside its namespace). */
  readonly netns?: string;
  /** Errors of a re-read or of the monitor (the last table read stays in use). */
  readonly onError?: (e: Error) => void;
  /** After each successful re-read (tests wait on it). */
  readonly onReload?: (table: RouteTable) => void;
}

/**
 * The routing table kept current: read at start, read again after `ip monitor`
 * reports a route or address change (changes in a burst share one re-read).
 * `interfaceAddressFor` is the GIST core's hook.
 */
export class KernelRoutes {
  private child: ChildProcess | undefined;
  private reading = false;
  private again = false;
  private closed = false;

  private constructor(
    private table: RouteTable,
    private readonly own: readonly string[],
    private readonly opts: KernelRoutesOptions,
  ) {}

  /**
   * Starts watching, then reads the table (rejects with DRIVER_ROUTES when `ip` fails): the monitor
   * runs before the first read, so a change while it is read is not lost (it reads again).
   */
  static async start(own: readonly string[], opts: KernelRoutesOptions = {}): Promise<KernelRoutes> {
    const k = new KernelRoutes(new RouteTable([], new Map(), own), own, opts);
    await k.watch();
    k.reading = true;
    try {
      k.table = await readRouteTable(own, opts.netns);
    } catch (e) {
      k.close();
      throw e;
    } finally {
      k.reading = false;
    }
    if (k.again) {
      k.again = false;
      k.reread();
    }
    return k;
  }

  get current(): RouteTable {
    return this.table;
  }

  readonly interfaceAddressFor = (destination: string, v: IpVersion): string | undefined => this.table.lookup(destination, v);

  /**
   * Resolves once `ip monitor` runs (or failed to start: reported to onError, the table is then read once).
   * It runs under a shell that waits on our stdin: when natfwd ends, even by SIGKILL, the pipe closes
   * and the shell ends the monitor, which would otherwise outlive us in the namespace.
   */
  private watch(): Promise<void> {
    const ns = this.opts.netns;
    const child = spawn('sh', ['-c', 'ip "$@" monitor route address & p=$!; read _; kill $p 2>/dev/null', 'sh', ...(ns === undefined ? [] : ['-n', ns])], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    this.child = child;
    child.stdout?.on('data', () => this.reread());
    child.stdout?.on('end', () => {
      if (!this.closed) this.opts.onError?.(new DriverError('DRIVER_ROUTES', 'ip monitor ended; routes are no longer followed'));
    });
    child.stdin?.on('error', () => undefined); // EPIPE when the shell is gone first
    child.on('exit', () => {
      this.child = undefined;
    });
    return new Promise((resolve) => {
      child.once('spawn', () => resolve());
      child.on('error', (e) => {
        this.opts.onError?.(new DriverError('DRIVER_ROUTES', `ip monitor: ${e.message}`));
        resolve();
      });
    });
  }

  /** Reads the table again now (also what the monitor triggers). */
  reread(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    readRouteTable(this.own, this.opts.netns).then(
      (t) => {
        this.reading = false;
        if (this.closed) return;
        this.table = t;
        this.opts.onReload?.(t);
        if (this.again) {
          this.again = false;
          this.reread();
        }
      },
      (e: unknown) => {
        this.reading = false;
        this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
        if (this.again) {
          this.again = false;
          this.reread();
        }
      },
    );
  }

  close(): void {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    // End of stdin: the shell stops the monitor and exits (see watch).
    c?.stdin?.end();
  }
}
