/**
 * natfwd's configuration file (YAML). Every mistake is reported as one
 * `ConfigError` naming the file, the line and what is wrong; unknown keys are
 * errors too, so a misspelt option never silently falls back to a default.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode, type Pair } from 'yaml';
import { NatfwError } from '../common/errors';
import { err, ok, type Result } from '../common/result';
import type { PortRange, Prefix } from '../enforcement/types';
import { DEFAULT_DMODE_RATE_LIMIT, DMODE_RATE_LIMIT_RANGE, type DmodeRateLimit } from '../gist/core/config';

export class ConfigError extends NatfwError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super('CONFIG_INVALID', `${file}${line !== undefined ? `:${line}` : ''}: ${detail}`);
  }
}

export type Interception = 'nfqueue' | 'router-alert' | 'none';
export type BackendName = 'nftables' | 'iptables' | 'memory';
/** host: an end host (NI / NR); firewall / nat: a middlebox (NF) on the data path. */
export type NodeRole = 'host' | 'firewall' | 'nat';

/** Where natfwd listens for `natfw create|teardown|list|events` unless the configuration says otherwise. */
export const DEFAULT_CONTROL_SOCKET = '/run/natfw/natfwd.sock';

export interface NatfwdConfig {
  readonly node: {
    readonly name: string;
    readonly addresses: readonly string[];
    readonly role: NodeRole;
    /** Edge firewall / edge NAT (RFC 5973 s3.7.2): answers EXTERNAL. */
    readonly edge: boolean;
  };
  /** role nat: the public address and the private side (RFC 5973 s3.7.2). */
  readonly nat?: { readonly externalAddress: string; readonly internalPrefixes: readonly Prefix[]; readonly ports?: PortRange };
  readonly control: { readonly socket: string; /** File mode of the socket (who may signal). */ readonly mode: number };
  readonly gist: {
    readonly dmodePort: number;
    readonly cmodePort: number;
    /** Destination UDP port of Q-mode messages (IANA 270; change only for tests on one host). */
    readonly qmodePort: number;
    readonly interception: Interception;
    readonly nfqueueNum: number;
    /** RAO value on outgoing Queries; Linux delivers only 0 to IP_ROUTER_ALERT sockets (shared/notes/router-alert.md). */
    readonly routerAlert: number;
    readonly confirmRequired: boolean;
    readonly confirmRefreshes: boolean;
    /** RFC 5971 s4.4.4 RS-validity-time we advertise, in seconds: upstream peers re-Query within 1/2-3/4 of it, which is also how soon they find a route change (s7.1). */
    readonly routingStateValidity: number;
    /** Allow the interception rule outside a named network namespace (a real router). */
    readonly interceptAnyNamespace: boolean;
    /**
     * RFC 5971 s5.3.3 D-mode rate limiter (token bucket over locally generated D-mode datagrams),
     * or false (off). Default: 5% of a 1 Gbit/s interface (gist/core DEFAULT_DMODE_RATE_LIMIT).
     */
    readonly dmodeRateLimit: Readonly<Required<DmodeRateLimit>> | false;
  };
  readonly policy: {
    readonly maxLifetime: number;
    readonly minLifetime: number;
    readonly allowDeny: boolean;
    readonly protocols?: readonly number[];
    readonly sources?: readonly Prefix[];
    readonly destinations?: readonly Prefix[];
    readonly dstPorts?: readonly PortRange[];
    readonly maxSessions?: number;
  };
  readonly authorization: {
    readonly keys?: string;
    readonly requireForCreate: boolean;
    readonly requireForExternal: boolean;
    readonly trustedKeyIds?: readonly number[];
    readonly trustedEntities?: readonly string[];
    readonly clockSkew: number;
  };
  readonly enforcement: {
    readonly backend: BackendName;
    readonly mode: 'standalone' | 'integration';
    /** Integration mode: the packet mark bit(s) set on allowed packets. */
    readonly mark: number;
    /** Seconds beyond the session lifetime for kernel element timeouts (fail closed if natfwd dies). */
    readonly grace: number;
    /** Seconds between sweeps of expired pinholes (`PinholeSet.expire`). */
    readonly expireInterval: number;
  };
  readonly log: { readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, 'ipv6-icmp': 58, sctp: 132 };

/** Reads one YAML mapping with a fixed set of keys, remembering lines for errors. */
class Section {
  private readonly seen = new Set<string>();
  constructor(
    private readonly ctx: Ctx,
    private readonly path: string,
    private readonly pairs: Pair[],
    private readonly line: number | undefined,
  ) {}

  private find(key: string): Pair | undefined {
    this.seen.add(key);
    return this.pairs.find((p) => isScalar(p.key) && p.key.value === key);
  }

  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  node(key: string): YamlNode | undefined {
    const p = this.find(key);
    return p === undefined ? undefined : ((p.value as YamlNode | null) ?? undefined);
  }

  section(key: string): Section {
    const n = this.node(key);
    if (n === undefined) return new Section(this.ctx, `${this.path}${key}.`, [], this.line);
    if (!isMap(n)) throw this.ctx.error(n, `'${this.path}${key}' must be a mapping`);
    return new Section(this.ctx, `${this.path}${key}.`, n.items as Pair[], this.ctx.lineOf(n));
  }

  private scalar(key: string): { value: unknown; node: YamlNode } | undefined {
    const n = this.node(key);
    if (n === undefined) return undefined;
    if (!isScalar(n)) throw this.ctx.error(n, `'${this.path}${key}' must be a single value`);
    return { value: n.value, node: n };
  }

  int(key: string, dflt: number, min: number, max: number): number {
    const s = this.scalar(key);
    if (s === undefined) return dflt;
    const v = typeof s.value === 'string' && /^0x[0-9a-f]+$/i.test(s.value) ? Number.parseInt(s.value, 16) : s.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw this.ctx.error(s.node, `'${this.path}${key}' must be an integer from ${min} to ${max}, got ${JSON.stringify(s.value)}`);
    }
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const s = this.scalar(key);
    if (s === undefined) return dflt;
    if (typeof s.value !== 'boolean') throw this.ctx.error(s.node, `'${this.path}${key}' must be true or false`);
    return s.value;
  }

  str(key: string, dflt: string): string;
  str(key: string, dflt?: string): string | undefined;
  str(key: string, dflt?: string): string | undefined {
    const s = this.scalar(key);
    if (s === undefined) return dflt;
    if (typeof s.value !== 'string' || s.value === '') throw this.ctx.error(s.node, `'${this.path}${key}' must be a non-empty string`);
    return s.value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], dflt: T): T {
    const s = this.scalar(key);
    if (s === undefined) return dflt;
    if (!choices.includes(s.value as T)) throw this.ctx.error(s.node, `'${this.path}${key}' must be one of ${choices.join(', ')}, got ${JSON.stringify(s.value)}`);
    return s.value as T;
  }

  /** A list of scalars, each turned into T by `parse`. */
  list<T>(key: string, what: string, parse: (v: unknown) => Result<T, string>): T[] | undefined {
    const n = this.node(key);
    if (n === undefined) return undefined;
    if (!isSeq(n)) throw this.ctx.error(n, `'${this.path}${key}' must be a list of ${what}`);
    return n.items.map((item) => {
      const it = item as YamlNode;
      if (!isScalar(it)) throw this.ctx.error(it, `'${this.path}${key}' must be a list of ${what}`);
      const r = parse(it.value);
      if (!r.ok) throw this.ctx.error(it, `'${this.path}${key}': ${r.error}`);
      return r.value;
    });
  }

  /** Fails on keys nobody asked for (typos). Call after reading the section. */
  done(): void {
    for (const p of this.pairs) {
      const k = isScalar(p.key) ? String(p.key.value) : '?';
      if (!this.seen.has(k)) throw this.ctx.error(p.key as YamlNode, `unknown option '${this.path}${k}'`);
    }
  }
}

class Ctx {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}
  lineOf(n: YamlNode | undefined): number | undefined {
    const start = n?.range?.[0];
    return start === undefined ? undefined : this.lines.linePos(start).line;
  }
  error(n: YamlNode | undefined, detail: string): ConfigError {
    return new ConfigError(this.file, this.lineOf(n), detail);
  }
}

export function parsePrefix(v: unknown): Result<Prefix, string> {
  if (typeof v !== 'string') return err(`expected an address prefix such as 198.18.0.0/15, got ${JSON.stringify(v)}`);
  const [addr, len, ...rest] = v.split('/');
  const fam = isIP(addr);
  if (fam === 0 || rest.length > 0) return err(`'${v}' is not an IPv4 or IPv6 prefix`);
  const max = fam === 4 ? 32 : 128;
  const n = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || n > max) return err(`'${v}': prefix length must be 0 to ${max}`);
  return ok({ address: addr, length: n });
}

export function parsePortRange(v: unknown): Result<PortRange, string> {
  const s = String(v);
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (m === null) return err(`'${s}' is not a port or a port range (e.g. 5004 or 1024-65535)`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return err(`'${s}': ports must be 1 to 65535, low to high`);
  return ok({ from, to });
}

export function parseProtocol(v: unknown): Result<number, string> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return ok(v);
  if (typeof v === 'string' && Object.hasOwn(PROTOCOLS, v)) return ok(PROTOCOLS[v]);
  return err(`unknown protocol ${JSON.stringify(v)} (use ${Object.keys(PROTOCOLS).join(', ')} or a number 0-255)`);
}

/**
 * gist.dmodeRateLimit: `false`, or a mapping of bytesPerSecond, burstBytes and maxQueued (each
 * optional, defaulting to DEFAULT_DMODE_RATE_LIMIT). s5.3.3 asks for no more than 5% of the
 * slowest interface: 6250000 bytes/s for 1 Gbit/s, 625000 for 100 Mbit/s.
 */
function parseRateLimit(ctx: Ctx, g: Section): Readonly<Required<DmodeRateLimit>> | false {
  const n = g.node('dmodeRateLimit');
  if (n === undefined) return DEFAULT_DMODE_RATE_LIMIT;
  if (isScalar(n) && n.value === false) return false;
  if (!isMap(n)) {
    throw ctx.error(n, `'gist.dmodeRateLimit' must be false or a mapping of bytesPerSecond, burstBytes and maxQueued, got ${JSON.stringify(isScalar(n) ? n.value : 'a list')}`);
  }
  const r = g.section('dmodeRateLimit');
  const d = DEFAULT_DMODE_RATE_LIMIT;
  const range = DMODE_RATE_LIMIT_RANGE;
  const limit = {
    bytesPerSecond: r.int('bytesPerSecond', d.bytesPerSecond, ...range.bytesPerSecond),
    burstBytes: r.int('burstBytes', d.burstBytes, ...range.burstBytes),
    maxQueued: r.int('maxQueued', d.maxQueued, ...range.maxQueued),
  };
  r.done();
  return limit;
}

/** Parses and validates the text of a natfwd configuration file. `file` is only used in messages. */
export function parseConfig(text: string, file: string): NatfwdConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const ctx = new Ctx(file, lines);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(file, e.linePos?.[0]?.line, `YAML syntax: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root !== null && !isMap(root)) throw ctx.error(root as YamlNode, 'the configuration must be a YAML mapping');
  const top = new Section(ctx, '', root === null ? [] : (root.items as Pair[]), 1);

  const node = top.section('node');
  const addresses =
    node.list('addresses', 'IP addresses', (v) => (typeof v === 'string' && isIP(v) !== 0 ? ok(v) : err(`'${String(v)}' is not an IP address`))) ?? [];
  const nodeCfg = {
    name: node.str('name', 'natfwd'),
    addresses,
    role: node.oneOf<NodeRole>('role', ['host', 'firewall', 'nat'], 'host'),
    edge: node.bool('edge', false),
  };
  node.done();

  let nat: NatfwdConfig['nat'];
  if (top.has('nat')) {
    const n = top.section('nat');
    const externalAddress = n.str('externalAddress');
    if (externalAddress === undefined || isIP(externalAddress) === 0) throw ctx.error(n.node('externalAddress') ?? top.node('nat'), "'nat.externalAddress' must be an IP address");
    const internalPrefixes = n.list('internalPrefixes', 'prefixes', parsePrefix);
    if (internalPrefixes === undefined || internalPrefixes.length === 0) throw ctx.error(top.node('nat'), "'nat.internalPrefixes' must list the private prefixes");
    const portsText = n.str('ports');
    let ports: PortRange | undefined;
    if (portsText !== undefined) {
      const r = parsePortRange(portsText);
      if (!r.ok) throw ctx.error(n.node('ports'), `'nat.ports': ${r.error}`);
      ports = r.value;
    }
    n.done();
    nat = { externalAddress, internalPrefixes, ...(ports !== undefined ? { ports } : {}) };
  }
  if (nodeCfg.role === 'nat' && nat === undefined) throw ctx.error(node.node('role'), "'node.role' is nat but there is no 'nat' section");

  const c = top.section('control');
  const control = { socket: c.str('socket', DEFAULT_CONTROL_SOCKET), mode: c.int('mode', 0o660, 0, 0o777) };
  if (!control.socket.startsWith('/')) throw ctx.error(c.node('socket'), "'control.socket' must be an absolute path");
  c.done();

  const g = top.section('gist');
  const gist = {
    dmodePort: g.int('dmodePort', 27000, 1, 65535),
    cmodePort: g.int('cmodePort', 27000, 1, 65535),
    qmodePort: g.int('qmodePort', 270, 1, 65535),
    interception: g.oneOf<Interception>('interception', ['nfqueue', 'router-alert', 'none'], 'nfqueue'),
    nfqueueNum: g.int('nfqueueNum', 270, 0, 65535),
    routerAlert: g.int('routerAlert', 0, 0, 65535),
    confirmRequired: g.bool('confirmRequired', true),
    confirmRefreshes: g.bool('confirmRefreshes', false),
    routingStateValidity: g.int('routingStateValidity', 30, 2, 86400),
    interceptAnyNamespace: g.bool('interceptAnyNamespace', false),
    dmodeRateLimit: parseRateLimit(ctx, g),
  };
  g.done();

  const p = top.section('policy');
  const policy = {
    maxLifetime: p.int('maxLifetime', 3600, 1, 0xffffffff),
    minLifetime: p.int('minLifetime', 1, 1, 0xffffffff),
    allowDeny: p.bool('allowDeny', true),
    protocols: p.list('protocols', 'protocols', parseProtocol),
    sources: p.list('sources', 'prefixes', parsePrefix),
    destinations: p.list('destinations', 'prefixes', parsePrefix),
    dstPorts: p.list('dstPorts', 'ports or port ranges', parsePortRange),
    maxSessions: p.has('maxSessions') ? p.int('maxSessions', 0, 1, 10_000_000) : undefined,
  };
  if (policy.minLifetime > policy.maxLifetime) throw ctx.error(p.node('minLifetime'), "'policy.minLifetime' exceeds 'policy.maxLifetime'");
  p.done();

  const a = top.section('authorization');
  const authorization = {
    keys: a.str('keys'),
    requireForCreate: a.bool('requireForCreate', false),
    requireForExternal: a.bool('requireForExternal', false),
    trustedKeyIds: a.list('trustedKeyIds', 'key ids', (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? ok(v) : err(`key id ${JSON.stringify(v)} is not a non-negative integer`))),
    trustedEntities: a.list('trustedEntities', 'entity ids', (v) => (typeof v === 'string' && v !== '' ? ok(v) : err(`entity id ${JSON.stringify(v)} is not a string`))),
    clockSkew: a.int('clockSkew', 30, 0, 86400),
  };
  if ((authorization.requireForCreate || authorization.requireForExternal) && authorization.keys === undefined) {
    throw ctx.error(a.node('requireForCreate') ?? a.node('requireForExternal'), "authorization is required but 'authorization.keys' (the key directory) is not set");
  }
  a.done();

  const e = top.section('enforcement');
  const enforcement = {
    backend: e.oneOf<BackendName>('backend', ['nftables', 'iptables', 'memory'], 'nftables'),
    mode: e.oneOf('mode', ['standalone', 'integration'] as const, 'standalone'),
    mark: e.int('mark', 0x00100000, 1, 0xffffffff),
    grace: e.int('grace', 10, 0, 3600),
    expireInterval: e.int('expireInterval', 5, 1, 3600),
  };
  e.done();

  const l = top.section('log');
  const log = { level: l.oneOf('level', ['trace', 'debug', 'info', 'warn', 'error'] as const, 'info') };
  l.done();
  top.done();

  return { node: nodeCfg, ...(nat !== undefined ? { nat } : {}), control, gist, policy, authorization, enforcement, log };
}

/** Reads and parses a configuration file; a missing or unreadable file is a ConfigError too. */
export function loadConfigFile(file: string): NatfwdConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, undefined, `cannot read the configuration (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseConfig(text, file);
}
