/**
 * A "daemon" for the crash test: commits generation after generation of
 * pinholes (each generation replaces the previous one in one transaction)
 * until it is killed. argv: <netns> <per generation>
 */
import { NftPinholeSet } from '../../../enforcement/nft/backend';

async function main(): Promise<void> {
  const netns = process.argv[process.argv.length - 2];
  const per = Number(process.argv[process.argv.length - 1]);
  const { set } = await NftPinholeSet.open({ netns, now: Date.now(), setup: false });
  let prev: string[] = [];
  for (let gen = 1; gen < 100000; gen++) {
    const tx = set.begin();
    for (const id of prev) tx.remove(id);
    const ids: string[] = [];
    for (let i = 0; i < per; i++) {
      const k = i % 10;
      const port = 10000 + ((gen * per + i) % 50000);
      ids.push(
        tx.add({
          protocol: 17,
          src: k === 9 ? { address: '198.18.1.0', length: 24 } : { address: '198.18.1.1', length: 32 },
          dst: { address: '198.18.2.2', length: 32 },
          ...(k < 5 ? { srcPorts: { from: port, to: port } } : {}),
          dstPorts: k % 2 === 0 ? { from: port, to: port + 1 } : { from: port, to: port },
          action: 'allow',
          owner: `gen-${gen}`,
          expiresAt: Date.now() + 60_000,
        }),
      );
    }
    await tx.commit(Date.now());
    prev = ids;
    process.stdout.write(`C ${gen}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
