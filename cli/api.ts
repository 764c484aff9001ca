/**
 * `npm run api -- [--port N] [--data-dir DIR] [--policy P]` — the synchronous moderation API
 * (docs/API.md) on the embedded local stack, on 127.0.0.1, until interrupted. Uploads made through
 * the stack are moderated too, as with `npm start`; with --data-dir, verdicts persist across runs.
 */
import { parseArgs } from 'node:util';
import { eventLogPath } from '#local/event-log.ts';
import { ENV } from '#shared/contracts/env.ts';
import { MATCH_LIST_OPTIONS, MATCH_LIST_USAGE, matchListsOrReport } from './match-lists.ts';

const USAGE = `usage: npm run api -- [options]

Serves the moderation API (native /v1/moderate, OpenAI /v1/moderations, Perspective
/v1alpha1/comments:analyze, /v1/verdicts/{id}, /openapi.json), the review API and the review
console (/review/, docs/CONSOLE.md) on 127.0.0.1 over the embedded stack.
The key is MODERATION_API_KEY, or one generated and printed on stderr.

options:
  --port <n>         port (default 8787; 0 = any free port)
  --policy <name>    the key's policy preset: balanced (default), strict, lenient
  --data-dir <dir>   keep emulator data (verdicts, banks, kept model inputs) here (default: in memory,
                     until it stops); KEEP_INPUTS=text|none keeps less of what the models read (default all)
  --allow-fetch <h>  hosts (host or host:port, comma-separated) whose image URLs may be fetched
${MATCH_LIST_USAGE}
  --verbose          pipeline logs on stderr
  -h, --help         this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      policy: { type: 'string', default: 'balanced' },
      'data-dir': { type: 'string' },
      'allow-fetch': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...MATCH_LIST_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`error: --port must be a port number, got ${values.port}\n`);
    return 2;
  }
  const matchLists = await matchListsOrReport(values);
  if (!matchLists) return 2;
  if (values.verbose) process.env[ENV.logLevel] = 'INFO';
  const { startLocalStack } = await import('#local/stack.ts');
  const { startLocalApi } = await import('#local/api.ts');
  const stack = await startLocalStack({
    ...(values['data-dir'] && { dataDir: values['data-dir'] }),
    policyName: values.policy,
    matchLists,
  });
  const api = await startLocalApi(stack, {
    port,
    policyName: values.policy,
    ...(values['allow-fetch'] && {
      fetchAllowedHosts: values['allow-fetch'].split(',').map((h) => h.trim()),
    }),
  });
  if (api.generatedKey) process.stderr.write(`API key (set ${ENV.apiKey} to choose one): ${api.key}\n`);
  if (api.generatedReviewerKey)
    process.stderr.write(`reviewer key (set ${ENV.reviewerKey} to choose one): ${api.reviewerKey}\n`);
  process.stderr.write(`decision events: ${eventLogPath(stack.dataDir)}\n`);
  process.stderr.write(`review console: ${api.consoleUrl}\n`);
  process.stderr.write(`listening on ${api.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await api.close();
  await stack.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
