import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startLocalThread } from '#local/thread.ts';

const ECHO = new URL('../../fixtures/threads/echo-thread.ts', import.meta.url);
const EXIT_WHILE_SCORING = fileURLToPath(
  new URL('../../fixtures/threads/exit-while-scoring.ts', import.meta.url),
);
const run = promisify(execFile);

describe('startLocalThread', () => {
  it("passes the part's data, its ready value, its events and errors in order, and stops it", async () => {
    // Arrange
    const events: string[] = [];
    const errors: unknown[] = [];

    // Act
    const thread = await startLocalThread<{ greeting: string }, { answer: number }, string>(
      ECHO,
      { greeting: 'hello' },
      { onEvent: (e) => events.push(e), onError: (e) => errors.push(e) },
    );
    await thread.stop();

    // Assert
    expect(thread.ready).toEqual({ answer: 42 });
    expect(events).toEqual(['hello', 'stopping']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(errors[0]).toMatchObject({ name: 'TypeError', message: 'reported from the thread' });
  });

  it('starts the part when its data comes, in the environment as it is then', async () => {
    // Arrange: the thread is running before its data exists, as the stack's functions' thread is
    // while the emulators start; the variable is set after the thread was created.
    let give: (data: { greeting: string; envName: string }) => void = () => undefined;
    const data = new Promise<{ greeting: string; envName: string }>((resolve) => {
      give = resolve;
    });
    const events: string[] = [];
    const starting = startLocalThread<{ greeting: string; envName: string }, { answer: number }, string>(
      ECHO,
      data,
      { onEvent: (e) => events.push(e) },
    );
    delete process.env.THREAD_TEST_LATE;

    // Act
    process.env.THREAD_TEST_LATE = 'set after the thread started';
    give({ greeting: 'late', envName: 'THREAD_TEST_LATE' });
    const thread = await starting;
    await thread.stop();
    delete process.env.THREAD_TEST_LATE;

    // Assert
    expect(thread.ready).toEqual({ answer: 42 });
    expect(events).toEqual(['late', 'THREAD_TEST_LATE=set after the thread started', 'stopping']);
  });

  it("rejects with the data's reason when the data fails, once the waiting thread has exited", async () => {
    // Arrange
    const failure = new Error('the emulators did not start');

    // Act
    const starting = startLocalThread(ECHO, Promise.reject(failure));

    // Assert
    await expect(starting).rejects.toBe(failure);
  });

  it('rejects with the reason when the part fails to start', async () => {
    await expect(startLocalThread(ECHO, { greeting: 'no', fail: true })).rejects.toThrow('cannot start: no');
  });

  it('exit ends a thread busy in onnxruntime, so the process then exits with its own status', async () => {
    // A process exiting around a thread in the middle of a synchronous onnxruntime run aborts
    // (SIGABRT, "terminate called after throwing an instance of 'Napi::Error'"): 19 times in 20
    // when measured. The thread that ends itself first is between two runs.
    const exit = await run(process.execPath, ['--import', 'tsx', EXIT_WHILE_SCORING, 'exit'], {
      timeout: 60_000,
    }).then(
      () => ({ code: 0, signal: null, stderr: '' }),
      (err: { code: number | null; signal: string | null; stderr: string }) => err,
    );

    expect(exit, exit.stderr).toMatchObject({ code: 3, signal: null });
  });
});
