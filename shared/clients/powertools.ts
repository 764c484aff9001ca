import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { redactingReplacer } from '../logging/redact.ts';

/** One logger, metrics and tracer per process; service name and namespace come from POWERTOOLS_* env. */
// The replacer blanks content-bearing fields (text, excerpt, …) whatever a log call hands over.
export const logger = new Logger({ serviceName: 'moderation', jsonReplacerFn: redactingReplacer });
export const metrics = new Metrics({ namespace: 'ModerationPipeline', serviceName: 'moderation' });
export const tracer = new Tracer({ serviceName: 'moderation' });
