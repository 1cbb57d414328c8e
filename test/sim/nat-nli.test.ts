/**
 * RFC 5971 s5.2.2 in the simulator: the NAT of the shipped nat-traversal
 * scenario (inside 198.19.0.1, outside 198.18.100.1, listed inside first)
 * names, and sends from, the address of the side that faces each peer. Read
 * from the bytes the real stack puts on the virtual wire (the --pcap feed).
 */
import { join } from 'node:path';
import { decodeGistDatagram } from '../../gist/codec';
import { Simulation } from '../../sim/engine';
import { loadScenario } from '../../sim/run';
import type { SimPacket } from '../../sim/stack';
import { resolveStack } from '../../sim/stacks';

const INSIDE = '198.19.0.1';
const OUTSIDE = '198.18.100.1';
const FW1 = '198.18.0.11';
const B = '198.19.0.10';

test('nat-traversal: the NAT names its external address towards fw1 and its internal one towards b, each its S=1 source', async () => {
  const sc = loadScenario(join(__dirname, '../../sim/scenarios/nat-traversal.yaml'));
  if (!sc.ok) throw sc.error;
  const stack = resolveStack('real');
  if ('error' in stack) throw new Error(stack.error);
  const packets: SimPacket[] = [];
  const sim = new Simulation(sc.value, { world: stack.factory, stackName: stack.name, onPacket: (_now, p) => packets.push(p) });
  const result = await sim.run();
  expect(result.assertions.every((a) => a.ok)).toBe(true);

  const byNat = new Map<string, number>();
  let towardsNat = 0;
  for (const p of packets) {
    if (p.transport !== 'udp') continue;
    const m = decodeGistDatagram(p.payload, { qMode: p.rao });
    if (!m.ok || m.value.type === 'MA-Hello' || m.value.nli === undefined) continue;
    const nli = m.value.nli.interfaceAddress;
    if (p.src === INSIDE || p.src === OUTSIDE) {
      // s5.2.2: with S=1 the interface-address is the IP source.
      if (m.value.header.sFlag) expect(nli).toBe(p.src);
      const k = `${m.value.type} -> ${p.dst}: ${nli}`;
      byNat.set(k, (byNat.get(k) ?? 0) + 1);
    }
    // fw1 learnt the NAT's outside address as its peer: its messages go there, none to the inside address.
    if (p.src === FW1 && p.dst === OUTSIDE && !p.rao) towardsNat++;
    if (p.src === FW1) expect(p.dst).not.toBe(INSIDE);
  }
  const kinds = [...byNat.keys()].sort();
  expect(kinds).toEqual(
    expect.arrayContaining([`Response -> ${FW1}: ${OUTSIDE}`, `Data -> ${FW1}: ${OUTSIDE}`, `Query -> ${B}: ${INSIDE}`, `Confirm -> ${B}: ${INSIDE}`, `Data -> ${B}: ${INSIDE}`]),
  );
  // Nothing towards the outside names the inside address, nothing towards the inside the outside one.
  expect(kinds.filter((k) => (k.includes(`-> ${FW1}`) && k.endsWith(INSIDE)) || (k.includes(`-> ${B}`) && k.endsWith(OUTSIDE)))).toEqual([]);
  expect(towardsNat).toBeGreaterThan(0);
}, 60_000);
