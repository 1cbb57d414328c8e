/** Encoding an invalid model is local misuse: a UsageError, never bytes the RFC forbids. */
import { encodeGistMessage, UsageError, type GistMessage } from '../../../gist/codec';
import { typicalMessages, typicalQuery } from './fixtures';

const q = typicalQuery();
const [, RESPONSE, , , MA_HELLO] = typicalMessages();

test.each<[string, GistMessage]>([
  ['Stack-Proposal without Stack-Configuration-Data', { ...q, stackConfigurationData: undefined }],
  ['missing Query-Cookie', { ...q, queryCookie: undefined } as unknown as GistMessage],
  ['Response SP/SCD without Responder-Cookie', { ...RESPONSE, responderCookie: undefined } as GistMessage],
  ['header.messageType disagreeing with type', { ...q, header: { ...q.header, messageType: 3 } }],
  ['flow label on IPv4', { ...q, mri: { ...q.mri, flowLabel: 1 } }],
  ['ports without protocol', { ...q, mri: { ...q.mri, protocol: undefined } }],
  ['bad IPv4 text', { ...q, mri: { ...q.mri, sourceAddress: '198.18.0.256' } }],
  ['IPv6 text in an IPv4 MRI', { ...q, mri: { ...q.mri, destinationAddress: '2001:db8::1' } }],
  ['prefix 33 on IPv4', { ...q, mri: { ...q.mri, sourcePrefix: 33 } }],
  ['NLI validity time 0', { ...q, nli: { ...q.nli, routingStateValidityTime: 0 } }],
  ['NSLP-Data not a whole number of words', { ...q, nslpData: new Uint8Array(5) }],
  ['Session ID of 15 bytes', { ...q, sessionId: new Uint8Array(15) }],
  ['empty Stack-Proposal profile', { ...q, stackProposal: { profiles: [[]] } }],
  ['Hello-ID over 32 bits', { ...MA_HELLO, helloId: 2 ** 32 } as GistMessage],
])('%s', (_n, m) => {
  expect(() => encodeGistMessage(m)).toThrow(UsageError);
});
