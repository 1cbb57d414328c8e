/** Readings of RFC 5971 where the text leaves room, pinned (see the header comments of the codec files). */
import { decodeObject, forwardsTcpOptions, forwardsTcpPort, mriCodec, stackConfigurationDataCodec } from '../../../gist/codec';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));

test('Forwards-TCP port (s5.7.2): written with Length 2, read from Length 2 or 4', () => {
  const o = forwardsTcpOptions(8080, 1);
  expect(o.data.length).toBe(2);
  expect(forwardsTcpPort(o)).toBe(8080);
  const r = decodeObject(stackConfigurationDataCodec, hex('0004 0004  01000000 00007530  01010400 1f900000'));
  if (!r.ok) throw r.error;
  expect(r.value.maProtocolOptions[0].data.length).toBe(4);
  expect(forwardsTcpPort(r.value.maProtocolOptions[0])).toBe(8080);
  expect(forwardsTcpPort({ maProtocolId: 1, profile: 0, doNotUse: false, data: new Uint8Array(0) })).toBeUndefined(); // a Query's empty options
  expect(forwardsTcpPort({ maProtocolId: 2, profile: 0, doNotUse: false, data: hex('1f90') })).toBeUndefined();
});

test('a path-coupled MRI with both the SPI and the port word is accepted (A.3.1.1 lists no S vs A/B constraint)', () => {
  const r = decodeObject(mriCodec, hex('0000 0006  0000 4980 c6120001 c6120002 20203200 00001000 13880000'));
  if (!r.ok) throw r.error;
  expect(r.value).toMatchObject({ protocol: 50, spi: 0x1000, sourcePort: 5000 });
  expect(r.value).not.toHaveProperty('destinationPort');
});

test('A=0, B=1: the source-port half is padding and ignored; a port of 0 with its flag set is kept (specific, not yet known)', () => {
  const r = decodeObject(mriCodec, hex('0000 0005  0000 4840 c6120001 c6120002 20201100 ffff0000'));
  if (!r.ok) throw r.error;
  expect(r.value).toMatchObject({ destinationPort: 0 });
  expect(r.value).not.toHaveProperty('sourcePort');
});

test('the N flag of the MRI is kept although the RFC says 0 for both MRMs', () => {
  const r = decodeObject(mriCodec, hex('0000 0003  0180 4000 c6120001 c6120002'));
  if (!r.ok) throw r.error;
  expect(r.value).toMatchObject({ mrm: 'loose-end', nFlag: true });
});

test('reserved bits are ignored on receipt (Appendix A)', () => {
  // MRI reserved bits after N, flag-word reserved bits and the Rsv of the DS-field byte all set.
  const r = decodeObject(mriCodec, hex('0000 0004  007f 401f c6120001 c6120002 20200003'));
  if (!r.ok) throw r.error;
  expect(r.value).toEqual({ mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.0.2', sourcePrefix: 32, destinationPrefix: 32, direction: 'downstream' });
});
