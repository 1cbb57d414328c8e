/** NATFW NSLP codec throughput: a typical CREATE (LT, EFI, MSN) with a HMAC_SIGNED SESSION_AUTH. */
import { decodeNatfwMessage, encodeNatfwMessage, type NatfwCreate } from '../natfw-nslp/codec';
import { rates, round, type BenchGroup } from './harness';

const create: NatfwCreate = {
  type: 'CREATE',
  header: { messageType: 1, proxy: false, edge: false },
  lifetime: 30,
  efi: { ruleAction: 'allow', subPorts: 1 },
  msn: 7,
  sessionAuth: [
    {
      attributes: [
        { xType: 'AUTH_ENT_ID', subType: 'HMAC_SIGNED', transformId: 12 },
        { xType: 'SOURCE_ADDR', subType: 'IPV4_PREFIX', address: '198.18.1.0', prefixLength: 24 },
        { xType: 'DEST_ADDR', subType: 'IPV4_ADDRESS', address: '198.19.0.7' },
        { xType: 'DEST_ADDR', subType: 'UDP_PORT_LIST', ports: [5004, 5005] },
        { xType: 'START_TIME', subType: 'NTP_TIMESTAMP', seconds: 0xecc8a100, fraction: 0 },
        { xType: 'END_TIME', subType: 'NTP_TIMESTAMP', seconds: 0xecc8af10, fraction: 0 },
        { xType: 'NSLP_OBJECT_LIST', objectTypes: [] },
        { xType: 'AUTHENTICATION_DATA', data: new Uint8Array(20).fill(0xab) },
      ],
    },
  ],
  unknownObjects: [],
};

export const benches: BenchGroup[] = [
  {
    names: ['codec.natfw.create.decode', 'codec.natfw.create.encode'],
    run(emit) {
      const bytes = encodeNatfwMessage(create);
      let sink = 0;
      const dec = rates(() => {
        const r = decodeNatfwMessage(bytes);
        if (r.ok) sink += r.value.type.length;
      });
      const ctx = (r: ReturnType<typeof rates>): { perCpuSecond: number; perWallSecond: number } => ({ perCpuSecond: round(r.perCpuSecond, 0), perWallSecond: round(r.perWallSecond, 0) });
      emit({ bench: 'codec.natfw.create.decode', value: round(dec.perCpuSecond, 0), unit: 'messages/s', ...ctx(dec), bytes: bytes.length, withSessionAuth: true });
      const enc = rates(() => {
        sink += encodeNatfwMessage(create).length;
      });
      emit({ bench: 'codec.natfw.create.encode', value: round(enc.perCpuSecond, 0), unit: 'messages/s', ...ctx(enc), bytes: bytes.length, withSessionAuth: true });
      if (sink === -1) emit({ bench: 'never', value: 0, unit: '' });
    },
  },
];
