import { netnsUnavailableReason } from '../../testbed/netns';

/**
 * `describe` for tests that need root and namespaces: when they cannot run,
 * the suite is skipped and the reason printed, so a non-root run says what it left out.
 */
export function describeNetns(name: string, fn: () => void, extraCommands: string[] = []): void {
  const reason = netnsUnavailableReason(extraCommands);
  if (reason !== undefined) {
    // eslint-disable-next-line no-console
    console.log(`SKIP ${name}: ${reason}`);
    describe.skip(name, fn);
  } else {
    describe(name, fn);
  }
}
