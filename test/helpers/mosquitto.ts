// Starts a real Debian mosquitto (MQTT 5 capable) on a free 127.0.0.1 port with
// a throw-away config, for tests and benchmarks. A missing broker is an error,
// never a skip: tests that need MQTT must fail when it is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/free_port.js';

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** username → password; when given, anonymous clients are refused. */
  users?: Record<string, string>;
  /** Messages kept per offline persistent session (mosquitto's default 1000 is too few for bursts). */
  maxQueuedMessages?: number;
  /** Serve MQTT over TLS with a fresh self-signed certificate for 127.0.0.1 (needs openssl). */
  tls?: boolean;
  /** Keep sessions, subscriptions and queued messages across restart() (saved on SIGTERM). Default false. */
  persistence?: boolean;
}

export interface Mosquitto {
  url: string;
  port: number;
  /** PEM of the self-signed certificate (the CA to trust) when started with tls. */
  caPem?: string;
  /**
   * Stops the broker (SIGTERM: with persistence it saves its database) and
   * starts it again on the same port with the same config. Without
   * persistence every session, subscription and queued message is gone.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

interface Launched { child: ChildProcess; exited(): boolean }

/** Starts mosquitto with `conf` and waits until it accepts on `port`; a string says why it did not. */
async function launch(conf: string, port: number): Promise<Launched | string> {
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 5000;
  while (!exited && Date.now() < deadline && !(await accepting(port))) await new Promise((r) => setTimeout(r, 20));
  if (!exited && (await accepting(port))) return { child, exited: () => exited };
  if (!exited) child.kill('SIGKILL');
  return stderr.trim() || 'did not start accepting connections within 5 s';
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  if (!existsSync(MOSQUITTO)) {
    throw new Error(`mosquitto not found at ${MOSQUITTO}: install Debian's "mosquitto" package (apt-get install mosquitto) or set MOSQUITTO_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-mosquitto-'));
  // Started as root, mosquitto drops to its own user: it must be able to read the config dir.
  // With persistence it also writes its database there.
  chmodSync(dir, opts.persistence ? 0o777 : 0o755);
  let caPem: string | undefined;
  if (opts.tls) {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr || r.error?.message}`);
    chmodSync(join(dir, 'key.pem'), 0o644);
    caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  }
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const lines = [
      `listener ${port} 127.0.0.1`,
      ...(opts.tls ? [`certfile ${join(dir, 'cert.pem')}`, `keyfile ${join(dir, 'key.pem')}`] : []),
      'persistence false',
      `max_queued_messages ${opts.maxQueuedMessages ?? 1_000_000}`,
      'max_queued_bytes 0',
      'max_inflight_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ];
    if (opts.users) {
      const pw = join(dir, 'passwd');
      writeFileSync(pw, '');
      for (const [user, pass] of Object.entries(opts.users)) {
        const r = spawnSync('mosquitto_passwd', ['-b', pw, user, pass], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.error?.message}`);
      }
      chmodSync(pw, 0o644);
      lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    if (opts.persistence) lines[lines.indexOf('persistence false')] = `persistence true\npersistence_location ${dir}/\nautosave_interval 0`;
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    let broker = await launch(conf, port);
    if (typeof broker !== 'string') {
      const stopBroker = async (b: Launched) => {
        if (!b.exited()) {
          const gone = new Promise((r) => b.child.once('exit', r));
          b.child.kill('SIGTERM');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
          if (!b.exited()) b.child.kill('SIGKILL');
        }
      };
      return {
        url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
        port,
        caPem,
        restart: async () => {
          await stopBroker(broker as Launched);
          // The port was just released; a few tries cover a slow socket teardown.
          let again: Launched | string = 'not started';
          for (let i = 0; i < 20 && typeof again === 'string'; i++) {
            again = await launch(conf, port);
            if (typeof again === 'string') await new Promise((r) => setTimeout(r, 100));
          }
          if (typeof again === 'string') throw new Error(`mosquitto did not restart on port ${port}: ${again}`);
          broker = again;
        },
        stop: async () => {
          await stopBroker(broker as Launched);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    lastError = broker;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`mosquitto failed to start: ${lastError}`);
}
