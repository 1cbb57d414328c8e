/**
 * Test vectors written by hand from the bit diagrams of RFC 5971 Appendix A,
 * field by field (not produced by our encoder): one message of each of the
 * six types. Each must decode to the hand-written model, and encoding that
 * model must give back exactly these bytes.
 */
import { decodeGistDatagram, decodeGistMessage, encodeGistDatagram, encodeGistMessage, type GistMessage } from '../../../gist/codec';
import { expectSame } from './equal';

/** Hex with comments: '#' to end of line is ignored, as is whitespace. */
function h(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex'));
}
const SID = h('000102030405060708090a0b0c0d0e0f');

const QUERY = h(`
  4e04bda5            # s5.3.1 magic number (UDP payload only, not counted in Message Length)
  01                  # A.1 Version 1
  10                  # GIST hops 16
  001c                # Message Length: 28 words after the header
  0021                # NSLPID 33 (NATFW)
  80                  # C=1, Type=0 (Query)
  40                  # S=0 R=1 E=0, reserved
  0000 0005           # A.2: AB=00 Type=0 (MRI), Length=5 words
    00 00             #   MRM-ID 0 (path-coupled), N=0
    48                #   IP-Ver=4, P=1 T=0 F=0 S=0
    c0                #   A=1 B=1 D=0 (downstream)
    c6120001          #   Source Address 198.18.0.1
    c6120002          #   Destination Address 198.18.0.2
    20 20 11 00       #   Source Prefix 32, Dest Prefix 32, Protocol 17, DS-field 0
    138c 138e         #   Source Port 5004, Destination Port 5006
  0001 0004           # Type=1 (Session ID), Length=4
    000102030405060708090a0b0c0d0e0f
  0002 0004           # Type=2 (NLI), Length=4
    04 40 40 00       #   PI-Length 4, IP-TTL 64, IP-Ver 4
    00007530          #   Routing State Validity Time 30000 ms
    6e6f6465          #   Peer Identity "node"
    c6120001          #   Interface Address 198.18.0.1
  0005 0002           # Type=5 (Query-Cookie), Length=2
    1122334455667788
  0003 0002           # Type=3 (Stack-Proposal), Length=2
    01 000000         #   Prof-Count 1
    01 01 0000        #   profile: 1 layer, MA-Protocol-ID 1 (Forwards-TCP), padding
  0004 0003           # Type=4 (Stack-Configuration-Data), Length=3
    01 000000         #   MPO-Count 1
    00007530          #   MA-Hold-Time 30000 ms
    01 01 00 00       #   MA-Protocol-ID 1, Profile 1, Length 0, D=0
  0008 0001           # Type=8 (NSLP-Data), Length=1
    deadbeef
`);

const QUERY_MODEL: GistMessage = {
  type: 'Query',
  header: { version: 1, gistHopCount: 16, messageType: 0, nslpId: 33, cFlag: true, sFlag: false, rFlag: true, eFlag: false },
  unknownObjects: [],
  mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.0.2', sourcePrefix: 32, destinationPrefix: 32, protocol: 17, sourcePort: 5004, destinationPort: 5006, direction: 'downstream' },
  sessionId: SID,
  nli: { peerIdentity: new TextEncoder().encode('node'), ipTtl: 64, ipVersion: 4, interfaceAddress: '198.18.0.1', routingStateValidityTime: 30000 },
  queryCookie: h('1122334455667788'),
  stackProposal: { profiles: [[1]] },
  stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [{ maProtocolId: 1, profile: 1, doNotUse: false, data: new Uint8Array(0) }] },
  nslpData: h('deadbeef'),
};

const RESPONSE = h(`
  4e04bda5            # magic
  01 0f 002a          # Version 1, GIST hops 15, Message Length 42 words (13+5+9+3+3+4+5)
  0021                # NSLPID 33
  01                  # C=0, Type=1 (Response)
  c0                  # S=1 R=1 E=0
  0000 000c           # MRI, Length=12
    00 00             #   MRM-ID 0, N=0
    6e                #   IP-Ver=6, P=1 T=1 F=1 S=0
    60                #   A=0 B=1 D=1 (upstream)
    20010db8000000000000000000000001   # Source Address 2001:db8::1
    20010db8000000000000000000000002   # Destination Address 2001:db8::2
    80 80 06 b8       #   prefixes 128/128, Protocol 6, DS-field 46 (0xb8 = 46<<2)
    00012345          #   Reserved, Flow Label 0x12345
    0000 0050         #   Source Port (padding, A=0), Destination Port 80
  0001 0004           # Session ID
    000102030405060708090a0b0c0d0e0f
  0002 0008           # NLI, Length=8
    05 ff 60 00       #   PI-Length 5, IP-TTL 255, IP-Ver 6
    0000ea60          #   RS Validity Time 60000 ms
    7065657231 000000 #   Peer Identity "peer1", padded to 2 words
    20010db8000000000000000000000002   # Interface Address 2001:db8::2
  0005 0002           # Query-Cookie (echoed)
    1122334455667788
  0006 0002           # Type=6 (Responder-Cookie), Length=2
    99aabbccddeeff00
  0003 0003           # Stack-Proposal, Length=3
    02 000000         #   Prof-Count 2
    01 01 0000        #   profile 1: [1]
    02 02 01 00       #   profile 2: [2 (TLS), 1 (TCP)], padding
  0004 0004           # Stack-Configuration-Data, Length=4
    01 000000         #   MPO-Count 1
    0000ea60          #   MA-Hold-Time 60000
    01 00 02 00       #   MA-Protocol-ID 1, Profile 0 (all), Length 2, D=0
    1f90 0000         #   port 8080, 2 pad bytes (s5.7.2)
`);

const RESPONSE_MODEL: GistMessage = {
  type: 'Response',
  header: { version: 1, gistHopCount: 15, messageType: 1, nslpId: 33, cFlag: false, sFlag: true, rFlag: true, eFlag: false },
  unknownObjects: [],
  mri: { mrm: 'path-coupled', ipVersion: 6, sourceAddress: '2001:db8::1', destinationAddress: '2001:db8::2', sourcePrefix: 128, destinationPrefix: 128, protocol: 6, dsField: 46, flowLabel: 0x12345, destinationPort: 80, direction: 'upstream' },
  sessionId: SID,
  nli: { peerIdentity: new TextEncoder().encode('peer1'), ipTtl: 255, ipVersion: 6, interfaceAddress: '2001:db8::2', routingStateValidityTime: 60000 },
  queryCookie: h('1122334455667788'),
  responderCookie: h('99aabbccddeeff00'),
  stackProposal: { profiles: [[1], [2, 1]] },
  stackConfigurationData: { maHoldTime: 60000, maProtocolOptions: [{ maProtocolId: 1, profile: 0, doNotUse: false, data: h('1f90') }] },
};

const CONFIRM = h(`
  01 0f 0019          # Version 1, hops 15, Message Length 25 words (4+5+4+3+3+3+3; C-mode: no magic)
  0021                # NSLPID 33
  02                  # C=0, Type=2 (Confirm)
  80                  # S=1 R=0 E=0
  0000 0003           # MRI, Length=3
    01 00             #   MRM-ID 1 (loose-end), N=0
    48 00             #   IP-Ver=4, D=1 (from the edge), reserved
    c6130001          #   Source Address 198.19.0.1
    c6130002          #   Destination Address 198.19.0.2
  0001 0004           # Session ID
    000102030405060708090a0b0c0d0e0f
  0002 0003           # NLI, Length=3
    00 00 40 00       #   PI-Length 0, IP-TTL 0, IP-Ver 4
    00000001          #   RS Validity Time 1 ms
    c6130001          #   Interface Address 198.19.0.1 (no Peer Identity)
  0006 0002           # Responder-Cookie
    99aabbccddeeff00
  0003 0002           # Stack-Proposal
    01 000000
    01 01 0000
  0004 0002           # Stack-Configuration-Data, abbreviated: MA-Hold-Time only
    00 000000         #   MPO-Count 0
    00007530          #   MA-Hold-Time 30000
  0008 0002           # NSLP-Data, Length=2
    0102030405060708
`);

const CONFIRM_MODEL: GistMessage = {
  type: 'Confirm',
  header: { version: 1, gistHopCount: 15, messageType: 2, nslpId: 33, cFlag: false, sFlag: true, rFlag: false, eFlag: false },
  unknownObjects: [],
  mri: { mrm: 'loose-end', ipVersion: 4, sourceAddress: '198.19.0.1', destinationAddress: '198.19.0.2', direction: 'from-edge' },
  sessionId: SID,
  nli: { peerIdentity: new Uint8Array(0), ipTtl: 0, ipVersion: 4, interfaceAddress: '198.19.0.1', routingStateValidityTime: 1 },
  responderCookie: h('99aabbccddeeff00'),
  stackProposal: { profiles: [[1]] },
  stackConfigurationData: { maHoldTime: 30000, maProtocolOptions: [] },
  nslpData: h('0102030405060708'),
};

const DATA = h(`
  4e04bda5            # magic
  01 20 001c          # Version 1, hops 32, Message Length 28 words
  0021                # NSLPID 33
  83                  # C=1 (Q-mode Data), Type=3 (Data)
  00                  # S=0 R=0 E=0
  0007 0008           # Type=7 (NAT-Traversal), Length=8
    04 01 01 00       #   MRI-Length 4 words, Type-Count 1, NAT-Count 1
    0000 40 00        #   original MRI: MRM 0, IP-Ver 4, no flags, downstream
    c6120001          #     Source Address 198.18.0.1
    c6120002          #     Destination Address 198.18.0.2
    20 20 00 00       #     prefixes 32/32, Protocol (ignored, P=0), DS 0
    0002 0000         #   translated objects: [AB=00 type 2 (NLI)], 2 null bytes padding
    0003 aabbcc 000000 #  opaque info of NAT #1: 3 bytes, padded to a word boundary
  0000 0005           # MRI, Length=5
    00 00             #   MRM-ID 0
    49                #   IP-Ver=4, P=1 S=1
    00                #   A=0 B=0 D=0
    c6130001          #   Source 198.19.0.1
    c6130002          #   Destination 198.19.0.2
    18 20 32 00       #   Source Prefix 24, Dest Prefix 32, Protocol 50 (ESP)
    00001000          #   SPI 0x1000
  0001 0004           # Session ID
    000102030405060708090a0b0c0d0e0f
  0002 0003           # NLI
    00 08 40 00       #   PI-Length 0, IP-TTL 8, IP-Ver 4
    00002710          #   RS Validity Time 10000
    c6130001          #   Interface Address
  87d0 0001           # AB=10 (Forward) Type=2000 (unknown, experimental range), Length=1
    cafebabe
  0008 0001           # NSLP-Data
    00000000
`);

const DATA_MODEL: GistMessage = {
  type: 'Data',
  header: { version: 1, gistHopCount: 32, messageType: 3, nslpId: 33, cFlag: true, sFlag: false, rFlag: false, eFlag: false },
  unknownObjects: [{ ab: 2, objectType: 2000, value: h('cafebabe'), position: 4 }],
  natTraversal: {
    originalMri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.18.0.1', destinationAddress: '198.18.0.2', sourcePrefix: 32, destinationPrefix: 32, direction: 'downstream' },
    translatedObjects: [0x0002],
    natInformation: [h('aabbcc')],
  },
  mri: { mrm: 'path-coupled', ipVersion: 4, sourceAddress: '198.19.0.1', destinationAddress: '198.19.0.2', sourcePrefix: 24, destinationPrefix: 32, protocol: 50, spi: 0x1000, direction: 'downstream' },
  sessionId: SID,
  nli: { peerIdentity: new Uint8Array(0), ipTtl: 8, ipVersion: 4, interfaceAddress: '198.19.0.1', routingStateValidityTime: 10000 },
  nslpData: h('00000000'),
};

const ERROR = h(`
  4e04bda5            # magic
  01 01 0015          # Version 1, hops 1, Message Length 21 words
  0000                # NSLPID 0 (s5.6)
  04                  # C=0, Type=4 (Error)
  80                  # S=1 R=0 E=0
  0002 0003           # NLI
    00 00 40 00
    00007530
    c6120002          #   Interface Address 198.18.0.2
  0009 0010           # Type=9 (Error), Length=16
    02 0009 02        #   Error Class 2 (Protocol-Error), Code 9 (Object Type Error), Subcode 2 (Missing Object)
    f8 00             #   S=1 M=1 C=1 D=1 Q=1, reserved
    03 01             #   MRI Length 3 words, Info Count 1
    01 10 001c 0021 80 40   # common header of the original Query
    000102030405060708090a0b0c0d0e0f   # its Session ID
    0100 4000 c6130001 c6130002        # its MRI: loose-end IPv4, D=0
    0003 0001 0005 0000               # AI: Object Type Info (type 3, 1 word): object type 5 (Query-Cookie)
    6e6f20636f6f6b6965 00 0000         # comment "no cookie", NUL, padding
`);

const ERROR_MODEL: GistMessage = {
  type: 'Error',
  header: { version: 1, gistHopCount: 1, messageType: 4, nslpId: 0, cFlag: false, sFlag: true, rFlag: false, eFlag: false },
  unknownObjects: [],
  nli: { peerIdentity: new Uint8Array(0), ipTtl: 0, ipVersion: 4, interfaceAddress: '198.18.0.2', routingStateValidityTime: 30000 },
  error: {
    errorClass: 2,
    errorCode: 9,
    errorSubcode: 2,
    dMode: true,
    qMode: true,
    commonHeader: { version: 1, gistHopCount: 16, messageLength: 28, nslpId: 33, cFlag: true, messageType: 0, sFlag: false, rFlag: true, eFlag: false },
    sessionId: SID,
    mri: { mrm: 'loose-end', ipVersion: 4, sourceAddress: '198.19.0.1', destinationAddress: '198.19.0.2', direction: 'towards-edge' },
    additionalInfo: [{ kind: 'ObjectTypeInfo', objectType: 5 }],
    comment: 'no cookie',
  },
};

const MA_HELLO = h(`
  01 01 0002          # Version 1, hops 1, Message Length 2 words (C-mode, no magic)
  0000                # NSLPID 0
  05                  # C=0, Type=5 (MA-Hello)
  c0                  # S=1 R=1 E=0
  000a 0001           # Type=10 (Hello-ID), Length=1
    00000007          #   Hello-ID 7 (non-zero because R=1)
`);

const MA_HELLO_MODEL: GistMessage = {
  type: 'MA-Hello',
  header: { version: 1, gistHopCount: 1, messageType: 5, nslpId: 0, cFlag: false, sFlag: true, rFlag: true, eFlag: false },
  unknownObjects: [],
  helloId: 7,
};

describe('hand-built RFC 5971 vectors', () => {
  test.each([
    ['Query (Q-mode datagram)', QUERY, QUERY_MODEL, true],
    ['Response (D-mode datagram, IPv6)', RESPONSE, RESPONSE_MODEL, true],
    ['Confirm (C-mode)', CONFIRM, CONFIRM_MODEL, false],
    ['Data (Q-mode, NAT-Traversal, unknown AB=10 object)', DATA, DATA_MODEL, true],
    ['Error (D-mode)', ERROR, ERROR_MODEL, true],
    ['MA-Hello (C-mode)', MA_HELLO, MA_HELLO_MODEL, false],
  ] as const)('%s', (_name, bytes, model, datagram) => {
    const r = datagram ? decodeGistDatagram(bytes) : decodeGistMessage(bytes, { encapsulation: 'C' });
    if (!r.ok) throw r.error;
    expectSame(r.value, model);
    const enc = datagram ? encodeGistDatagram(model) : encodeGistMessage(model);
    expect(Buffer.from(enc).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });
});
