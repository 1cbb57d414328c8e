/** The GIST protocol core (RFC 5971): no I/O, see driver-api.ts for how a driver runs it. */
export { GistNode, createGistNode, type GistNodeStats } from './node';
export { resolveConfig, defaultRouterAlert, NATFW_NSLPID, DEFAULT_DMODE_RATE_LIMIT, type DmodeRateLimit, type GistNodeConfig, type InterfaceAddressFor, type ResolvedConfig } from './config';
export { TokenBucket, type TokenBucketParams } from './rate-limiter';
export * from './driver-api';
