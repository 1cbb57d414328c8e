/**
 * Runs a node script (cli-node.js, or a test fixture) as a child process,
 * optionally inside a network namespace (`ip netns exec <ns> node <script>`;
 * ip execs node, so the PID held here is node's own), and talks JSON lines
 * with it: commands on stdin, events on stdout. Tests and benchmarks use it to
 * put GIST nodes into namespaces. Only the PID started here is ever killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type ChildEvent = Record<string, unknown> & { ev: string };

export class NodeProcess {
  private readonly proc: ChildProcess;
  readonly events: ChildEvent[] = [];
  private waiters: { pred: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }[] = [];
  private buf = '';
  stderr = '';
  exited = false;

  /**
   * `preload`: modules for node's -r (e.g. a TypeScript require hook in tests).
   * `nodeOptions`: options for node itself, before the script (e.g. `--cpu-prof`).
   */
  constructor(netns: string | undefined, script: string, args: string[] = [], preload: string[] = [], nodeOptions: readonly string[] = []) {
    const nodeArgs = [...nodeOptions, ...preload.flatMap((p) => ['-r', p]), script, ...args];
    this.proc = netns === undefined
      ? spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', netns, process.execPath, ...nodeArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        let e: ChildEvent;
        try {
          e = JSON.parse(line) as ChildEvent;
        } catch {
          continue;
        }
        this.events.push(e);
        for (const w of [...this.waiters]) {
          if (w.pred(e)) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(e);
          }
        }
      }
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (d: string) => {
      if (this.stderr.length < 20000) this.stderr += d;
    });
    this.proc.on('exit', () => {
      this.exited = true;
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin?.write(JSON.stringify(cmd) + '\n');
  }

  /** The first event (already seen or future) matching pred, within timeoutMs. */
  waitFor(pred: (e: ChildEvent) => boolean, timeoutMs = 10_000, what = 'event'): Promise<ChildEvent> {
    const seen = this.events.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: ChildEvent) => (clearTimeout(t), resolve(e)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}; child stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends a command with a fresh id and waits for its {ev:'done'|'error', id} reply. */
  async call(cmd: Record<string, unknown>, timeoutMs = 10_000): Promise<ChildEvent> {
    const id = ++NodeProcess.seq;
    this.send({ ...cmd, id });
    const r = await this.waitFor((e) => (e.ev === 'done' || e.ev === 'error') && e.id === id, timeoutMs, `reply to ${String(cmd.op)}`);
    if (r.ev === 'error') throw new Error(`child: ${String(r.message)}`);
    return r;
  }
  private static seq = 0;

  /** Asks the child to exit, then kills it (by our own PID) if it has not within graceMs. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.send({ op: 'exit' });
    const t = setTimeout(() => {
      if (!this.exited && this.proc.pid !== undefined) {
        try {
          process.kill(this.proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }, graceMs);
    await done;
    clearTimeout(t);
  }
}
