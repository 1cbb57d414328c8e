/** `natfw sim run` as a user runs it (the compiled CLI): exit status 0 / 1 / 2, the report files, the capture. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../gist/capture';
import { decodeGistDatagram } from '../../gist/codec';
import { RELAUNCHED_ENV, SIM_NODE_FLAGS, STATS_ENV, wantsRelaunch } from '../../sim/process';

const root = join(__dirname, '../..');
const cli = join(root, 'dist/bin/natfw.js');
let dir: string;

beforeAll(() => {
  if (!existsSync(cli)) throw new Error('dist/bin/natfw.js is missing: run `npm run build` (npm ci does it)');
  dir = mkdtempSync(join(tmpdir(), 'natfw-sim-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function natfw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a scenario whose assertions hold: exit 0, summary, report.json and report.html', () => {
  const out = join(dir, 'nat');
  const r = natfw('sim', 'run', 'sim/scenarios/nat-traversal.yaml', '--out', out);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('PASS f1-established');
  const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  expect(rep.ok).toBe(true);
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
}, 60_000);

test('a failing assertion: exit 1, naming it', () => {
  const text = readFileSync(join(root, 'sim/scenarios/nat-traversal.yaml'), 'utf8').replace('{ id: f1-delivered, kind: delivered', '{ id: f1-delivered, kind: blocked');
  const f = join(dir, 'failing.yaml');
  writeFileSync(f, text);
  const r = natfw('sim', 'run', f, '--out', join(dir, 'failing'));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^natfw: assertion failed: f1-delivered \(line \d+\): at 4\.000s: flow f1 is delivered/);
}, 60_000);

test('a bad scenario file: exit 2 with the line and what is wrong', () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'name: bad\nduration: 10s\nnodes:\n  - { id: a, role: hots }\n');
  const r = natfw('sim', 'run', f, '--out', join(dir, 'bad'));
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(`natfw: ${f}:4:20: nodes[0].role: must be one of host, router, firewall, nat, got 'hots'\n`);
});

test('bad arguments: exit 2 naming the argument', () => {
  const r = natfw('sim', 'run', 'sim/scenarios/deny.yaml', '--seed', 'x');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--seed');
});

test('--pcap writes a capture that the capture reader opens, Queries with the Router Alert option', () => {
  const pcap = join(dir, 'rc.pcap');
  const r = natfw('sim', 'run', 'sim/scenarios/nat-traversal.yaml', '--out', join(dir, 'nat'), '--pcap', pcap);
  expect(r.status).toBe(0);
  const bytes = readFileSync(pcap);
  // Classic pcap, nanosecond magic, little-endian, LINKTYPE_RAW.
  expect(bytes.readUInt32LE(0)).toBe(0xa1b23c4d);
  expect(bytes.readUInt32LE(20)).toBe(101);
  // The first record is a Query: IPv4 with IHL 6 and option 148 (Router Alert) value 65.
  const ip = bytes.subarray(24 + 16);
  expect(ip[0]).toBe(0x46);
  expect(ip[20]).toBe(148);
  expect(ip.readUInt16BE(22)).toBe(65);
  // The project's own capture reader opens it, and the UDP payload of the first packet decodes as a GIST Query.
  const cap = readCapture(new Uint8Array(bytes));
  if (!cap.ok) throw new Error(cap.error.message);
  expect(cap.value.frames.length).toBeGreaterThan(10);
  const udpPayload = new Uint8Array(ip.subarray(24 + 8, ip.readUInt16BE(2)));
  const msg = decodeGistDatagram(udpPayload);
  expect(msg.ok && msg.value.type).toBe('Query');
}, 60_000);

test('the simulation runs in a process relaunched with the heap flags of sim/process.ts, once', () => {
  const stats = join(dir, 'stats.json');
  const r = spawnSync(process.execPath, [cli, 'sim', 'run', 'sim/scenarios/deny.yaml', '--out', join(dir, 'deny')], {
    encoding: 'utf8', cwd: root, timeout: 60_000, env: { ...process.env, [STATS_ENV]: stats, [RELAUNCHED_ENV]: '', NODE_OPTIONS: '' },
  });
  expect(r.status).toBe(0);
  const s = JSON.parse(readFileSync(stats, 'utf8')) as { execArgv: string[]; cpuS: number; peakRssBytes: number; ok: boolean };
  expect(s.execArgv).toEqual([...SIM_NODE_FLAGS]);
  expect(s.ok).toBe(true);
  expect(s.peakRssBytes).toBeGreaterThan(0);
}, 60_000);

test('semi-space flags of the user are kept: no relaunch', () => {
  expect(wantsRelaunch({}, [])).toBe(true);
  expect(wantsRelaunch({ [RELAUNCHED_ENV]: '1' }, [])).toBe(false);
  expect(wantsRelaunch({}, ['--max-semi-space-size=16'])).toBe(false);
  expect(wantsRelaunch({ NODE_OPTIONS: '--max-old-space-size=4096 --min_semi_space_size=8' }, [])).toBe(false);
  expect(wantsRelaunch({ NODE_OPTIONS: '--max-old-space-size=4096' }, ['--inspect'])).toBe(true);
});
