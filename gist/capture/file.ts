/** Recognises a capture file by its first bytes and reads it with the right reader. */
import { err, type Result } from '../../common/result';
import { CaptureError } from './errors';
import type { CaptureFile } from './frame';
import { isPcap, readPcap } from './pcap';
import { isPcapng, readPcapng } from './pcapng';

export function readCapture(bytes: Uint8Array): Result<CaptureFile, CaptureError> {
  if (isPcap(bytes)) return readPcap(bytes);
  if (isPcapng(bytes)) return readPcapng(bytes);
  return err(new CaptureError('CAPTURE_NOT_A_CAPTURE', 0, 'not a capture file: neither pcap nor pcapng magic number at offset 0'));
}
