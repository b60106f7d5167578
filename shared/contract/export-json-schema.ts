/** `npm run schema`: writes the contract's JSON Schemas to shared/contract/schema/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractJsonSchemas } from './json-schema';

const dir = join(import.meta.dirname, 'schema');
mkdirSync(dir, { recursive: true });
for (const [file, schema] of Object.entries(contractJsonSchemas())) {
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${join('shared/contract/schema', file)}`);
}
