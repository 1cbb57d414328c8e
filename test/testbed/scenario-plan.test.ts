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
import { daemonFiles, linkPlan, routeBatch, routesOf, unsupportedParts } from '../../testbed/scenario-plan';
import { parseConfig } from '../../daemon/config';
import { natfwdConfig } from '../../testbed/daemons';

function scenario(text: string): Scenario {
  const r = parseScenario(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const FIXTURE = join(__dirname, '../fixtures/testbed/route-flip.yaml');
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
    const voip = scenario(readFileSync(join(__dirname, '../../sim/scenarios/voip.yaml'), 'utf8'));
    const errs = unsupportedParts(voip);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0].detail).toMatch(/generator '.+' \(calls\) is not supported on the testbed/);
    const nat = scenario(readFileSync(join(__dirname, '../../sim/scenarios/nat-traversal.yaml'), 'utf8'));
    expect(unsupportedParts(nat).map((e) => e.detail).join('\n')).toMatch(/the nat role is not supported/);
    const burst = flip();
    const withBurst = scenario(readFileSync(FIXTURE, 'utf8').replace('events:\n', 'events:\n  - { at: 5s, kind: loss_burst, link: a-r1, loss: 0.5, duration: 2s }\n'));
    expect(unsupportedParts(burst)).toEqual([]);
    const e = unsupportedParts(withBurst);
    expect(e).toHaveLength(1);
    expect(e[0].line).toBe(readFileSync(FIXTURE, 'utf8').split('\n').indexOf('events:') + 2);
    expect(unsupportedParts(scenario(readFileSync(join(__dirname, '../../sim/scenarios/route-change.yaml'), 'utf8')))).toEqual([]);
    expect(unsupportedParts(scenario(readFileSync(join(__dirname, '../../sim/scenarios/deny.yaml'), 'utf8')))).toEqual([]);
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
    // natfwd itself accepts every generated configuration (its --check parser).
    for (const id of ['a', 'fw1', 'fw2']) {
      const f = daemonFiles(deny, node(id), '/keys');
      expect(() => parseConfig(natfwdConfig(id, [node(id).address], f.extra, { role: id === 'a' ? 'host' : 'firewall' }).replace('@SOCKET@', '/tmp/x.sock'), `${id}.yaml`)).not.toThrow();
    }
  });
});
