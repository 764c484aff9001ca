/** `npm run openapi` — writes docs/openapi.json from the API's schemas (a test checks it is current). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openApiDocument } from '#shared/api/openapi.ts';

export const OPENAPI_PATH = join(import.meta.dirname, '..', 'docs', 'openapi.json');

export const formatOpenApi = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (process.argv[1] === import.meta.filename) {
  await writeFile(OPENAPI_PATH, formatOpenApi());
  process.stderr.write(`wrote ${OPENAPI_PATH}\n`);
}
