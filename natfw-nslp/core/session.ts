/**
 * One NATFW session's state (RFC 5973 s3.2.8), laid out for an NF holding
 * 100,000 of them: one object of a fixed shape with the fields every role
 * uses on its hot path, small enumerations and flags packed into one integer
 * (`bits`), MSNs kept as int32 (an MSN above 2^31 would otherwise be a boxed
 * heap number), and everything only some sessions need (NI parameters, NAT
 * state, EXTERNAL rules, Transitory hold) in an `ext` object made on first
 * use. A CREATE session's rules are not stored: they are derived from the
 * MRI and the EFI (`pendingEfi` / `installedEfi`), which the session keeps
 * anyway. Nor is its MRI an object: a plain path-coupled MRI (every CREATE's)
 * is four fields (two shared address texts, prefixes/protocol/flags in one
 * integer, the ports in another) and is built when a message is sent; other
 * MRIs (loose-end, DS field, flow label, SPI) and a NAT's translated
 * downstream MRI are kept whole in `ext`. The accessors keep the field names
 * the protocol code reads.
 */
import type { NatBindingSpec } from '../../enforcement/types';
import type { Mri, PathCoupledMri } from '../../gist/types';
import type { ExternalAddress } from './messages';
import type { CreateParams, ExternalParams, NatfwRole, SessionState } from './node';
import type { PolicyRule } from './policy';
import type { TimerItem } from './timers';

export interface NatReservation {
  readonly protocol?: number;
  readonly senderAddress: string;
  readonly senderPrefix: number;
  readonly dsPort: number;
  readonly externalPort: number;
  readonly internalAddress: string;
  readonly internalPort: number;
}

export type BindingSpec = Omit<NatBindingSpec, 'owner' | 'expiresAt'>;

/** What few sessions need; made on first use. */
interface SessionExt {
  /** An EXTERNAL's rule remembered until its RESPONSE (s3.7.1); CREATE rules come from the MRI. */
  pendingRule?: PolicyRule;
  pendingBinding?: BindingSpec;
  /** The installed rule when it cannot be derived from `installedMri` + `installedEfi` (EXTERNAL: NATFW_DTINFO). */
  rule?: PolicyRule;
  /** The MRI the installed CREATE rule was made from, when it is no longer `mriDown`. */
  installedMri?: Mri;
  /** The upstream MRI when it is not a plain path-coupled one (FLOW_WHOLE). */
  upMri?: Mri;
  /** The MRI forwarded downstream when it is not `mriUp` (a NAT rewrote it). */
  downMri?: Mri;
  binding?: BindingSpec;
  /** More than one pinhole (the core installs one per session; kept general). */
  pinholeIds?: readonly string[];
  bindingIds?: readonly string[];
  holdUntil?: number;
  refreshAt?: number;
  nonce?: number;
  params?: CreateParams | ExternalParams;
  proxyChild?: string;
  proxyParent?: string;
  reservation?: NatReservation;
  externalIp?: ExternalAddress;
  /** The outstanding request's MSN when it is not `msn` (only between an NI's teardown MSN and its drop). */
  pendingMsn?: number;
}

const ROLES: readonly NatfwRole[] = ['NI', 'NI+', 'NF', 'NR', 'NR+'];
const STATES: readonly SessionState[] = ['pending', 'established', 'transitory', 'dead'];
const ROLE_NO: Readonly<Record<NatfwRole, number>> = { NI: 0, 'NI+': 1, NF: 2, NR: 3, 'NR+': 4 };
const STATE_NO: Readonly<Record<SessionState, number>> = { pending: 0, established: 1, transitory: 2, dead: 3 };

// `bits` layout.
const ROLE_MASK = 0x7;
const KIND_EXTERNAL = 1 << 3;
const STATE_SHIFT = 4;
const STATE_MASK = 0x3 << STATE_SHIFT;
const JOB_BUSY = 1 << 6;
const DELETE_AFTER_JOB = 1 << 7;
const TERMINATING = 1 << 8;
const PROXY = 1 << 9;
const EVER_ESTABLISHED = 1 << 10;
const HAS_PENDING_MSN = 1 << 11;
const HAS_DEADLINE = 1 << 12;
const INSTALLED_EFI_SHIFT = 13;
const PENDING_EFI_SHIFT = 16;
const EFI_MASK = 0x7;

const NONE: readonly string[] = Object.freeze([]);

// `flow` layout (a plain path-coupled MRI; Smi-sized: bit 28 at most).
const F_SRC_PREFIX = 0xff;
const F_DST_PREFIX_SHIFT = 8;
const F_PROTO_SHIFT = 16;
const F_V6 = 1 << 24;
const F_UPSTREAM = 1 << 25;
const F_HAS_PROTO = 1 << 26;
const F_HAS_SPORT = 1 << 27;
const F_HAS_DPORT = 1 << 28;
/** The MRI is in `ext.upMri` (not a plain path-coupled one). */
const FLOW_WHOLE = -1;

/** A path-coupled MRI that the four flow fields hold exactly (no DS field, flow label, SPI or N flag). */
function isPlain(m: Mri): m is PathCoupledMri {
  return (
    m.mrm === 'path-coupled' &&
    (m.ipVersion === 4 || m.ipVersion === 6) &&
    m.dsField === undefined &&
    m.flowLabel === undefined &&
    m.spi === undefined &&
    m.nFlag === undefined &&
    (m.protocol !== undefined || (m.sourcePort === undefined && m.destinationPort === undefined))
  );
}

function flowBits(m: PathCoupledMri): number {
  return (
    (m.sourcePrefix & 0xff) |
    ((m.destinationPrefix & 0xff) << F_DST_PREFIX_SHIFT) |
    (((m.protocol ?? 0) & 0xff) << F_PROTO_SHIFT) |
    (m.ipVersion === 6 ? F_V6 : 0) |
    (m.direction === 'upstream' ? F_UPSTREAM : 0) |
    (m.protocol !== undefined ? F_HAS_PROTO : 0) |
    (m.sourcePort !== undefined ? F_HAS_SPORT : 0) |
    (m.destinationPort !== undefined ? F_HAS_DPORT : 0)
  );
}

/** Both ports in one int32 (a Smi on 64-bit V8). */
const portBits = (m: PathCoupledMri): number => (((m.sourcePort ?? 0) << 16) | (m.destinationPort ?? 0)) | 0;

export class Session implements TimerItem {
  private bits: number;
  /** The upstream MRI (as received, or as sent by an NI): see `flow`. */
  private src = '';
  private dst = '';
  /** Prefixes, protocol and flags (F_*), or FLOW_WHOLE. */
  private flow = FLOW_WHOLE;
  private ports = 0;
  private upSii_ = -1;
  private downSii_ = -1;
  private msn_ = 0;
  /** Lifetime this node accepted for the pending request (s3.4), s. */
  acceptLt = 0;
  /** Granted lifetime, s. */
  lifetime = 0;
  expiresAt: number;
  private deadline = 0;
  /** The session's pinhole (one per session), shared with the enforcement backend's record. */
  pinholeId: string | undefined = undefined;
  /** GIST message handle of the outstanding request, 0 = none. */
  handle = 0;
  timerIdx = -1;
  private ext: SessionExt | undefined = undefined;

  constructor(
    /** Hex Session ID; the bytes are derived when sending so that no decoded buffer is retained. */
    readonly key: string,
    role: NatfwRole,
    kind: 'CREATE' | 'EXTERNAL',
    mri: Mri,
    expiresAt: number,
    /** Gives the shared copy of an address text (the node's table), so that sessions hold no copies. */
    intern: (address: string) => string = (a) => a,
  ) {
    this.bits = ROLE_NO[role] | (kind === 'EXTERNAL' ? KIND_EXTERNAL : 0);
    this.expiresAt = expiresAt;
    this.setUp(mri, intern);
  }

  private x(): SessionExt {
    return (this.ext ??= {});
  }

  private flag(f: number, on: boolean): void {
    this.bits = on ? this.bits | f : this.bits & ~f;
  }

  get role(): NatfwRole {
    return ROLES[this.bits & ROLE_MASK];
  }

  get kind(): 'CREATE' | 'EXTERNAL' {
    return (this.bits & KIND_EXTERNAL) !== 0 ? 'EXTERNAL' : 'CREATE';
  }

  get state(): SessionState {
    return STATES[(this.bits & STATE_MASK) >> STATE_SHIFT];
  }
  set state(v: SessionState) {
    this.bits = (this.bits & ~STATE_MASK) | (STATE_NO[v] << STATE_SHIFT);
  }

  get jobBusy(): boolean {
    return (this.bits & JOB_BUSY) !== 0;
  }
  set jobBusy(v: boolean) {
    this.flag(JOB_BUSY, v);
  }
  get deleteAfterJob(): boolean {
    return (this.bits & DELETE_AFTER_JOB) !== 0;
  }
  set deleteAfterJob(v: boolean) {
    this.flag(DELETE_AFTER_JOB, v);
  }
  /** Terminating NF (edge answering EXTERNAL, proxy NR): does not forward. */
  get terminating(): boolean {
    return (this.bits & TERMINATING) !== 0;
  }
  set terminating(v: boolean) {
    this.flag(TERMINATING, v);
  }
  get proxy(): boolean {
    return (this.bits & PROXY) !== 0;
  }
  set proxy(v: boolean) {
    this.flag(PROXY, v);
  }
  get everEstablished(): boolean {
    return (this.bits & EVER_ESTABLISHED) !== 0;
  }
  set everEstablished(v: boolean) {
    this.flag(EVER_ESTABLISHED, v);
  }

  /** As received from upstream (NF/NR) or as sent (NI); a new object for a plain path-coupled MRI (send it, do not keep it). */
  get mriUp(): Mri {
    return this.flow === FLOW_WHOLE ? (this.ext?.upMri as Mri) : this.build(this.flow, false);
  }

  /** mriUp with the direction reversed: what a message to the upstream peer carries (s4.3.3). */
  get mriReply(): Mri {
    if (this.flow !== FLOW_WHOLE) return this.build(this.flow, true);
    const m = this.ext?.upMri as Mri;
    if (m.mrm === 'loose-end') return { ...m, direction: m.direction === 'towards-edge' ? 'from-edge' : 'towards-edge' };
    return { ...m, direction: m.direction === 'downstream' ? 'upstream' : 'downstream' };
  }

  /** In the order (and so with the hidden class) of gist/codec's decoder. */
  private build(f: number, invert: boolean): PathCoupledMri {
    const m: { -readonly [K in keyof PathCoupledMri]: PathCoupledMri[K] } = {
      mrm: 'path-coupled',
      ipVersion: (f & F_V6) !== 0 ? 6 : 4,
      sourceAddress: this.src,
      destinationAddress: this.dst,
      sourcePrefix: f & F_SRC_PREFIX,
      destinationPrefix: (f >> F_DST_PREFIX_SHIFT) & 0xff,
      direction: ((f & F_UPSTREAM) !== 0) !== invert ? 'upstream' : 'downstream',
    };
    if ((f & F_HAS_PROTO) !== 0) m.protocol = (f >> F_PROTO_SHIFT) & 0xff;
    if ((f & F_HAS_SPORT) !== 0) m.sourcePort = this.ports >>> 16;
    if ((f & F_HAS_DPORT) !== 0) m.destinationPort = this.ports & 0xffff;
    return m;
  }

  /** Whether `m` is the upstream MRI, field by field (RFC 5971 A.3.1: every field is part of the flow's identity). */
  isUp(m: Mri): boolean {
    if (this.flow === FLOW_WHOLE) return sameMri(this.ext?.upMri as Mri, m);
    return isPlain(m) && flowBits(m) === this.flow && portBits(m) === this.ports && m.sourceAddress === this.src && m.destinationAddress === this.dst;
  }

  /** Sets the upstream MRI (address texts through `intern`); the downstream one stays what it was unless it followed this one. */
  setUp(m: Mri, intern: (address: string) => string): void {
    if (this.installedEfi !== 0 && this.ext?.installedMri === undefined && this.ext?.downMri === undefined && !this.isUp(m)) {
      // The installed rule was made from the old MRI (mriDown followed mriUp): remember it until the next commit.
      this.x().installedMri = this.mriUp;
    }
    if (isPlain(m)) {
      this.src = intern(m.sourceAddress);
      this.dst = intern(m.destinationAddress);
      this.flow = flowBits(m);
      this.ports = portBits(m);
      if (this.ext?.upMri !== undefined) this.ext.upMri = undefined;
    } else {
      this.src = '';
      this.dst = '';
      this.flow = FLOW_WHOLE;
      this.ports = 0;
      this.x().upMri = m;
    }
  }

  /** As forwarded downstream (differs from mriUp at a NAT). */
  get mriDown(): Mri {
    return this.ext?.downMri ?? this.mriUp;
  }

  get ipVersion(): 4 | 6 {
    return this.flow === FLOW_WHOLE ? (this.ext?.upMri as Mri).ipVersion : (this.flow & F_V6) !== 0 ? 6 : 4;
  }

  /** A NAT rewrote the MRI: mriDown is not mriUp. */
  get translated(): boolean {
    return this.ext?.downMri !== undefined;
  }

  /** Sets the downstream MRI: undefined = the same as mriUp (kept whole otherwise: only a NAT translates). */
  setDown(m: Mri | undefined): void {
    const cur = this.ext?.downMri;
    if (m === cur || (m !== undefined && cur !== undefined && sameMri(m, cur))) return;
    // The installed rule was made from the old MRI: remember it until the next commit.
    if (this.installedEfi !== 0 && this.ext?.installedMri === undefined) this.x().installedMri = this.mriDown;
    if (m !== undefined) this.x().downMri = m;
    else if (cur !== undefined) (this.ext as SessionExt).downMri = undefined;
  }

  get upSii(): number | undefined {
    return this.upSii_ < 0 ? undefined : this.upSii_;
  }
  set upSii(v: number | undefined) {
    this.upSii_ = v === undefined ? -1 : v;
  }
  get downSii(): number | undefined {
    return this.downSii_ < 0 ? undefined : this.downSii_;
  }
  set downSii(v: number | undefined) {
    this.downSii_ = v === undefined ? -1 : v;
  }

  /** Last MSN accepted (NF/NR) or sent (NI). */
  get msn(): number {
    return this.msn_ >>> 0;
  }
  set msn(v: number) {
    // The outstanding request is nearly always the last one (pendingMsn = msn): then only a flag says so.
    if ((this.bits & HAS_PENDING_MSN) !== 0 && this.ext?.pendingMsn === undefined && (v | 0) !== this.msn_) this.x().pendingMsn = this.msn_ >>> 0;
    this.msn_ = v | 0;
  }

  /** MSN of the request awaiting its RESPONSE (s3.5: RESPONSE matched to request). */
  get pendingMsn(): number | undefined {
    if ((this.bits & HAS_PENDING_MSN) === 0) return undefined;
    return this.ext?.pendingMsn ?? this.msn_ >>> 0;
  }
  set pendingMsn(v: number | undefined) {
    this.flag(HAS_PENDING_MSN, v !== undefined);
    const other = v !== undefined && (v | 0) !== this.msn_ ? v >>> 0 : undefined;
    if (other !== undefined || this.ext?.pendingMsn !== undefined) this.x().pendingMsn = other;
  }

  /** NI / NF: when an outstanding request is given up. */
  get requestDeadline(): number | undefined {
    return (this.bits & HAS_DEADLINE) !== 0 ? this.deadline : undefined;
  }
  set requestDeadline(v: number | undefined) {
    this.flag(HAS_DEADLINE, v !== undefined);
    this.deadline = v === undefined ? 0 : v;
  }

  /** ruleAction * 2 + subPorts of the installed CREATE rule; 0 = none. */
  get installedEfi(): number {
    return (this.bits >> INSTALLED_EFI_SHIFT) & EFI_MASK;
  }
  set installedEfi(v: number) {
    this.bits = (this.bits & ~(EFI_MASK << INSTALLED_EFI_SHIFT)) | ((v & EFI_MASK) << INSTALLED_EFI_SHIFT);
  }

  /** ruleAction * 2 + subPorts of a CREATE's remembered rule (s3.7.1), made from `mriDown` at commit; 0 = none. */
  get pendingEfi(): number {
    return (this.bits >> PENDING_EFI_SHIFT) & EFI_MASK;
  }
  set pendingEfi(v: number) {
    this.bits = (this.bits & ~(EFI_MASK << PENDING_EFI_SHIFT)) | ((v & EFI_MASK) << PENDING_EFI_SHIFT);
  }

  /** The MRI the installed CREATE rule was made from. */
  get installedMri(): Mri | undefined {
    if (this.installedEfi === 0) return undefined;
    return this.ext?.installedMri ?? this.mriDown;
  }
  /** The installed CREATE rule was made from the current mriDown. */
  get installedFromDown(): boolean {
    return this.installedEfi !== 0 && this.ext?.installedMri === undefined;
  }
  /** Records that the installed CREATE rule was made from the current mriDown (`efi` as in installedEfi, 0 = none installed). */
  setInstalledFromDown(efi: number): void {
    this.installedEfi = efi;
    if (this.ext?.installedMri !== undefined) this.ext.installedMri = undefined;
  }

  get pinholeIds(): readonly string[] {
    if (this.ext?.pinholeIds !== undefined) return this.ext.pinholeIds;
    return this.pinholeId === undefined ? NONE : [this.pinholeId];
  }
  set pinholeIds(ids: readonly string[]) {
    if (ids.length <= 1) {
      this.pinholeId = ids[0];
      if (this.ext?.pinholeIds !== undefined) this.ext.pinholeIds = undefined;
    } else {
      this.pinholeId = undefined;
      this.x().pinholeIds = ids;
    }
  }

  get bindingIds(): readonly string[] {
    return this.ext?.bindingIds ?? NONE;
  }
  set bindingIds(ids: readonly string[]) {
    if (ids.length > 0) this.x().bindingIds = ids;
    else if (this.ext?.bindingIds !== undefined) this.ext.bindingIds = undefined;
  }

  // ---- rarely used: in `ext`, made on the first write of a value

  private setExt<K extends keyof SessionExt>(k: K, v: SessionExt[K]): void {
    if (v === undefined && this.ext === undefined) return;
    this.x()[k] = v;
  }

  get pendingRule(): PolicyRule | undefined {
    return this.ext?.pendingRule;
  }
  set pendingRule(v: PolicyRule | undefined) {
    this.setExt('pendingRule', v);
  }
  get pendingBinding(): BindingSpec | undefined {
    return this.ext?.pendingBinding;
  }
  set pendingBinding(v: BindingSpec | undefined) {
    this.setExt('pendingBinding', v);
  }
  get rule(): PolicyRule | undefined {
    return this.ext?.rule;
  }
  set rule(v: PolicyRule | undefined) {
    this.setExt('rule', v);
  }
  get binding(): BindingSpec | undefined {
    return this.ext?.binding;
  }
  set binding(v: BindingSpec | undefined) {
    this.setExt('binding', v);
  }
  /** Transitory hold end (s3.2.8). */
  get holdUntil(): number | undefined {
    return this.ext?.holdUntil;
  }
  set holdUntil(v: number | undefined) {
    this.setExt('holdUntil', v);
  }
  /** NI: when the next refresh goes out. */
  get refreshAt(): number | undefined {
    return this.ext?.refreshAt;
  }
  set refreshAt(v: number | undefined) {
    this.setExt('refreshAt', v);
  }
  get nonce(): number | undefined {
    return this.ext?.nonce;
  }
  set nonce(v: number | undefined) {
    this.setExt('nonce', v);
  }
  get params(): CreateParams | ExternalParams | undefined {
    return this.ext?.params;
  }
  set params(v: CreateParams | ExternalParams | undefined) {
    this.setExt('params', v);
  }
  /** s3.7.6.1: the CREATE an edge sends for an EXTERNAL-PROXY session (fate-shared), and back. */
  get proxyChild(): string | undefined {
    return this.ext?.proxyChild;
  }
  set proxyChild(v: string | undefined) {
    this.setExt('proxyChild', v);
  }
  get proxyParent(): string | undefined {
    return this.ext?.proxyParent;
  }
  set proxyParent(v: string | undefined) {
    this.setExt('proxyParent', v);
  }
  get reservation(): NatReservation | undefined {
    return this.ext?.reservation;
  }
  set reservation(v: NatReservation | undefined) {
    this.setExt('reservation', v);
  }
  get externalIp(): ExternalAddress | undefined {
    return this.ext?.externalIp;
  }
  set externalIp(v: ExternalAddress | undefined) {
    this.setExt('externalIp', v);
  }
}

/** Field-by-field MRI equality (RFC 5971 A.3.1: every field is part of the flow's identity). */
export function sameMri(a: Mri, b: Mri): boolean {
  if (a === b) return true;
  if (a.mrm === 'loose-end' || b.mrm === 'loose-end') {
    return a.mrm === b.mrm && a.ipVersion === b.ipVersion && a.sourceAddress === b.sourceAddress && a.destinationAddress === b.destinationAddress && a.direction === b.direction && a.nFlag === b.nFlag;
  }
  return (
    a.ipVersion === b.ipVersion &&
    a.sourceAddress === b.sourceAddress &&
    a.destinationAddress === b.destinationAddress &&
    a.sourcePrefix === b.sourcePrefix &&
    a.destinationPrefix === b.destinationPrefix &&
    a.protocol === b.protocol &&
    a.sourcePort === b.sourcePort &&
    a.destinationPort === b.destinationPort &&
    a.direction === b.direction &&
    a.dsField === b.dsField &&
    a.flowLabel === b.flowLabel &&
    a.spi === b.spi &&
    a.nFlag === b.nFlag
  );
}
