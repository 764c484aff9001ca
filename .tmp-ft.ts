import { fileTypeFromBuffer } from 'file-type';
import { readFile, readdir } from 'node:fs/promises';
for (const f of await readdir('/tmp/fmt')) console.log(f, JSON.stringify(await fileTypeFromBuffer(await readFile('/tmp/fmt/' + f))));
