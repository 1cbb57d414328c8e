/**
 * Small traffic tools for enforcement tests: Node scripts run inside a lab
 * namespace with `ip netns exec <ns> node -e`. Every process is started here,
 * tracked by PID and killed by PID; every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { NetnsLab } from '../../../testbed/netns';

const started = new Set<ChildProcess>();

function nodeIn(lab: NetnsLab, node: string, script: string, args: unknown): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', lab.ns(node), process.execPath, '-e', script, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(c);
  c.on('exit', () => started.delete(c));
  return c;
}

export function killAll(): void {
  for (const c of started) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  started.clear();
}

function waitLine(c: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${pattern} (got: ${buf.slice(0, 200)})`)), ms);
    const on = (d: Buffer): void => {
      buf += d.toString();
      const m = buf.split('\n').find((l) => pattern.test(l));
      if (m !== undefined) {
        clearTimeout(t);
        c.stdout?.off('data', on);
        resolve(m);
      }
    };
    c.stdout?.on('data', on);
    c.on('exit', () => {
      clearTimeout(t);
      reject(new Error(`process exited before ${pattern}: ${buf.slice(0, 200)}`));
    });
  });
}

const ECHO = `
const [proto, addr, port] = JSON.parse(process.argv[1]);
if (proto === 'udp') {
  const s = require('dgram').createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(port, addr, () => console.log('READY'));
} else {
  const srv = require('net').createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
  srv.listen(port, addr, () => console.log('READY'));
}
setTimeout(() => process.exit(0), 120000);
`;

/** An echo server (UDP or TCP) on addr:port in `node`; resolves when it listens. */
export async function echoServer(lab: NetnsLab, node: string, proto: 'udp' | 'tcp', addr: string, port: number): Promise<{ stop(): void }> {
  const c = nodeIn(lab, node, ECHO, [proto, addr, port]);
  await waitLine(c, /READY/, 5000);
  return { stop: () => c.pid !== undefined && process.kill(c.pid, 'SIGKILL') };
}

const PROBE = `
const [proto, src, sport, dst, dport, ms] = JSON.parse(process.argv[1]);
const done = (ok) => { console.log(ok ? 'OK' : 'NO'); process.exit(0); };
setTimeout(() => done(false), ms);
if (proto === 'udp') {
  const s = require('dgram').createSocket(dst.includes(':') ? 'udp6' : 'udp4');
  s.on('message', () => done(true));
  s.on('error', () => done(false));
  s.bind(sport, src, () => { let i = 0; const send = () => { if (i++ < 5) { s.send('p', dport, dst); setTimeout(send, ms / 6); } }; send(); });
} else {
  const c = require('net').connect({ host: dst, port: dport, localAddress: src, localPort: sport || undefined });
  c.on('connect', () => c.write('p'));
  c.on('data', () => done(true));
  c.on('error', () => done(false));
}
`;

/** Does one exchange from node (src:sport) to dst:dport get an echo back within `ms`? */
export async function probe(
  lab: NetnsLab,
  node: string,
  proto: 'udp' | 'tcp',
  src: string,
  sport: number,
  dst: string,
  dport: number,
  ms = 1000,
): Promise<boolean> {
  const c = nodeIn(lab, node, PROBE, [proto, src, sport, dst, dport, ms]);
  const line = await waitLine(c, /^(OK|NO)$/, ms + 5000);
  return line === 'OK';
}

const FLOW = `
const [proto, src, sport, dst, dport] = JSON.parse(process.argv[1]);
let n = 0;
const t0 = Date.now();
const got = () => { n++; console.log('R ' + n); };
if (proto === 'udp') {
  const s = require('dgram').createSocket(dst.includes(':') ? 'udp6' : 'udp4');
  s.on('message', got);
  s.bind(sport, src, () => setInterval(() => s.send('f', dport, dst), 20));
} else {
  const c = require('net').connect({ host: dst, port: dport, localAddress: src, localPort: sport });
  c.on('connect', () => { console.log('CONNECTED'); setInterval(() => c.write('f'), 20); });
  c.on('data', got);
  c.on('error', (e) => console.log('ERR ' + e.code));
}
setTimeout(() => process.exit(0), 60000);
`;

/** A running flow: a packet every 20 ms from src:sport to dst:dport; counts echoes. */
export interface Flow {
  replies(): number;
  /** Waits until at least `n` more replies than now arrived, or `ms` passed; returns whether they did. */
  more(n: number, ms: number): Promise<boolean>;
  stop(): void;
}

export function flow(lab: NetnsLab, node: string, proto: 'udp' | 'tcp', src: string, sport: number, dst: string, dport: number): Flow {
  const c = nodeIn(lab, node, FLOW, [proto, src, sport, dst, dport]);
  let count = 0;
  let buf = '';
  c.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('R ')) count = Number(l.slice(2));
  });
  return {
    replies: () => count,
    more: async (n, ms) => {
      const target = count + n;
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (count >= target) return true;
        await sleep(20);
      }
      return count >= target;
    },
    stop: () => {
      if (c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
