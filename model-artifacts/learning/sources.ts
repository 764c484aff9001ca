/**
 * Where reviewer decisions are read from: a JSONL export of verdicts (one `GET /v1/verdicts/{id}`
 * body per line), or the verdict table itself (a paginated Scan of the items a person decided).
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type DecisionVerdict, parseDecisionVerdict } from './decisions.ts';

/** Every item of `table` with a `review`, parsed; items that are not verdicts fail loudly. */
export async function scanDecisions(doc: DynamoDBDocumentClient, table: string): Promise<DecisionVerdict[]> {
  const out: DecisionVerdict[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'attribute_exists(#review)',
        ExpressionAttributeNames: { '#review': 'review' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? [])
      out.push(parseDecisionVerdict(item, `${table} item ${String(item.pk)}`));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
