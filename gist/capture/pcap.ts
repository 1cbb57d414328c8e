/**
 * Classic libpcap file reader (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html):
 * a 24-byte file header, then records of a 16-byte header and the captured bytes.
 * Both byte orders; microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic.
 * Never throws: a short or inconsistent record ends the reading with a typed error
 * and keeps every frame before it.
 */
import { err, ok, type Result } from '../../common/result';
import { CaptureError } from './errors';
import type { CaptureFile, CapturedFrame } from './frame';

export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Larger than any snap length libpcap writes (262144); a bigger record length means a corrupt file. */
export const PCAP_MAX_RECORD = 0x4000000;

export function isPcap(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  return be === PCAP_MAGIC_MICRO || be === PCAP_MAGIC_NANO || le === PCAP_MAGIC_MICRO || le === PCAP_MAGIC_NANO;
}

export function readPcap(bytes: Uint8Array): Result<CaptureFile, CaptureError> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || !isPcap(bytes)) {
    return err(new CaptureError('CAPTURE_NOT_A_CAPTURE', 0, 'not a pcap file (bad magic number)'));
  }
  const magicBe = dv.getUint32(0, false);
  const littleEndian = !(magicBe === PCAP_MAGIC_MICRO || magicBe === PCAP_MAGIC_NANO);
  const nano = (littleEndian ? dv.getUint32(0, true) : magicBe) === PCAP_MAGIC_NANO;
  if (bytes.length < 24) {
    return err(new CaptureError('CAPTURE_TRUNCATED', bytes.length, `pcap file header needs 24 bytes, file has ${bytes.length}`));
  }
  // The link type is the low 16 bits of the last header word; the upper bits hold FCS information.
  const linkType = dv.getUint32(20, littleEndian) & 0xffff;
  const frames: CapturedFrame[] = [];
  let off = 24;
  let error: CaptureError | undefined;
  // Every record advances by at least 16 bytes, so the loop ends.
  while (off < bytes.length) {
    if (off + 16 > bytes.length) {
      error = new CaptureError('CAPTURE_TRUNCATED', off, `record header at offset ${off} needs 16 bytes, ${bytes.length - off} left`);
      break;
    }
    const sec = dv.getUint32(off, littleEndian);
    const frac = dv.getUint32(off + 4, littleEndian);
    const inclLen = dv.getUint32(off + 8, littleEndian);
    const origLen = dv.getUint32(off + 12, littleEndian);
    if (inclLen > PCAP_MAX_RECORD) {
      error = new CaptureError('CAPTURE_BAD_RECORD', off + 8, `record length ${inclLen} at offset ${off + 8} is not plausible`);
      break;
    }
    if (frac >= (nano ? 1_000_000_000 : 1_000_000)) {
      error = new CaptureError('CAPTURE_BAD_RECORD', off + 4, `timestamp fraction ${frac} at offset ${off + 4} is out of range`);
      break;
    }
    const start = off + 16;
    if (start + inclLen > bytes.length) {
      error = new CaptureError(
        'CAPTURE_TRUNCATED',
        start,
        `record ${frames.length + 1} at offset ${off} declares ${inclLen} bytes, ${bytes.length - start} left`,
      );
      break;
    }
    frames.push({
      number: frames.length + 1,
      timestamp: { sec, nsec: nano ? frac : frac * 1000 },
      linkType,
      interfaceId: 0,
      data: bytes.subarray(start, start + inclLen),
      originalLength: Math.max(origLen, inclLen),
      fileOffset: start,
    });
    off = start + inclLen;
  }
  return ok({ format: 'pcap', frames, error, skipped: [] });
}
