/**
 * Entry point of the inference server (`npm run serve`, and the GPU image's command). SageMaker
 * starts the container with the argument `serve`, which is accepted and ignored; configuration
 * comes from the environment (config.ts). On SIGTERM the server stops accepting connections,
 * answers /ping with 503, finishes queued and in-flight requests, then exits.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { serverConfigFromEnv, serverOptions } from './config.ts';
import { startInferenceServer } from './server.ts';

const logger = new Logger({ serviceName: 'inference-server' });

async function main(): Promise<void> {
  const config = serverConfigFromEnv();
  logger.info('starting inference server', {
    modelsDir: config.modelsDir,
    executionProviders: config.session.executionProviders,
    batching: config.batching,
  });
  const server = await startInferenceServer({ ...serverOptions(config), logger });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting with requests in flight', {
        timeoutMs: config.shutdownTimeoutMs,
      });
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err as Error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  logger.error('inference server failed to start', { error: err as Error });
  process.exit(1);
});
