/**
 * natfwd end to end, as an operator runs it: real daemons on A - R - B in
 * network namespaces (the testbed), R a firewall with NFQUEUE interception and
 * nftables in standalone mode, all logging at info. A's daemon is asked, over its control socket,
 * for many sessions at once (each its own flow A -> B:port); a setup counts
 * from the request to the granted lifetime, so it covers the GIST handshakes
 * over real sockets, the interception at R, the NSLP at three nodes and R's
 * nftables commit. The in-process figures (natfw.setup.3nf.inproc) leave out
 * the kernel; this one has it all.
 *
 *   natfwd.setup.netns: sessions set up per second (wall), with R's CPU seconds beside it
 *   natfwd.teardown.netns: sessions torn down per second until R holds no pinhole
 */
import { readFileSync } from 'node:fs';
import { ControlClient } from '../cli/session';
import { DaemonTestbed, natfwdConfig, until } from '../testbed/daemons';
import { LINE, NetnsLab, netnsUnavailableReason } from '../testbed/netns';
import { round, type BenchGroup } from './harness';

const NAMES = ['natfwd.setup.netns', 'natfwd.teardown.netns'];
const SESSIONS = Number(process.env.NATFW_BENCH_DAEMON_SESSIONS ?? 2000);
const CONCURRENCY = 200;

/** utime + stime of a process, seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** Runs `n` requests with at most `width` outstanding; resolves when all have answered. */
async function pooled(n: number, width: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

async function run(emit: (l: { bench: string; value: number; unit: string; [k: string]: string | number | boolean }) => void): Promise<void> {
  const reason = netnsUnavailableReason(['nft']);
  if (reason !== undefined) {
    process.stderr.write(`skip ${NAMES.join(', ')}: ${reason}\n`);
    return;
  }
  const bed = new DaemonTestbed(NetnsLab.line('bd'));
  try {
    const host = ['gist: { interception: none }', 'enforcement: { backend: memory }', `policy: { maxSessions: ${SESSIONS * 2} }`];
    await bed.start('B', natfwdConfig('b', [LINE.B4], host, { logLevel: 'info' }));
    await bed.start(
      'R',
      natfwdConfig(
        'r',
        [LINE.R4a, LINE.R4b],
        ['gist: { interception: nfqueue }', 'enforcement: { backend: nftables, mode: standalone }', `policy: { maxSessions: ${SESSIONS * 2} }`],
        { role: 'firewall', logLevel: 'info' },
      ),
    );
    await bed.start('A', natfwdConfig('a', [LINE.A4], host, { logLevel: 'info' }));
    const pidOf = (n: string): number => {
      const pid = bed.daemon(n).proc.pid;
      if (pid === undefined) throw new Error(`${n} has no pid`);
      return pid;
    };
    const rPid = pidOf('R');
    const otherPids = [pidOf('A'), pidOf('B')];
    const othersCpu = (): number => otherPids.reduce((sum, p) => sum + cpuSeconds(p), 0);
    const client = await ControlClient.connect(bed.daemon('A').socket);
    try {
      const sessions: string[] = [];
      let refused = 0;
      const cpu0 = cpuSeconds(rPid);
      const ends0 = othersCpu();
      const t0 = performance.now();
      await pooled(SESSIONS, CONCURRENCY, async (i) => {
        const r = await client.request('create', { dst: LINE.B4, proto: 'udp', dport: 10000 + i, lifetime: 300 }, 120_000);
        if (r.ok === true && typeof r.session === 'string') sessions.push(r.session);
        else refused++;
      });
      const setupS = (performance.now() - t0) / 1000;
      const setupCpu = cpuSeconds(rPid) - cpu0;
      const endsCpu = othersCpu() - ends0;
      const installed = bed.pinholes('R').length;
      emit({
        bench: 'natfwd.setup.netns',
        value: round(sessions.length / setupS),
        unit: 'setups/s',
        sessions: sessions.length,
        refused,
        concurrency: CONCURRENCY,
        pinholesAtR: installed,
        rCpuSeconds: round(setupCpu, 2),
        perRCpuSecond: round(sessions.length / Math.max(setupCpu, 0.01)),
        endHostsCpuSeconds: round(endsCpu, 2),
        path: 'A - R(nftables, NFQUEUE) - B, real daemons, no SESSION_AUTH',
      });

      const cpu1 = cpuSeconds(rPid);
      const t1 = performance.now();
      await pooled(sessions.length, CONCURRENCY, async (i) => {
        await client.request('teardown', { session: sessions[i] }, 60_000);
      });
      const gone = await until(() => bed.pinholes('R').length === 0, 60_000);
      const tearS = (performance.now() - t1) / 1000;
      emit({
        bench: 'natfwd.teardown.netns',
        value: round(sessions.length / tearS),
        unit: 'teardowns/s',
        sessions: sessions.length,
        allRemovedAtR: gone,
        rCpuSeconds: round(cpuSeconds(rPid) - cpu1, 2),
      });
    } finally {
      client.close();
    }
  } finally {
    await bed.stop();
  }
}

export const benches: BenchGroup[] = [{ names: NAMES, run }];
