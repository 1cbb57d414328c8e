/**
 * The enforcement interface: a set of pinholes (and NAT bindings) changed in
 * all-or-nothing transactions. natfw-nslp/ knows the packet filter only
 * through this file; backends (memory, nftables, iptables) implement it.
 *
 * Times are milliseconds on the caller's clock (`now` is passed in, so the
 * simulator's virtual clock and the daemon's monotonic clock both work);
 * kernel backends turn `expiresAt - now` into an element timeout.
 */

/** An address prefix, e.g. { address: '198.18.1.0', length: 24 }. Family follows the address. */
export interface Prefix {
  readonly address: string;
  readonly length: number;
}

/** Inclusive port range; a single port has from === to. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export type PinholeAction = 'allow' | 'deny';

export interface PinholeSpec {
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP, 33 DCCP, 1/58 ICMP). */
  readonly protocol: number;
  readonly src: Prefix;
  /** undefined = any source port. */
  readonly srcPorts?: PortRange;
  readonly dst: Prefix;
  /** undefined = any destination port. RFC 5973 sub_ports=1 is expressed as { from: p, to: p + 1 }. */
  readonly dstPorts?: PortRange;
  readonly action: PinholeAction;
  /** Owning session (hex Session ID, or an operator label for static pinholes). */
  readonly owner: string;
  /** Absolute expiry on the caller's clock (ms). */
  readonly expiresAt: number;
}

export interface Pinhole extends PinholeSpec {
  /** Assigned by the backend at `add`, stable for the pinhole's life. */
  readonly id: string;
}

/** A NAT translation: packets to external address:port go to internal address:port, and back. */
export interface NatBindingSpec {
  readonly protocol: number;
  readonly external: { readonly address: string; readonly port: number };
  readonly internal: { readonly address: string; readonly port: number };
  readonly owner: string;
  readonly expiresAt: number;
}

export interface NatBinding extends NatBindingSpec {
  readonly id: string;
}

/** A packet as `lookup` sees it. */
export interface PacketKey {
  readonly protocol: number;
  readonly src: string;
  readonly srcPort?: number;
  readonly dst: string;
  readonly dstPort?: number;
}

export interface LookupResult {
  /** 'deny' if any deny matches (deny wins), 'allow' if an allow matches, 'none' otherwise. */
  readonly verdict: PinholeAction | 'none';
  /** Every pinhole that matches, denies first. */
  readonly matches: readonly Pinhole[];
}

export type EnforcementErrorCode =
  | 'ENF_UNKNOWN_PINHOLE'
  | 'ENF_INVALID_SPEC'
  | 'ENF_KERNEL_REFUSED'
  | 'ENF_TX_CLOSED'
  | 'ENF_BACKEND_UNAVAILABLE'
  /** The kernel layout cannot hold this pinhole beside the ones installed (too many identical or overlapping rules). */
  | 'ENF_CONFLICT';

/** One open transaction. Nothing is visible to lookups or the kernel until `commit` succeeds. */
export interface Transaction {
  /** Returns the id the pinhole will have once committed. */
  add(spec: PinholeSpec): string;
  remove(id: string): void;
  /** New expiry; kernel backends re-send the timeout (never a timeout-less re-add). */
  refresh(id: string, expiresAt: number): void;
  addBinding(spec: NatBindingSpec): string;
  removeBinding(id: string): void;
  refreshBinding(id: string, expiresAt: number): void;
  /** All or nothing; rejects with an EnforcementError and leaves the set unchanged. */
  commit(now: number): Promise<void>;
  abort(): void;
}

/**
 * A transaction whose backend applies it at once (the memory backend). A driver that runs
 * millions of them (the simulator) commits with `commitNow` and skips a promise chain per job.
 */
export interface ImmediateTransaction extends Transaction {
  /** As `commit`, but done when it returns; throws an EnforcementError and leaves the set unchanged. */
  commitNow(now: number): void;
}

export interface PinholeSet {
  readonly backend: string;
  begin(): Transaction;
  list(): readonly Pinhole[];
  listBindings(): readonly NatBinding[];
  lookup(packet: PacketKey): LookupResult;
  /** Removes everything that expired by `now` (kernel backends: their timeouts did it; this syncs the index). */
  expire(now: number): Promise<{ pinholes: Pinhole[]; bindings: NatBinding[] }>;
}
