/**
 * The slow path into nftables, for what is rare: loading the layout, and
 * reading back what the kernel holds (reconcile, `natfw pinhole list`,
 * `natfw explain`). It runs the `nft` program (optionally inside a named
 * network namespace with `ip netns exec`) and parses its JSON output.
 */
import { execFile } from 'node:child_process';
import { type Family, parseAddress } from '../address';
import { EnforcementError } from '../errors';
import { protocolNumber } from '../model';
import { type Field, type Shape, parseSetName } from './layout';

export interface NftRunResult {
  stdout: string;
  stderr: string;
}

/** The first line of nft's error output that says what went wrong. */
export function nftErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const e = lines.find((l) => /Error:/.test(l));
  return (e ?? lines.find((l) => l !== '') ?? 'nft failed').replace(/^\S*:\d+:\d+-\d+:\s*/, '');
}

export function runNft(args: readonly string[], input: string | undefined, netns: string | undefined): Promise<NftRunResult> {
  const cmd = netns === undefined ? 'nft' : 'ip';
  const argv = netns === undefined ? [...args] : ['netns', 'exec', netns, 'nft', ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { maxBuffer: 1 << 30, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new EnforcementError('ENF_BACKEND_UNAVAILABLE', `'${cmd}' not found: install nftables (and iproute2)`));
          return;
        }
        const line = nftErrorLine(String(stderr));
        reject(new EnforcementError('ENF_KERNEL_REFUSED', `nft: ${line}`, String(stderr).trim()));
        return;
      }
      resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** One element as listed by `nft -j`. */
export interface KernelElement {
  readonly table: string;
  readonly set: string;
  readonly start: Field[];
  readonly end?: Field[];
  /** Map data (a mark) when the set is a map. */
  readonly mark?: number;
  /** Whole seconds, truncated (nft -j). undefined = no timeout (permanent). */
  readonly timeoutS?: number;
  readonly expiresS?: number;
  readonly comment?: string;
  /** NAT maps: the data fields. */
  readonly natData?: Field[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function obj(j: Json | undefined): { [k: string]: Json } | undefined {
  return j !== null && typeof j === 'object' && !Array.isArray(j) ? j : undefined;
}

type FieldType = 'addr' | 'proto' | 'port' | 'mark';

function typesOf(t: Json | undefined): FieldType[] | undefined {
  const list = Array.isArray(t) ? t : typeof t === 'string' ? t.split(' . ') : undefined;
  if (list === undefined) return undefined;
  const out: FieldType[] = [];
  for (const x of list) {
    if (x === 'ipv4_addr' || x === 'ipv6_addr') out.push('addr');
    else if (x === 'inet_proto') out.push('proto');
    else if (x === 'inet_service') out.push('port');
    else if (x === 'mark') out.push('mark');
    else return undefined;
  }
  return out;
}

function addrBounds(v: Json): { lo: Field; hi: Field } | undefined {
  if (typeof v === 'string') {
    const a = parseAddress(v);
    if (a === undefined) return undefined;
    const f: Field = { t: 'addr', f: a.family, v: a.value };
    return { lo: f, hi: f };
  }
  const o = obj(v);
  const p = obj(o?.prefix);
  if (p !== undefined && typeof p.addr === 'string' && typeof p.len === 'number') {
    const a = parseAddress(p.addr);
    if (a === undefined) return undefined;
    const bits = a.family === 4 ? 32 : 128;
    const all = (1n << BigInt(bits)) - 1n;
    const host = p.len === bits ? 0n : all >> BigInt(p.len);
    return { lo: { t: 'addr', f: a.family, v: a.value & ~host & all }, hi: { t: 'addr', f: a.family, v: a.value | host } };
  }
  const r = o?.range;
  if (Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'string') {
    const a = parseAddress(r[0]);
    const b = parseAddress(r[1]);
    if (a === undefined || b === undefined) return undefined;
    return { lo: { t: 'addr', f: a.family, v: a.value }, hi: { t: 'addr', f: b.family, v: b.value } };
  }
  return undefined;
}

function numBounds(v: Json, t: 'proto' | 'port'): { lo: Field; hi: Field } | undefined {
  const one = (x: Json): number | undefined =>
    typeof x === 'number' ? x : typeof x === 'string' ? (t === 'proto' ? protocolNumber(x) : /^\d+$/.test(x) ? Number(x) : undefined) : undefined;
  const r = obj(v)?.range;
  if (Array.isArray(r) && r.length === 2) {
    const a = one(r[0]);
    const b = one(r[1]);
    if (a === undefined || b === undefined) return undefined;
    return { lo: { t, v: a }, hi: { t, v: b } };
  }
  const n = one(v);
  if (n === undefined) return undefined;
  return { lo: { t, v: n }, hi: { t, v: n } };
}

function parseKey(val: Json, types: FieldType[]): { start: Field[]; end: Field[] } | undefined {
  const parts: Json[] = types.length === 1 ? [val] : (obj(val)?.concat as Json[] | undefined) ?? [];
  if (!Array.isArray(parts) || parts.length !== types.length) return undefined;
  const start: Field[] = [];
  const end: Field[] = [];
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    const b = t === 'addr' ? addrBounds(parts[i]) : t === 'mark' ? numBounds(parts[i], 'port') : numBounds(parts[i], t);
    if (b === undefined) return undefined;
    start.push(b.lo);
    end.push(b.hi);
  }
  return { start, end };
}

function sameFields(a: Field[], b: Field[]): boolean {
  return a.length === b.length && a.every((x, i) => x.t === b[i].t && x.v === b[i].v);
}

/**
 * Parses `nft -j list table` output into elements. Elements it cannot read are
 * returned in `unreadable` (by set name) so a reconcile can flush them.
 */
export function parseTableJson(text: string): { elements: KernelElement[]; sets: Set<string>; unreadable: string[] } {
  const root = obj(JSON.parse(text) as Json);
  const items = root?.nftables;
  const elements: KernelElement[] = [];
  const sets = new Set<string>();
  const unreadable: string[] = [];
  if (!Array.isArray(items)) return { elements, sets, unreadable };
  for (const it of items) {
    const o = obj(it);
    const s = obj(o?.set) ?? obj(o?.map);
    if (s === undefined || typeof s.name !== 'string' || typeof s.table !== 'string') continue;
    sets.add(s.name);
    const keyTypes = typesOf(s.type);
    const dataTypes = s.map === undefined ? undefined : typesOf(s.map);
    const elems = s.elem;
    if (!Array.isArray(elems)) continue;
    for (const e of elems) {
      let keyPart: Json = e;
      let dataPart: Json | undefined;
      if (dataTypes !== undefined) {
        if (!Array.isArray(e) || e.length !== 2) {
          unreadable.push(s.name);
          continue;
        }
        keyPart = e[0];
        dataPart = e[1];
      }
      const wrapped = obj(obj(keyPart)?.elem);
      const val = wrapped !== undefined ? wrapped.val : keyPart;
      const k = keyTypes === undefined || val === undefined ? undefined : parseKey(val, keyTypes);
      if (k === undefined) {
        unreadable.push(s.name);
        continue;
      }
      let mark: number | undefined;
      let natData: Field[] | undefined;
      if (dataTypes !== undefined && dataPart !== undefined) {
        if (dataTypes.length === 1 && dataTypes[0] === 'mark') {
          mark = typeof dataPart === 'number' ? dataPart : typeof dataPart === 'string' ? Number(dataPart) : undefined;
          if (mark === undefined || !Number.isInteger(mark)) {
            unreadable.push(s.name);
            continue;
          }
        } else {
          const d = parseKey(dataPart, dataTypes);
          if (d === undefined) {
            unreadable.push(s.name);
            continue;
          }
          natData = d.start;
        }
      }
      const isRange = !sameFields(k.start, k.end);
      if (keyTypes?.length === 1 && keyTypes[0] === 'mark' && typeof val === 'number') mark = val;
      elements.push({
        table: s.table,
        set: s.name,
        start: k.start,
        ...(isRange || parseSetName(s.name)?.shape.startsWith('range') ? { end: k.end } : {}),
        ...(mark !== undefined ? { mark } : {}),
        ...(natData !== undefined ? { natData } : {}),
        ...(typeof wrapped?.timeout === 'number' ? { timeoutS: wrapped.timeout } : {}),
        ...(typeof wrapped?.expires === 'number' ? { expiresS: wrapped.expires } : {}),
        ...(typeof wrapped?.comment === 'string' ? { comment: wrapped.comment } : {}),
      });
    }
  }
  return { elements, sets, unreadable };
}

export function fieldsKey(fs: readonly Field[]): string {
  return fs.map((f) => (f.t === 'addr' ? `${f.f}:${f.v.toString(16)}` : `${f.t[1]}${f.v}`)).join('|');
}

export type { Family, Shape };
