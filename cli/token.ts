/**
 * `natfw token keygen|issue|show|verify`: authorization tokens of RFC 5981
 * (HMAC_SIGNED SESSION_AUTH objects) for the NATFW NSLP.
 *
 * Token file format: the SESSION_AUTH NSLP object (object header included,
 * exactly the octets an end host puts into its CREATE or EXTERNAL) as one
 * line of lowercase hex. `show` and `verify` also read the raw binary object.
 */
import type { Command } from 'commander';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { fromHex } from '../common/bytes';
import { generateKeyFile, loadKey, loadKeyDirectory, parseKeyId } from '../daemon/auth-keys';
import type { PortRange, Prefix } from '../enforcement/types';
import { decodeSessionAuth } from '../natfw-nslp/auth/codec';
import { DEFAULT_COVERAGE } from '../natfw-nslp/auth/mac';
import { issueToken, parseToken, tokenToJson, type TokenView } from '../natfw-nslp/auth/token';
import { DEFAULT_ALLOWED_TRANSFORMS, transformByName } from '../natfw-nslp/auth/transforms';
import { verifyToken, type FlowQuery } from '../natfw-nslp/auth/verify';
import { canonicalIp, parseIp } from '../natfw-nslp/codec/address';
import { action, CliFailure, CliUsageError } from './common';

const MAX_TOKEN_FILE_BYTES = 64 * 1024;

// ---------------------------------------------------------------- argument parsing

export function parsePrefix(name: string, s: string): Prefix {
  const [addr, len, ...rest] = s.split('/');
  const ip = parseIp(addr);
  if (ip === undefined || rest.length > 0) throw new CliUsageError(`${name}: '${s}' is not an address or prefix`);
  const full = ip.version === 4 ? 32 : 128;
  let length = full;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len) || Number(len) > full) throw new CliUsageError(`${name}: prefix length '${len}' out of range 0-${full}`);
    length = Number(len);
  }
  return { address: canonicalIp(addr) ?? addr, length };
}

export function parseProto(name: string, s: string): number {
  const named: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, ipv6_icmp: 58, icmpv6: 58, sctp: 132 };
  const v = s.toLowerCase();
  if (named[v] !== undefined) return named[v];
  if (/^\d{1,3}$/.test(v) && Number(v) <= 255) return Number(v);
  throw new CliUsageError(`${name}: '${s}' is not udp, tcp or a protocol number 0-255`);
}

export function parsePortRange(name: string, s: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (m === null) throw new CliUsageError(`${name}: '${s}' is not a port or a range like 5004-5005`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535 || from > to) throw new CliUsageError(`${name}: '${s}' is not a valid port range`);
  return { from, to };
}

/** 'now', '+90s' / '+30m' / '+2h' / '+7d' (relative to `base`), an ISO 8601 date, or Unix seconds. */
export function parseTime(name: string, s: string, now: number, base = now): number {
  if (s === 'now') return now;
  const rel = /^([+-])(\d+)([smhd])$/.exec(s);
  if (rel !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[3] as 's' | 'm' | 'h' | 'd'];
    return base + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * unit;
  }
  if (/^\d{9,11}$/.test(s)) return Number(s) * 1000;
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return t;
  }
  throw new CliUsageError(`${name}: '${s}' is not a time (now, +30m, +2h, an ISO 8601 date, or Unix seconds)`);
}

function keyIdArg(s: string): number {
  const n = parseKeyId(s);
  if (n === undefined) throw new CliUsageError(`--key-id: '${s}' is not a 32-bit unsigned decimal integer`);
  return n;
}

// ---------------------------------------------------------------- token files

/** Reads a token file (hex text or raw binary) and decodes it; failures name the file. */
export function readTokenFile(file: string): { raw: Uint8Array; token: TokenView } {
  let data: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CliFailure(`${file}: not a regular file`);
    if (st.size > MAX_TOKEN_FILE_BYTES) throw new CliFailure(`${file}: ${st.size} octets, too long for a token`);
    data = readFileSync(file);
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    throw new CliFailure(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const text = data.toString('latin1').trim();
  let raw: Uint8Array;
  if (/^[0-9a-fA-F\s]*$/.test(text)) {
    const h = fromHex(text);
    if (h === undefined) throw new CliFailure(`${file}: not a token: odd number of hex digits`);
    raw = h;
  } else raw = new Uint8Array(data);
  if (raw.length === 0) throw new CliFailure(`${file}: not a token: empty file`);
  const d = decodeSessionAuth(raw);
  if (!d.ok) throw new CliFailure(`${file}: not a token: ${d.error.message} (offset ${d.error.offset})`);
  const t = parseToken(d.value);
  if (!t.ok) throw new CliFailure(`${file}: not a natfw token: ${t.error}`);
  return { raw, token: t.value };
}

function grantSummary(t: TokenView): string {
  const j = tokenToJson(t) as { src: string[]; dst: string[]; protocol?: number; dstPorts?: Record<string, string>; notAfter?: string };
  const ports = j.dstPorts === undefined ? '' : ` ports ${Object.entries(j.dstPorts).map(([k, v]) => `${k} ${v}`).join(' ')}`;
  return `${j.src.join(',')} -> ${j.dst.join(',')}${j.protocol !== undefined ? ` proto ${j.protocol}` : ''}${ports}${j.notAfter !== undefined ? ` until ${j.notAfter}` : ''}`;
}

// ---------------------------------------------------------------- verbs

interface IssueOpts {
  keys: string;
  keyId: number;
  src: string[];
  dst: string[];
  proto?: string;
  dport?: string;
  sport?: string;
  notBefore?: string;
  notAfter?: string;
  entId?: string;
  transform: string;
  out?: string;
}

export function issueVerb(o: IssueOpts, now: number): { hex: string; file?: string } {
  const transform = transformByName(o.transform);
  if (transform === undefined || !DEFAULT_ALLOWED_TRANSFORMS.includes(transform.id)) throw new CliUsageError(`--transform: '${o.transform}' is not sha256, sha384 or sha512`);
  const src = o.src.map((s) => parsePrefix('--src', s));
  const dst = o.dst.map((s) => parsePrefix('--dst', s));
  const protocol = o.proto === undefined ? undefined : parseProto('--proto', o.proto);
  const dstPorts = o.dport === undefined ? undefined : parsePortRange('--dport', o.dport);
  const srcPorts = o.sport === undefined ? undefined : parsePortRange('--sport', o.sport);
  if ((dstPorts !== undefined || srcPorts !== undefined) && protocol !== 6 && protocol !== 17) throw new CliUsageError('--dport/--sport need --proto udp or tcp (RFC 5981 port lists are UDP or TCP)');
  if (dstPorts !== undefined && dstPorts.to - dstPorts.from >= 4096) throw new CliUsageError('--dport: at most 4096 ports per token');
  if (srcPorts !== undefined && srcPorts.to - srcPorts.from >= 4096) throw new CliUsageError('--sport: at most 4096 ports per token');
  const notBefore = o.notBefore === undefined ? now : parseTime('--not-before', o.notBefore, now);
  const notAfter = o.notAfter === undefined ? notBefore + 3_600_000 : parseTime('--not-after', o.notAfter, now, notBefore);
  if (notAfter <= notBefore) throw new CliUsageError('--not-after must be later than --not-before');
  const key = loadKey(o.keys, o.keyId);
  if (!key.ok) throw new CliFailure(key.error.message);
  const raw = issueToken({
    key: key.value.key,
    keyId: o.keyId,
    transformId: transform.id,
    ...(o.entId !== undefined ? { entityId: o.entId } : {}),
    src,
    dst,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(dstPorts !== undefined ? { dstPorts } : {}),
    ...(srcPorts !== undefined ? { srcPorts } : {}),
    notBefore,
    notAfter,
    coverage: DEFAULT_COVERAGE,
  });
  const hex = Buffer.from(raw).toString('hex');
  if (o.out !== undefined) {
    try {
      writeFileSync(o.out, hex + '\n', { mode: 0o644 });
    } catch (e) {
      throw new CliFailure(`${o.out}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    return { hex, file: o.out };
  }
  return { hex };
}

interface VerifyOpts {
  keys: string;
  src?: string;
  dst?: string;
  proto?: string;
  dport?: string;
  sport?: string;
  at?: string;
  skew: string;
}

export type VerifyOutcome = { ok: true; token: TokenView } | { ok: false; reason: string; message: string };

export function verifyVerb(file: string, o: VerifyOpts, now: number): VerifyOutcome {
  const at = o.at === undefined ? now : parseTime('--at', o.at, now);
  if (!/^\d{1,6}$/.test(o.skew)) throw new CliUsageError(`--skew: '${o.skew}' is not a number of seconds`);
  const flow: FlowQuery = {
    what: 'flow',
    ...(o.src !== undefined ? { src: parsePrefix('--src', o.src) } : {}),
    ...(o.dst !== undefined ? { dst: parsePrefix('--dst', o.dst) } : {}),
    ...(o.proto !== undefined ? { protocol: parseProto('--proto', o.proto) } : {}),
    ...(o.dport !== undefined ? { dstPorts: parsePortRange('--dport', o.dport) } : {}),
    ...(o.sport !== undefined ? { srcPorts: parsePortRange('--sport', o.sport) } : {}),
  };
  const store = loadKeyDirectory(o.keys);
  if (!store.ok) throw new CliFailure(store.error.message);
  const { raw } = readTokenFile(file);
  const v = verifyToken(at, raw, store.value, { coverage: DEFAULT_COVERAGE, clockSkewMs: Number(o.skew) * 1000, requireEndTime: true, allowedTransforms: DEFAULT_ALLOWED_TRANSFORMS }, [flow]);
  return v.ok ? { ok: true, token: v.token } : { ok: false, reason: v.reason, message: v.message };
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function register(program: Command): void {
  const token = program.command('token').description('authorization tokens (RFC 5981 HMAC_SIGNED SESSION_AUTH): keygen, issue, show, verify');

  token
    .command('keygen')
    .description('write a new random 256-bit HMAC key as <dir>/<key-id>.key (mode 0600)')
    .requiredOption('--key-id <n>', 'Key-ID, a 32-bit unsigned integer', keyIdArg)
    .requiredOption('--out <dir>', 'key directory (created if missing)')
    .action(
      action((o: { keyId: number; out: string }) => {
        const r = generateKeyFile(o.out, o.keyId);
        if (!r.ok) throw new CliFailure(r.error.message);
        process.stdout.write(`${r.value}\n`);
      }),
    );

  token
    .command('issue')
    .description('sign a token granting a flow; writes the SESSION_AUTH object as hex')
    .requiredOption('--keys <dir>', 'key directory')
    .requiredOption('--key-id <n>', 'Key-ID of the signing key', keyIdArg)
    .requiredOption('--src <prefix>', 'data source address or prefix (repeatable)', collect)
    .requiredOption('--dst <prefix>', 'data destination address or prefix (repeatable)', collect)
    .option('--proto <p>', 'udp, tcp or an IP protocol number')
    .option('--dport <port>', 'destination port or range (a-b); needs --proto udp|tcp')
    .option('--sport <port>', 'source port or range; needs --proto udp|tcp')
    .option('--not-before <time>', 'now, +30m, ISO 8601 or Unix seconds (default now)')
    .option('--not-after <time>', 'as --not-before; +N is relative to --not-before (default +1h)')
    .option('--ent-id <string>', 'authority name carried as a second AUTH_ENT_ID')
    .option('--transform <name>', 'sha256 (IKEv2 ID 12, HMAC-SHA-256-128), sha384 or sha512', 'sha256')
    .option('--out <file>', 'write the token here instead of stdout')
    .action(
      action((o: IssueOpts) => {
        const r = issueVerb(o, Date.now());
        if (r.file === undefined) process.stdout.write(r.hex + '\n');
        else process.stdout.write(`${r.file}\n`);
      }),
    );

  token
    .command('show')
    .description('print what a token grants, as JSON (does not check the MAC)')
    .argument('<file>', 'token file (hex or raw)')
    .action(
      action((file: string) => {
        const { token: t } = readTokenFile(file);
        process.stdout.write(JSON.stringify(tokenToJson(t)) + '\n');
      }),
    );

  token
    .command('verify')
    .description('check a token as an NF would: MAC, time, and that it covers the flow given (exit 0, or 1 with the reason)')
    .requiredOption('--keys <dir>', 'key directory')
    .argument('<file>', 'token file (hex or raw)')
    .option('--src <ip>', 'data source address (or prefix) to check')
    .option('--dst <ip>', 'data destination address (or prefix) to check')
    .option('--proto <p>', 'udp, tcp or an IP protocol number')
    .option('--dport <port>', 'destination port or range to check')
    .option('--sport <port>', 'source port or range to check')
    .option('--at <time>', 'check at this time instead of now')
    .option('--skew <seconds>', 'allowed clock skew', '30')
    .option('--json', 'print the result as JSON')
    .action(
      action((file: string, o: VerifyOpts & { json?: boolean }) => {
        const r = verifyVerb(file, o, Date.now());
        if (!r.ok) {
          if (o.json === true) process.stdout.write(JSON.stringify({ ok: false, reason: r.reason, message: r.message }) + '\n');
          throw new CliFailure(`token ${file}: ${r.reason}: ${r.message}`, 'TOKEN_REFUSED');
        }
        if (o.json === true) process.stdout.write(JSON.stringify({ ok: true, grants: tokenToJson(r.token) }) + '\n');
        else process.stdout.write(`token ${file}: ok (Key-ID ${r.token.keyId}${r.token.entityId !== undefined ? `, ${r.token.entityId}` : ''}): ${grantSummary(r.token)}\n`);
      }),
    );
}
