/**
 * `npx tsx bench/profile-pipeline.ts [text|image] [count] [out-prefix]` — where a burst's time goes
 * in the local pipeline (docs/PERFORMANCE.md, "Local pipeline: where the time goes"). Starts the
 * stack, warms it up, then profiles only a burst of `count` uploads (the inspector's sampling
 * profiler; `node --cpu-prof` on a whole run is mostly module loading) in every thread: the
 * stack's own (DynamoDB, SQS, the inference server, the uploads and the waiter) and those it
 * starts (S3, the functions; local/thread.ts), reached through the inspector's `NodeWorker` domain.
 * Prints, on stderr, the HTTP requests per upload by service and operation (counted at the
 * emulators' servers, in whichever thread serves them), CPU per upload, and each thread's samples
 * by owner (the nearest known package on each sample's stack). Writes `<out-prefix>-<thread>.cpuprofile`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { makeJpeg } from '#bench/lib/media.ts';
import { attachThreads, type ServedRequest, tapRequests } from '#bench/lib/threads.ts';
import { startLocalStack } from '#local/stack.ts';

const kind = process.argv[2] === 'image' ? 'image' : 'text';
const count = Number(process.argv[3] ?? 200);
const outPrefix = process.argv[4] ?? `pipeline-${kind}`;

/** A request's operation: the JSON protocols' target, or the method and the path with its key elided. */
function operation({ method, url, target }: ServedRequest): string {
  if (target) return target;
  const path = url.replace(/\?.*$/, (q) => (q.includes('tagging') ? '?tagging' : ''));
  return `${method} ${path.replace(/\/(uploads|inputs|endpoints)\/.*?(\?|\/invocations|$)/, '/$1/…$2')}`;
}

const OWNERS: [string, RegExp][] = [
  ['S3 emulator (s3rver)', /node_modules\/(s3rver|koa|@koa|koa-compose)/],
  ['SQS emulator (fauxqs)', /node_modules\/(fauxqs|fastify|@fastify|avvio|find-my-way)/],
  ['DynamoDB emulator (dynalite)', /node_modules\/(dynalite|.*level.*|memdown|lazy)/],
  ['inference server (HTTP, codec)', /model-artifacts\/server\//],
  ['onnxruntime', /onnxruntime-node/],
  ['sharp', /node_modules\/sharp/],
  ['tesseract', /tesseract/],
  ['AWS SDK clients', /node_modules\/(@aws-sdk|@smithy|@aws-crypto)/],
  ['pipeline code (shared/, local/, functions/)', /\/(shared|local|functions)\/[^/]+/],
  ['powertools/middy', /@aws-lambda-powertools|@middy/],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function owners(profile: Profile): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const shares = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const fn = byId.get(id)?.callFrame.functionName ?? '';
    let who = ['(idle)', '(garbage collector)', '(program)'].includes(fn) ? fn : undefined;
    for (let cur: number | undefined = id; cur !== undefined && !who; cur = parent.get(cur)) {
      const url = byId.get(cur)?.callFrame.url ?? '';
      who = OWNERS.find(([, re]) => re.test(url))?.[0];
    }
    who ??= 'Node HTTP/net/fs, no owner frame on the stack';
    shares.set(who, (shares.get(who) ?? 0) + dt);
  });
  return [...shares].map(([k, v]) => [k, v / total] as [string, number]).sort((a, b) => b[1] - a[1]);
}

// As deployed by default (KEEP_INPUTS=none on AWS), like the pipeline benchmark.
const stack = await startLocalStack({
  keepInputs: 'none',
  onError: (err) => process.stderr.write(`pipeline error: ${err}\n`),
});
try {
  const jpegs = await Promise.all([1, 2, 3, 4].map(makeJpeg));
  let n = 0;
  const body = (i: number): Uint8Array =>
    kind === 'text'
      ? Buffer.from(`Shut up you loser, the meeting is on Thursday (message ${n++})`)
      : (jpegs[i % jpegs.length] as Uint8Array);
  const burst = async (size: number) => {
    const started = performance.now();
    const refs = await Promise.all(
      Array.from({ length: size }, (_, i) =>
        stack.upload(`profile/${n++}.${kind === 'text' ? 'txt' : 'jpg'}`, body(i)),
      ),
    );
    const found = await stack.waitForVerdicts(refs, { pollMs: 5 });
    if (found.size !== size) throw new Error(`burst of ${size}: ${found.size} verdicts`);
    return size / ((performance.now() - started) / 1000);
  };
  await burst(20);
  const session = new Session();
  session.connect();
  const threads = await attachThreads(session);
  const tap = await tapRequests(threads);
  for (const thread of threads) {
    await thread.post('Profiler.enable');
    await thread.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  for (const thread of threads) await thread.post('Profiler.start');
  await tap.on();
  const cpu0 = process.cpuUsage();
  const perSec = await burst(count);
  const cpu = process.cpuUsage(cpu0);
  await tap.off();
  const profiles: { name: string; profile: Profile }[] = [];
  for (const thread of threads) {
    const { profile } = (await thread.post('Profiler.stop')) as { profile: Profile };
    profiles.push({ name: thread.name, profile });
  }
  const requests = new Map<string, number>();
  for (const request of await tap.take()) {
    const op = operation(request);
    requests.set(op, (requests.get(op) ?? 0) + 1);
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `${kind} burst of ${count}: ${perSec.toFixed(1)} items/s, ${((cpu.user + cpu.system) / 1000 / count).toFixed(1)} ms CPU per upload (all threads, profiler on), load ${(await import('node:os')).loadavg()[0]?.toFixed(1)}`,
  );
  log('HTTP requests per upload:');
  for (const [op, c] of [...requests].sort((a, b) => b[1] - a[1]))
    log(`  ${(c / count).toFixed(2).padStart(6)}  ${op}`);
  for (const { name, profile } of profiles) {
    const file = `${outPrefix}-${name}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    log(`thread ${name}: CPU samples by owner (${file}):`);
    for (const [who, share] of owners(profile)) log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${who}`);
  }
} finally {
  await stack.stop();
}
