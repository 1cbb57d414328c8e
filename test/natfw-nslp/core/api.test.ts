/** The promise API's argument checks (no network needed). */
import { UsageError } from '../../../common/errors';
import { NatfwClient, NatfwResponseError, protocolNumber } from '../../../natfw-nslp';
import { lineLab } from './fake-lab';

function client(): NatfwClient {
  const lab = lineLab();
  return new NatfwClient(lab.get('ni').node, { now: () => 0, wake: () => undefined }, { localAddresses: ['198.18.0.1'] });
}

describe('NatfwClient arguments', () => {
  test.each([
    [{ dst: 'not-an-ip', proto: 'udp' as const, dport: 1 }, 'dst'],
    [{ dst: '198.18.3.1', proto: 'bogus' as never, dport: 1 }, 'proto'],
    [{ dst: '198.18.3.1', proto: 'icmp' as const, dport: 1 }, 'no ports'],
    [{ dst: '198.18.3.1', proto: 'udp' as const, dport: 70000 }, 'dport'],
    [{ dst: '2001:db8::1', proto: 'udp' as const, dport: 1 }, 'IPv6'],
    [{ dst: '198.18.3.1', proto: 'udp' as const, dport: 1, lifetime: 0 }, 'lifetime'],
  ])('%o is refused locally (%s)', async (o, what) => {
    const e = await client()
      .create(o)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(String((e as Error).message)).toContain(what);
  });

  test('sub_ports other than 0/1 is refused locally with the RFC code 7/0x08', async () => {
    const e = await client()
      .create({ dst: '198.18.3.1', proto: 'udp', dport: 5004, subPorts: 3 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NatfwResponseError);
    expect(e).toMatchObject({ responseClass: 7, responseCode: 8, responseName: 'SUB_PORTS_NOT_PERMITTED' });
  });

  test('protocol names map to IANA numbers', () => {
    expect([protocolNumber('tcp'), protocolNumber('udp'), protocolNumber('sctp'), protocolNumber('dccp'), protocolNumber('icmp'), protocolNumber(47)]).toEqual([6, 17, 132, 33, 1, 47]);
    expect(() => protocolNumber(256)).toThrow(UsageError);
  });
});
