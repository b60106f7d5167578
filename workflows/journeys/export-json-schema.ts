/** `npx tsx workflows/journeys/export-json-schema.ts`: writes journey.schema.json next to this file. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journeyJsonSchema } from './json-schema';

const file = join(import.meta.dirname, 'journey.schema.json');
writeFileSync(file, `${JSON.stringify(journeyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
