/**
 * `npm run load -- [--count N] [--rate R] [--timeout S]` — a bounded load test of the whole local
 * pipeline (local/load.ts): prints throughput, p50/p99 upload→verdict latency and lost
 * uploads (exit status 1 when any was lost). Loopback only; stops by itself.
 */
import { parseArgs } from 'node:util';

// stdout carries the JSON report and nothing else (as in cli/moderate.ts).
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const USAGE = `usage: npm run load -- [--count N] [--rate R] [--timeout S] [--policy NAME]

Uploads N mixed items (texts, JPEG/PNG images, posts with an image) to the embedded local stack at
R uploads per second, waits for every verdict, and prints one JSON report on stdout.

options:
  --count <n>      objects to upload (default 200; a post is two objects)
  --rate <r>       uploads started per second (default 20)
  --timeout <s>    stop waiting this long after the last upload (default 120)
  -h, --help       this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '200' },
      rate: { type: 'string', default: '20' },
      timeout: { type: 'string', default: '120' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    writeStdout(`${USAGE}\n`);
    return 0;
  }
  const count = Number(values.count);
  const rate = Number(values.rate);
  const timeout = Number(values.timeout);
  for (const [name, v] of [
    ['count', count],
    ['rate', rate],
    ['timeout', timeout],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0))
      throw new Error(`--${name} must be a positive number, got ${values[name]}`);
  }
  const { startLocalStack } = await import('#local/stack.ts');
  const { runLoad } = await import('#local/load.ts');
  process.stderr.write(`starting local stack; ${count} uploads at ${rate}/s…\n`);
  const stack = await startLocalStack({
    onError: (err) => process.stderr.write(`pipeline: ${(err as Error).message}\n`),
  });
  try {
    let last = 0;
    const report = await runLoad(stack, {
      count,
      ratePerSecond: rate,
      timeoutMs: timeout * 1000,
      onProgress: (done, total) => {
        if (Date.now() - last < 2000) return;
        last = Date.now();
        process.stderr.write(`verdicts ${done}/${total}…\n`);
      },
    });
    process.stderr.write(
      `${report.verdicts}/${report.uploaded} verdicts, lost ${report.lost}; ` +
        `throughput ${report.throughputPerSecond}/s; latency p50 ${report.latencyMs.p50} ms, ` +
        `p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms\n`,
    );
    writeStdout(`${JSON.stringify(report)}\n`);
    return report.lost > 0 ? 1 : 0;
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
