/** fast-check generators of valid NATFW messages and SESSION_AUTH objects (shared by the codec and auth tests). */
import fc from 'fast-check';
import type { SessionAuthAttribute, SessionAuthObject } from '../../../natfw-nslp/auth/codec';
import { formatIpv4, formatIpv6 } from '../../../natfw-nslp/codec/address';
import type { NatfwCreate, NatfwExternal, NatfwMessage, NatfwNotify, NatfwRawObject, NatfwResponseMessage } from '../../../natfw-nslp/codec/message';
import type { NatfwDtinfo, NatfwEfi, NatfwExternalBinding, NatfwExternalIp, NatfwInfo } from '../../../natfw-nslp/codec/objects';

export const u32 = fc.nat({ max: 0xffffffff });
export const u16 = fc.nat({ max: 0xffff });
export const u8 = fc.nat({ max: 0xff });
export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(b));
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));
const nonEmptyBytes = (max = 40) => fc.uint8Array({ minLength: 1, maxLength: max });

export const efi: fc.Arbitrary<NatfwEfi> = fc.record({ ruleAction: fc.constantFrom('allow' as const, 'deny' as const), subPorts: fc.constantFrom(0 as const, 1 as const) });
export const info = (cls: fc.Arbitrary<number>): fc.Arbitrary<NatfwInfo> => fc.record({ responseClass: cls, responseCode: u8, objectType: fc.nat({ max: 0xfff }) });
export const externalIp: fc.Arbitrary<NatfwExternalIp> = fc.record({ port: u16, address: ipv4 });
export const externalBinding: fc.Arbitrary<NatfwExternalBinding> = fc.record({ port: u16, addresses: fc.array(ipv4, { minLength: 1, maxLength: 5 }) });
export const dtinfo: fc.Arbitrary<NatfwDtinfo> = fc.oneof(
  fc.record({ senderPrefix: fc.nat({ max: 32 }), senderAddress: ipv4 }),
  fc.record({ senderPrefix: fc.nat({ max: 32 }), senderAddress: ipv4, protocol: u8 }),
  fc.record({ senderPrefix: fc.nat({ max: 32 }), senderAddress: ipv4, protocol: u8, drPort: u16, dsPort: u16 }),
  fc.record({ senderPrefix: fc.nat({ max: 32 }), senderAddress: ipv4, protocol: u8, spi: u32 }),
);
export const icmpTypes = fc.array(u8, { maxLength: 12 });

const textSub = fc.constantFrom('FQDN' as const, 'ASCII_DN' as const, 'UNICODE_DN' as const, 'URI' as const, 'KRB_PRINCIPAL' as const, 'X509_V3_CERT' as const);
const addrX = fc.constantFrom('SOURCE_ADDR' as const, 'DEST_ADDR' as const);
const timeX = fc.constantFrom('START_TIME' as const, 'END_TIME' as const);

export const attribute: fc.Arbitrary<SessionAuthAttribute> = fc.oneof(
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: fc.constant('IPV4_ADDRESS' as const), address: ipv4 }),
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: fc.constant('IPV6_ADDRESS' as const), address: ipv6 }),
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: textSub, name: fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }) }),
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: fc.constant('PGP_CERT' as const), data: nonEmptyBytes() }),
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: fc.constant('HMAC_SIGNED' as const), transformId: u8 }),
  fc.record({ xType: fc.constant('AUTH_ENT_ID' as const), subType: fc.oneof(fc.constant(0), fc.integer({ min: 11, max: 255 })), data: nonEmptyBytes() }),
  fc.record({ xType: fc.constant('SESSION_ID' as const), data: nonEmptyBytes() }),
  fc.record({ xType: addrX, subType: fc.constant('IPV4_ADDRESS' as const), address: ipv4 }),
  fc.record({ xType: addrX, subType: fc.constant('IPV6_ADDRESS' as const), address: ipv6 }),
  fc.record({ xType: addrX, subType: fc.constant('IPV4_PREFIX' as const), address: ipv4, prefixLength: fc.nat({ max: 32 }) }),
  fc.record({ xType: addrX, subType: fc.constant('IPV6_PREFIX' as const), address: ipv6, prefixLength: fc.nat({ max: 128 }) }),
  fc.record({ xType: addrX, subType: fc.constantFrom('UDP_PORT_LIST' as const, 'TCP_PORT_LIST' as const), ports: fc.array(u16, { minLength: 1, maxLength: 10 }) }),
  fc.record({ xType: addrX, subType: fc.constant('SPI' as const), spi: u32 }),
  fc.record({ xType: addrX, subType: fc.oneof(fc.constant(0), fc.integer({ min: 6, max: 127 }), fc.integer({ min: 130, max: 255 })), data: nonEmptyBytes() }),
  fc.record({ xType: timeX, subType: fc.constant('NTP_TIMESTAMP' as const), seconds: u32, fraction: u32 }),
  fc.record({ xType: timeX, subType: fc.oneof(fc.constant(0), fc.integer({ min: 2, max: 255 })), data: nonEmptyBytes() }),
  fc.record({ xType: fc.constant('NSLP_OBJECT_LIST' as const), objectTypes: fc.array(fc.nat({ max: 0xfff }), { maxLength: 9 }) }),
  fc.record({ xType: fc.constant('NATFW_IP_PROTOCOL' as const), protocol: u8 }),
  fc.record({ xType: fc.oneof(fc.constant(0), fc.integer({ min: 9, max: 127 }), fc.integer({ min: 129, max: 255 })), subType: u8, data: nonEmptyBytes() }),
);

const authData = fc.record({ xType: fc.constant('AUTHENTICATION_DATA' as const), data: nonEmptyBytes(36) });

/** AUTHENTICATION_DATA, when present, is last (RFC 5981 s3.2.8). */
export const sessionAuth: fc.Arbitrary<SessionAuthObject> = fc
  .tuple(fc.array(attribute, { maxLength: 8 }), fc.option(authData, { nil: undefined }))
  .map(([attrs, ad]) => ({ attributes: ad === undefined ? attrs : [...attrs, ad] }));

const knownTypes = new Set([0x00c, 0x00d, 0x00e, 0x00f, 0x010, 0x011, 0x012, 0x013, 0x014, 0x016]);
export const unknownObject: fc.Arbitrary<NatfwRawObject> = fc.record({
  ab: fc.constant(2),
  type: fc.nat({ max: 0xfff }).filter((t) => !knownTypes.has(t)),
  value: fc.nat({ max: 4 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 })),
});

const common = { sessionAuth: fc.array(sessionAuth, { maxLength: 2 }), unknownObjects: fc.array(unknownObject, { maxLength: 2 }) };
const header = (t: number, proxyCapable: boolean) =>
  proxyCapable
    ? fc.record({ messageType: fc.constant(t), proxy: fc.boolean(), edge: fc.boolean() }).map((h) => ({ ...h, edge: h.proxy && h.edge }))
    : fc.constant({ messageType: t, proxy: false, edge: false });

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drops keys whose value is undefined, the form the decoder returns. */
const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export const create: fc.Arbitrary<NatfwCreate> = fc
  .record({ type: fc.constant('CREATE' as const), header: header(1, true), lifetime: u32, efi, msn: u32, nonce: opt(u32), icmpTypes: opt(icmpTypes), ...common })
  .map((m) => clean(m.header.proxy && m.nonce === undefined ? { ...m, nonce: 7 } : m));

export const external: fc.Arbitrary<NatfwExternal> = fc
  .record({
    type: fc.constant('EXTERNAL' as const),
    header: header(2, true),
    lifetime: u32,
    msn: u32,
    efi,
    dtinfo,
    nonce: opt(u32),
    icmpTypes: opt(icmpTypes),
    externalBinding: opt(externalBinding),
    ...common,
  })
  .map((m) => clean(m.header.proxy && m.nonce === undefined ? { ...m, nonce: 9 } : m));

export const response: fc.Arbitrary<NatfwResponseMessage> = fc.oneof(
  fc
    .record({ type: fc.constant('RESPONSE' as const), header: header(3, false), msn: u32, info: info(fc.constant(2)), lifetime: u32, externalIp: opt(externalIp), externalBinding: opt(externalBinding), ...common })
    .map(clean),
  fc.record({ type: fc.constant('RESPONSE' as const), header: header(3, false), msn: u32, info: info(fc.constantFrom(0, 1, 3, 4, 5, 6, 7, 15)), lifetime: opt(u32), ...common }).map(clean),
);

export const notify: fc.Arbitrary<NatfwNotify> = fc.record({ type: fc.constant('NOTIFY' as const), header: header(4, false), info: info(fc.nat({ max: 15 })), ...common });

export const message: fc.Arbitrary<NatfwMessage> = fc.oneof(create, external, response, notify);
