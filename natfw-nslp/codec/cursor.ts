/**
 * The NATFW codecs read with common/bytes.ts `ByteReader`, whose sub-readers
 * share one DataView (NATFW messages are many small objects).
 */
export { ByteReader as Cursor } from '../../common/bytes';
