/**
 * `npm run replay -- --policy <name|file> [--since ISO] (--data-dir DIR | --table NAME) [--json]` —
 * what a policy would have decided on the stored verdicts, without running a model: transition
 * counts, examples, and the person's decisions it would contradict. Reads only. Logic: ops/replay.ts;
 * how to run it on AWS and what it costs: docs/REPLAY.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { formatReport, LocalVerdictsError, openLocalVerdicts, replayTable } from '#ops/replay.ts';
import { loadPolicy, type Policy, parsePolicy, UnknownPolicyError } from '#shared/policy/policy.ts';

const USAGE = `usage:
  npm run replay -- --policy <name|file> --data-dir <dir> [--since ISO] [--json]
      the verdicts a local data folder keeps (npm start / npm run api with --data-dir; stop them first)
  npm run replay -- --policy <name|file> --table <verdicts-table> [--since ISO] [--segments N] [--json]
      a DynamoDB table, with the usual AWS credentials (AWS_ENDPOINT_URL_DYNAMODB for any other endpoint)

Re-applies the policy to each stored verdict's scores, partial flag and bank/term-list matches,
without running a model, and prints how the automatic decisions would change. Writes nothing.

options:
  --policy <p>       a preset (balanced, strict, lenient) or a policy JSON file
  --since <iso>      only verdicts created at or after this instant
  --examples <n>     examples per transition (default 3)
  --segments <n>     parallel Scan segments (default 4)
  --region <name>    with --table; default AWS_REGION
  --json             the report as one JSON object on stdout
  --models <pack>    not available: see the message it prints
  -h, --help         this text`;

/** Why re-scoring with another model pack is refused (exit 2). */
const MODELS_UNAVAILABLE = `--models is not available: verdicts keep the calibrated scores (fused per category and per
channel) and the evidence excerpts, not the extracted model inputs (text windows, image tensors,
OCR text, transcripts), so another model pack has nothing stored to score. To compare packs,
moderate the objects again with that pack deployed (the uploads are still in S3: the pipeline, or
npm start on copies of them), and replay policies over the verdicts it writes.`;

class UsageError extends Error {
  override name = 'UsageError';
}

/** A preset by name, or a policy file (the presets' JSON shape). */
function readPolicy(arg: string): Policy {
  if (existsSync(arg)) {
    try {
      return parsePolicy(JSON.parse(readFileSync(arg, 'utf8')));
    } catch (err) {
      throw new UsageError(`--policy ${arg}: not a policy file: ${(err as Error).message}`);
    }
  }
  try {
    return loadPolicy(arg);
  } catch (err) {
    if (err instanceof UnknownPolicyError) throw new UsageError(`${err.message}, or a policy JSON file`);
    throw err;
  }
}

const positiveInteger = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0))
    throw new UsageError(`--${name} must be a positive integer, got ${value}`);
  return n;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      policy: { type: 'string' },
      since: { type: 'string' },
      'data-dir': { type: 'string' },
      table: { type: 'string' },
      region: { type: 'string' },
      segments: { type: 'string' },
      examples: { type: 'string' },
      models: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.models !== undefined) {
    process.stderr.write(`error: ${MODELS_UNAVAILABLE}\n`);
    return 2;
  }
  if (!values.policy) throw new UsageError('--policy is required');
  const policy = readPolicy(values.policy);
  let since: string | undefined;
  if (values.since !== undefined) {
    const t = Date.parse(values.since);
    if (Number.isNaN(t)) throw new UsageError(`--since must be an ISO date or time, got ${values.since}`);
    since = new Date(t).toISOString();
  }
  const segments = positiveInteger('segments', values.segments);
  const examples = positiveInteger('examples', values.examples);
  if (!values['data-dir'] === !values.table) throw new UsageError('give one of --data-dir and --table');

  const source = values.table
    ? {
        doc: DynamoDBDocumentClient.from(
          new DynamoDBClient({ region: values.region ?? process.env.AWS_REGION ?? 'us-east-1' }),
        ),
        tableName: values.table,
        close: async () => undefined,
      }
    : await openLocalVerdicts(values['data-dir'] as string);
  let lastProgress = Date.now();
  try {
    const report = await replayTable({
      doc: source.doc,
      tableName: source.tableName,
      policy,
      ...(since !== undefined && { since }),
      ...(segments !== undefined && { segments }),
      ...(examples !== undefined && { examples }),
      onProgress: (scanned) => {
        if (Date.now() - lastProgress < 2000) return;
        lastProgress = Date.now();
        process.stderr.write(`read ${scanned} items…\n`);
      },
    });
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return 0;
  } finally {
    await source.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof LocalVerdictsError) process.stderr.write(`error: ${err.message}\n`);
    else {
      process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    }
    process.exit(2);
  },
);
