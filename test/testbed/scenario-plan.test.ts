/**
 * How a scenario maps onto namespaces (testbed/scenario-plan.ts): addresses,
 * routes from the simulator's topology, route diffs after a link goes down,
 * what the testbed refuses, and each daemon's configuration. No root needed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../sim/scenario/parse';
import type { Scenario } from '../../sim/scenario/types';
import { Topology } from '../../sim/topology';
import { daemonFiles, expandGenerators, generatorLimits, linkPlan, linkPlans, lossScript, lossTable, routeBatch, routesOf, unsupportedParts } from '../../testbed/scenario-plan';
import { runScenario } from '../../sim/run';
import { modelWorld } from '../../sim/model/model-stack';
import { parseConfig } from '../../daemon/config';
import { natfwdConfig } from '../../testbed/daemons';

function scenario(text: string): Scenario {
  const r = parseScenario(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const FIXTURE = join(__dirname, '../fixtures/testbed/route-flip.yaml');
const shipped = (name: string): Scenario => scenario(readFileSync(join(__dirname, `../../sim/scenarios/${name}.yaml`), 'utf8'));
const flip = (): Scenario => scenario(readFileSync(FIXTURE, 'utf8'));

describe('testbed plan', () => {
  it('gives link i a /30 in 198.19.0.0/16 and a /64 in 2001:db8:ffff::/48, end a .1 and end b .2', () => {
    const s = flip();
    expect(linkPlan(s.links[0], 0)).toMatchObject({ aAddrs: ['198.19.0.1/30', '2001:db8:ffff:0::1/64'], bAddrs: ['198.19.0.2/30', '2001:db8:ffff:0::2/64'] });
    expect(linkPlan(s.links[0], 65)).toMatchObject({ aAddrs: ['198.19.1.5/30', '2001:db8:ffff:41::1/64'], bAddrs: ['198.19.1.6/30', '2001:db8:ffff:41::2/64'] });
  });

  it('routes every node address along the shortest path, from the node address, and follows a link going down', () => {
    const s = flip();
    const topo = new Topology(s.nodes, s.links);
    const plans = s.links.map(linkPlan);
    const r1 = topo.index.get('r1') as number;
    const before = routesOf(topo, plans, r1);
    // r1 - fw1 is link 1 (r1 is its end a): b (198.18.2.10) goes via fw1's end 198.19.0.6.
    expect(before.find((r) => r.dst === '198.18.2.10')).toEqual({ dst: '198.18.2.10', via: '198.19.0.6', src: '198.18.0.1' });
    expect(before).toHaveLength(s.nodes.length - 1);
    topo.setLinkUp('r1-fw1', false);
    const after = routesOf(topo, plans, r1);
    // Now through fw2 (link 3, r1 - fw2: fw2 is end b, 198.19.0.14); fw1 itself is reached through fw2 and r2.
    expect(after.find((r) => r.dst === '198.18.2.10')?.via).toBe('198.19.0.14');
    const batch = routeBatch(before, after);
    expect(batch).toContain('route replace 198.18.2.10/32 via 198.19.0.14 src 198.18.0.1');
    expect(batch).toContain('route replace 198.18.0.11/32 via 198.19.0.14 src 198.18.0.1');
    // Routes that did not change are left alone.
    expect(batch.some((l) => l.startsWith('route replace 198.18.1.10/32'))).toBe(false);
    expect(routeBatch(after, after)).toEqual([]);
  });

  it('deletes the routes to nodes that became unreachable', () => {
    const s = flip();
    const topo = new Topology(s.nodes, s.links);
    const plans = s.links.map(linkPlan);
    const a = topo.index.get('a') as number;
    const before = routesOf(topo, plans, a);
    topo.setLinkUp('a-r1', false);
    expect(routeBatch(before, routesOf(topo, plans, a))).toEqual(before.map((r) => `route del ${r.dst}/32`));
  });

  it('refuses what only the simulator can do, naming the line', () => {
    // Every shipped scenario but scale (1,000+ nodes) is within what the testbed replays.
    for (const name of ['voip', 'nat-traversal', 'ipv6', 'route-change', 'deny']) expect([name, unsupportedParts(shipped(name))]).toEqual([name, []]);
    expect(unsupportedParts(shipped('scale'))[0].detail).toMatch(/a topology of more than 64 nodes is not supported on the testbed/);
    // loss_burst runs (nftables drop rules); an EXTERNAL with a key does not.
    const withBurst = scenario(readFileSync(FIXTURE, 'utf8').replace('events:\n', 'events:\n  - { at: 5s, kind: loss_burst, link: a-r1, loss: 0.5, duration: 2s }\n'));
    expect(unsupportedParts(withBurst)).toEqual([]);
    const natText = readFileSync(join(__dirname, '../../sim/scenarios/nat-traversal.yaml'), 'utf8');
    const keyed = scenario(natText.replace('defaults:', 'keys:\n  - { id: k1, secret: 000102030405060708090a0b0c0d0e0f }\ndefaults:').replace('port: 7000, start: 1s', 'port: 7000, start: 1s, key: k1'));
    const e = unsupportedParts(keyed);
    expect(e.map((x) => [x.line, x.detail])).toEqual([[keyed.externals[0].line, "external 'x1' with a key is not supported on the testbed of real daemons (only in the simulator)"]]);
  });

  it('turns a loss burst into a random nftables drop on the link end, all of it at loss 1', () => {
    expect(lossScript(lossTable(3), 'v1a', 0.25)).toBe(
      'table inet natfw_tb_loss3 {\n  chain out {\n    type filter hook postrouting priority -350; policy accept;\n    oifname "v1a" numgen random mod 1000000 < 250000 counter drop\n  }\n}\n',
    );
    expect(lossScript('t', 'v1a', 1)).toMatch(/oifname "v1a" counter drop/);
    expect(lossScript('t', 'v1a', 0)).toMatch(/numgen random mod 1000000 < 0 counter drop/);
  });

  it('configures natfwd as the node: hosts end hosts, firewalls nftables with the policy and keys natfwd accepts', () => {
    const deny = scenario(readFileSync(join(__dirname, '../../sim/scenarios/deny.yaml'), 'utf8'));
    const node = (id: string) => deny.nodes.find((n) => n.id === id) as Scenario['nodes'][number];
    const host = daemonFiles(deny, node('a'), '/k');
    expect(host.extra.join('\n')).toMatch(/interception: none[\s\S]*backend: memory/);
    const open = daemonFiles(deny, node('fw1'), '/k');
    expect(open.extra.join('\n')).toMatch(/backend: nftables, mode: integration/);
    expect(open.keys.size).toBe(0);
    const strict = daemonFiles(deny, node('fw2'), '/keys/fw2');
    expect(strict.extra.join('\n')).toMatch(/mode: standalone/);
    expect(strict.extra.join('\n')).toMatch(/allowDeny: false/);
    expect(strict.extra.join('\n')).toMatch(/authorization: \{ keys: "\/keys\/fw2", requireForCreate: true \}/);
    expect([...strict.keys]).toEqual([[1, '000102030405060708090a0b0c0d0e0f']]);
    // The scenario's gist: settings reach every natfwd (whole seconds of validity), and natfwd accepts them.
    const tuned = scenario(readFileSync(join(__dirname, '../../sim/scenarios/deny.yaml'), 'utf8') + 'gist: { confirm_refreshes: true, routing_state_validity: 20s, dmode_rate_limit: { bytes_per_second: 625000, burst_bytes: 100000 } }\n');
    for (const id of ['a', 'fw1']) {
      const f = daemonFiles(tuned, node(id), '/keys');
      const cfg = parseConfig(natfwdConfig(id, [node(id).address], f.extra, { role: id === 'a' ? 'host' : 'firewall' }).replace('@SOCKET@', '/tmp/x.sock'), `${id}.yaml`);
      expect(cfg.gist).toMatchObject({ confirmRefreshes: true, routingStateValidity: 20, dmodeRateLimit: { bytesPerSecond: 625000, burstBytes: 100000 } });
    }
    // natfwd itself accepts every generated configuration (its --check parser).
    for (const id of ['a', 'fw1', 'fw2']) {
      const f = daemonFiles(deny, node(id), '/keys');
      expect(() => parseConfig(natfwdConfig(id, [node(id).address], f.extra, { role: id === 'a' ? 'host' : 'firewall' }).replace('@SOCKET@', '/tmp/x.sock'), `${id}.yaml`)).not.toThrow();
    }
  });
});

describe('testbed plan: NATs', () => {
  it('gives links only addresses the scenario leaves free (nat-traversal uses 198.19.0.0/24 inside its NAT)', () => {
    const s = shipped('nat-traversal');
    const plans = linkPlans(s);
    expect(plans).toHaveLength(s.links.length);
    const ends = plans.flatMap((p) => [...p.aAddrs, ...p.bAddrs]).filter((a) => !a.includes(':'));
    for (const a of ends) expect(a.startsWith('198.19.0.')).toBe(false);
    // The first free /30 after the NAT's inside /24: 198.19.1.0.
    expect(plans[0].aAddrs[0]).toBe('198.19.1.1/30');
    // A scenario without NATs or addresses in 198.19/16 keeps link i at slot i.
    expect(linkPlans(flip()).map((p) => p.aAddrs[0])).toEqual(flip().links.map((l, i) => linkPlan(l, i).aAddrs[0]));
  });

  it('routes the NAT external address from outside, the inside only inside, and the NAT speaks outside from its external address', () => {
    const s = shipped('nat-traversal');
    const topo = new Topology(s.nodes, s.links);
    const plans = linkPlans(s);
    const of = (id: string) => routesOf(topo, plans, topo.index.get(id) as number);
    const dsts = (id: string): string[] => of(id).map((r) => r.dst).sort();
    // Outside: a, r1, fw1 reach the NAT's external address, not b (198.19.0.10) nor the NAT's inside address.
    for (const id of ['a', 'r1', 'fw1']) {
      expect(dsts(id)).toContain('198.18.100.1');
      expect(dsts(id).filter((d) => d.startsWith('198.19.0.'))).toEqual([]);
    }
    // Inside: b reaches everyone, the external address included.
    expect(dsts('b')).toEqual(['198.18.0.1', '198.18.0.11', '198.18.1.10', '198.18.100.1', '198.19.0.1']);
    const nat = of('nat1');
    expect(nat.find((r) => r.dst === '198.18.1.10')?.src).toBe('198.18.100.1');
    expect(nat.find((r) => r.dst === '198.19.0.10')?.src).toBe('198.19.0.1');
  });

  it('configures the NAT as an edge NAT natfwd accepts, its inside address first (natfwd names by route); refuses an EXTERNAL with no NAT or with a key', () => {
    const s = shipped('nat-traversal');
    const nat = s.nodes.find((n) => n.id === 'nat1') as Scenario['nodes'][number];
    const f = daemonFiles(s, nat, '/k');
    expect([f.role, f.edge, f.addresses]).toEqual(['nat', true, ['198.19.0.1', '198.18.100.1']]);
    const cfg = parseConfig(natfwdConfig('nat1', f.addresses, f.extra, { role: f.role, edge: f.edge }).replace('@SOCKET@', '/tmp/x.sock'), 'nat1.yaml');
    expect(cfg.nat).toEqual({ externalAddress: '198.18.100.1', internalPrefixes: [{ address: '198.19.0.0', length: 24 }], ports: { from: 40000, to: 40999 } });
    expect(cfg.node.edge).toBe(true);
    expect(cfg.enforcement.mode).toBe('standalone');
    expect(unsupportedParts(s)).toEqual([]);
    const text = readFileSync(join(__dirname, '../../sim/scenarios/nat-traversal.yaml'), 'utf8');
    const noNat = scenario(text.replace('node: b, toward: a', 'node: a, toward: b').replace('to_external: x1', 'to: b, dst_port: 7000'));
    expect(unsupportedParts(noNat).map((e) => e.detail)).toEqual([expect.stringMatching(/external 'x1' with no NAT between a and b/)]);
  });
});

describe('testbed plan: generators', () => {
  it('expands generators into the flows the simulator signals: as many, deterministic, shaped as the generator says', async () => {
    const voip = shipped('voip');
    const calls = await expandGenerators(voip);
    // The simulator's own run signals exactly these many (its flow total; voip has no explicit flow).
    const sim = await runScenario(voip, { stack: { name: 'model', factory: modelWorld } });
    expect(calls.length).toBe(sim.result.flows.total);
    expect(calls.length).toBeGreaterThan(400);
    expect(await expandGenerators(voip)).toEqual(calls);
    const other = await expandGenerators({ ...voip, seed: voip.seed + 1 });
    expect(other.map((f) => f.startMs)).not.toEqual(calls.map((f) => f.startMs));
    // A call: 2 media streams x 2 directions, one stop for all four, RTP/RTCP with sub_ports=1.
    const first = calls.filter((f) => f.id.startsWith('call-0-'));
    expect(first.map((f) => f.id).sort()).toEqual(['call-0-m0-fwd', 'call-0-m0-rev', 'call-0-m1-fwd', 'call-0-m1-rev']);
    expect(new Set(first.map((f) => f.stopMs)).size).toBe(1);
    for (const f of calls) {
      expect([f.protocol, f.subPorts, f.generator, f.line]).toEqual([17, 1, 'call', voip.generators[0].line]);
      expect(f.from.startsWith('sa') === (f.id.endsWith('-fwd'))).toBe(true);
      expect(f.to.startsWith('sb') === (f.id.endsWith('-fwd'))).toBe(true);
      expect(f.startMs).toBeLessThan(100_000);
      expect((f.stopMs as number) - f.startMs).toBeLessThanOrEqual(60_000 + 1e-6);
    }
    const v6 = shipped('ipv6');
    const sessions = await expandGenerators(v6);
    expect(sessions).toHaveLength(40);
    expect(sessions.every((f) => f.startMs >= 5000 && f.startMs <= 15_000 && f.stopMs === undefined && ['a', 'b'].includes(f.from) && f.from !== f.to)).toBe(true);
  });

  it('refuses a generator beyond what real daemons carry, naming its line', async () => {
    const voip = shipped('voip');
    expect(generatorLimits(voip, await expandGenerators(voip))).toEqual([]);
    const text = readFileSync(join(__dirname, '../../sim/scenarios/voip.yaml'), 'utf8');
    const fast = scenario(text.replace('rate: 2/s', 'rate: 40/s'));
    const e = generatorLimits(fast, await expandGenerators(fast));
    expect(e.map((x) => x.line)).toEqual([fast.generators[0].line, fast.generators[0].line]);
    expect(e[0].detail).toMatch(/generator 'call' makes \d+ sessions; the testbed of real daemons signals at most 2000/);
    expect(e[1].detail).toMatch(/generator 'call' starts \d+ sessions within one second at [\d.]+s; the testbed of real daemons starts at most 100 per second/);
  });
});
