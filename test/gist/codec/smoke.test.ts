import { decodeGistDatagram, decodeGistMessage, encodeGistDatagram, encodeGistMessage, gistMessageToJson } from '../../../gist/codec';
import { typicalMessages } from './fixtures';

describe('GIST codec smoke', () => {
  it.each(typicalMessages().map((m) => [m.type, m] as const))('%s round-trips', (_t, m) => {
    const bytes = encodeGistMessage(m);
    const r = decodeGistMessage(bytes);
    if (!r.ok) throw r.error;
    expect(r.value).toEqual(m);
    expect(encodeGistMessage(r.value)).toEqual(bytes);
    const d = decodeGistDatagram(encodeGistDatagram(m));
    expect(d.ok ? d.value : d.error).toEqual(m.type === 'MA-Hello' ? expect.objectContaining({ code: 'GIST_INCORRECT_ENCAPSULATION' }) : m);
    expect(gistMessageToJson(m)).toHaveProperty('messageType', m.type);
  });
});
