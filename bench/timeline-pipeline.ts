/**
 * `npx tsx bench/timeline-pipeline.ts [count] [pause-ms]` — where one text upload's latency goes
 * in the local pipeline (docs/PERFORMANCE.md, "One upload's timeline"). Uploads `count` texts one
 * at a time, `pause-ms` apart so that each runs alone (the previous one's work after its verdict —
 * the latest pointer, the tags, the delete — is over), and records every HTTP request every
 * thread serves (local/thread.ts; reached as in bench/profile-pipeline.ts). Prints, on stderr, the
 * latencies and, for each request an upload makes, the median over the uploads of when it reached
 * its server and when its response was sent (ms from just before the `PutObject`), and the thread
 * that served it.
 */
import { Session } from 'node:inspector/promises';
import { quantile } from '#bench/lib/measure.ts';
import { attachThreads, evaluate } from '#bench/lib/threads.ts';
import { startLocalStack } from '#local/stack.ts';

const count = Number(process.argv[2] ?? 30);
const pauseMs = Number(process.argv[3] ?? 50);

/**
 * Records each request its thread's HTTP servers answer while `globalThis.timelineOn`: [start,
 * finish, operation], on the shared clock (`timeOrigin + now`, comparable across threads). Runs
 * as source in each thread, so it is self-contained; no named arrow functions (tsx would wrap
 * them in a helper the other thread lacks).
 */
function installRecorder(): void {
  const g = globalThis as unknown as { timeline?: unknown[]; timelineOn?: boolean };
  if (g.timeline) return;
  const timeline: unknown[] = [];
  g.timeline = timeline;
  const http = process.getBuiltinModule('node:http');
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (g.timelineOn && event === 'request') {
      const req = args[0] as { headers: Record<string, unknown>; method?: string; url?: string };
      const res = args[1] as { once(e: string, f: () => void): void };
      const target = req.headers['x-amz-target'];
      const op = target
        ? String(target).replace(/^.*\./, '')
        : `${req.method} ${(req.url ?? '').replace(/\?x-id=.*$/, '').replace(/^\/[^/]+\/uploads\/[^?]*/, '<object>')}`;
      const start = performance.timeOrigin + performance.now();
      res.once('finish', () => timeline.push([start, performance.timeOrigin + performance.now(), op]));
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof emit;
}

type Row = { start: number; finish: number; op: string; thread: string };

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
  for (const thread of threads) {
    await evaluate(thread, `(${installRecorder.toString()})()`);
    await evaluate(thread, 'globalThis.timelineOn = true');
  }
  const uploads: { ms: number; rows: Row[] }[] = [];
  for (let i = 0; i < count; i++) {
    for (const thread of threads) await evaluate(thread, 'globalThis.timeline.length = 0');
    const { started, ms } = await one(100 + i);
    await new Promise((r) => setTimeout(r, pauseMs));
    const rows: Row[] = [];
    for (const thread of threads) {
      const recorded = (await evaluate(thread, 'JSON.stringify(globalThis.timeline)')) as string;
      for (const [start, finish, op] of JSON.parse(recorded) as [number, number, string][])
        rows.push({ start: start - started, finish: finish - started, op, thread: thread.name });
    }
    uploads.push({ ms, rows: rows.sort((a, b) => a.start - b.start) });
  }
  const byLatency = [...uploads].sort((a, b) => a.ms - b.ms);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`${count} text uploads one at a time, ${pauseMs} ms apart: latency to the verdict's read (ms, sorted)`);
  log(`  ${byLatency.map((u) => u.ms.toFixed(1)).join(' ')}`);
  // The same request of every upload (its operation and its occurrence in that upload), by median.
  const steps = new Map<string, { thread: string; starts: number[]; finishes: number[] }>();
  for (const { rows } of uploads) {
    const seen = new Map<string, number>();
    for (const r of rows) {
      const k = (seen.get(r.op) ?? 0) + 1;
      seen.set(r.op, k);
      const step = steps.get(`${r.op} #${k}`) ?? { thread: r.thread, starts: [], finishes: [] };
      step.starts.push(r.start);
      step.finishes.push(r.finish);
      steps.set(`${r.op} #${k}`, step);
    }
  }
  const median = (xs: number[]) => quantile(xs, 0.5);
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
