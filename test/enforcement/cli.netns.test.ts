/**
 * `natfw pinhole` and `natfw explain` in a namespace (they act on the current
 * one; the test runs them with `ip netns exec`).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { NetnsLab } from '../../testbed/netns';
import { describeNetns } from '../helpers/netns';
import { TS_HOOK } from './helpers/ts-child';


describeNetns(
  'natfw pinhole / explain (CLI)',
  () => {
    let lab: NetnsLab;
    const root = resolve(__dirname, '../..');
    const natfw = (...args: string[]): { status: number; stdout: string; stderr: string } => {
      const r = spawnSync(
        'ip',
        ['netns', 'exec', lab.ns('R'), process.execPath, '-e', TS_HOOK, resolve(root, 'test/enforcement/helpers/cli-main.ts'), '--', ...args],
        { encoding: 'utf8', cwd: root, timeout: 60_000 },
      );
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };

    beforeAll(() => {
      lab = new NetnsLab('cli');
      lab.addNode({ name: 'R', forward: true });
    });
    afterAll(() => lab?.destroy());

    test('before setup: a clear one-line failure, exit 1', () => {
      const r = natfw('pinhole', 'list');
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/natfw pinhole setup/);
    });

    test('nftables: setup, add (prints the id), list --json from the kernel, explain, remove, teardown', () => {
      expect(natfw('pinhole', 'setup', '--mode', 'standalone').status).toBe(0);
      const a = natfw('pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '5000', '--sub-ports', '1', '--owner', 'sess-1', '--lifetime', '120');
      expect(a).toMatchObject({ status: 0, stderr: '' });
      const id = a.stdout.trim();
      expect(id).toMatch(/^ph-[0-9a-f]+$/);
      const d = natfw('pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.0/24', '--sport', '4000-4010', '--dst', '198.18.2.2', '--dport', '5000', '--action', 'deny');
      expect(d.status).toBe(0);
      const deny = d.stdout.trim();

      const l = natfw('pinhole', 'list', '--json');
      expect(l.status).toBe(0);
      const rows = l.stdout.trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
      expect(rows).toEqual([
        expect.objectContaining({ id, action: 'allow', protocol: 17, src: '198.18.1.1/32', dstPorts: { from: 5000, to: 5001 }, owner: 'sess-1', kernel: expect.objectContaining({ set: 'a4_nosp_0', elements: 2 }) }),
        expect.objectContaining({ id: deny, action: 'deny', srcPorts: { from: 4000, to: 4010 }, kernel: expect.objectContaining({ set: 'd4_range_0' }) }),
      ]);
      const k = rows[0].kernel as { timeout: number };
      expect(k.timeout).toBeGreaterThanOrEqual(120);
      expect(k.timeout).toBeLessThan(130);

      const e1 = natfw('explain', '--proto', 'udp', '--src', '198.18.1.1', '--sport', '3999', '--dst', '198.18.2.2', '--dport', '5001');
      expect(e1.status).toBe(0);
      expect(e1.stdout).toMatch(/^verdict: allow/);
      expect(e1.stdout).toContain(id);
      expect(e1.stdout).toMatch(/kernel: agrees/);
      const e2 = natfw('explain', '--proto', 'udp', '--src', '198.18.1.1', '--sport', '4005', '--dst', '198.18.2.2', '--dport', '5000', '--json');
      expect(JSON.parse(e2.stdout)).toMatchObject({ verdict: 'deny', agrees: true, matches: [{ id: deny }, { id }] });
      const e3 = natfw('explain', '--proto', 'tcp', '--src', '198.18.1.1', '--sport', '1', '--dst', '198.18.2.2', '--dport', '5000');
      expect(e3.stdout).toMatch(/^verdict: none/);

      expect(natfw('pinhole', 'remove', id, deny).status).toBe(0);
      expect(natfw('pinhole', 'list').stdout).toBe('');
      expect(natfw('pinhole', 'teardown').status).toBe(0);
      expect(lab.exec('R', 'nft', ['list', 'tables'])).not.toMatch(/natfw/);
    }, 60_000);

    test('bad arguments: one line naming the argument, exit 2', () => {
      natfw('pinhole', 'setup');
      const cases: Array<[string[], RegExp]> = [
        [['pinhole', 'add', '--proto', 'udpx', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '1'], /--proto/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.300', '--dst', '198.18.2.2', '--dport', '1'], /--src/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '2001:db8::1', '--dport', '1'], /--src and --dst/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '70000'], /--dport/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2'], /--dport/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '1', '--sub-ports', '2'], /--sub-ports/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '1', '--lifetime', '-5'], /--lifetime/],
        [['pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '1', '--backend', 'pf'], /--backend/],
        [['pinhole', 'remove', 'xyz'], /<id>/],
        [['pinhole', 'setup', '--mode', 'sideways'], /--mode/],
        [['explain', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '5'], /--sport/],
      ];
      for (const [args, re] of cases) {
        const r = natfw(...args);
        expect({ args, status: r.status }).toEqual({ args, status: 2 });
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(re);
      }
    }, 60_000);

    test('a kernel refusal: one line with what the kernel said, exit 1, nothing applied', () => {
      natfw('pinhole', 'setup');
      const keep = natfw('pinhole', 'add', '--proto', 'tcp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '22');
      expect(keep.status).toBe(0);
      // An administrator removed one of our maps (rules first, so the kernel lets them).
      lab.exec('R', 'nft', ['flush', 'chain', 'inet', 'natfw', 'forward']);
      lab.exec('R', 'nft', ['delete', 'map', 'inet', 'natfw', 'a4_full_0']);
      const r = natfw('pinhole', 'add', '--proto', 'udp', '--src', '198.18.1.1', '--sport', '7', '--dst', '198.18.2.2', '--dport', '7000');
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/No such file or directory/);
      const l = natfw('pinhole', 'list', '--json');
      expect(l.stdout.trim().split('\n').map((x) => (JSON.parse(x) as { id: string }).id)).toEqual([keep.stdout.trim()]);
      natfw('pinhole', 'teardown');
    }, 60_000);

    test('iptables backend: setup, add, list, explain, remove, teardown', () => {
      expect(natfw('pinhole', 'setup', '--backend', 'iptables').status).toBe(0);
      const a = natfw('pinhole', 'add', '--backend', 'iptables', '--proto', 'udp', '--src', '198.18.1.1', '--dst', '198.18.2.2', '--dport', '5000', '--sub-ports', '1', '--owner', 'o1');
      expect(a.status).toBe(0);
      const id = a.stdout.trim();
      const rules = lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW']);
      // The rule stops matching at expiry + grace (xt_time datestop), then carries the pinhole's metadata.
      expect(rules).toMatch(new RegExp(`--dport 5000:5001 -m time --datestop \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d -m comment --comment "natfw ${id} o1 `));
      const l = natfw('pinhole', 'list', '--backend', 'iptables', '--json');
      expect(JSON.parse(l.stdout)).toMatchObject({ id, owner: 'o1', dstPorts: { from: 5000, to: 5001 } });
      const e = natfw('explain', '--backend', 'iptables', '--proto', 'udp', '--src', '198.18.1.1', '--sport', '9', '--dst', '198.18.2.2', '--dport', '5001');
      expect(e.stdout).toMatch(/^verdict: allow/);
      expect(natfw('pinhole', 'remove', '--backend', 'iptables', id).status).toBe(0);
      expect(lab.exec('R', 'iptables', ['-S', 'NATFW_ALLOW'])).not.toContain('natfw ph-');
      expect(natfw('pinhole', 'teardown', '--backend', 'iptables').status).toBe(0);
      expect(lab.exec('R', 'iptables', ['-S'])).not.toMatch(/NATFW/);
    }, 60_000);
  },
  ['nft', 'iptables'],
);
