/** The NATFW NSLP wire codec (RFC 5973 s4) with SESSION_AUTH (RFC 5981) objects. */
export * from './constants';
export * from './errors';
export * from './objects';
export * from './message';
export { natfwMessageToJson } from './json';
export * from './address';
export {
  decodeSessionAuth,
  encodeSessionAuth,
  sessionAuthToJson,
  type SessionAuthObject,
  type SessionAuthAttribute,
} from '../auth/codec';
