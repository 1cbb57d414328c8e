import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { makeSamples } from '../../samples/make-samples';

const dir = join(__dirname, '../../samples');

describe('bundled sample captures', () => {
  const samples = makeSamples();
  if (process.env.NATFW_WRITE_SAMPLES === '1') {
    for (const [name, bytes] of Object.entries(samples)) writeFileSync(join(dir, name), bytes);
  }
  for (const [name, bytes] of Object.entries(samples)) {
    it(`${name} is what samples/make-samples.ts builds today`, () => {
      expect(existsSync(join(dir, name))).toBe(true);
      expect(Buffer.compare(readFileSync(join(dir, name)), Buffer.from(bytes))).toBe(0);
    });
  }
});
