/**
 * `npm run replay -- --policy <name|file> [--models <pack>] [--since ISO] (--data-dir DIR | --table NAME) [--json]`
 * — what a policy would have decided on the stored verdicts: on their stored scores (no model run),
 * or with --models on their kept model inputs scored again by another pack. Transition counts,
 * examples, and the person's decisions it would contradict. Reads only. Logic: ops/replay.ts and
 * ops/replay-models.ts; how to run it on AWS and what it costs: docs/REPLAY.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ZodError } from 'zod';
import { ModelLoadError } from '#model-artifacts/server/errors.ts';
import {
  formatReport,
  LocalVerdictsError,
  openLocalVerdicts,
  type ReplayReport,
  replayTable,
} from '#ops/replay.ts';
import { openLocalInputs, replayTableWithModels, type ServedPack, servePack } from '#ops/replay-models.ts';
import { ENV } from '#shared/contracts/env.ts';
import { ManifestError } from '#shared/inference/manifest.ts';
import { UnknownModelPackError } from '#shared/moderation/model-pack.ts';
import { loadPolicy, type Policy, parsePolicy, UnknownPolicyError } from '#shared/policy/policy.ts';

const USAGE = `usage:
  npm run replay -- --policy <name|file> [--models <pack>] --data-dir <dir> [--since ISO] [--json]
      the verdicts a local data folder keeps (npm start / npm run api with --data-dir; stop them first)
  npm run replay -- --policy <name|file> [--models <pack>] --table <verdicts-table> [--since ISO] [--segments N] [--json]
      a DynamoDB table, with the usual AWS credentials (AWS_ENDPOINT_URL_DYNAMODB for any other endpoint)

Re-applies the policy to each stored verdict's scores, partial flag and bank/term-list matches,
without running a model, and prints how the automatic decisions would change. With --models, the
scores are made again first: each verdict's kept model inputs (KEEP_INPUTS) are scored by that
pack, served locally; verdicts without kept inputs are counted, not replayed. Writes nothing.

options:
  --policy <p>       a preset (balanced, strict, lenient) or a policy JSON file
  --models <pack>    re-score kept inputs with a model pack: default, strong, or a directory with pack.json
  --since <iso>      only verdicts created at or after this instant
  --examples <n>     examples per transition (default 3)
  --segments <n>     parallel Scan segments (default 4)
  --region <name>    with --table; default AWS_REGION
  --json             the report as one JSON object on stdout
  -h, --help         this text`;

/** Why --models had nothing to re-score (exit 2): how inputs come to be kept. */
const NO_KEPT_INPUTS = (r: ReplayReport) =>
  `--models: no verdict read has kept model inputs (${r.models?.noInputs ?? 0} were made without them), so there is nothing to re-score. Inputs are kept when the verdict is made, with ${ENV.keepInputs}=text (text, OCR and speech items) or ${ENV.keepInputs}=all (also image pixels): the local stack keeps all unless ${ENV.keepInputs}=none is set; on AWS set keepInputs.mode in the environment's cdk.json entry and deploy. Moderate the content again, then replay (docs/REPLAY.md, "Kept inputs").`;

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

/** parseArgs, with its complaints (an unknown option, a missing value) as usage errors. */
function parseArguments<const T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>(config);
  } catch (err) {
    if (String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((err as Error).message);
    throw err;
  }
}

async function main(): Promise<number> {
  const { values } = parseArguments({
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
  if (values.models === '') throw new UsageError('--models needs a pack: default, strong, or a directory');
  const region = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
  // Undone in reverse, however far opening got.
  const opened: { close(): Promise<unknown> }[] = [];
  const open = <T extends { close(): Promise<unknown> }>(resource: T): T => {
    opened.push(resource);
    return resource;
  };
  try {
    // The pack first: an unknown one is a usage error before any table is read.
    const served = values.models === undefined ? undefined : open(await loadPackOrExplain(values.models));
    const source = open(
      values.table
        ? {
            doc: DynamoDBDocumentClient.from(new DynamoDBClient({ region })),
            tableName: values.table,
            close: noop,
          }
        : await openLocalVerdicts(values['data-dir'] as string),
    );
    const inputs =
      served &&
      open(
        values.table
          ? { s3: new S3Client({ region }), close: noop }
          : await openLocalInputs(values['data-dir'] as string),
      );
    let lastProgress = Date.now();
    const options = {
      doc: source.doc,
      tableName: source.tableName,
      policy,
      ...(since !== undefined && { since }),
      ...(segments !== undefined && { segments }),
      ...(examples !== undefined && { examples }),
      onProgress: (scanned: number) => {
        if (Date.now() - lastProgress < 2000) return;
        lastProgress = Date.now();
        process.stderr.write(`read ${scanned} items…\n`);
      },
    };
    const report =
      served && inputs
        ? await replayTableWithModels({ ...options, served, s3: inputs.s3 })
        : await replayTable(options);
    if (report.models?.withInputs === 0) {
      process.stderr.write(`error: ${NO_KEPT_INPUTS(report)}\n`);
      return 2;
    }
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return 0;
  } finally {
    for (const resource of opened.reverse()) await resource.close();
  }
}

const noop = async () => undefined;

/** The pack --models names, served; an unknown or malformed pack is a usage error that says why. */
async function loadPackOrExplain(arg: string): Promise<ServedPack> {
  try {
    return await servePack(arg);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (
      err instanceof UnknownModelPackError ||
      err instanceof ModelLoadError ||
      err instanceof ManifestError ||
      missing
    )
      throw new UsageError(`--models ${arg}: ${(err as Error).message}`);
    if (err instanceof ZodError || err instanceof SyntaxError)
      throw new UsageError(
        `--models ${arg}: its pack.json is not { name, text, image, fusion }: ${err.message}`,
      );
    throw err;
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
