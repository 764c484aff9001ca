/**
 * The local stand-in for the event bus: each decision event appended as one JSON line to
 * `<data dir>/events.jsonl` (what EventBridge would deliver, `detail-type` and `detail`), and, as
 * the stack's rule does on AWS, handed on to the webhook queue (`forward`).
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DECISION_EVENT, type DecisionDetail, type DecisionEvents } from '#shared/review/events.ts';

export interface LocalEvent {
  time: string;
  source: string;
  'detail-type': string;
  detail: DecisionDetail;
}

export const eventLogPath = (dataDir: string) => join(dataDir, 'events.jsonl');

export function localEventLog(
  dataDir: string,
  /** Where the rule sends each event (the webhook queue). @default nowhere */
  forward?: (event: LocalEvent) => Promise<void>,
): DecisionEvents {
  return {
    async publish(detail) {
      const event: LocalEvent = {
        time: new Date().toISOString(),
        source: DECISION_EVENT.source,
        'detail-type': DECISION_EVENT.detailType,
        detail,
      };
      await appendFile(eventLogPath(dataDir), `${JSON.stringify(event)}\n`);
      await forward?.(event);
    },
  };
}

export async function readEventLog(dataDir: string): Promise<LocalEvent[]> {
  const text = await readFile(eventLogPath(dataDir), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LocalEvent);
}
