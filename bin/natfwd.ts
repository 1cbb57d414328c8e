#!/usr/bin/env node
/**
 * `natfwd --config <file> [--check]`: the NATFW NSLP daemon (daemon/natfwd.ts).
 * Logs one JSON line per event on stdout (pino). Exit status: 0 after a clean
 * shutdown or a good `--check`, 1 when the configuration or startup failed
 * (one line on stderr), 2 for bad arguments.
 */
import { Command } from 'commander';
import pino from 'pino';
import { authorizerFromSettings } from '../daemon/auth-keys';
import { loadConfigFile, type NatfwdConfig } from '../daemon/config';
import { ControlServer } from '../daemon/control-server';
import { Natfwd } from '../daemon/natfwd';

function die(msg: string, status = 1): never {
  process.stderr.write(`natfwd: ${msg.split('\n')[0]}\n`);
  process.exit(status);
}

function check(file: string): NatfwdConfig {
  let cfg: NatfwdConfig;
  try {
    cfg = loadConfigFile(file);
  } catch (e) {
    die(e instanceof Error ? e.message : String(e));
  }
  // The key directory is part of the configuration: a bad key file fails the check too.
  const a = authorizerFromSettings(cfg.authorization);
  if (!a.ok) die(a.error.message);
  return cfg;
}

async function run(file: string): Promise<void> {
  const cfg = check(file);
  const log = pino(
    { level: cfg.log.level, base: { node: cfg.node.name, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
  let daemon: Natfwd;
  try {
    daemon = await Natfwd.start(cfg, log);
  } catch (e) {
    die(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
  }
  let control: ControlServer;
  try {
    control = await ControlServer.listen(daemon, cfg.control.socket, cfg.control.mode);
  } catch (e) {
    await daemon.stop();
    die(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
  }
  log.info(
    { event: 'natfwd.started', role: cfg.node.role, addresses: daemon.addresses, ports: daemon.driver.ports, interception: cfg.gist.interception, backend: cfg.enforcement.backend, socket: cfg.control.socket },
    'natfwd started',
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'natfwd.stopping', signal }, 'shutting down');
    // Bounded: a hung backend must not keep the daemon alive.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void (async () => {
      await control.close().catch(() => undefined);
      await daemon.stop().catch((e: unknown) => log.error({ event: 'natfwd.stop-failed' }, String(e)));
      log.info({ event: 'natfwd.stopped' }, 'stopped');
      // The nfqueue addon cannot be closed; leave without waiting for it.
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => daemon.reloadKeys());
}

const program = new Command();
program
  .name('natfwd')
  .description('NSIS NAT/Firewall signalling daemon (GIST RFC 5971, NATFW NSLP RFC 5973); needs root (CAP_NET_ADMIN) for nftables/NFQUEUE')
  .version(require('../../package.json').version as string)
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .option('--check', 'validate the configuration (and key directory) and exit')
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(str.split('\n')[0].replace(/^error: /, 'natfwd: ') + '\n') })
  .exitOverride((e) => {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
    process.exit(2);
  })
  .action(async (o: { config: string; check?: boolean }) => {
    if (o.check === true) {
      check(o.config);
      process.stdout.write(`${o.config}: configuration OK\n`);
      process.exit(0);
    }
    await run(o.config);
  });

program.parseAsync(process.argv).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));
