/**
 * Asks the kernel itself which elements match a packet (`nft get element`
 * with the packet's key in every set of its family; on interval sets the
 * kernel answers with the enclosing element), so `natfw explain` can check
 * that netfilter agrees with the userspace index.
 */
import { type Family, formatAddress, maskOf, parseAddress } from '../address';
import { EnforcementError } from '../errors';
import { hasPorts } from '../model';
import type { PacketKey } from '../types';
import type { NftPinholeSet } from './backend';
import { runNft } from './kernel';
import { type MaskShape, type Shape, parseSetName, setName, shapesFor, slotsOf } from './layout';

export interface KernelHit {
  readonly set: string;
  readonly action: 'allow' | 'deny';
  readonly mark: number;
  /** allow only: is the mark in the live set? */
  readonly live?: boolean;
}

export interface KernelAnswer {
  readonly verdict: 'allow' | 'deny' | 'none';
  readonly hits: readonly KernelHit[];
}

function keyText(shape: Shape, p: PacketKey): string | undefined {
  const ported = hasPorts(p.protocol);
  const sp = p.srcPort;
  const dp = p.dstPort;
  const needPorts = shape === 'full' || shape === 'nosp' || shape === 'anysrc' || shape === 'range';
  if (needPorts && (!ported || sp === undefined || dp === undefined)) return undefined;
  if (!needPorts && shape === 'rangenp' && ported) return undefined;
  switch (shape) {
    case 'full':
      return `${p.src} . ${p.dst} . ${p.protocol} . ${sp} . ${dp}`;
    case 'nosp':
      return `${p.src} . ${p.dst} . ${p.protocol} . ${dp}`;
    case 'noport':
      return `${p.src} . ${p.dst} . ${p.protocol}`;
    case 'anysrc':
      return `${p.dst} . ${p.protocol} . ${dp}`;
    case 'range':
      return `${dp} . ${sp} . ${p.protocol} . ${p.dst} . ${p.src}`;
    case 'rangenp':
      return `${p.dst} . ${p.src} . ${p.protocol}`;
  }
}

/** The packet's key in a masked map: every field ANDed with the map's mask, as the rule does. */
function maskedKeyText(f: Family, m: MaskShape, p: PacketKey): string | undefined {
  if (!hasPorts(p.protocol) || p.srcPort === undefined || p.dstPort === undefined) return undefined;
  const src = parseAddress(p.src);
  const dst = parseAddress(p.dst);
  if (src === undefined || dst === undefined) return undefined;
  const a = (v: bigint, len: number): string => formatAddress({ family: f, value: v & maskOf(f, len) });
  const port = (v: number, k: number): number => (k >= 16 ? 0 : v & ((0xffff << k) & 0xffff));
  return `${a(src.value, m.sl)} . ${a(dst.value, m.dl)} . ${p.protocol} . ${port(p.srcPort, m.sk)} . ${port(p.dstPort, m.dk)}`;
}

async function getElement(set: NftPinholeSet, name: string, key: string): Promise<number | undefined> {
  try {
    const r = await runNft(['get', 'element', 'inet', set.options.table, name, `{ ${key} }`], undefined, set.netns);
    const m = /:\s*(0x[0-9a-f]+)\s*}/.exec(r.stdout);
    return m === null ? 0 : parseInt(m[1], 16);
  } catch (e) {
    if (e instanceof EnforcementError && /No such file or directory/.test(e.message)) return undefined;
    throw e;
  }
}

export async function askKernel(set: NftPinholeSet, p: PacketKey): Promise<KernelAnswer> {
  const src = parseAddress(p.src);
  const dst = parseAddress(p.dst);
  if (src === undefined || dst === undefined || src.family !== dst.family) throw new EnforcementError('ENF_INVALID_SPEC', 'packet addresses must be of one family');
  const f = src.family;
  const queries: Array<Promise<KernelHit | undefined>> = [];
  for (const action of ['deny', 'allow'] as const)
    for (const shape of shapesFor(action)) {
      const key = keyText(shape, p);
      if (key === undefined) continue;
      for (let slot = 0; slot < slotsOf(action, shape); slot++) {
        const name = setName(action, f, shape, slot);
        queries.push(
          getElement(set, name, key).then(async (mark) => {
            if (mark === undefined) return undefined;
            if (action === 'deny') return { set: name, action, mark };
            const live = (await getElement(set, 'live', `0x${mark.toString(16)}`)) !== undefined;
            return { set: name, action, mark, live };
          }),
        );
      }
    }
  for (const name of set.maskedMapNames()) {
    const info = parseSetName(name);
    if (info?.mask === undefined || info.family !== f) continue;
    const key = maskedKeyText(f, info.mask, p);
    if (key === undefined) continue;
    queries.push(
      getElement(set, name, key).then(async (mark) => {
        if (mark === undefined) return undefined;
        const live = (await getElement(set, 'live', `0x${mark.toString(16)}`)) !== undefined;
        return { set: name, action: 'allow' as const, mark, live };
      }),
    );
  }
  const hits = (await Promise.all(queries)).filter((h): h is KernelHit => h !== undefined);
  const verdict = hits.some((h) => h.action === 'deny') ? 'deny' : hits.some((h) => h.action === 'allow' && h.live === true) ? 'allow' : 'none';
  return { verdict, hits };
}
