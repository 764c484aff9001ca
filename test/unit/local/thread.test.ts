import { describe, expect, it } from 'vitest';
import { startLocalThread } from '#local/thread.ts';

const ECHO = new URL('../../fixtures/threads/echo-thread.ts', import.meta.url);

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

  it('rejects with the reason when the part fails to start', async () => {
    await expect(startLocalThread(ECHO, { greeting: 'no', fail: true })).rejects.toThrow('cannot start: no');
  });
});
