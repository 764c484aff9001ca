/** Turns bench lines into the human table and the generated part of BENCHMARKS.md. */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { JSON_CONTENT_TYPE, TENSOR_CONTENT_TYPE } from '#shared/contracts/tensor-wire.ts';
import type { BenchLine } from './line.ts';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  date: string;
  /** 1-minute load average when the run started and when it ended (other tenants' work shows here). */
  loadStart: number;
  loadEnd?: number;
}

export function describeMachine(): Machine {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString(),
    loadStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

const fmt = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return v >= 1e6 ? v.toExponential(3) : String(v);
  return String(v);
};

const verdict = (line: BenchLine): string => (line.met === undefined ? '' : line.met ? 'met' : 'MISSED');

/** One line per result for the terminal. */
export function humanLine(line: BenchLine): string {
  const parts = [line.name.padEnd(56)];
  if (line.itemsPerSec !== null) parts.push(`${fmt(line.itemsPerSec)} items/s`);
  if (line.baselineItemsPerSec !== undefined) {
    parts.push(`raw ${fmt(line.baselineItemsPerSec)} items/s`, `ratio ${fmt(line.ratio)}`);
  }
  if (line.meanBatch !== undefined) parts.push(`mean batch ${fmt(line.meanBatch)}`);
  if (line.cpuMsPerItem !== undefined) {
    parts.push(`cpu ${fmt(line.cpuMsPerItem)} vs ${fmt(line.baselineCpuMsPerItem)} ms/item`);
  }
  if (line.p50Ms !== undefined) parts.push(`p50 ${fmt(line.p50Ms)} ms`, `p99 ${fmt(line.p99Ms)} ms`);
  if (line.value !== undefined && line.unit !== 'ms')
    parts.push(`${fmt(line.value)} ${line.unit ?? ''}`.trim());
  if (line.target) parts.push(`[${verdict(line)}: ${line.target}]`);
  return parts.join('  ');
}

const mib = (bytes: unknown) => (typeof bytes === 'number' ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : '');

/** The inference line's request encoding, as the table names it (the suite runs each model over both). */
function wireName(wire: unknown): string {
  if (wire === TENSOR_CONTENT_TYPE) return 'binary';
  if (wire === JSON_CONTENT_TYPE) return 'JSON';
  return typeof wire === 'string' ? wire : '';
}

/** The generated section of BENCHMARKS.md. */
export function markdown(lines: readonly BenchLine[], machine: Machine, command: string): string {
  const out: string[] = [];
  out.push(`## Results of \`${command}\``, '');
  out.push(
    `Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.memoryGiB} GiB memory, Node ${machine.node}; ` +
      `run ${machine.date}; 1-minute load average ${machine.loadStart} at the start and ${machine.loadEnd ?? '?'} at the end ` +
      '(the cores were shared with other work, so absolute figures are noisy: compare ratios).',
    '',
  );

  const targets = lines.filter((l) => l.target);
  out.push('### Targets', '', '| target | line | measured | result |', '|---|---|---|---|');
  for (const l of targets) {
    const measured = l.target?.startsWith('p99')
      ? `p99 ${l.p99Ms} ms`
      : l.ratio !== undefined
        ? `ratio ${l.ratio}${l.overheadPct !== undefined ? ` (overhead ${l.overheadPct}%)` : ''}`
        : l.target?.includes('items/s') && typeof l.itemsPerSec === 'number'
          ? `${l.itemsPerSec} items/s`
          : l.p50Ms !== undefined && l.unit !== 'ms'
            ? `p50 ${l.p50Ms} ms`
            : l.unit === 'bytes'
              ? mib(l.value)
              : `${l.value} ${l.unit ?? ''}`;
    out.push(`| ${l.target} | \`${l.name}\` | ${measured} | ${l.met ? 'met' : '**missed**'} |`);
  }
  out.push('');

  const inference = lines.filter((l) => l.name.startsWith('inference/'));
  if (inference.length) {
    out.push(
      '### Inference server vs raw onnxruntime session',
      '',
      'Server: `startInferenceServer`, called through the real `SageMakerRuntimeClient` (the pipeline’s `createInferenceClient`), in the same process. ' +
        'Raw: `session.run` on a session from the same factory and model bytes. items/s are medians of 5 time-boxed repetitions; ratio is the median of back-to-back pairs; ' +
        'CPU ms/item is user+system time of the whole process (client, server and ONNX Runtime threads) per item.',
      '',
      '| model | requests | wire | server items/s | raw items/s | ratio | CPU ms/item server / raw | mean batch formed |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const l of inference) {
      const [, model, kind] = l.name.split('/');
      const what =
        kind === 'dynamic-batch'
          ? `${l.concurrency} concurrent single-item (vs raw batch ${l.baselineBatch})`
          : `batch ${l.batch}, sequential`;
      out.push(
        `| ${model} | ${what} | ${wireName(l.wire)} | ${fmt(l.itemsPerSec)} | ${fmt(l.baselineItemsPerSec)} | ${fmt(l.ratio)} | ${fmt(l.cpuMsPerItem)} / ${fmt(l.baselineCpuMsPerItem)} | ${fmt(l.meanBatch)} |`,
      );
    }
    out.push('');
  }

  const pipeline = lines.filter((l) => l.name.startsWith('pipeline/') && l.p50Ms !== undefined);
  if (pipeline.length) {
    out.push(
      '### Local pipeline end to end (upload → verdict in DynamoDB)',
      '',
      '`startLocalStack`: s3rver → fauxqs → the real handler → inference server → dynalite, one process (S3 and the functions in threads of their own). ' +
        'Timed from just before PutObject until DynamoDB has answered the write that stores the verdict (the stack watches the emulator’s writes). ' +
        'The lines with targets come after a warm-up of bursts (1,000 texts, 200 images), as a stack that has served a while; `one-at-a-time-after-start` is the first 40 texts after the start (docs/PERFORMANCE.md, "Warm-up").',
      '',
      '| modality | mode | items/s | p50 ms | p99 ms | samples |',
      '|---|---|---|---|---|---|',
    );
    for (const l of pipeline) {
      const [, modality, mode] = l.name.split('/');
      out.push(
        `| ${modality} | ${mode} | ${fmt(l.itemsPerSec)} | ${fmt(l.p50Ms)} | ${fmt(l.p99Ms)} | ${fmt(l.samples)} |`,
      );
    }
    const rss = lines.find((l) => l.name === 'pipeline/peak-rss');
    if (rss) out.push('', `Peak RSS of the pipeline process over the run: **${rss.value} MiB**.`);
    out.push('');
  }

  const matching = lines.filter((l) => l.name.startsWith('matching/'));
  if (matching.length) {
    out.push(
      '### Known-content matching (PDQ)',
      '',
      'Index: `createPdqIndex` (multi-index hashing, 16 slots of 16 bits, exact) vs `createLinearPdqIndex` (a scan of every hash), ' +
        'same bank, same queries (half bank hashes with 0–40 bits flipped, half unrelated), one at a time on one core. ' +
        'Hashing: `pdqHash` on decoded 640×480 pixels, and `imageSignals` (sharp decode + MD5 + SHA-256 + PDQ) on the JPEG. See docs/MATCHING.md.',
      '',
      '| line | hashes | items/s | p50 ms | p99 ms | linear scan p50 / p99 ms | speed-up | value |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const l of matching) {
      const scan = l.baselineP50Ms !== undefined ? `${fmt(l.baselineP50Ms)} / ${fmt(l.baselineP99Ms)}` : '';
      const value = l.value !== undefined ? `${fmt(l.value)} ${l.unit ?? ''}` : '';
      out.push(
        `| \`${l.name}\` | ${fmt(l.hashes)} | ${fmt(l.itemsPerSec)} | ${fmt(l.p50Ms)} | ${fmt(l.p99Ms)} | ${scan} | ${fmt(l.ratio)} | ${value} |`,
      );
    }
    out.push('');
  }

  const lambda = lines.filter((l) => l.name.startsWith('lambda/'));
  if (lambda.length) {
    out.push('### Lambda `moderate`', '', '| measure | value | detail |', '|---|---|---|');
    for (const l of lambda) {
      let detail = '';
      if (l.name.endsWith('bundle-zipped')) {
        detail = `code only ${mib(l.zippedCodeOnlyBytes)} zipped; index.mjs ${mib(l.bundleBytes)}, map ${mib(l.sourceMapBytes)}; largest inputs: ${(l.largestInputs as string[]).join(', ')}`;
      } else if (l.name.endsWith('installed-modules-zipped')) {
        detail = `${mib(l.unzippedBytes)} unzipped, ${(l.packages as string[]).length} packages (${(l.packages as string[]).join(', ')}), ${l.platform}`;
      } else if (l.name.endsWith('cold-init')) {
        detail = `median of ${l.samples} fresh processes (p99 ${l.p99Ms} ms); process start to handler ready ${l.processStartToReadyMs} ms`;
      }
      const value = l.unit === 'bytes' ? `${mib(l.value)} zipped` : `${l.value} ${l.unit}`;
      out.push(`| \`${l.name}\` | ${value} | ${detail} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

export const BEGIN =
  '<!-- bench:results:begin (written by `npm run bench -- --write`; edit outside these markers) -->';
export const END = '<!-- bench:results:end -->';

/** Replaces the generated section of an existing BENCHMARKS.md (or makes a minimal one). */
export function spliceResults(existing: string | undefined, section: string): string {
  const block = `${BEGIN}\n\n${section}\n${END}`;
  if (existing?.includes(BEGIN) && existing.includes(END)) {
    return (
      existing.slice(0, existing.indexOf(BEGIN)) + block + existing.slice(existing.indexOf(END) + END.length)
    );
  }
  return `# Benchmarks\n\n${block}\n`;
}
