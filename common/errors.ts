/**
 * Base of every typed error in natfw. `code` is a stable machine-readable
 * identifier (e.g. 'GIST_INCORRECT_MSG_LENGTH', 'NFT_KERNEL_REFUSED'); layers
 * add the protocol fields (GIST error class/code, NATFW response class/code).
 */
export class NatfwError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Local misuse of an API (a bug of the caller), as opposed to a remote protocol violation. */
export class UsageError extends NatfwError {}
