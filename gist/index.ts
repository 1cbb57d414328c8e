/**
 * GIST for the rest of natfw: the NSLP-facing service (api.ts), the protocol
 * core with its driver-facing side (core/), and the shared model (types.ts).
 *
 *   const node = createGistNode({ addresses: ['198.18.1.1'], randomBytes });
 *   node.registerNslp(33);
 *   node.events.on('recvMessage', (ev) => ...);
 *   node.sendMessage(now, { nslpId: 33, sessionId, mri, nslpData });
 *   // a driver (gist/driver/ or sim/vnet/) then drains node.pollTransmit() and arms node.nextDeadline().
 */
export * from './api';
export * from './types';
export { GistNode, createGistNode, resolveConfig, defaultRouterAlert, NATFW_NSLPID, GIST_QMODE_PORT } from './core';
export type {
  GistNodeConfig,
  InterfaceAddressFor,
  GistNodeStats,
  GistDriverFacing,
  InboundDatagram,
  DatagramDisposition,
  Transmit,
  QmodeTransmit,
  QmodeInfo,
  TransportAddress,
  ConnId,
  AcceptedStream,
} from './core';
