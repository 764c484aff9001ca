/** Child processes for the suites: the same Node and the same TypeScript loader as the runner. */
import { type ChildProcess, spawn } from 'node:child_process';

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
