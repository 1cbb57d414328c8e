/** Bad scenario files: the error names the line and what is wrong. */
import { parseScenario } from '../../sim/scenario/parse';

const base = `name: t
duration: 10s
nodes:
  - { id: a, role: host }
  - { id: b, role: host }
  - { id: fw, role: firewall }
links:
  - { a: a, b: fw }
  - { a: fw, b: b }
`;

function errorOf(text: string): { line: number; message: string } {
  const r = parseScenario(text, { file: 'x.yaml' });
  if (r.ok) throw new Error('expected an error');
  return { line: r.error.line, message: r.error.message };
}

test('a valid file parses', () => {
  const r = parseScenario(base + 'flows:\n  - { id: f, from: a, to: b, dst_port: 80 }\n');
  expect(r.ok).toBe(true);
  if (r.ok) {
    expect(r.value.nodes.map((n) => n.id)).toEqual(['a', 'b', 'fw']);
    expect(r.value.flows[0].protocol).toBe(17);
    expect(r.value.durationMs).toBe(10000);
  }
});

test('ip_version 6: nodes without an address get theirs from 2001:db8::/32, written as the cores write them (RFC 5952)', () => {
  const r = parseScenario(base.replace('duration: 10s', 'duration: 10s\nip_version: 6').replace('id: fw, role: firewall', "id: fw, role: firewall, address: '2001:DB8:0:0::00a'"));
  expect(r.ok).toBe(true);
  if (r.ok) expect(r.value.nodes.map((n) => n.address)).toEqual(['2001:db8::1', '2001:db8::2', '2001:db8::a']);
});

test('gist: settings for every real GIST core, absent keys left to the core', () => {
  const r = parseScenario(base + 'gist:\n  confirm_refreshes: true\n  routing_state_validity: 20s\n  dmode_rate_limit: { bytes_per_second: 625000, burst_bytes: 100000 }\n');
  expect(r.ok && r.value.gist).toEqual({ confirmRefreshes: true, routingStateValidityMs: 20000, dmodeRateLimit: { bytesPerSecond: 625000, burstBytes: 100000 } });
  const off = parseScenario(base + 'gist: { dmode_rate_limit: false }\n');
  expect(off.ok && off.value.gist).toEqual({ dmodeRateLimit: false });
  const none = parseScenario(base);
  expect(none.ok && none.value.gist).toEqual({});
});

test.each([
  ['unknown node in a link', base + '  - { a: a, b: nowhere }\n', 10, "links[2].b: unknown node 'nowhere'"],
  ['unknown key', base + 'flows:\n  - { id: f, from: a, to: b, dst_port: 80, colour: red }\n', 11, "unknown key 'colour'"],
  ['bad duration', base.replace('duration: 10s', 'duration: ten'), 2, "'ten' is not a duration"],
  ['missing duration', base.replace('duration: 10s\n', ''), 1, "missing 'duration'"],
  ['flow from a firewall', base + 'flows:\n  - { id: f, from: fw, to: b, dst_port: 80 }\n', 11, "'fw' is a firewall; flows start and end at hosts"],
  ['port out of range', base + 'flows:\n  - { id: f, from: a, to: b, dst_port: 70000 }\n', 11, 'must be between 0 and 65535'],
  ['odd port with sub_ports', base + 'flows:\n  - { id: f, from: a, to: b, dst_port: 81, sub_ports: 1 }\n', 11, 'must be even'],
  ['duplicate node', base.replace('id: b, role: host', 'id: a, role: host'), 5, "duplicate node id 'a'"],
  ['event after the end', base + 'events:\n  - { at: 20s, kind: link_down, link: a-fw }\n', 11, 'after the end of the run'],
  ['unknown link', base + 'events:\n  - { at: 2s, kind: link_down, link: a-b }\n', 11, "unknown link 'a-b'"],
  ['key not declared', base + 'flows:\n  - { id: f, from: a, to: b, dst_port: 80, key: k9 }\n', 11, "unknown key 'k9'"],
  ['assertion on an unknown flow', base + 'assertions:\n  - { kind: established, flow: nope }\n', 11, "unknown flow 'nope'"],
  ['wrong field for the kind', base + 'events:\n  - { at: 2s, kind: crash, node: fw, link: a-fw }\n', 11, "'link' does not apply to a crash event"],
  ['IPv6 address in an IPv4 scenario', base.replace('id: a, role: host', "id: a, role: host, address: '2001:db8::1'"), 4, "2001:db8::1 is an IPv6 address, but the scenario's ip_version is 4"],
  ['IPv4 address in an IPv6 scenario', base.replace('duration: 10s', 'duration: 10s\nip_version: 6').replace('id: a, role: host', 'id: a, role: host, address: 198.18.0.9'), 5, "198.18.0.9 is an IPv4 address, but the scenario's ip_version is 6"],
  ['not an address', base.replace('id: a, role: host', 'id: a, role: host, address: 2001:db8::g'), 4, "'2001:db8::g' is not an IPv4 or IPv6 address"],
  ['ip_version 5', base.replace('duration: 10s', 'duration: 10s\nip_version: 5'), 3, 'must be 4 or 6'],
  ['YAML syntax', base + 'flows: [ { id: f\n', 11, 'YAML syntax'],
  ['not a mapping', '- just\n- a list\n', 1, 'must be a mapping'],
  ['gist: unknown key', base + 'gist: { confirm: true }\n', 10, "unknown key 'confirm'"],
  ['gist: rate limit true', base + 'gist: { dmode_rate_limit: true }\n', 10, 'must be false or a mapping of bytes_per_second, burst_bytes and max_queued'],
  ['gist: rate limit without a burst', base + 'gist: { dmode_rate_limit: { bytes_per_second: 1000 } }\n', 10, 'gist.dmode_rate_limit.burst_bytes: missing'],
  ['gist: burst below one message', base + 'gist: { dmode_rate_limit: { bytes_per_second: 1000, burst_bytes: 100 } }\n', 10, 'must be between 576 and'],
  ['gist: validity too short', base + 'gist: { routing_state_validity: 500ms }\n', 10, 'must be at least 1s'],
])('%s', (_name, text, line, fragment) => {
  const e = errorOf(text);
  expect(e.line).toBe(line);
  expect(e.message).toContain(fragment);
  expect(e.message).toMatch(new RegExp(`^x\\.yaml:${line}:\\d+: `));
});
