/** Typical GIST messages shared by tests and the benchmark. */
import { MessageType, forwardsTcpOptions, type GistMessage, type QueryMessage } from '../../../gist/codec';
import type { PathCoupledMri } from '../../../gist/types';

export const SID = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** A typical Query: path-coupled IPv4 MRI with ports, SID, NLI, Query Cookie, Stack Proposal, SCD, ~60 bytes of NSLP data. */
export function typicalQuery(): QueryMessage & { mri: PathCoupledMri } {
  return {
    type: 'Query',
    header: { version: 1, gistHopCount: 16, messageType: MessageType.Query, nslpId: 33, cFlag: true, sFlag: false, rFlag: true, eFlag: false },
    unknownObjects: [],
    mri: {
      mrm: 'path-coupled',
      ipVersion: 4,
      sourceAddress: '198.18.0.1',
      destinationAddress: '198.19.0.2',
      sourcePrefix: 32,
      destinationPrefix: 32,
      protocol: 17,
      sourcePort: 5004,
      destinationPort: 5006,
      direction: 'downstream',
    },
    sessionId: SID,
    nli: { peerIdentity: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), ipTtl: 64, ipVersion: 4, interfaceAddress: '198.18.0.1', routingStateValidityTime: 30000 },
    queryCookie: Uint8Array.from({ length: 16 }, (_, i) => i),
    stackProposal: { profiles: [[1]] },
    stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [{ maProtocolId: 1, profile: 1, doNotUse: false, data: new Uint8Array(0) }] },
    nslpData: Uint8Array.from({ length: 60 }, (_, i) => (i * 7) & 0xff),
  };
}

export function typicalMessages(): GistMessage[] {
  const q = typicalQuery();
  const base = { version: 1, gistHopCount: 16, nslpId: 33, cFlag: false, sFlag: true, rFlag: false, eFlag: false };
  return [
    q,
    {
      type: 'Response',
      header: { ...base, messageType: MessageType.Response, rFlag: true },
      unknownObjects: [],
      mri: { ...q.mri, direction: 'upstream' },
      sessionId: SID,
      nli: { ...q.nli, interfaceAddress: '198.19.0.2' },
      queryCookie: q.queryCookie,
      responderCookie: new Uint8Array(8).fill(0xcc),
      stackProposal: { profiles: [[1]] },
      stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [forwardsTcpOptions(40000, 1)] },
    },
    {
      type: 'Confirm',
      header: { ...base, messageType: MessageType.Confirm },
      unknownObjects: [],
      mri: q.mri,
      sessionId: SID,
      nli: q.nli,
      responderCookie: new Uint8Array(8).fill(0xcc),
      stackProposal: { profiles: [[1]] },
      stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [] },
    },
    { type: 'Data', header: { ...base, messageType: MessageType.Data }, unknownObjects: [], mri: q.mri, sessionId: SID, nli: q.nli, nslpData: new Uint8Array(12) },
    { type: 'MA-Hello', header: { ...base, nslpId: 0, messageType: MessageType['MA-Hello'], rFlag: true }, unknownObjects: [], helloId: 7 },
  ];
}
