/**
 * The nftables backend: pinholes as elements of netfilter maps in
 * `table inet natfw` (layout.ts), NAT bindings in `table inet natfw_nat`,
 * each commit one nfnetlink batch (one atomic netfilter transaction) sent
 * through our own netlink encoder (netlink.ts), every element with a kernel
 * timeout of lifetime + grace (fail closed when the daemon dies), and an exact
 * userspace index of what is installed.
 *
 * Metadata is recoverable from the kernel alone (for the CLI, which has no
 * daemon, and for reconcile after a crash): a pinhole's id is its 32-bit
 * number (`ph-<hex>`), which is the map data / ct mark of its elements; the
 * owner is the element comment; the expiry is the element's remaining time
 * minus the grace.
 */
import { type Family, formatAddress } from '../address';
import { EnforcementError } from '../errors';
import { hasPorts, parsePacket, pinholeMatches, pinholeOf } from '../model';
import { type Op, type Plan, PinholeTable, StagedTransaction, emptyPlan } from '../table';
import type { LookupResult, NatBinding, NatBindingSpec, PacketKey, Pinhole, PinholeSet, PinholeSpec, Prefix, Transaction } from '../types';
import { type KernelElement, fieldsKey, parseTableJson, runNft } from './kernel';
import {
  type Field,
  type LayoutOptions,
  type MaskShape,
  type PinholeElements,
  type Shape,
  MAX_MASKED_MAPS,
  maskedMapScript,
  v4HashKeys,
  slotsOf,
  bindingElements,
  encodeKey,
  encodeKeyStr,
  encodeMark,
  encodeMarkStr,
  layoutOptions,
  parseSetName,
  pinholeElements,
  setName,
  setupScript,
  teardownScript,
} from './layout';
import { type ElementOp, NftNetlink, type RawElement } from './netlink';
import { type Box, RangeIndex, boxOf } from './ranges';

export interface NftBackendOptions extends Partial<LayoutOptions> {
  /** Named network namespace (/run/netns/<name>) to act in; default: the current one. */
  readonly netns?: string;
  /** Kernel timeout = lifetime + grace (ms). Default 3000. */
  readonly graceMs?: number;
}

export interface OpenOptions extends NftBackendOptions {
  /** The caller's clock now (ms). */
  readonly now: number;
  /** Load/refresh the layout first (default true). The CLI passes false and requires `setup` was run. */
  readonly setup?: boolean;
  /**
   * What the node believes is installed. undefined: adopt every consistent
   * pinhole found in the kernel (CLI, static pinholes). Given: keep what
   * matches it (same id and rule), refresh those to the given expiry, remove
   * the rest, and install what is missing.
   */
  readonly desired?: { readonly pinholes: readonly Pinhole[]; readonly bindings: readonly NatBinding[] };
  /** false: only read the kernel (list, explain); inconsistent elements are left alone and not indexed. Default true. */
  readonly repair?: boolean;
}

/** What the kernel said about a pinhole or binding when it was last read. */
export interface KernelInfo {
  readonly set: string;
  readonly mark: number;
  readonly elements: number;
  readonly timeoutS?: number;
  readonly expiresS?: number;
}

/**
 * A kernel key kept as a latin1 string (one byte per char): small on the heap, and its own identity
 * in its set. Interval (pipapo) keys carry their end and overlap box.
 */
interface RangeKey {
  readonly start: string;
  readonly end: string;
  /** Identity in its set: start~end. */
  readonly str: string;
  readonly box: Box;
}
type InstalledKey = string | RangeKey;

function keyStart(k: InstalledKey): string {
  return typeof k === 'string' ? k : k.start;
}

function keyEnd(k: InstalledKey): string | undefined {
  return typeof k === 'string' ? undefined : k.end;
}

function isRangeKeys(keys: readonly InstalledKey[]): boolean {
  return keys.length > 0 && typeof keys[0] !== 'string';
}

/** Slot set names per (action, family, shape[, mask]), built once: keysFor runs for every added pinhole. */
const slotNameCache = new Map<string, readonly string[]>();
function slotNames(action: 'allow' | 'deny', family: Family, shape: Shape, mask?: MaskShape): readonly string[] {
  const k = mask === undefined ? `${action}${family}${shape}` : `${action}${family}${shape}${mask.sl}/${mask.dl}/${mask.sk}/${mask.dk}`;
  let names = slotNameCache.get(k);
  if (names === undefined) {
    const l: string[] = [];
    for (let slot = 0; slot < slotsOf(action, shape); slot++) l.push(setName(action, family, shape, slot, mask));
    slotNameCache.set(k, (names = l));
  }
  return names;
}

export interface Installed {
  /** Replaced in place by a refresh (same rule, new expiry). */
  pinhole: Pinhole;
  readonly mark: number;
  readonly set: string;
  readonly keys: readonly InstalledKey[];
  /** Caller-clock time at which the kernel drops the elements. */
  deadline: number;
}

/** 30-bit FNV-1a hash of a latin1 key string (a small integer: a Map key that costs no pointer chase). */
export function keyHash(k: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

/**
 * Which index entry holds each key of one hash map (identical keys of two pinholes must go to
 * different slots: the kernel refuses a key that maps to other data). Keyed by the key's hash, not
 * the key string: with 100,000 string keys every probe compared key strings spread over the heap
 * (a cache miss each), and each key string was one more long-lived object. A hash hit is confirmed
 * against the holder's keys; a key whose hash another key already holds (rare) goes to `spill`.
 */
export class KeyOccupancy {
  private readonly byHash = new Map<number, Installed>();
  private readonly spill = new Map<string, Installed>();

  get size(): number {
    return this.byHash.size + this.spill.size;
  }

  has(k: string): boolean {
    const i = this.byHash.get(keyHash(k));
    if (i !== undefined && i.keys.includes(k)) return true;
    return this.spill.size > 0 && this.spill.has(k);
  }

  add(k: string, inst: Installed): void {
    const h = keyHash(k);
    if (this.byHash.has(h)) this.spill.set(k, inst);
    else this.byHash.set(h, inst);
  }

  /** Removes `k` as held by `inst` (no-op if `inst` does not hold it). */
  delete(k: string, inst: Installed): void {
    if (this.spill.size > 0 && this.spill.get(k) === inst) {
      this.spill.delete(k);
      return;
    }
    const h = keyHash(k);
    if (this.byHash.get(h) === inst && inst.keys.includes(k)) this.byHash.delete(h);
  }
}

interface InstalledBinding {
  readonly binding: NatBinding;
  readonly mark: number;
  readonly family: Family;
  readonly el: ReturnType<typeof bindingElements>;
  deadline: number;
}

export interface ReconcileReport {
  kept: number;
  removed: number;
  added: number;
  unreadable: number;
}

const MAX_MARK = 0x7fffffff;
/** Deletes of elements this close to their kernel expiry are made idempotent (they may be gone already). */
const NEAR_EXPIRY_MS = 1500;
/** Timeout of a killed range element (ms): it expires at the next jiffy. */
const KILL_TIMEOUT_MS = 1;
/** How long a killed element's slot and mark stay reserved (the kernel's clock is jiffies; be generous). */
const ZOMBIE_HOLD_MS = 1000;
const OWNER_RE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{0,100}$/;

export function pinholeId(mark: number): string {
  return `ph-${mark.toString(16)}`;
}

export function bindingId(mark: number): string {
  return `nb-${mark.toString(16)}`;
}

/**
 * The mark of a pinhole id in its canonical form (`ph-` and lower-case hex without leading zeros, as
 * `pinholeId` writes it), else undefined. No regex and no allocation: it runs for every staged op.
 */
function canonicalPinholeMark(id: string): number | undefined {
  const n = id.length;
  if (n < 4 || n > 11 || id.charCodeAt(0) !== 0x70 || id.charCodeAt(1) !== 0x68 || id.charCodeAt(2) !== 0x2d || id.charCodeAt(3) === 0x30) return undefined;
  let v = 0;
  for (let i = 3; i < n; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return undefined;
    v = v * 16 + d;
  }
  return v >= 1 && v <= MAX_MARK ? v : undefined;
}

export function markOfId(id: string): number | undefined {
  const m = /^(?:ph|nb)-([0-9a-f]{1,8})$/.exec(id);
  if (m === null) return undefined;
  const v = parseInt(m[1], 16);
  return v >= 1 && v <= MAX_MARK ? v : undefined;
}

function prefixOf(lo: Field, hi: Field): Prefix | undefined {
  if (lo.t !== 'addr' || hi.t !== 'addr' || lo.f !== hi.f) return undefined;
  const bits = lo.f === 4 ? 32 : 128;
  const size = hi.v - lo.v + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n || (lo.v & (size - 1n)) !== 0n) return undefined;
  const len = bits - (size.toString(2).length - 1);
  return { address: formatAddress({ family: lo.f, value: lo.v }), length: len };
}

function num(f: Field | undefined): number {
  return f !== undefined && f.t !== 'addr' ? f.v : -1;
}

export class NftPinholeSet implements PinholeSet {
  readonly backend = 'nftables';
  readonly options: LayoutOptions;
  readonly graceMs: number;
  readonly netns: string | undefined;
  /**
   * NAT bindings as installed (the table's pinhole half stays empty: pinholes live only in
   * `installed`, one map lookup per id and change instead of one in each of two 100,000-entry maps).
   */
  private readonly table = new PinholeTable(false);
  /** The exact record of the pinholes installed; no lookup index (the kernel does the lookups; `explain` scans). */
  private readonly installed = new Map<number, Installed>();
  /** Index entries read by the plan of the commit being prepared (execute uses them, no second lookup). */
  private readonly touched = new Map<string, Installed>();
  /**
   * Index entries read when an op was staged (`remove`/`refresh` check the id exists), so the plan
   * need not read them again. Valid until the index changes: emptied by every index update.
   */
  private readonly staged = new Map<string, Installed>();
  private readonly installedB = new Map<string, InstalledBinding>();
  private readonly hashOcc = new Map<string, KeyOccupancy>();
  private readonly rangeOcc = new Map<string, RangeIndex>();
  /**
   * Marks are handed out in increasing order, so a new one is free until the counter wraps past
   * 0x7fffffff (2^31 pinholes later) or reaches marks a reconcile found: then `markInUse` checks.
   */
  private wrapped = false;
  /** nextMark after the last reconcile: marks from here up to nextMark were made by allocMark. */
  private freshFrom = 1;
  private readonly zombieMarks = new Set<number>();
  /** Masked maps that exist in the kernel (made on first use, see layout.ts MaskShape). */
  private readonly maskedMaps = new Set<string>();
  /** Masked maps chosen by the commit being prepared that do not exist yet. */
  private readonly maskedPending = new Set<string>();
  /** Killed range pinholes (see execute): slot and mark held until `until` (performance.now() ms). */
  private zombies: Array<{ readonly inst: Installed; readonly until: number }> = [];
  private nextMark = 1;
  private readonly info = new Map<string, KernelInfo>();
  private nl: NftNetlink | undefined;
  /** Serialises commits: each is one kernel transaction against the index as it is. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: NftBackendOptions) {
    this.options = layoutOptions(opts);
    this.graceMs = opts.graceMs ?? 3000;
    this.netns = opts.netns;
  }

  /** Loads the layout (idempotent), reads the kernel, reconciles. */
  static async open(opts: OpenOptions): Promise<{ set: NftPinholeSet; report: ReconcileReport }> {
    const s = new NftPinholeSet(opts);
    if (opts.setup ?? true) await NftPinholeSet.setup(opts);
    s.nl = new NftNetlink(opts.netns);
    try {
      const report = await s.enqueue(() => s.reconcileNow(opts.now, opts.desired, opts.repair ?? true));
      return { set: s, report };
    } catch (e) {
      s.close();
      throw e;
    }
  }

  /** Creates (or updates to this mode) both tables; existing elements stay. */
  static async setup(opts: NftBackendOptions = {}): Promise<void> {
    await runNft(['-f', '-'], setupScript(layoutOptions(opts)), opts.netns);
  }

  /** Removes both tables and everything in them (and nothing else). */
  static async teardown(opts: NftBackendOptions = {}): Promise<void> {
    await runNft(['-f', '-'], teardownScript(layoutOptions(opts)), opts.netns);
  }

  close(): void {
    this.nl?.close();
    this.nl = undefined;
  }

  // ---------- PinholeSet ----------

  begin(): Transaction {
    return new StagedTransaction(
      {
        has: (id) => {
          const i = this.installedOf(id);
          if (i !== undefined) this.staged.set(id, i);
          return i !== undefined;
        },
        hasBinding: (id) => this.table.hasBinding(id),
      },
      { pinhole: (spec) => this.newPinholeId(spec), binding: (spec) => this.newBindingId(spec) },
      (ops, now) => this.enqueue(() => this.commitOps(ops, now)),
    );
  }

  list(): readonly Pinhole[] {
    const out: Pinhole[] = [];
    for (const i of this.installed.values()) out.push(i.pinhole);
    return out;
  }

  listBindings(): readonly NatBinding[] {
    return this.table.listBindings();
  }

  lookup(packet: PacketKey): LookupResult {
    const pkt = parsePacket(packet);
    if (pkt === undefined) return { verdict: 'none', matches: [] };
    const denies: Pinhole[] = [];
    const allows: Pinhole[] = [];
    for (const i of this.installed.values()) if (pinholeMatches(i.pinhole, pkt)) (i.pinhole.action === 'deny' ? denies : allows).push(i.pinhole);
    return { verdict: denies.length > 0 ? 'deny' : allows.length > 0 ? 'allow' : 'none', matches: [...denies, ...allows] };
  }

  get(id: string): Pinhole | undefined {
    return this.installedOf(id)?.pinhole;
  }

  /** The mark (ct mark / map data) of an installed pinhole or binding. */
  markOf(id: string): number | undefined {
    return this.installedOf(id)?.mark ?? this.installedB.get(id)?.mark;
  }

  /** Where a pinhole lives in the kernel (set name), for `explain` and `list --json`. */
  kernelSetOf(id: string): string | undefined {
    return this.installedOf(id)?.set;
  }

  /** Kernel deadline (caller clock) of a pinhole or binding. */
  kernelDeadlineOf(id: string): number | undefined {
    return this.installedOf(id)?.deadline ?? this.installedB.get(id)?.deadline;
  }

  async expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }> {
    return this.enqueue(async () => {
      const gone = { pinholes: this.list().filter((p) => p.expiresAt <= now), bindings: this.table.expired(now).bindings };
      if (gone.pinholes.length === 0 && gone.bindings.length === 0) return gone;
      const plan = emptyPlan(now);
      plan.removed.push(...gone.pinholes);
      plan.removedBindings.push(...gone.bindings);
      // The kernel may have dropped them already (lifetime + grace): delete idempotently.
      await this.execute(plan, now, [], true);
      return gone;
    });
  }

  /**
   * The index entry of a pinhole id. Keyed by the mark (a small integer) rather than the id string:
   * a string key in a 100,000-entry Map costs a cache miss on every candidate key it is compared with.
   */
  private installedOf(id: string): Installed | undefined {
    const m = canonicalPinholeMark(id);
    return m === undefined ? undefined : this.installed.get(m);
  }

  // ---------- ids ----------

  private allocMark(): number {
    for (let i = 0; i <= MAX_MARK; i++) {
      const m = this.nextMark;
      if (this.nextMark >= MAX_MARK) {
        this.nextMark = 1;
        this.wrapped = true;
      } else this.nextMark++;
      if (!this.mayBeInUse(m) || !this.markInUse(m)) return m;
    }
    throw new EnforcementError('ENF_CONFLICT', 'no free pinhole number');
  }

  private wrapMark(): void {
    if (this.nextMark > MAX_MARK) {
      this.nextMark = 1;
      this.wrapped = true;
    }
  }

  /** False when `m` surely is not in use (handed out fresh by allocMark since the last reconcile). */
  private mayBeInUse(m: number): boolean {
    return this.wrapped || m < this.freshFrom;
  }

  private markInUse(m: number): boolean {
    return this.installed.has(m) || this.installedB.has(bindingId(m)) || this.zombieMarks.has(m);
  }

  private checkOwner(owner: string): void {
    if (!OWNER_RE.test(owner))
      throw new EnforcementError('ENF_INVALID_SPEC', 'owner must be at most 100 printable ASCII characters without quotes or backslashes (it is stored as the element comment)');
  }

  private newPinholeId(spec: PinholeSpec): string {
    this.checkOwner(spec.owner);
    return pinholeId(this.allocMark());
  }

  private newBindingId(spec: NatBindingSpec): string {
    this.checkOwner(spec.owner);
    return bindingId(this.allocMark());
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  // ---------- commit ----------

  private async commitOps(ops: readonly Op[], now: number): Promise<void> {
    if (!Number.isFinite(now)) throw new EnforcementError('ENF_INVALID_SPEC', 'now must be a finite number');
    this.touched.clear();
    try {
      const plan = this.table.plan(ops, now, (id) => {
        const i = this.staged.get(id) ?? this.installedOf(id);
        if (i !== undefined) this.touched.set(id, i);
        return i?.pinhole;
      });
      await this.execute(plan, now, [], false);
    } finally {
      this.touched.clear();
    }
  }

  /** Names of the masked maps that exist in the kernel (for `explain`). */
  maskedMapNames(): readonly string[] {
    return [...this.maskedMaps];
  }

  private maskedMapCount(family: Family): number {
    let n = 0;
    for (const m of this.maskedMaps) if (m[1] === String(family)) n++;
    for (const m of this.maskedPending) if (m[1] === String(family)) n++;
    return n;
  }

  private keysFor(ph: Pinhole): { set: string; keys: InstalledKey[] } {
    const fast = v4HashKeys(ph);
    if (fast !== undefined) {
      const r = this.slotFor(ph, 4, fast.shape, fast.mask, fast.keys);
      if (r !== undefined) return r;
    }
    let e = pinholeElements(ph);
    if (e.shape === 'masked') {
      const r = this.slotFor(ph, e.family, e.shape, e.mask, this.keysFor0(ph, e));
      if (r !== undefined) return r;
      e = pinholeElements(ph, { masked: false });
    }
    const keys = this.keysFor0(ph, e);
    let names = slotNames(ph.action, e.family, e.shape);
    const n = names.length;
    // Interval shapes: try the least filled sets first (pipapo deletes cost O(set size)); hash shapes: in order.
    if (isRangeKeys(keys)) names = [...names].sort((a, b) => (this.rangeOcc.get(a)?.size ?? 0) - (this.rangeOcc.get(b)?.size ?? 0));
    for (const set of names) if (this.slotFree(set, keys)) return { set, keys };
    throw new EnforcementError(
      'ENF_CONFLICT',
      `pinhole ${ph.id}: ${n} pinholes with the same or overlapping ${e.shape} rule already installed (${ph.action} ${e.family === 4 ? 'IPv4' : 'IPv6'})`,
    );
  }

  /**
   * A set for a hash-shaped pinhole: the first slot whose map holds none of its keys. Masked maps:
   * made now if missing and the budget allows; undefined = none (the caller falls back to pipapo).
   */
  private slotFor(ph: Pinhole, family: Family, shape: Shape, mask: MaskShape | undefined, keys: InstalledKey[]): { set: string; keys: InstalledKey[] } | undefined {
    if (shape !== 'masked') {
      for (const set of slotNames(ph.action, family, shape)) if (this.slotFree(set, keys)) return { set, keys };
      throw new EnforcementError(
        'ENF_CONFLICT',
        `pinhole ${ph.id}: ${slotsOf(ph.action, shape)} pinholes with the same ${shape} rule already installed (${ph.action} ${family === 4 ? 'IPv4' : 'IPv6'})`,
      );
    }
    for (const set of slotNames(ph.action, family, shape, mask)) {
      const exists = this.maskedMaps.has(set) || this.maskedPending.has(set);
      if (!exists && this.maskedMapCount(family) >= MAX_MASKED_MAPS) continue;
      if (!this.slotFree(set, keys)) continue;
      if (!exists) this.maskedPending.add(set);
      return { set, keys };
    }
    return undefined;
  }

  private slotFree(set: string, keys: readonly InstalledKey[]): boolean {
    for (const k of keys) {
      if (typeof k !== 'string') {
        if (this.rangeOcc.get(set)?.conflicts(k.box)) return false;
      } else if (this.hashOcc.get(set)?.has(k)) return false;
    }
    return true;
  }

  private occupy(inst: Installed): void {
    for (const k of inst.keys) {
      if (typeof k !== 'string') {
        let r = this.rangeOcc.get(inst.set);
        if (r === undefined) this.rangeOcc.set(inst.set, (r = new RangeIndex()));
        r.add(k.box);
      } else {
        let h = this.hashOcc.get(inst.set);
        if (h === undefined) this.hashOcc.set(inst.set, (h = new KeyOccupancy()));
        h.add(k, inst);
      }
    }
  }

  /** Frees the slots and marks of killed range elements the kernel has surely expired. */
  private releaseZombies(): void {
    if (this.zombies.length === 0) return;
    const t = performance.now();
    let i = 0;
    while (i < this.zombies.length && this.zombies[i].until <= t) {
      const z = this.zombies[i++];
      this.vacate(z.inst);
      this.zombieMarks.delete(z.inst.mark);
    }
    if (i > 0) this.zombies = this.zombies.slice(i);
  }

  private vacate(inst: Installed): void {
    for (const k of inst.keys) {
      if (typeof k !== 'string') this.rangeOcc.get(inst.set)?.remove(k.box);
      else this.hashOcc.get(inst.set)?.delete(k, inst);
    }
  }

  private timeoutMs(expiresAt: number, now: number): number {
    return Math.max(1, expiresAt - now) + this.graceMs;
  }

  /**
   * Turns a plan into one kernel batch and applies it to the index on success.
   * `extraDeletes` are raw kernel elements to delete idempotently (reconcile).
   */
  private async execute(plan: Plan, now: number, extraDeletes: ElementOp[], allIdempotent: boolean): Promise<void> {
    const T = this.options.table;
    const N = this.options.natTable;
    // table -> set -> elements, in first-use order (ensure: add before delete = idempotent delete).
    type Bucket = Map<string, Map<string, RawElement[]>>;
    const ensure: Bucket = new Map();
    const dels: Bucket = new Map();
    const adds: Bucket = new Map();
    const push = (m: Bucket, table: string, set: string, e: RawElement): void => {
      let t = m.get(table);
      if (t === undefined) m.set(table, (t = new Map()));
      let l = t.get(set);
      if (l === undefined) t.set(set, (l = []));
      l.push(e);
    };
    const del = (table: string, set: string, e: RawElement, idem: boolean): void => {
      if (idem) push(ensure, table, set, { key: e.key, keyEnd: e.keyEnd, data: e.data, timeoutMs: 1000 });
      push(dels, table, set, { key: e.key, keyEnd: e.keyEnd });
    };

    this.releaseZombies();
    // Pinholes removed.
    const removedInst: Installed[] = [];
    for (const ph of plan.removed) {
      const inst = this.touched.get(ph.id) ?? this.installedOf(ph.id);
      if (inst === undefined) continue;
      removedInst.push(inst);
      const idem = allIdempotent || now >= inst.deadline - NEAR_EXPIRY_MS;
      const data = encodeMarkStr(inst.mark);
      if (ph.action === 'allow' && isRangeKeys(inst.keys)) {
        // An allow range (pipapo) element is not deleted but re-added with a 1 ms timeout: a pipapo
        // delete searches the set linearly (nft_pipapo_remove, ~0.6 us per element in the set, the
        // cost that grew with the installed count), an update is cheap. Its live entry goes now, and
        // the allow rules require the live mark, so the dying element admits nothing; the kernel
        // skips expired elements in lookups and overlap checks and frees them in its set GC.
        // Idempotent by nature (an element already gone is re-added expiring at once).
        for (const k of inst.keys) push(adds, T, inst.set, { key: keyStart(k), keyEnd: keyEnd(k), data, timeoutMs: KILL_TIMEOUT_MS });
      } else for (const k of inst.keys) del(T, inst.set, { key: keyStart(k), keyEnd: keyEnd(k), data }, idem);
      if (ph.action === 'allow') del(T, 'live', { key: data }, idem);
    }
    // Pinholes added: choose slots (tentatively occupied; released again on failure).
    const addedInst: Installed[] = [];
    this.maskedPending.clear();
    try {
      for (const ph of plan.added) {
        const mark = canonicalPinholeMark(ph.id);
        if (mark === undefined || (this.mayBeInUse(mark) && this.markInUse(mark)))
          throw new EnforcementError('ENF_INVALID_SPEC', `pinhole id '${ph.id}' is not a free id of this backend`);
        const { set, keys } = this.keysFor(ph);
        const inst: Installed = { pinhole: ph, mark, set, keys, deadline: now + this.timeoutMs(ph.expiresAt, now) };
        this.occupy(inst);
        addedInst.push(inst);
      }
      if (this.maskedPending.size > 0) {
        // New mask combinations: their maps and rules first, in a transaction of their own (nft -f, rare).
        // If the element batch then fails, an empty map and its rule stay: harmless, used next time.
        if (this.nl === undefined) throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', 'backend closed');
        await runNft(['-f', '-'], [...this.maskedPending].map((n) => maskedMapScript(this.options, n)).join(''), this.netns);
        for (const n of this.maskedPending) this.maskedMaps.add(n);
        this.maskedPending.clear();
      }
    } catch (e) {
      for (const i of addedInst) this.vacate(i);
      this.maskedPending.clear();
      throw e;
    }
    const addPinhole = (inst: Installed, ph: Pinhole): void => {
      const timeoutMs = this.timeoutMs(ph.expiresAt, now);
      const data = encodeMarkStr(inst.mark);
      for (const k of inst.keys)
        push(adds, T, inst.set, { key: keyStart(k), keyEnd: keyEnd(k), data, timeoutMs, comment: ph.owner });
      if (ph.action === 'allow') push(adds, T, 'live', { key: data, timeoutMs });
    };
    for (const inst of addedInst) addPinhole(inst, inst.pinhole);
    // Refreshes: a re-add with the new timeout (never without one: that would make the element permanent).
    const refreshedInst: Array<Installed | undefined> = [];
    for (const r of plan.refreshed) {
      const inst = this.touched.get(r.before.id) ?? this.installedOf(r.before.id);
      refreshedInst.push(inst);
      if (inst !== undefined) addPinhole(inst, r.after);
    }

    // NAT bindings.
    const bindingEls = (b: InstalledBinding, timeoutMs: number | undefined): Array<[string, RawElement]> => {
      const f = b.family;
      const mark = encodeMark(b.mark);
      const t = timeoutMs !== undefined ? { timeoutMs } : {};
      return [
        [`dnat${f}`, { key: b.el.dnatKey, data: b.el.dnatData, ...t }],
        [`snat${f}`, { key: b.el.snatKey, data: b.el.snatData, ...t }],
        [`dmark${f}`, { key: b.el.dnatKey, data: mark, ...t, comment: b.binding.owner }],
        [`smark${f}`, { key: b.el.snatKey, data: mark, ...t }],
      ];
    };
    const removedB: InstalledBinding[] = [];
    for (const b of plan.removedBindings) {
      const ib = this.installedB.get(b.id);
      if (ib === undefined) continue;
      removedB.push(ib);
      const idem = allIdempotent || now >= ib.deadline - NEAR_EXPIRY_MS;
      for (const [set, e] of bindingEls(ib, undefined)) del(N, set, e, idem);
      del(T, 'live', { key: encodeMark(ib.mark) }, idem);
    }
    const addedB: InstalledBinding[] = [];
    for (const b of plan.addedBindings) {
      const mark = markOfId(b.id);
      if (mark === undefined || (this.mayBeInUse(mark) && this.markInUse(mark)))
        throw new EnforcementError('ENF_INVALID_SPEC', `binding id '${b.id}' is not a free id of this backend`);
      const el = bindingElements(b);
      addedB.push({ binding: b, mark, family: el.family, el, deadline: now + this.timeoutMs(b.expiresAt, now) });
    }
    for (const ib of addedB) {
      const timeoutMs = this.timeoutMs(ib.binding.expiresAt, now);
      for (const [set, e] of bindingEls(ib, timeoutMs)) push(adds, N, set, e);
      push(adds, T, 'live', { key: encodeMark(ib.mark), timeoutMs });
    }
    for (const r of plan.refreshedBindings) {
      const ib = this.installedB.get(r.before.id);
      if (ib === undefined) continue;
      const timeoutMs = this.timeoutMs(r.after.expiresAt, now);
      for (const [set, e] of bindingEls({ ...ib, binding: r.after }, timeoutMs)) push(adds, N, set, e);
      push(adds, T, 'live', { key: encodeMark(ib.mark), timeoutMs });
    }

    const batch: ElementOp[] = [];
    const emit = (m: Bucket, op: 'add' | 'delete'): void => {
      for (const [table, sets] of m) for (const [set, elements] of sets) batch.push({ op, table, set, elements });
    };
    for (const x of extraDeletes) batch.push({ ...x, op: 'add', elements: x.elements.map((e) => ({ ...e, timeoutMs: 1000 })) });
    emit(ensure, 'add');
    for (const x of extraDeletes) batch.push({ ...x, op: 'delete' });
    emit(dels, 'delete');
    emit(adds, 'add');

    if (batch.length > 0) {
      if (this.nl === undefined) {
        for (const i of addedInst) this.vacate(i);
        throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', 'backend closed');
      }
      const errors = this.nl.run(batch);
      if (errors !== undefined) {
        for (const i of addedInst) this.vacate(i);
        const first = errors[0];
        const where = first.opIndex !== undefined ? ` (${batch[first.opIndex].op} element in ${batch[first.opIndex].set})` : '';
        const msg = `Could not process rule: ${first.message}${where}`;
        throw new EnforcementError('ENF_KERNEL_REFUSED', `kernel refused the transaction, nothing applied: ${msg}`, msg);
      }
    }

    // Success: the index follows the kernel.
    const holdUntil = performance.now() + ZOMBIE_HOLD_MS;
    for (const inst of removedInst) {
      this.installed.delete(inst.mark);
      if (inst.pinhole.action === 'allow' && isRangeKeys(inst.keys)) {
        // Killed, not deleted: keep its slot and mark until the kernel surely sees it expired.
        this.zombies.push({ inst, until: holdUntil });
        this.zombieMarks.add(inst.mark);
        continue;
      }
      this.vacate(inst);
    }
    for (const inst of addedInst) this.installed.set(inst.mark, inst);
    for (let i = 0; i < plan.refreshed.length; i++) {
      const inst = refreshedInst[i];
      if (inst === undefined) continue;
      const after = plan.refreshed[i].after;
      inst.pinhole = after;
      inst.deadline = now + this.timeoutMs(after.expiresAt, now);
    }
    for (const ib of removedB) this.installedB.delete(ib.binding.id);
    for (const ib of addedB) this.installedB.set(ib.binding.id, ib);
    for (const r of plan.refreshedBindings) {
      const ib = this.installedB.get(r.before.id);
      if (ib !== undefined) this.installedB.set(r.before.id, { ...ib, binding: r.after, deadline: now + this.timeoutMs(r.after.expiresAt, now) });
    }
    this.table.applyBindings(plan);
    this.staged.clear();
  }

  // ---------- reconcile ----------

  /** Reads both tables as the kernel holds them. */
  async readKernel(): Promise<{ elements: KernelElement[]; unreadable: string[] }> {
    const out: KernelElement[] = [];
    const unreadable: string[] = [];
    for (const t of [this.options.table, this.options.natTable]) {
      let text: string;
      try {
        text = (await runNft(['-j', 'list', 'table', 'inet', t], undefined, this.netns)).stdout;
      } catch (e) {
        if (e instanceof EnforcementError && /No such file or directory/.test(e.message))
          throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `table inet ${t} does not exist: run 'natfw pinhole setup' first`);
        throw e;
      }
      const r = parseTableJson(text);
      out.push(...r.elements);
      unreadable.push(...r.unreadable);
      if (t === this.options.table) for (const n of r.sets) if (parseSetName(n)?.shape === 'masked') this.maskedMaps.add(n);
    }
    return { elements: out, unreadable };
  }

  /**
   * Rebuilds the index from the kernel; keeps consistent pinholes (all
   * elements present and exactly what the rule needs, live mark present for
   * allows), deletes the rest, then applies `desired` if given.
   */
  async reconcile(now: number, desired?: OpenOptions['desired']): Promise<ReconcileReport> {
    return this.enqueue(() => this.reconcileNow(now, desired, true));
  }

  /** The kernel's view of each pinhole/binding at the last read (reconcile). */
  kernelInfo(id: string): KernelInfo | undefined {
    return this.info.get(id);
  }

  private async reconcileNow(now: number, desired: OpenOptions['desired'], repair = true): Promise<ReconcileReport> {
    this.maskedMaps.clear();
    const { elements, unreadable } = await this.readKernel();
    this.staged.clear();
    this.info.clear();
    const T = this.options.table;
    const N = this.options.natTable;
    // Reset the index: the kernel is the truth now.
    this.installed.clear();
    this.installedB.clear();
    this.hashOcc.clear();
    this.rangeOcc.clear();
    this.zombieMarks.clear();
    this.zombies = [];
    this.wrapped = false;
    for (const b of this.table.listBindings()) this.table.deleteBinding(b.id);

    const byMark = new Map<number, KernelElement[]>();
    const live = new Map<number, KernelElement>();
    const nat = new Map<string, KernelElement[]>(); // dmark/smark by mark; dnat/snat by key
    const natByKey = new Map<string, KernelElement>();
    for (const e of elements) {
      if (e.table === T && e.set === 'live' && e.start[0]?.t === 'port') {
        live.set(e.start[0].v, e);
        continue;
      }
      if (e.table === T && parseSetName(e.set) !== undefined && e.mark !== undefined) {
        let l = byMark.get(e.mark);
        if (l === undefined) byMark.set(e.mark, (l = []));
        l.push(e);
        continue;
      }
      if (e.table === N) {
        if (/^[ds]mark[46]$/.test(e.set) && e.mark !== undefined) {
          const k = String(e.mark);
          let l = nat.get(k);
          if (l === undefined) nat.set(k, (l = []));
          l.push(e);
        } else if (/^[ds]nat[46]$/.test(e.set)) natByKey.set(`${e.set}|${fieldsKey(e.start)}`, e);
      }
    }

    const toDelete: KernelElement[] = [];
    const keptP: Array<{ ph: Pinhole; inst: Installed }> = [];
    for (const [mark, els] of byMark) {
      const ph = this.rebuildPinhole(mark, els, now);
      const l = live.get(mark);
      // Read-only (list, explain): an element in its grace time still admits packets, so it is shown
      // (expiresAt in the past says so); repairing, it belongs to a session that has ended and goes.
      const ok = ph !== undefined && (ph.action === 'deny' || l !== undefined) && (!repair || ph.expiresAt > now);
      if (!ok) {
        toDelete.push(...els);
        if (l !== undefined) toDelete.push(l);
        live.delete(mark);
        continue;
      }
      const keys = this.keysFor0(ph, pinholeElements(ph, { masked: parseSetName(els[0].set)?.shape === 'masked' }));
      this.info.set(ph.id, { set: els[0].set, mark, elements: els.length, timeoutS: els[0].timeoutS, expiresS: els[0].expiresS });
      keptP.push({ ph, inst: { pinhole: ph, mark, set: els[0].set, keys, deadline: now + (els[0].expiresS ?? 0) * 1000 } });
      live.delete(mark);
    }
    const keptB: Array<{ b: NatBinding; ib: InstalledBinding }> = [];
    for (const [k, els] of nat) {
      const mark = Number(k);
      const b = this.rebuildBinding(mark, els, natByKey, now);
      const l = live.get(mark);
      if (b === undefined || l === undefined || (repair && b.binding.expiresAt <= now)) {
        toDelete.push(...els);
        for (const e of els) {
          const n = natByKey.get(`${e.set.replace('mark', 'nat')}|${fieldsKey(e.start)}`);
          if (n !== undefined) toDelete.push(n);
        }
        if (l !== undefined) toDelete.push(l);
      } else {
        keptB.push({ b: b.binding, ib: b });
        const dm = els.find((e) => e.set.startsWith('dmark'));
        this.info.set(b.binding.id, { set: dm?.set ?? '', mark, elements: 4, timeoutS: dm?.timeoutS, expiresS: dm?.expiresS });
      }
      live.delete(mark);
      for (const e of els) natByKey.delete(`${e.set.replace('mark', 'nat')}|${fieldsKey(e.start)}`);
    }
    // Orphans: live marks nobody owns, NAT map entries without their mark entries.
    for (const l of live.values()) toDelete.push(l);
    for (const n of natByKey.values()) toDelete.push(n);

    // Install the survivors in the index.
    for (const { inst } of keptP) {
      this.installed.set(inst.mark, inst);
      this.occupy(inst);
      this.nextMark = Math.max(this.nextMark, inst.mark + 1);
    }
    for (const { b, ib } of keptB) {
      this.installedB.set(b.id, ib);
      this.table.insertBinding(b);
      this.nextMark = Math.max(this.nextMark, ib.mark + 1);
    }
    this.wrapMark();
    this.freshFrom = this.nextMark;

    if (!repair) return { kept: keptP.length + keptB.length, removed: 0, added: 0, unreadable: unreadable.length };
    // Delete what is inconsistent or orphaned (exact kernel keys, idempotently), and apply `desired`.
    const extra: ElementOp[] = [];
    const byTableSet = new Map<string, RawElement[]>();
    for (const e of toDelete) {
      const k = `${e.table}\0${e.set}`;
      let l = byTableSet.get(k);
      if (l === undefined) byTableSet.set(k, (l = []));
      const data = e.mark !== undefined && e.set !== 'live' ? encodeMark(e.mark) : e.natData !== undefined ? encodeKey(e.natData) : undefined;
      // The live set's key is a mark: a host-endian 32-bit value, not a network-order field.
      const key = e.set === 'live' ? encodeMark(num(e.start[0])) : encodeKey(e.start);
      l.push({ key, ...(e.end !== undefined ? { keyEnd: encodeKey(e.end) } : {}), ...(data !== undefined ? { data } : {}) });
    }
    for (const [k, els] of byTableSet) {
      const [table, set] = k.split('\0');
      extra.push({ op: 'delete', table, set, elements: els });
    }
    const plan = emptyPlan(now);
    let kept = keptP.length + keptB.length;
    if (desired !== undefined) {
      const want = new Map(desired.pinholes.map((p) => [p.id, p]));
      const wantB = new Map(desired.bindings.map((b) => [b.id, b]));
      kept = 0;
      for (const { ph } of keptP) {
        const w = want.get(ph.id);
        if (w !== undefined && sameRule(w, ph)) {
          kept++;
          want.delete(ph.id);
          if (w.expiresAt !== ph.expiresAt) plan.refreshed.push({ before: ph, after: pinholeOf(ph, ph.id, w.expiresAt) });
        } else plan.removed.push(ph);
      }
      for (const { b } of keptB) {
        const w = wantB.get(b.id);
        if (w !== undefined && sameBinding(w, b)) {
          kept++;
          wantB.delete(b.id);
          if (w.expiresAt !== b.expiresAt) plan.refreshedBindings.push({ before: b, after: { ...b, expiresAt: w.expiresAt } });
        } else plan.removedBindings.push(b);
      }
      for (const w of want.values()) {
        const m = canonicalPinholeMark(w.id);
        if (m === undefined || this.markInUse(m) || w.expiresAt <= now) continue;
        plan.added.push(w);
        this.nextMark = Math.max(this.nextMark, m + 1);
      }
      for (const w of wantB.values()) {
        const m = markOfId(w.id);
        if (m === undefined || this.markInUse(m) || w.expiresAt <= now) continue;
        plan.addedBindings.push(w);
        this.nextMark = Math.max(this.nextMark, m + 1);
      }
      // Numbers from here on are new (allocMark hands them out without a check).
      this.wrapMark();
      this.freshFrom = this.nextMark;
    }
    await this.execute(plan, now, extra, true);
    return {
      kept,
      removed: byMark.size + nat.size - keptP.length - keptB.length + plan.removed.length + plan.removedBindings.length,
      added: plan.added.length + plan.addedBindings.length,
      unreadable: unreadable.length,
    };
  }

  /** Slot-less key computation for a pinhole read back from the kernel (its set is known). */
  private keysFor0(ph: Pinhole, e: PinholeElements): InstalledKey[] {
    return e.keys.map((k): InstalledKey => {
      const start = encodeKeyStr(k.start);
      if (k.end === undefined) return start;
      const end = encodeKeyStr(k.end);
      return { start, end, str: `${start}~${end}`, box: boxOf(e.shape as 'range' | 'rangenp', k.start, k.end) };
    });
  }

  private expiryFrom(e: KernelElement, now: number): number | undefined {
    // An element without a timeout is permanent: never ours (we always send one), so inconsistent.
    if (e.timeoutS === undefined) return undefined;
    return now + (e.expiresS ?? e.timeoutS) * 1000 - this.graceMs;
  }

  private rebuildPinhole(mark: number, els: KernelElement[], now: number): Pinhole | undefined {
    const info = parseSetName(els[0].set);
    if (info === undefined || els.some((e) => e.set !== els[0].set)) return undefined;
    // A slot the current layout has no rule for (an older layout's): its elements admit nothing.
    if (info.slot >= slotsOf(info.action, info.shape)) return undefined;
    const owner = els[0].comment ?? '';
    if (els.some((e) => (e.comment ?? '') !== owner)) return undefined;
    const expiresAt = this.expiryFrom(els[0], now);
    if (expiresAt === undefined) return undefined;
    const host = (f: Field): Prefix | undefined => (f.t === 'addr' ? { address: formatAddress({ family: f.f, value: f.v }), length: f.f === 4 ? 32 : 128 } : undefined);
    const s0 = els[0].start;
    let spec: Omit<Pinhole, 'id' | 'owner' | 'expiresAt' | 'action'> | undefined;
    const dportsOf = (i: number): { from: number; to: number } | undefined => {
      const ps = els.map((e) => num(e.start[i])).sort((a, b) => a - b);
      if (ps.length > 2 || (ps.length === 2 && ps[1] !== ps[0] + 1)) return undefined;
      return { from: ps[0], to: ps[ps.length - 1] };
    };
    const anyPrefix = (f: Family): Prefix => ({ address: f === 4 ? '0.0.0.0' : '::', length: 0 });
    switch (info.shape) {
      case 'full': {
        const dp = dportsOf(4);
        const src = host(s0[0]);
        const dst = host(s0[1]);
        if (dp === undefined || src === undefined || dst === undefined) return undefined;
        spec = { protocol: num(s0[2]), src, dst, srcPorts: { from: num(s0[3]), to: num(s0[3]) }, dstPorts: dp };
        break;
      }
      case 'nosp': {
        const dp = dportsOf(3);
        const src = host(s0[0]);
        const dst = host(s0[1]);
        if (dp === undefined || src === undefined || dst === undefined) return undefined;
        spec = { protocol: num(s0[2]), src, dst, dstPorts: dp };
        break;
      }
      case 'noport': {
        const src = host(s0[0]);
        const dst = host(s0[1]);
        if (src === undefined || dst === undefined) return undefined;
        spec = { protocol: num(s0[2]), src, dst };
        break;
      }
      case 'anysrc': {
        const dp = dportsOf(2);
        const dst = host(s0[0]);
        if (dp === undefined || dst === undefined) return undefined;
        spec = { protocol: num(s0[1]), src: anyPrefix(info.family), dst, dstPorts: dp };
        break;
      }
      case 'masked': {
        const m = info.mask;
        const src = s0[0];
        const dst = s0[1];
        if (m === undefined || src.t !== 'addr' || dst.t !== 'addr') return undefined;
        const blocks = (i: number, k: number): { from: number; to: number } | undefined | null => {
          const starts = [...new Set(els.map((e) => num(e.start[i])))].sort((a, b) => a - b);
          if (k === 16) return starts.length === 1 && starts[0] === 0 ? undefined : null;
          return { from: starts[0], to: starts[starts.length - 1] + (1 << k) - 1 };
        };
        const sp = blocks(3, m.sk);
        const dp = blocks(4, m.dk);
        if (sp === null || dp === null) return undefined;
        spec = {
          protocol: num(s0[2]),
          src: { address: formatAddress({ family: src.f, value: src.v }), length: m.sl },
          dst: { address: formatAddress({ family: dst.f, value: dst.v }), length: m.dl },
          ...(sp ? { srcPorts: sp } : {}),
          ...(dp ? { dstPorts: dp } : {}),
        };
        break;
      }
      case 'range':
      case 'rangenp': {
        const end = els[0].end;
        if (els.length !== 1 || end === undefined) return undefined;
        const r = info.shape === 'range';
        const d = prefixOf(s0[r ? 3 : 0], end[r ? 3 : 0]);
        const s = prefixOf(s0[r ? 4 : 1], end[r ? 4 : 1]);
        if (d === undefined || s === undefined) return undefined;
        const pr = (i: number): { from: number; to: number } | undefined =>
          num(s0[i]) === 0 && num(end[i]) === 65535 ? undefined : { from: num(s0[i]), to: num(end[i]) };
        const dp = r ? pr(0) : undefined;
        const sp = r ? pr(1) : undefined;
        spec = { protocol: num(s0[2]), src: s, dst: d, ...(sp ? { srcPorts: sp } : {}), ...(dp ? { dstPorts: dp } : {}) };
        break;
      }
    }
    if (spec === undefined || spec.protocol < 0) return undefined;
    if (!hasPorts(spec.protocol) && (spec.srcPorts !== undefined || spec.dstPorts !== undefined)) return undefined;
    const ph: Pinhole = { ...spec, action: info.action, owner, expiresAt, id: pinholeId(mark) };
    // Consistent only if it is exactly what this pinhole would install, in this shape.
    let want: ReturnType<typeof pinholeElements>;
    try {
      want = pinholeElements(ph, { masked: info.shape === 'masked' });
    } catch {
      return undefined;
    }
    if (want.shape !== info.shape || want.family !== info.family) return undefined;
    if (info.shape === 'masked' && setName(info.action, info.family, 'masked', info.slot, want.mask) !== els[0].set) return undefined;
    const have = new Set(els.map((e) => fieldsKey(e.start) + (e.end !== undefined ? `~${fieldsKey(e.end)}` : '')));
    const need = new Set(want.keys.map((k) => fieldsKey(k.start) + (k.end !== undefined ? `~${fieldsKey(k.end)}` : '')));
    if (have.size !== need.size || [...need].some((k) => !have.has(k))) return undefined;
    return ph;
  }

  private rebuildBinding(mark: number, els: KernelElement[], natByKey: Map<string, KernelElement>, now: number): InstalledBinding | undefined {
    const dm = els.find((e) => e.set.startsWith('dmark'));
    const sm = els.find((e) => e.set.startsWith('smark'));
    if (dm === undefined || sm === undefined || els.length !== 2) return undefined;
    const f = dm.set.endsWith('4') ? 4 : 6;
    if (!sm.set.endsWith(String(f))) return undefined;
    const dn = natByKey.get(`dnat${f}|${fieldsKey(dm.start)}`);
    const sn = natByKey.get(`snat${f}|${fieldsKey(sm.start)}`);
    if (dn?.natData === undefined || sn?.natData === undefined) return undefined;
    const expiresAt = this.expiryFrom(dm, now);
    if (expiresAt === undefined) return undefined;
    const [ea, proto, ep] = dm.start;
    const [ia, , ip] = sm.start;
    if (ea.t !== 'addr' || ia.t !== 'addr' || proto.t !== 'proto') return undefined;
    const binding: NatBinding = {
      id: bindingId(mark),
      protocol: proto.v,
      external: { address: formatAddress({ family: ea.f, value: ea.v }), port: num(ep) },
      internal: { address: formatAddress({ family: ia.f, value: ia.v }), port: num(ip) },
      owner: dm.comment ?? '',
      expiresAt,
    };
    const el = bindingElements(binding);
    if (!el.dnatData.equals(encodeKey(dn.natData)) || !el.snatData.equals(encodeKey(sn.natData))) return undefined;
    return { binding, mark, family: f, el, deadline: now + (dm.expiresS ?? 0) * 1000 };
  }
}

function samePorts(a: { from: number; to: number } | undefined, b: { from: number; to: number } | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.from === b.from && a.to === b.to);
}

function sameRule(a: PinholeSpec, b: PinholeSpec): boolean {
  return (
    a.protocol === b.protocol &&
    a.action === b.action &&
    a.owner === b.owner &&
    a.src.address === b.src.address &&
    a.src.length === b.src.length &&
    a.dst.address === b.dst.address &&
    a.dst.length === b.dst.length &&
    samePorts(a.srcPorts, b.srcPorts) &&
    samePorts(a.dstPorts, b.dstPorts)
  );
}

function sameBinding(a: NatBindingSpec, b: NatBindingSpec): boolean {
  return (
    a.protocol === b.protocol &&
    a.owner === b.owner &&
    a.external.address === b.external.address &&
    a.external.port === b.external.port &&
    a.internal.address === b.internal.address &&
    a.internal.port === b.internal.port
  );
}

export type { Shape };
