/**
 * The inference server alone in its own process, as on SageMaker (the Lambda is another machine):
 * prints `{"url": …}` once every model has loaded, and stops when its stdin closes.
 */
import { startInferenceServer } from '#model-artifacts/server/server.ts';

const modelsDir = process.argv[2] ?? 'model-artifacts/models';
const server = await startInferenceServer({ modelsDir, port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: server.url, batching: server.stats() })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
