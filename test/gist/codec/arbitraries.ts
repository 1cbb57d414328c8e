/** fast-check arbitraries for every GIST object and message model. */
import fc from 'fast-check';
import { SocketAddress } from 'node:net';
import {
  MessageType,
  type AdditionalInfo,
  type GistCommonHeader,
  type GistErrorObject,
  type GistMessage,
  type MaProtocolOptions,
  type NatTraversal,
  type NetworkLayerInformation,
  type OriginalCommonHeader,
  type StackConfigurationData,
  type StackProposal,
  type UnknownObject,
} from '../../../gist/codec';
import type { IpVersion, LooseEndMri, Mri, PathCoupledMri } from '../../../gist/types';

/** Node's own canonical text of 16 address bytes (the reference our formatter must match). */
export function nodeIpv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** IPv6 bytes biased towards zero runs and the IPv4-mapped/compatible forms. */
export const ipv6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }).map((g) => {
    const b = new Uint8Array(16);
    g.forEach((v, i) => {
      b[2 * i] = v >> 8;
      b[2 * i + 1] = v & 0xff;
    });
    return b;
  }),
  fc.tuple(fc.constantFrom(0, 0xffff), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([w5, v4]) => {
    const b = new Uint8Array(16);
    b[10] = w5 >> 8;
    b[11] = w5 & 0xff;
    b.set(v4, 12);
    return b;
  }),
);

export const ipv4 = fc.ipV4();
export const ipv6 = ipv6Bytes.map(nodeIpv6);
export const address = (v: IpVersion): fc.Arbitrary<string> => (v === 4 ? ipv4 : ipv6);
export const ipVersion = fc.constantFrom<IpVersion>(4, 6);
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const words = (max: number): fc.Arbitrary<Uint8Array> => fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));

export const pathCoupledMri: fc.Arbitrary<PathCoupledMri> = ipVersion.chain((v) =>
  fc
    .record(
      {
        sourceAddress: address(v),
        destinationAddress: address(v),
        sourcePrefix: fc.integer({ min: 0, max: v === 4 ? 32 : 128 }),
        destinationPrefix: fc.integer({ min: 0, max: v === 4 ? 32 : 128 }),
        protocol: fc.option(u8, { nil: undefined }),
        dsField: fc.option(fc.integer({ min: 0, max: 63 }), { nil: undefined }),
        flowLabel: v === 6 ? fc.option(fc.integer({ min: 0, max: 0xfffff }), { nil: undefined }) : fc.constant(undefined),
        spi: fc.option(u32, { nil: undefined }),
        sourcePort: fc.option(u16, { nil: undefined }),
        destinationPort: fc.option(u16, { nil: undefined }),
        direction: fc.constantFrom<'downstream' | 'upstream'>('downstream', 'upstream'),
        nFlag: fc.option(fc.constant(true), { nil: undefined }),
      },
      { requiredKeys: ['sourceAddress', 'destinationAddress', 'sourcePrefix', 'destinationPrefix', 'direction'] },
    )
    .map((r) => {
      const m: Record<string, unknown> = { mrm: 'path-coupled', ipVersion: v };
      for (const [k, val] of Object.entries(r)) if (val !== undefined) m[k] = val;
      // S, A and B need P (A.3.1.1).
      if (m.protocol === undefined) {
        delete m.spi;
        delete m.sourcePort;
        delete m.destinationPort;
      }
      return m as unknown as PathCoupledMri;
    }),
);

export const looseEndMri: fc.Arbitrary<LooseEndMri> = ipVersion.chain((v) =>
  fc
    .record({
      sourceAddress: address(v),
      destinationAddress: address(v),
      direction: fc.constantFrom<'towards-edge' | 'from-edge'>('towards-edge', 'from-edge'),
      nFlag: fc.boolean(),
    })
    .map(({ nFlag, ...r }) => (nFlag ? { mrm: 'loose-end' as const, ipVersion: v, ...r, nFlag: true } : { mrm: 'loose-end' as const, ipVersion: v, ...r })),
);

export const mri: fc.Arbitrary<Mri> = fc.oneof(pathCoupledMri, looseEndMri);
export const sessionId = fc.uint8Array({ minLength: 16, maxLength: 16 });

export const nli: fc.Arbitrary<NetworkLayerInformation> = ipVersion.chain((v) =>
  fc.record({
    peerIdentity: bytes(40),
    ipTtl: u8,
    ipVersion: fc.constant(v),
    interfaceAddress: address(v),
    routingStateValidityTime: fc.integer({ min: 1, max: 0xffffffff }),
  }),
);

export const stackProposal: fc.Arbitrary<StackProposal> = fc.record({
  profiles: fc.array(fc.array(u8, { minLength: 1, maxLength: 9 }), { minLength: 1, maxLength: 5 }),
});

export const maProtocolOptions: fc.Arbitrary<MaProtocolOptions> = fc.record({ maProtocolId: u8, profile: u8, doNotUse: fc.boolean(), data: bytes(12) });

export const stackConfigurationData: fc.Arbitrary<StackConfigurationData> = fc.record({
  maHoldTime: fc.integer({ min: 1, max: 0xffffffff }),
  maProtocolOptions: fc.array(maProtocolOptions, { maxLength: 4 }),
});

export const cookie = words(8);
export const nslpData = words(30);
export const helloId = u32;

export const natTraversal: fc.Arbitrary<NatTraversal> = fc.record({
  originalMri: mri,
  translatedObjects: fc.array(u16, { maxLength: 5 }),
  natInformation: fc.array(bytes(10), { maxLength: 3 }),
});

export const originalCommonHeader: fc.Arbitrary<OriginalCommonHeader> = fc.record({
  version: u8,
  gistHopCount: u8,
  messageLength: u16,
  nslpId: u16,
  cFlag: fc.boolean(),
  messageType: fc.integer({ min: 0, max: 127 }),
  sFlag: fc.boolean(),
  rFlag: fc.boolean(),
  eFlag: fc.boolean(),
});

export const additionalInfo: fc.Arbitrary<AdditionalInfo> = fc.oneof(
  fc.record({ kind: fc.constant('MessageLengthInfo' as const), calculatedLength: u16 }),
  fc.record({ kind: fc.constant('MtuInfo' as const), linkMtu: u16 }),
  fc.record({ kind: fc.constant('ObjectTypeInfo' as const), objectType: u16 }),
  fc.record({ kind: fc.constant('ObjectValueInfo' as const), realObjectLength: fc.integer({ min: 0, max: 0xfff }), offset: u16, object: words(4) }),
  fc.record({ kind: fc.constant('Unknown' as const), aiType: fc.integer({ min: 5, max: 0xffff }), value: words(3) }),
);

export const errorObject: fc.Arbitrary<GistErrorObject> = fc
  .record(
    {
      errorClass: u8,
      errorCode: u16,
      errorSubcode: u8,
      dMode: fc.boolean(),
      qMode: fc.boolean(),
      commonHeader: originalCommonHeader,
      sessionId,
      mri,
      additionalInfo: fc.array(additionalInfo, { maxLength: 4 }),
      comment: fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')),
    },
    { requiredKeys: ['errorClass', 'errorCode', 'errorSubcode', 'dMode', 'qMode', 'commonHeader', 'additionalInfo'] },
  )
  .map((e) => ({ ...e, qMode: e.qMode && e.dMode }))
  .map((e) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (v !== undefined) o[k] = v;
    return o as unknown as GistErrorObject;
  });

/** Unknown object types: 11..4095 minus nothing known; AB 01 or 10. */
export const unknownObject = (position: number): fc.Arbitrary<UnknownObject> =>
  fc.record({ ab: fc.constantFrom<1 | 2>(1, 2), objectType: fc.integer({ min: 11, max: 0xfff }), value: words(3), position: fc.constant(position) });

function header(type: GistMessage['type']): fc.Arbitrary<GistCommonHeader> {
  return fc.record({
    version: fc.constant(1),
    gistHopCount: fc.integer({ min: 1, max: 255 }),
    messageType: fc.constant(MessageType[type]),
    nslpId: u16,
    cFlag: type === 'Query' ? fc.constant(true) : type === 'Data' ? fc.boolean() : fc.constant(false),
    sFlag: fc.boolean(),
    rFlag: type === 'Query' ? fc.constant(true) : type === 'Response' || type === 'MA-Hello' ? fc.boolean() : fc.constant(false),
    eFlag: type === 'Data' ? fc.boolean() : fc.constant(false),
  });
}

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

function strip<T extends object>(o: T): T {
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
  return r as T;
}

/** Unknown objects at sorted positions 0..knownCount. */
function unknowns(knownCount: number): fc.Arbitrary<UnknownObject[]> {
  return fc
    .array(fc.integer({ min: 0, max: knownCount }), { maxLength: 3 })
    .map((ps) => ps.sort((a, b) => a - b))
    .chain((ps) => (ps.length === 0 ? fc.constant([]) : fc.tuple(...ps.map((p) => unknownObject(p)))));
}

function withUnknowns<M extends GistMessage>(a: fc.Arbitrary<Omit<M, 'unknownObjects'>>, known: (m: Omit<M, 'unknownObjects'>) => number): fc.Arbitrary<M> {
  return a.chain((m) => unknowns(known(m)).map((u) => ({ ...strip(m), unknownObjects: u }) as unknown as M));
}

const countDefined = (m: object): number => Object.entries(m).filter(([k, v]) => v !== undefined && k !== 'type' && k !== 'header').length;

export const query = withUnknowns(
  fc.record({
    type: fc.constant('Query' as const),
    header: header('Query'),
    natTraversal: opt(natTraversal),
    mri,
    sessionId,
    nli,
    queryCookie: cookie,
    stack: opt(fc.tuple(stackProposal, stackConfigurationData)),
    nslpData: opt(nslpData),
  }).map(({ stack, ...m }) => ({ ...m, stackProposal: stack?.[0], stackConfigurationData: stack?.[1] })),
  countDefined,
);

export const response = withUnknowns(
  fc.record({
    type: fc.constant('Response' as const),
    header: header('Response'),
    natTraversal: opt(natTraversal),
    mri,
    sessionId,
    nli,
    queryCookie: cookie,
    rc: opt(fc.tuple(cookie, opt(fc.tuple(stackProposal, stackConfigurationData)))),
    nslpData: opt(nslpData),
  }).map(({ rc, header: h, ...m }) => ({
    ...m,
    header: rc ? { ...h, rFlag: true } : h,
    responderCookie: rc?.[0],
    stackProposal: rc?.[1]?.[0],
    stackConfigurationData: rc?.[1]?.[1],
  })),
  countDefined,
);

export const confirm = withUnknowns(
  fc.record({
    type: fc.constant('Confirm' as const),
    header: header('Confirm'),
    mri,
    sessionId,
    nli,
    rc: opt(fc.tuple(cookie, opt(fc.tuple(stackProposal, opt(stackConfigurationData))))),
    nslpData: opt(nslpData),
  }).map(({ rc, ...m }) => ({ ...m, responderCookie: rc?.[0], stackProposal: rc?.[1]?.[0], stackConfigurationData: rc?.[1]?.[1] })),
  countDefined,
);

export const data = withUnknowns(
  fc.record({
    type: fc.constant('Data' as const),
    header: header('Data'),
    natTraversal: opt(natTraversal),
    mri,
    sessionId,
    nli: opt(nli),
    nslpData,
  }),
  countDefined,
);

export const error = withUnknowns(
  fc.record({ type: fc.constant('Error' as const), header: header('Error'), natTraversal: opt(natTraversal), nli: opt(nli), error: errorObject }),
  countDefined,
);

export const maHello = withUnknowns(
  fc
    .record({ type: fc.constant('MA-Hello' as const), header: header('MA-Hello'), helloId })
    .map((m) => (m.header.rFlag && m.helloId === 0 ? { ...m, helloId: 1 } : m)),
  countDefined,
);

export const message: fc.Arbitrary<GistMessage> = fc.oneof(query, response, confirm, data, error, maHello);
