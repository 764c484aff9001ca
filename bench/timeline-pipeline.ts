/**
 * `npx tsx bench/timeline-pipeline.ts [count] [pause-ms]` — where one text upload's latency goes
 * in the local pipeline (docs/PERFORMANCE.md, "One upload's timeline"). Uploads `count` texts one
 * at a time, `pause-ms` apart so that each runs alone (the previous one's work after its verdict —
 * the latest pointer, the tags, the delete — is over), and records every HTTP request every
 * thread serves (local/thread.ts; bench/lib/threads.ts). Prints, on stderr, the
 * latencies and, for each request an upload makes, the median over the uploads of when it reached
 * its server and when its response was sent (ms from just before the `PutObject`), and the thread
 * that served it.
 */
import { Session } from 'node:inspector/promises';
import { median } from '#bench/lib/measure.ts';
import { attachThreads, type ServedRequest, tapRequests } from '#bench/lib/threads.ts';
import { startLocalStack } from '#local/stack.ts';

const count = Number(process.argv[2] ?? 30);
const pauseMs = Number(process.argv[3] ?? 50);

/** A request's name in the table: the JSON protocols' operation, or the method and the path. */
function operation({ method, url, target }: ServedRequest): string {
  if (target) return target.replace(/^.*\./, '');
  return `${method} ${url.replace(/\?x-id=.*$/, '').replace(/^\/[^/]+\/uploads\/[^?]*/, '<object>')}`;
}

const stack = await startLocalStack({
  keepInputs: 'none',
  onError: (err) => process.stderr.write(`pipeline error: ${err}\n`),
});
try {
  const body = (n: number) =>
    Buffer.from(`Shut up, you pathetic loser, nobody asked for your stupid opinion. (message ${n})`);
  const one = async (n: number) => {
    const started = performance.timeOrigin + performance.now();
    const ref = await stack.upload(`timeline/${n}.txt`, body(n));
    await stack.waitForVerdicts([ref], { pollMs: 5 });
    return { started, ms: performance.timeOrigin + performance.now() - started };
  };
  for (let i = 0; i < 10; i++) await one(i);
  const session = new Session();
  session.connect();
  const threads = await attachThreads(session);
  const tap = await tapRequests(threads);
  await tap.on();
  const uploads: { ms: number; rows: { start: number; finish: number; op: string; thread: string }[] }[] = [];
  for (let i = 0; i < count; i++) {
    await tap.take(); // what the previous upload left, if anything
    const { started, ms } = await one(100 + i);
    await new Promise((r) => setTimeout(r, pauseMs));
    const rows = (await tap.take()).map((r) => ({
      start: r.reached - started,
      finish: r.answered - started,
      op: operation(r),
      thread: r.thread,
    }));
    uploads.push({ ms, rows: rows.sort((a, b) => a.start - b.start) });
  }
  const byLatency = [...uploads].sort((a, b) => a.ms - b.ms);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`${count} text uploads one at a time, ${pauseMs} ms apart: latency to the stored verdict (ms, sorted)`);
  log(`  ${byLatency.map((u) => u.ms.toFixed(1)).join(' ')}`);
  // The same request of every upload (its operation and its occurrence in that upload), by median.
  const steps = new Map<string, { thread: string; starts: number[]; finishes: number[] }>();
  for (const { rows } of uploads) {
    const seen = new Map<string, number>();
    for (const r of rows) {
      const k = (seen.get(r.op) ?? 0) + 1;
      seen.set(r.op, k);
      const name = `${r.op} #${k}`;
      const step = steps.get(name) ?? { thread: r.thread, starts: [], finishes: [] };
      step.starts.push(r.start);
      step.finishes.push(r.finish);
      steps.set(name, step);
    }
  }
  log('requests served, median over the uploads, ms from just before the PutObject:');
  log('  reached   answered   took  uploads  thread            request');
  const rows = [...steps].map(([name, s]) => ({
    name,
    ...s,
    start: median(s.starts),
    finish: median(s.finishes),
  }));
  for (const r of rows.sort((a, b) => a.start - b.start)) {
    log(
      `  ${r.start.toFixed(1).padStart(7)}  ${r.finish.toFixed(1).padStart(9)}  ${(r.finish - r.start).toFixed(1).padStart(5)}  ${String(r.starts.length).padStart(7)}  ${r.thread.padEnd(16)}  ${r.name}`,
    );
  }
  session.disconnect();
} finally {
  await stack.stop();
}
