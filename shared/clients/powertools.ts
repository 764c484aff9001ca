// First: it decides how the X-Ray SDK, loaded by the tracer below, starts.
import './xray-mode.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { readObservabilityEnv } from '#shared/contracts/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '#shared/contracts/metrics.ts';
import { redactingReplacer } from '#shared/logging/redact.ts';

/**
 * One logger, metrics and tracer per process. POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
 * (set per function by the stack) win over these defaults.
 */
const { serviceName, metricsNamespace } = readObservabilityEnv({
  serviceName: SERVICE_NAMES.moderate,
  metricsNamespace: METRICS_NAMESPACE,
});
// The replacer blanks content-bearing fields (text, excerpt, …) whatever a log call hands over.
export const logger = new Logger({ serviceName, jsonReplacerFn: redactingReplacer });
export const metrics = new Metrics({
  namespace: metricsNamespace,
  serviceName,
});
export const tracer = new Tracer({ serviceName });
