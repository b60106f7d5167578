import { z } from 'zod';
import { ConditionSchema } from './conditions';
import { JourneySchema } from './schema';

/** The JSON Schema of a journey file, for editor completion (yaml-language-server) and external tools. */
export function journeyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(JourneySchema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      // Branch conditions are checked by the segmentation schema; an editor can at least tell they are mappings.
      if (ctx.zodSchema === ConditionSchema) ctx.jsonSchema.type = 'object';
    },
  });
}
