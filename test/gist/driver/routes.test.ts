/**
 * The kernel routing table as natfwd reads it for RFC 5971 s5.2.2 (the NLI
 * names the interface that carries the outbound flow): `ip -j` output parsed
 * and looked up by longest prefix, and, in a namespace this test creates,
 * followed when a route changes.
 */
import { describeNetns } from '../../helpers/netns';
import { NetnsLab } from '../../../testbed/netns';
import { KernelRoutes, parseInterfaceAddresses, parseRoutes, RouteTable } from '../../../gist/driver/routes';

const ROUTES_V4 = JSON.stringify([
  { dst: 'default', gateway: '198.18.100.254', dev: 'out0', flags: [] },
  { dst: '198.18.100.0/24', dev: 'out0', protocol: 'kernel', scope: 'link', prefsrc: '198.18.100.1', flags: [] },
  { dst: '198.19.0.0/24', dev: 'in0', protocol: 'kernel', scope: 'link', prefsrc: '198.19.0.1', flags: [] },
  { dst: '198.19.5.0/24', gateway: '198.19.0.2', dev: 'in0', flags: [] },
  { dst: '198.18.7.7', gateway: '198.19.0.2', dev: 'in0', prefsrc: '198.19.0.1', flags: [] },
  { type: 'unreachable', dst: '198.18.9.0/24', flags: [] },
  { dst: '198.18.8.0/24', gateway: '198.18.100.254', dev: 'out0', metric: 10, prefsrc: '198.18.100.1', flags: [] },
  { dst: '198.18.8.0/24', gateway: '198.19.0.2', dev: 'in0', metric: 5, prefsrc: '198.19.0.1', flags: [] },
  { dst: 'garbage' },
]);
const ROUTES_V6 = JSON.stringify([
  { dst: '2001:db8:1::/64', dev: 'in0', protocol: 'kernel', metric: 256, flags: [] },
  { dst: 'default', gateway: '2001:db8:2::1', dev: 'out0', metric: 1024, flags: [] },
]);
const ADDRS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifindex: 2, ifname: 'out0', addr_info: [{ family: 'inet', local: '198.18.100.1', prefixlen: 24 }, { family: 'inet6', local: '2001:db8:2::5', prefixlen: 64 }] },
  { ifindex: 3, ifname: 'in0', addr_info: [{ family: 'inet', local: '198.19.0.1', prefixlen: 24 }, { family: 'inet6', local: '2001:DB8:1:0::1', prefixlen: 64 }] },
]);

describe('RouteTable (ip -j output)', () => {
  const own = ['198.19.0.1', '198.18.100.1', '2001:db8:1::1', '2001:db8:2::5'];
  const table = new RouteTable([...parseRoutes(ROUTES_V4, 4), ...parseRoutes(ROUTES_V6, 6)], parseInterfaceAddresses(ADDRS), own);

  it('keeps unicast routes only and reads host routes as /32', () => {
    const r = parseRoutes(ROUTES_V4, 4);
    expect(r.map((x) => x.length)).toEqual([0, 24, 24, 24, 32, 24, 24]);
    expect(table.size).toBe(9);
  });

  it('the longest prefix wins, then the lowest metric; prefsrc, else the node address on the device', () => {
    expect(table.lookup('198.18.1.10', 4)).toBe('198.18.100.1'); // default via out0, no prefsrc: out0's address
    expect(table.lookup('198.19.0.10', 4)).toBe('198.19.0.1');
    expect(table.lookup('198.19.5.3', 4)).toBe('198.19.0.1'); // via a gateway on in0
    expect(table.lookup('198.18.7.7', 4)).toBe('198.19.0.1'); // host route beats the default
    expect(table.lookup('198.18.8.1', 4)).toBe('198.19.0.1'); // metric 5 beats metric 10
    expect(table.lookup('2001:db8:1::77', 6)).toBe('2001:db8:1::1'); // canonical text of the device address
    expect(table.lookup('2001:db8:99::1', 6)).toBe('2001:db8:2::5');
  });

  it('answers nothing it cannot stand behind: no route, an address the node does not own, a bad literal', () => {
    const mine = new RouteTable(parseRoutes(ROUTES_V4, 4), parseInterfaceAddresses(ADDRS), ['198.19.0.1']);
    expect(mine.lookup('198.18.1.10', 4)).toBeUndefined(); // out0's address is not the node's
    expect(new RouteTable([], new Map(), own).lookup('198.18.1.10', 4)).toBeUndefined();
    expect(table.lookup('not-an-address', 4)).toBeUndefined();
  });
});

describeNetns('KernelRoutes in a namespace: read, then followed through ip monitor', () => {
  let lab: NetnsLab;
  let routes: KernelRoutes | undefined;
  afterAll(() => {
    routes?.close();
    lab?.destroy();
  });

  it('names the side of the route towards the destination, and the new side after the route moves', async () => {
    lab = new NetnsLab('rt');
    for (const n of ['A', 'R', 'B']) lab.addNode({ name: n });
    lab.addLink({ a: 'R', b: 'A', aAddrs: ['198.18.210.1/24'], bAddrs: ['198.18.210.2/24'] });
    lab.addLink({ a: 'R', b: 'B', aAddrs: ['198.18.211.1/24'], bAddrs: ['198.18.211.2/24'] });
    lab.exec('R', 'ip', ['route', 'add', '198.18.212.0/24', 'via', '198.18.210.2']);
    const reloads: RouteTable[] = [];
    let wake: (() => void) | undefined;
    routes = await KernelRoutes.start(['198.18.210.1', '198.18.211.1'], {
      netns: lab.ns('R'),
      onReload: (t: RouteTable) => {
        reloads.push(t);
        wake?.();
      },
    });
    const hook = routes.interfaceAddressFor;
    expect(hook('198.18.212.5', 4)).toBe('198.18.210.1');
    expect(hook('198.18.211.9', 4)).toBe('198.18.211.1');

    const moved = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no re-read after the route change (ip monitor)')), 15_000);
      wake = () => {
        if (routes?.current.lookup('198.18.212.5', 4) !== '198.18.211.1') return;
        clearTimeout(t);
        resolve();
      };
    });
    lab.exec('R', 'ip', ['route', 'replace', '198.18.212.0/24', 'via', '198.18.211.2', 'src', '198.18.211.1']);
    await moved;
    expect(reloads.length).toBeGreaterThan(0);
    expect(hook('198.18.212.5', 4)).toBe('198.18.211.1');
  }, 30_000);
});
