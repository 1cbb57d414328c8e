/** The virtual clock and network the simulator and the GIST core tests run on. */
export { VirtualClock, StepCapExceeded } from './clock';
export type { ScheduledHandle } from './clock';
export { SeededRandom } from './prng';
export { VirtualNetwork, VirtualHost, ShortestPathRouting } from './network';
export type { Routing, LinkOptions, VirtualDatagram, TraceEntry, DatagramFilter, VirtualNetworkOptions } from './network';
