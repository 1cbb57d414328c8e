/**
 * The real GIST driver: sockets, interception, timers and the clock for a
 * GIST core (gist/core). The only place under gist/ that does I/O.
 *
 *   await RealGistDriver.warmUp({ ipVersions: [4] });   // start() does it too; before the node is better (warmup.ts)
 *   const node = createGistNode({ addresses: ['198.18.1.1'], randomBytes: pooledRandomBytes });
 *   node.registerNslp(33);
 *   const driver = await RealGistDriver.start(node, { interception: 'nfqueue' });
 *   const gist = driver.wrapService(node);   // NSLP calls through this drain the core afterwards
 */
export { RealGistDriver, localAddresses, type RealGistDriverOptions, type DriverStats, type InterceptionMode } from './real-driver';
export { NfqueueInterceptor, RouterAlertSocketInterceptor, QmodeJudge, type QueryInterceptor, type InterceptVerdict, type InterceptedPacket } from './interceptor';
export { GistUdpSocket, type UdpSendOptions } from './udp-socket';
export { GistTcpTransport } from './tcp-transport';
export { DeadlineTimer } from './timer';
export { monotonicNow, type Clock } from './clock';
export { pooledRandomBytes } from './random';
export { NodeProcess, type ChildEvent } from './node-process';
export { DriverError, type DriverErrorCode } from './errors';
export { KernelRoutes, RouteTable, readRouteTable, parseRoutes, parseInterfaceAddresses, type KernelRoute, type KernelRoutesOptions } from './routes';
export { DEFAULT_WARM_UP_HANDSHAKES, warmedUp, type WarmUpReport } from './warmup';
