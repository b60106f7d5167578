import { z } from 'zod';
import { CHANNELS, LIFECYCLE_STAGES, type EventPattern } from '../../shared';

const Pattern = z.record(z.string(), z.unknown()).transform((pattern) => pattern as EventPattern);

/** One journey in `journeys.json`: the `JourneySpec` the compiler's output provides (no ASL). */
export const JourneySpecSchema = z.strictObject({
  id: z.string().min(1),
  version: z.number().int().positive(),
  triggerPatterns: z.array(Pattern).min(1),
  triggerMaxAgeSeconds: z.number().int().positive().nullable().optional(),
  goalPatterns: z.array(Pattern),
  exitPatterns: z.array(Pattern),
  audience: z
    .strictObject({
      tags: z.strictObject({ include: z.array(z.string()).optional(), exclude: z.array(z.string()).optional() }).optional(),
      lifecycle: z.array(z.enum(LIFECYCLE_STAGES)).optional(),
      consent: z.enum(CHANNELS).optional(),
    })
    .optional(),
  reentry: z.union([z.literal('never'), z.literal('always'), z.strictObject({ afterSeconds: z.number().int().positive() })]),
  concurrencyKey: z.string().min(1).optional(),
  triggerProperties: z.array(z.string()),
  branchConditions: z.array(z.unknown()).optional(),
  awaitedEvents: z.array(z.string().min(1)).optional(),
  attribution: z.strictObject({ event: z.string().min(1), value: z.string().min(1).optional(), windowSeconds: z.number().int().positive() }).optional(),
  maxRunSeconds: z.number().int().nonnegative().optional(),
});
