import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TEST_SECRET } from './engine';

const ROOT = join(import.meta.dirname, '..', '..');

export interface EngineProcess {
  url: string;
  child: ChildProcess;
  /** What the engine wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** What the engine wrote to stdout so far. */
  stdout(): string;
  /** SIGKILL: no shutdown, no flush; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: the engine's own shutdown; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * `npm start` as a child process (`infra/embedded/main.ts` under tsx) on a free port and the given
 * data folder, with the test webhook secret: the engine a crash test can SIGKILL.
 */
export function startEngineProcess(dataDir: string, env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Promise<EngineProcess> {
  // tsx by its path: from another working directory (a copy of workflows/), `--import tsx` would not find it.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'infra', 'embedded', 'main.ts')], {
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      PORT: '0',
      RAPPORT_DATA_DIR: dataDir,
      RAPPORT_WEBHOOK_SECRET: TEST_SECRET,
      RAPPORT_WRITE_KEY: 'wk_process_test',
      RAPPORT_UNSUBSCRIBE_SECRET: 'process-test-unsubscribe-key',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      if (url)
        resolve({
          url,
          child,
          stderr: () => stderr,
          stdout: () => stdout,
          kill: async () => {
            child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`the engine exited (${code}) before listening:\n${stdout}\n${stderr}`)));
  });
}
