/**
 * `natfwd --check` and the argument handling of `natfw create|teardown|list|events`
 * (dist/bin, built by `npm test`): exit 2 and one line naming the argument for
 * bad arguments, exit 1 and one line when natfwd is not there or the
 * configuration is wrong, --help on every verb.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const run = (bin: string, args: string[]): { status: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/bin', bin), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};
const oneLine = (s: string): void => expect(s.trimEnd().split('\n')).toHaveLength(1);

jest.setTimeout(60_000);

describe('natfwd --check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'natfwd-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a full configuration', () => {
    const keys = join(dir, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    writeFileSync(join(keys, '1.key'), 'aa'.repeat(32) + '\n', { mode: 0o600 });
    const f = join(dir, 'ok.yaml');
    writeFileSync(
      f,
      [
        'node: { name: fw1, role: firewall, edge: false, addresses: [198.18.1.2] }',
        'control: { socket: /run/natfw/test.sock, mode: 432 }',
        'gist: { dmodePort: 27000, cmodePort: 27000, qmodePort: 270, interception: nfqueue, nfqueueNum: 270, routerAlert: 0, confirmRequired: true, interceptAnyNamespace: false }',
        'policy: { maxLifetime: 300, minLifetime: 1, allowDeny: false, protocols: [udp], destinations: [198.18.2.0/24], dstPorts: [5004-5005], maxSessions: 1000 }',
        `authorization: { keys: "${keys}", requireForCreate: true, requireForExternal: false, trustedKeyIds: [1], clockSkew: 30 }`,
        'enforcement: { backend: nftables, mode: standalone, mark: 0x100000, grace: 10, expireInterval: 5 }',
        'log: { level: info }',
      ].join('\n'),
    );
    const r = run('natfwd.js', ['--config', f, '--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('configuration OK');
  });

  it('names file and line of a mistake, exit 1', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'node:\n  role: router\n');
    const r = run('natfwd.js', ['--config', f, '--check']);
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toContain(`${f}:2: 'node.role' must be one of host, firewall, nat`);
  });

  it('fails the check on a key file others can read', () => {
    const keys = join(dir, 'loose');
    mkdirSync(keys);
    writeFileSync(join(keys, '2.key'), 'bb'.repeat(32) + '\n');
    chmodSync(join(keys, '2.key'), 0o644);
    const f = join(dir, 'loose.yaml');
    writeFileSync(f, `authorization: { keys: "${keys}", requireForCreate: true }\n`);
    const r = run('natfwd.js', ['--config', f, '--check']);
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/2\.key: mode 0644/);
  });

  it('wants --config (exit 2)', () => {
    const r = run('natfwd.js', ['--check']);
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--config/);
  });

  it('fails to start with one line, exit 1, and leaves no control socket behind', () => {
    // NFQUEUE interception outside a named namespace is refused by the driver (no rule is installed).
    const sock = join(dir, 'fail.sock');
    const f = join(dir, 'fail.yaml');
    const port = 42000 + (process.pid % 10000);
    writeFileSync(
      f,
      [
        'node: { addresses: [127.0.0.1] }',
        `control: { socket: "${sock}" }`,
        `gist: { interception: nfqueue, dmodePort: ${port}, cmodePort: ${port}, qmodePort: ${port + 1} }`,
        'enforcement: { backend: memory }',
      ].join('\n'),
    );
    const r = run('natfwd.js', ['--config', f]);
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^natfwd: cannot start: /);
    if (process.getuid?.() === 0) expect(r.stderr).toContain('gist.interceptAnyNamespace');
    expect(existsSync(sock)).toBe(false);
  });

  it('reports a missing file, exit 1', () => {
    const r = run('natfwd.js', ['--config', join(dir, 'nope.yaml'), '--check']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.yaml: cannot read the configuration \(ENOENT\)/);
  });
});

describe('natfw create|external|teardown|list|events arguments', () => {
  const sock = join(tmpdir(), `natfwd-absent-${process.pid}.sock`);

  it('has --help on every verb', () => {
    for (const v of ['create', 'external', 'teardown', 'list', 'stats', 'events']) {
      const r = run('natfw.js', [v, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('--socket');
    }
  });

  it('exits 2 with one line naming a bad argument', () => {
    const cases: Array<[string[], RegExp]> = [
      [['create', '--proto', 'udp', '--dport', '5004'], /--dst is required/],
      [['create', '--dst', 'nowhere', '--proto', 'udp'], /--dst: 'nowhere' is not an IP address/],
      [['create', '--dst', '198.18.2.2'], /--proto is required/],
      [['create', '--dst', '198.18.2.2', '--proto', 'udp', '--dport', '70000'], /--dport must be between 0 and 65535/],
      [['create', '--dst', '198.18.2.2', '--proto', 'udp', '--sub-ports', '2'], /--sub-ports/],
      [['create', '--dst', '198.18.2.2', '--proto', 'udp', '--action', 'maybe'], /--action/],
      [['create', '--dst', '198.18.2.2', '--src', '2001:db8::1', '--proto', 'udp'], /same address family/],
      [['create', '--dst', '198.18.2.2', '--proto', 'icmp', '--dport', '1'], /has no ports/],
      [['teardown', 'xyz'], /<session-id>: 'xyz' is not 32 hex digits/],
      [['external', '--proto', 'udp', '--dport', '5004'], /--sda is required/],
      [['external', '--sda', 'there', '--proto', 'udp', '--dport', '5004'], /--sda: 'there' is not an IP address/],
      [['external', '--sda', '198.18.1.1', '--proto', 'udp'], /--dport is required/],
      [['external', '--sda', '198.18.1.1', '--proto', 'icmp', '--dport', '5004'], /has no ports/],
      [['external', '--sda', '198.18.1.1', '--ds', '2001:db8::1', '--proto', 'udp', '--dport', '5004'], /--ds: .* same family/],
      [['external', '--sda', '198.18.1.1', '--proto', 'udp', '--dport', '5004', '--ds-port', 'x'], /--ds-port/],
    ];
    for (const [args, re] of cases) {
      const r = run('natfw.js', [...args, '--socket', sock]);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      oneLine(r.stderr);
      expect(r.stderr).toMatch(re);
    }
  });

  it('exits 1 with one line when natfwd is not running', () => {
    for (const args of [
      ['list'],
      ['teardown', '00112233445566778899aabbccddeeff'],
      ['create', '--dst', '198.18.2.2', '--proto', 'udp', '--dport', '5004'],
      ['external', '--sda', '198.18.1.1', '--proto', 'udp', '--dport', '5004'],
    ]) {
      const r = run('natfw.js', [...args, '--socket', sock]);
      expect(r.status).toBe(1);
      oneLine(r.stderr);
      expect(r.stderr).toContain(`cannot reach natfwd at ${sock}`);
    }
  });
});
