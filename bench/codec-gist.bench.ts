/**
 * GIST codec throughput: decoding and encoding a typical Query (path-coupled
 * IPv4 MRI with ports, SID, NLI, Query-Cookie, Stack-Proposal, SCD, 60 bytes
 * of NSLP data), messages per second on one core.
 */
import { decodeGistMessage, encodeGistMessage, MessageType, type QueryMessage } from '../gist/codec';
import { rates, round, type BenchGroup } from './harness';

/** Same shape as typicalQuery() in test/gist/codec/fixtures.ts (the build excludes test/). */
function typicalQuery(): QueryMessage {
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
    sessionId: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
    nli: { peerIdentity: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), ipTtl: 64, ipVersion: 4, interfaceAddress: '198.18.0.1', routingStateValidityTime: 30000 },
    queryCookie: Uint8Array.from({ length: 16 }, (_, i) => i),
    stackProposal: { profiles: [[1]] },
    stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [{ maProtocolId: 1, profile: 1, doNotUse: false, data: new Uint8Array(0) }] },
    nslpData: Uint8Array.from({ length: 60 }, (_, i) => (i * 7) & 0xff),
  };
}

export const benches: BenchGroup[] = [
  {
    names: ['codec.gist.query.decode', 'codec.gist.query.encode'],
    run(emit) {
      const q = typicalQuery();
      const bytes = encodeGistMessage(q);
      let sink = 0;
      // Also report throughput per CPU-second of this process: on a shared, loaded machine the
      // wall-clock figure mostly measures the scheduler.
      const measure = (fn: () => void): { wall: number; cpu: number } => {
        const r = rates(fn, 1000);
        return { wall: r.perWallSecond, cpu: r.perCpuSecond };
      };
      const dec = measure(() => {
        const r = decodeGistMessage(bytes);
        if (r.ok) sink += r.value.header.gistHopCount;
      });
      emit({ bench: 'codec.gist.query.decode', value: round(dec.wall, 0), unit: 'msg/s', bytes: bytes.length, perCpuSecond: round(dec.cpu, 0) });
      const enc = measure(() => {
        sink += encodeGistMessage(q).length;
      });
      emit({ bench: 'codec.gist.query.encode', value: round(enc.wall, 0), unit: 'msg/s', bytes: bytes.length, perCpuSecond: round(enc.cpu, 0) });
      if (sink === 0) throw new Error('benchmark produced nothing');
    },
  },
];
