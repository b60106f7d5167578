/** `npm run schema`: writes the contract's JSON Schemas to shared/contract/schema/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { broadcastJsonSchema } from '../broadcasts/schema';
import { segmentsJsonSchema } from '../segmentation/segments-file';
import { topicsJsonSchema } from '../topics/schema';
import { contractJsonSchemas } from './json-schema';

const dir = join(import.meta.dirname, 'schema');
mkdirSync(dir, { recursive: true });
for (const [file, schema] of Object.entries(contractJsonSchemas())) {
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${join('shared/contract/schema', file)}`);
}
// For editors of workflows/segments.yaml (the segmentation module depends on the contract, so it is written here).
writeFileSync(join(dir, 'segments.schema.json'), `${JSON.stringify(segmentsJsonSchema(), null, 2)}\n`);
console.log('wrote shared/contract/schema/segments.schema.json');
// For editors of workflows/broadcasts.d/<id>.yaml (and the body of POST /v1/broadcasts).
writeFileSync(join(dir, 'broadcast.schema.json'), `${JSON.stringify(broadcastJsonSchema(), null, 2)}\n`);
console.log('wrote shared/contract/schema/broadcast.schema.json');
// For editors of workflows/topics.yaml.
writeFileSync(join(dir, 'topics.schema.json'), `${JSON.stringify(topicsJsonSchema(), null, 2)}\n`);
console.log('wrote shared/contract/schema/topics.schema.json');
