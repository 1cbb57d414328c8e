/** The enforcement layer: pinhole sets (memory, nftables, iptables) behind one interface (./types). */
export * from './types';
export { EnforcementError } from './errors';
export { MemoryPinholeSet } from './memory';
export {
  hasPorts,
  subPortsRange,
  normalizeSpec,
  protocolNumber,
  protocolName,
  prefixFromText,
  portRangeFromText,
  pinholeMatches,
  parsePacket,
} from './model';
