/**
 * `npm run redrive -- --from <dlq-url> --to <ingest-queue-url>` — puts dead-lettered upload
 * notifications back on the ingest queue (after the failure that sent them there is fixed).
 * Logic: ops/redrive.ts. See docs/RELIABILITY.md for when to use which mode.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  moveTaskStatus,
  queueDepth,
  redriveByCopy,
  redriveFailedVerdicts,
  startMoveTask,
} from '#ops/redrive.ts';

const USAGE = `usage:
  npm run redrive -- --from <dlq-url> --to <ingest-queue-url> [--max N] [--endpoint-url URL]
      receive → send → delete, 10 at a time, until the DLQ is empty (any SQS API, local stack too)
  npm run redrive -- --move-task --from-arn <dlq-arn> [--to-arn <queue-arn>] [--max-per-second N]
      start SQS's own redrive (StartMessageMoveTask) on AWS; without --to-arn, back to the source queue
  npm run redrive -- --failed-verdicts --table <verdicts-table> --to <ingest-queue-url> [--since ISO] [--etag]
      re-announce every upload whose verdict is the PROCESSING_FAILED placeholder (the dead-letter
      function consumed its DLQ message); --etag when the bucket is unversioned (local emulator)
  npm run redrive -- --status --from-arn <dlq-arn>      the DLQ's latest move task
  npm run redrive -- --depth --from <dlq-url>           messages waiting in the DLQ

options:
  --endpoint-url <url>   SQS endpoint (local emulators); also AWS_ENDPOINT_URL_SQS (DynamoDB:
                         AWS_ENDPOINT_URL_DYNAMODB)
  --region <name>        default: AWS_REGION
  -h, --help             this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      max: { type: 'string' },
      'move-task': { type: 'boolean', default: false },
      'failed-verdicts': { type: 'boolean', default: false },
      table: { type: 'string' },
      since: { type: 'string' },
      etag: { type: 'boolean', default: false },
      status: { type: 'boolean', default: false },
      depth: { type: 'boolean', default: false },
      'from-arn': { type: 'string' },
      'to-arn': { type: 'string' },
      'max-per-second': { type: 'string' },
      'endpoint-url': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const endpoint = values['endpoint-url'] ?? process.env.AWS_ENDPOINT_URL_SQS;
  const sqs = new SQSClient({
    region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
    // Emulators name queues by URLs whose host is not theirs: send to the endpoint, not the URL.
    ...(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {}),
  });
  const print = (result: unknown) => process.stdout.write(`${JSON.stringify(result)}\n`);
  const need = (name: string, value: string | undefined): string => {
    if (!value) throw new UsageError(`--${name} is required here`);
    return value;
  };

  if (values.status) {
    print((await moveTaskStatus(sqs, need('from-arn', values['from-arn']))) ?? { status: 'no move task' });
    return 0;
  }
  if (values.depth) {
    print(await queueDepth(sqs, need('from', values.from)));
    return 0;
  }
  if (values['move-task']) {
    const perSecond = values['max-per-second'] ? Number(values['max-per-second']) : undefined;
    const taskHandle = await startMoveTask({
      sqs,
      sourceArn: need('from-arn', values['from-arn']),
      destinationArn: values['to-arn'],
      maxPerSecond: perSecond,
    });
    print({ taskHandle });
    return 0;
  }
  const max = values.max ? Number(values.max) : undefined;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new UsageError(`--max must be a positive integer, got ${values.max}`);
  }
  if (values['failed-verdicts']) {
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: values.region ?? process.env.AWS_REGION ?? 'us-east-1' }),
    );
    const result = await redriveFailedVerdicts({
      doc,
      tableName: need('table', values.table),
      sqs,
      to: need('to', values.to),
      since: values.since,
      max,
      versionField: values.etag ? 'eTag' : 'versionId',
    });
    print(result);
    return result.failed > 0 ? 1 : 0;
  }
  const result = await redriveByCopy({
    sqs,
    from: need('from', values.from),
    to: need('to', values.to),
    max,
    onProgress: (moved) => process.stderr.write(`moved ${moved}…\n`),
  });
  print(result);
  return result.failed > 0 ? 1 : 0;
}

class UsageError extends Error {
  override name = 'UsageError';
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      err instanceof UsageError
        ? `error: ${err.message}\n\n${USAGE}\n`
        : `error: ${(err as Error).stack ?? err}\n`,
    );
    process.exit(2);
  },
);
