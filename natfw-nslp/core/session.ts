/**
 * One NATFW session's state (RFC 5973 s3.2.8), laid out for an NF holding
 * 100,000 of them: one object of a fixed shape with the fields every role
 * uses on its hot path, small enumerations and flags packed into one integer
 * (`bits`), MSNs kept as int32 (an MSN above 2^31 would otherwise be a boxed
 * heap number), and everything only some sessions need (NI parameters, NAT
 * state, EXTERNAL rules, Transitory hold) in an `ext` object made on first
 * use. A CREATE session's rules are not stored: they are derived from the
 * MRI and the EFI (`pendingEfi` / `installedEfi`), which the session keeps
 * anyway. The accessors keep the field names the protocol code reads.
 */
import type { NatBindingSpec } from '../../enforcement/types';
import type { Mri } from '../../gist/types';
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

export class Session implements TimerItem {
  private bits: number;
  private up: Mri;
  private down: Mri;
  private upSii_ = -1;
  private downSii_ = -1;
  private msn_ = 0;
  private pendingMsn_ = 0;
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
  ) {
    this.bits = ROLE_NO[role] | (kind === 'EXTERNAL' ? KIND_EXTERNAL : 0);
    this.up = mri;
    this.down = mri;
    this.expiresAt = expiresAt;
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

  /** As received from upstream (NF/NR) or as sent (NI). */
  get mriUp(): Mri {
    return this.up;
  }
  set mriUp(m: Mri) {
    this.up = m;
  }

  /** As forwarded downstream (differs from mriUp at a NAT). */
  get mriDown(): Mri {
    return this.down;
  }
  set mriDown(m: Mri) {
    if (m === this.down) return;
    // The installed rule was made from the old MRI: remember it until the next commit.
    if (this.installedEfi !== 0 && this.ext?.installedMri === undefined) this.x().installedMri = this.down;
    this.down = m;
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
    this.msn_ = v | 0;
  }

  /** MSN of the request awaiting its RESPONSE (s3.5: RESPONSE matched to request). */
  get pendingMsn(): number | undefined {
    return (this.bits & HAS_PENDING_MSN) !== 0 ? this.pendingMsn_ >>> 0 : undefined;
  }
  set pendingMsn(v: number | undefined) {
    this.flag(HAS_PENDING_MSN, v !== undefined);
    this.pendingMsn_ = v === undefined ? 0 : v | 0;
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
    return this.ext?.installedMri ?? this.down;
  }
  /** Records that the installed CREATE rule was made from `m` (`efi` as in installedEfi, 0 = none installed). */
  setInstalled(m: Mri | undefined, efi: number): void {
    this.installedEfi = m === undefined ? 0 : efi;
    if (m === undefined || m === this.down) {
      if (this.ext?.installedMri !== undefined) this.ext.installedMri = undefined;
    } else this.x().installedMri = m;
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
