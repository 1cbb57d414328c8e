/** Opening a kernel backend by name (the CLI and the daemon use this). */
import { EnforcementError } from './errors';
import { IptablesPinholeSet } from './iptables';
import { NftPinholeSet, type OpenOptions } from './nft/backend';
import type { PinholeSet } from './types';

export type BackendName = 'nftables' | 'iptables';

export function isBackendName(s: string): s is BackendName {
  return s === 'nftables' || s === 'iptables';
}

export interface BackendOptions {
  readonly mode?: 'standalone' | 'integration';
  readonly markBits?: number;
  readonly priority?: number;
  readonly acceptEstablished?: boolean;
  readonly acceptIcmp?: boolean;
  readonly netns?: string;
}

export async function setupBackend(name: BackendName, o: BackendOptions): Promise<void> {
  if (name === 'nftables') await NftPinholeSet.setup(o);
  else await IptablesPinholeSet.setup(o);
}

export async function teardownBackend(name: BackendName, o: BackendOptions): Promise<void> {
  if (name === 'nftables') await NftPinholeSet.teardown(o);
  else await IptablesPinholeSet.teardown(o);
}

/** Opens an existing backend (its tables/chains must exist), reading its pinholes from the kernel. */
export async function openBackend(
  name: BackendName,
  o: BackendOptions & { now: number; repair?: boolean; desired?: OpenOptions['desired'] },
): Promise<NftPinholeSet | IptablesPinholeSet> {
  if (name === 'nftables') return (await NftPinholeSet.open({ ...o, setup: false })).set;
  if (name === 'iptables') return IptablesPinholeSet.open(o);
  throw new EnforcementError('ENF_BACKEND_UNAVAILABLE', `unknown backend '${String(name)}'`);
}

export type KernelPinholeSet = PinholeSet & { close?(): void };
