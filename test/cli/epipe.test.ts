import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const natfw = join(root, 'dist/bin/natfw.js');

// `natfw decode --pcap x | head -1`: the reader closing the pipe early ends natfw quietly, exit 0.
test('a closed stdout pipe ends natfw quietly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natfw-epipe-'));
  try {
    const pcap = join(dir, 'rc.pcap');
    // A capture big enough (hundreds of messages) that decoding outlives the reader.
    const sim = spawnSync(process.execPath, [natfw, 'sim', 'run', join(root, 'sim/scenarios/route-change.yaml'), '--out', dir, '--pcap', pcap], { encoding: 'utf8' });
    expect(sim.status).toBe(0);
    const child = spawn(process.execPath, [natfw, 'decode', '--pcap', pcap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
