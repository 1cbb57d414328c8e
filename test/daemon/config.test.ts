import { ConfigError, DEFAULT_CONTROL_SOCKET, parseConfig } from '../../daemon/config';

const expectError = (text: string, line: number | undefined, pattern: RegExp): void => {
  let caught: unknown;
  try {
    parseConfig(text, 'natfwd.yaml');
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const ce = caught as ConfigError;
  expect(ce.line).toBe(line);
  expect(ce.message).toMatch(pattern);
  expect(ce.message.split('\n')).toHaveLength(1);
};

describe('natfwd configuration', () => {
  it('applies defaults to an empty file', () => {
    const c = parseConfig('', 'x.yaml');
    expect(c.gist.interception).toBe('nfqueue');
    expect(c.enforcement.backend).toBe('nftables');
    expect(c.policy.maxLifetime).toBe(3600);
    expect(c.authorization.requireForCreate).toBe(false);
  });

  it('reads a full configuration', () => {
    const c = parseConfig(
      [
        'node: { name: fw1, addresses: [198.18.1.2, "2001:db8:1::2"] }',
        'gist: { dmodePort: 30000, cmodePort: 30001, interception: router-alert, confirmRequired: false, confirmRefreshes: true, routingStateValidity: 4 }',
        'policy:',
        '  maxLifetime: 300',
        '  allowDeny: false',
        '  protocols: [udp, tcp, 132]',
        '  destinations: [198.18.2.0/24, "2001:db8:2::/48"]',
        '  dstPorts: [5004, 1024-65535]',
        'authorization: { keys: /etc/natfw/keys, requireForCreate: true, trustedKeyIds: [1, 2] }',
        'enforcement: { backend: iptables, mode: integration, mark: 0x100 }',
      ].join('\n'),
      'x.yaml',
    );
    expect(c.node.addresses).toEqual(['198.18.1.2', '2001:db8:1::2']);
    expect(c.gist).toMatchObject({ dmodePort: 30000, cmodePort: 30001, interception: 'router-alert', confirmRequired: false, confirmRefreshes: true, routingStateValidity: 4 });
    expect(c.policy.protocols).toEqual([17, 6, 132]);
    expect(c.policy.destinations).toEqual([
      { address: '198.18.2.0', length: 24 },
      { address: '2001:db8:2::', length: 48 },
    ]);
    expect(c.policy.dstPorts).toEqual([
      { from: 5004, to: 5004 },
      { from: 1024, to: 65535 },
    ]);
    expect(c.authorization.trustedKeyIds).toEqual([1, 2]);
    expect(c.enforcement).toMatchObject({ backend: 'iptables', mode: 'integration', mark: 0x100 });
  });

  it('names the line of each mistake', () => {
    expectError('policy:\n  maxLifetme: 30\n', 2, /unknown option 'policy.maxLifetme'/);
    expectError('gist:\n  dmodePort: 70000\n', 2, /'gist.dmodePort' must be an integer from 1 to 65535/);
    expectError('gist:\n  routingStateValidity: 1\n', 2, /'gist.routingStateValidity' must be an integer from 2 to 86400/);
    expectError('policy:\n  destinations:\n    - 198.18.2.0/33\n', 3, /prefix length must be 0 to 32/);
    expectError('policy:\n  protocols: [udp, gre2]\n', 2, /unknown protocol "gre2"/);
    expectError('enforcement:\n  backend: pf\n', 2, /must be one of nftables, iptables, memory/);
    expectError('authorization:\n  requireForCreate: true\n', 2, /'authorization.keys'/);
    expectError('policy: [1, 2]\n', 1, /'policy' must be a mapping/);
    expectError('node: {\n', 2, /YAML syntax/);
    expectError('policy:\n  dstPorts: [6000-5000]\n', 2, /low to high/);
  });

  it('reads the daemon options: role, nat, control socket, qmode port, expiry sweep', () => {
    const d = parseConfig('', 'x.yaml');
    expect(d.node).toMatchObject({ role: 'host', edge: false });
    expect(d.control).toEqual({ socket: DEFAULT_CONTROL_SOCKET, mode: 0o660 });
    expect(d.gist).toMatchObject({ qmodePort: 270, interceptAnyNamespace: false, routingStateValidity: 30 });
    expect(d.enforcement.expireInterval).toBe(5);
    expect(d.nat).toBeUndefined();
    const c = parseConfig(
      [
        'node: { role: nat, edge: true }',
        'nat: { externalAddress: 198.18.9.1, internalPrefixes: [198.18.1.0/24], ports: 40000-40999 }',
        'control: { socket: /tmp/n.sock, mode: 384 }',
        'gist: { qmodePort: 2700, interceptAnyNamespace: true }',
        'enforcement: { expireInterval: 2 }',
      ].join('\n'),
      'x.yaml',
    );
    expect(c.node).toMatchObject({ role: 'nat', edge: true });
    expect(c.nat).toEqual({ externalAddress: '198.18.9.1', internalPrefixes: [{ address: '198.18.1.0', length: 24 }], ports: { from: 40000, to: 40999 } });
    expect(c.control).toEqual({ socket: '/tmp/n.sock', mode: 384 });
    expect(c.gist).toMatchObject({ qmodePort: 2700, interceptAnyNamespace: true });
    expect(c.enforcement.expireInterval).toBe(2);
  });

  it('names the line of mistakes in the daemon options', () => {
    expectError('node:\n  role: nat\n', 2, /'node.role' is nat but there is no 'nat' section/);
    expectError('nat:\n  externalAddress: 198.18.9.1\n', 2, /'nat.internalPrefixes'/);
    expectError('nat:\n  externalAddress: nowhere\n  internalPrefixes: [198.18.1.0/24]\n', 2, /'nat.externalAddress' must be an IP address/);
    expectError('control:\n  socket: run/natfwd.sock\n', 2, /'control.socket' must be an absolute path/);
    expectError('control:\n  sockett: /x\n', 2, /unknown option 'control.sockett'/);
    expectError('enforcement:\n  expireInterval: 0\n', 2, /'enforcement.expireInterval' must be an integer from 1 to 3600/);
  });

  it('reads the D-mode rate limiter (RFC 5971 s5.3.3): default 5% of 1 Gbit/s, a mapping, or false', () => {
    expect(parseConfig('', 'x.yaml').gist.dmodeRateLimit).toEqual({ bytesPerSecond: 6_250_000, burstBytes: 1_000_000, maxQueued: 16_384 });
    expect(parseConfig('gist:\n  dmodeRateLimit: false\n', 'x.yaml').gist.dmodeRateLimit).toBe(false);
    expect(parseConfig('gist:\n  dmodeRateLimit: { bytesPerSecond: 625000, burstBytes: 100000 }\n', 'x.yaml').gist.dmodeRateLimit).toEqual({
      bytesPerSecond: 625_000,
      burstBytes: 100_000,
      maxQueued: 16_384,
    });
    expect(parseConfig('gist:\n  dmodeRateLimit:\n    maxQueued: 10\n', 'x.yaml').gist.dmodeRateLimit).toEqual({ bytesPerSecond: 6_250_000, burstBytes: 1_000_000, maxQueued: 10 });
  });

  it('names the line of mistakes in the D-mode rate limiter', () => {
    expectError('gist:\n  dmodeRateLimit: true\n', 2, /'gist.dmodeRateLimit' must be false or a mapping of bytesPerSecond, burstBytes and maxQueued, got true/);
    expectError('gist:\n  dmodeRateLimit: 1000\n', 2, /'gist.dmodeRateLimit' must be false or a mapping/);
    expectError('gist:\n  dmodeRateLimit:\n    bytesPerSecond: 0\n', 3, /'gist.dmodeRateLimit.bytesPerSecond' must be an integer from 1 to/);
    expectError('gist:\n  dmodeRateLimit:\n    burstBytes: 100\n', 3, /'gist.dmodeRateLimit.burstBytes' must be an integer from 576 to/);
    expectError('gist:\n  dmodeRateLimit:\n    rate: 5\n', 3, /unknown option 'gist.dmodeRateLimit.rate'/);
  });
});
