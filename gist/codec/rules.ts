/**
 * Which objects each message carries and in what order, RFC 5971 s5.1
 * (ABNF), plus the presence dependencies of the nested optional groups:
 *
 *   Query    = [NAT] MRI SID NLI QC [SP SCD] [NSLP]
 *   Response = [NAT] MRI SID NLI QC [RC [SP SCD]] [NSLP]
 *   Confirm  = MRI SID NLI [RC [SP [SCD]]] [NSLP]
 *   Data     = [NAT] MRI SID [NLI] NSLP         (NLI: D-mode must, C-mode must not)
 *   Error    = [NAT] [NLI] GIST-Error-Data      (NLI: D-mode must)
 *   MA-Hello = Hello-ID
 */
import { ObjectType as O, type GistMessageTypeName } from './constants';
import type { ObjectField } from './objects/registry';

export interface MessageRule {
  /** Object types in the fixed order of s5.1. */
  readonly order: readonly number[];
  readonly required: readonly number[];
  /** [object, needs]: if `object` is present, `needs` must be too (else Missing Object naming `needs`). */
  readonly needs: readonly (readonly [number, number])[];
  /** Index into `order` by object type; -1 = not allowed in this message. */
  readonly slotOf: Int8Array;
}

function rule(order: number[], required: number[], needs: [number, number][]): MessageRule {
  const slotOf = new Int8Array(16).fill(-1);
  order.forEach((t, i) => (slotOf[t] = i));
  return { order, required, needs, slotOf };
}

export const MESSAGE_RULES: Readonly<Record<GistMessageTypeName, MessageRule>> = {
  Query: rule(
    [O.NatTraversal, O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.QueryCookie, O.StackProposal, O.StackConfigurationData, O.NslpData],
    [O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.QueryCookie],
    [
      [O.StackProposal, O.StackConfigurationData],
      [O.StackConfigurationData, O.StackProposal],
    ],
  ),
  Response: rule(
    [O.NatTraversal, O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.QueryCookie, O.ResponderCookie, O.StackProposal, O.StackConfigurationData, O.NslpData],
    [O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.QueryCookie],
    [
      [O.StackProposal, O.ResponderCookie],
      [O.StackConfigurationData, O.ResponderCookie],
      [O.StackProposal, O.StackConfigurationData],
      [O.StackConfigurationData, O.StackProposal],
    ],
  ),
  Confirm: rule(
    [O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.ResponderCookie, O.StackProposal, O.StackConfigurationData, O.NslpData],
    [O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation],
    [
      [O.StackProposal, O.ResponderCookie],
      [O.StackConfigurationData, O.StackProposal],
    ],
  ),
  Data: rule([O.NatTraversal, O.MessageRoutingInformation, O.SessionId, O.NetworkLayerInformation, O.NslpData], [O.MessageRoutingInformation, O.SessionId, O.NslpData], []),
  Error: rule([O.NatTraversal, O.NetworkLayerInformation, O.Error], [O.Error], []),
  'MA-Hello': rule([O.HelloId], [O.HelloId], []),
};

export const FIELD_OF: Readonly<Record<number, ObjectField>> = {
  [O.MessageRoutingInformation]: 'mri',
  [O.SessionId]: 'sessionId',
  [O.NetworkLayerInformation]: 'nli',
  [O.StackProposal]: 'stackProposal',
  [O.StackConfigurationData]: 'stackConfigurationData',
  [O.QueryCookie]: 'queryCookie',
  [O.ResponderCookie]: 'responderCookie',
  [O.NatTraversal]: 'natTraversal',
  [O.NslpData]: 'nslpData',
  [O.Error]: 'error',
  [O.HelloId]: 'helloId',
};
