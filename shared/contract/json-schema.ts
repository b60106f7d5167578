import { z } from 'zod';
import { BatchEnvelopeSchema, IncomingEventSchema, NormalisedEventSchema } from './events';
import { CONTRACT_EVENT_PROPERTIES } from './known-events';
import { TrackingPlanFileSchema } from './tracking-plan';

/** JSON Schemas generated from the zod contract, for external integrators. */
export function contractJsonSchemas(): Record<string, unknown> {
  const io = { io: 'input', unrepresentable: 'any' } as const;
  return {
    'event.schema.json': z.toJSONSchema(IncomingEventSchema, io),
    'batch.schema.json': z.toJSONSchema(BatchEnvelopeSchema, io),
    'normalised-event.schema.json': z.toJSONSchema(NormalisedEventSchema, { unrepresentable: 'any' }),
    // For editors of workflows/tracking-plan.yaml (yaml-language-server).
    'tracking-plan.schema.json': z.toJSONSchema(TrackingPlanFileSchema, io),
    'known-event-properties.schema.json': {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Properties of the consent events (the other known events are checked by the tracking plan)',
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(CONTRACT_EVENT_PROPERTIES).map(([name, schema]) => [name, z.toJSONSchema(schema, io)]),
      ),
    },
  };
}
