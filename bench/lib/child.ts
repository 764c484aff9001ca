/** Child processes for the suites: the same Node and the same TypeScript loader as the runner. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname;

/** Starts `file` (a .ts path relative to the repo root) under tsx in a fresh Node process. */
export function spawnTs(
  file: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout line of `child` that parses as JSON; rejects if it exits first. */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(
      () => reject(new Error(`no ready line after ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    lines.on('line', (line) => {
      try {
        const value = JSON.parse(line) as T;
        clearTimeout(timer);
        lines.close();
        resolve(value);
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with code ${code} before it was ready: ${stderr}`));
    });
  });
}
