/**
 * `npx tsx bench/profile-pipeline.ts [text|image] [count] [out.cpuprofile]` — where a burst's time
 * goes in the local pipeline (docs/PERFORMANCE.md, "Local pipeline: where the time goes"). Starts
 * the stack, warms it up, then profiles only a burst of `count` uploads (the inspector's sampling
 * profiler; `node --cpu-prof` on a whole run is mostly module loading). Prints, on stderr, the HTTP
 * requests per upload by service and operation (counted at the emulators' servers), CPU per upload,
 * and the profile's samples by owner (the nearest known package on each sample's stack).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { makeJpeg } from '#bench/lib/media.ts';
import { startLocalStack } from '#local/stack.ts';

const kind = process.argv[2] === 'image' ? 'image' : 'text';
const count = Number(process.argv[3] ?? 200);
const out = process.argv[4] ?? `pipeline-${kind}.cpuprofile`;

/** Requests seen by every HTTP server in this process, by port and operation. */
const requests = new Map<string, number>();
let counting = false;
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
  if (counting && event === 'request') {
    const req = args[0] as http.IncomingMessage;
    const target = req.headers['x-amz-target'];
    const path = (req.url ?? '').replace(/\?.*$/, (q) => (q.includes('tagging') ? '?tagging' : ''));
    const op = target
      ? String(target)
      : `${req.method} ${path.replace(/\/(uploads|endpoints)\/.*?(\?|\/invocations|$)/, '/$1/…$2')}`;
    requests.set(op, (requests.get(op) ?? 0) + 1);
  }
  return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
} as typeof emit;

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

function owners(profile: {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}): [string, number][] {
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
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  counting = true;
  const perSec = await burst(count);
  counting = false;
  const cpu = process.cpuUsage(cpu0);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `${kind} burst of ${count}: ${perSec.toFixed(1)} items/s, ${((cpu.user + cpu.system) / 1000 / count).toFixed(1)} ms CPU per upload (profiler on), load ${(await import('node:os')).loadavg()[0]?.toFixed(1)}`,
  );
  log('HTTP requests per upload:');
  for (const [op, c] of [...requests].sort((a, b) => b[1] - a[1]))
    log(`  ${(c / count).toFixed(2).padStart(6)}  ${op}`);
  log(`CPU samples by owner (${out}):`);
  for (const [who, share] of owners(JSON.parse(readFileSync(out, 'utf8'))))
    log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${who}`);
} finally {
  await stack.stop();
}
