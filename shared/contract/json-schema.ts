import { z } from 'zod';
import { BatchEnvelopeSchema, IncomingEventSchema, NormalisedEventSchema } from './events';
import { KNOWN_EVENT_PROPERTIES } from './known-events';

/** JSON Schemas generated from the zod contract, for external integrators. */
export function contractJsonSchemas(): Record<string, unknown> {
  const io = { io: 'input', unrepresentable: 'any' } as const;
  return {
    'event.schema.json': z.toJSONSchema(IncomingEventSchema, io),
    'batch.schema.json': z.toJSONSchema(BatchEnvelopeSchema, io),
    'normalised-event.schema.json': z.toJSONSchema(NormalisedEventSchema, { unrepresentable: 'any' }),
    'known-event-properties.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Properties of the events Rapport knows by name',
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(KNOWN_EVENT_PROPERTIES).map(([name, schema]) => [name, z.toJSONSchema(schema, io)]),
      ),
    },
  };
}
