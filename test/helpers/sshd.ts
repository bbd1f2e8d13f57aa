// A real OpenSSH server on 127.0.0.1 for SFTP tests: its own host key, one
// authorised client key for the user running the tests (root in CI), the
// internal-sftp subsystem without chroot, so tests use absolute paths below
// `dir`. The fingerprint comes from ssh-keygen, independent of the relay's code.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { needToolForFile } from './tools.js';

export interface Sshd {
  port: number;
  /** "SHA256:<base64>" as printed by `ssh-keygen -lf -E sha256`. */
  hostKeySha256: string;
  /** The authorised client key (OpenSSH private key text). */
  privateKey: string;
  /** Server-side scratch directory; use absolute remote paths below it. */
  dir: string;
  username: string;
  /** Everything sshd wrote to stderr (for failure messages). */
  log(): string;
  stop(): Promise<void>;
  /** (Re)start on the same port. */
  start(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves once the port answers with an SSH banner (not merely accepts). */
async function waitForBanner(port: number, child: ChildProcess, stderr: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}):\n${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.setTimeout(1000, () => { s.destroy(); resolve(false); });
      s.once('data', (d: Buffer) => { s.destroy(); resolve(d.toString('latin1').startsWith('SSH-')); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running sshd, or undefined when it is not installed (the tests after this are skipped, or fail under CI=true). */
export async function startSshd(t: Test): Promise<Sshd | undefined> {
  const SSHD = needToolForFile(t, 'sshd');
  if (!SSHD) return undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'relay-sshd-'));
  const dir = join(tmp, 'home');
  mkdirSync(dir);
  const hostKey = join(tmp, 'hostkey');
  const clientKey = join(tmp, 'client');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', clientKey]);
  const hostKeySha256 = execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`, '-E', 'sha256'], { encoding: 'utf8' }).split(' ')[1] ?? '';
  if (!hostKeySha256.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen fingerprint output for ${hostKey}.pub`);
  writeFileSync(join(tmp, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const username = userInfo().username;
  const port = await freePort();
  const config = join(tmp, 'sshd_config');
  writeFileSync(config, [
    `ListenAddress 127.0.0.1`,
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(tmp, 'pid')}`,
    `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
    `StrictModes no`,
    `UsePAM no`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `PermitRootLogin prohibit-password`,
    `AllowUsers ${username}`,
    `Subsystem sftp internal-sftp`,
    `LogLevel INFO`,
    '',
  ].join('\n'));
  // sshd refuses to start without its privilege separation directory (normally made by systemd).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let child: ChildProcess | undefined;
  let stderr = '';
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await exited;
  };
  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    await waitForBanner(port, c, () => stderr);
  };
  t.teardown(async () => {
    await stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  await start();
  return { port, hostKeySha256, privateKey: readFileSync(clientKey, 'utf8'), dir, username, log: () => stderr, stop, start };
}
