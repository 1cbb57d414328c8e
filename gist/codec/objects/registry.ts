/**
 * Object codecs keyed by IANA object type (RFC 5971 A.3, A.4.1), and the
 * message field each one fills. A type without an entry is unknown to this
 * node and handled by its A/B flags (A.2.1).
 */
import { ObjectType } from '../constants';
import type { ObjectCodec } from './codec';
import { queryCookieCodec, responderCookieCodec } from './cookies';
import { errorObjectCodec } from './error-object';
import { helloIdCodec } from './hello-id';
import { mriCodec } from './mri';
import { natTraversalCodec } from './nat-traversal';
import { nliCodec } from './nli';
import { nslpDataCodec } from './nslp-data';
import { sessionIdCodec } from './session-id';
import { stackConfigurationDataCodec } from './stack-configuration-data';
import { stackProposalCodec } from './stack-proposal';

export type ObjectField =
  | 'mri'
  | 'sessionId'
  | 'nli'
  | 'stackProposal'
  | 'stackConfigurationData'
  | 'queryCookie'
  | 'responderCookie'
  | 'natTraversal'
  | 'nslpData'
  | 'error'
  | 'helloId';

export interface RegistryEntry {
  readonly codec: ObjectCodec<unknown>;
  readonly field: ObjectField;
}

const entries: readonly [number, ObjectCodec<unknown>, ObjectField][] = [
  [ObjectType.MessageRoutingInformation, mriCodec as ObjectCodec<unknown>, 'mri'],
  [ObjectType.SessionId, sessionIdCodec as ObjectCodec<unknown>, 'sessionId'],
  [ObjectType.NetworkLayerInformation, nliCodec as ObjectCodec<unknown>, 'nli'],
  [ObjectType.StackProposal, stackProposalCodec as ObjectCodec<unknown>, 'stackProposal'],
  [ObjectType.StackConfigurationData, stackConfigurationDataCodec as ObjectCodec<unknown>, 'stackConfigurationData'],
  [ObjectType.QueryCookie, queryCookieCodec as ObjectCodec<unknown>, 'queryCookie'],
  [ObjectType.ResponderCookie, responderCookieCodec as ObjectCodec<unknown>, 'responderCookie'],
  [ObjectType.NatTraversal, natTraversalCodec as ObjectCodec<unknown>, 'natTraversal'],
  [ObjectType.NslpData, nslpDataCodec as ObjectCodec<unknown>, 'nslpData'],
  [ObjectType.Error, errorObjectCodec as ObjectCodec<unknown>, 'error'],
  [ObjectType.HelloId, helloIdCodec as ObjectCodec<unknown>, 'helloId'],
];

/** Indexed by object type; undefined = unknown type. */
export const OBJECT_REGISTRY: readonly (RegistryEntry | undefined)[] = (() => {
  const r: (RegistryEntry | undefined)[] = new Array<RegistryEntry | undefined>(16).fill(undefined);
  for (const [t, codec, field] of entries) r[t] = { codec, field };
  return r;
})();

export function objectEntry(objectType: number): RegistryEntry | undefined {
  return objectType < OBJECT_REGISTRY.length ? OBJECT_REGISTRY[objectType] : undefined;
}
