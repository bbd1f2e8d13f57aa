// Test-side client for openssl-oracle.mjs: one child process per test file,
// many requests in flight, answers matched by id.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type OracleCipher = 'bf-ecb' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';

interface Answer {
  id: number;
  ok: boolean;
  data?: string;
  error?: string;
  legacy?: boolean;
}

export class Oracle {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  #next = 1;

  constructor() {
    const script = fileURLToPath(new URL('./openssl-oracle.mjs', import.meta.url));
    // A clean NODE_OPTIONS: the test runner's loaders must not leak into the oracle.
    this.#child = spawn(process.execPath, ['--openssl-legacy-provider', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const a = JSON.parse(line) as Answer;
      const p = this.#pending.get(a.id);
      if (!p) return;
      this.#pending.delete(a.id);
      p.resolve(a);
    });
    let stderr = '';
    this.#child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    this.#child.on('exit', (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`oracle exited (${code}): ${stderr}`));
      this.#pending.clear();
    });
  }

  #send(req: Record<string, unknown>): Promise<Answer> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.stdin.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  /** True when the child can use OpenSSL's legacy Blowfish. */
  async ready(): Promise<boolean> {
    return (await this.#send({ op: 'ping' })).legacy === true;
  }

  async run(op: 'encrypt' | 'decrypt', cipher: OracleCipher, key: Buffer, data: Buffer, iv?: Buffer): Promise<Buffer> {
    const a = await this.#send({ op, cipher, key: key.toString('hex'), data: data.toString('hex'), iv: iv?.toString('hex') });
    if (!a.ok || a.data === undefined) throw new Error(`oracle ${op} ${cipher} failed: ${a.error}`);
    return Buffer.from(a.data, 'hex');
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) return resolve();
      this.#child.once('exit', () => resolve());
      this.#child.stdin.end();
    });
  }
}
