/**
 * The step payload contract: what the journey compiler (workflows/journeys/compile.ts) writes into each Task's
 * `Payload.config` and the step runner (functions/journeys/steps.ts) reads back, as one zod discriminated union on
 * `action`. The compiler's configs are typed by it (`StepConfigInput`); the runner parses a step's config with it
 * once its `{{ trigger.x }}` references are resolved.
 *
 * @example
 * ```json
 * { "action": "send", "config": { "channel": "sms", "template": "vip-offer", "kind": "marketing", "fallback": "email" } }
 * ```
 */
import { z } from 'zod';
import { FALLBACK_CHANNELS, SEND_CHANNELS, VARIANT_CHANNELS } from '../channels';

const Kind = z.enum(['marketing', 'transactional']);
const TopicState = z.enum(['subscribed', 'unsubscribed']);

/** A send step: one message on a channel (or an experiment's variant), with its policy and fallback. */
export const SendConfigSchema = z.object({
  channel: z.enum(SEND_CHANNELS),
  template: z.string(),
  kind: Kind.default('marketing'),
  /** Channel webhook: the configured outbound webhook. */
  target: z.string().optional(),
  frequencyCapMaxDelaySeconds: z.number().int().nonnegative().optional(),
  topic: z.string().optional(),
  topicDefault: z.object({ 'opt-out': TopicState, 'opt-in': TopicState }).optional(),
  variants: z.array(z.object({ id: z.string(), channel: z.enum(VARIANT_CHANNELS), template: z.string(), weight: z.number().int().positive() })).min(1).optional(),
  fallback: z.enum(FALLBACK_CHANNELS).optional(),
});
export const WebhookConfigSchema = z.object({ target: z.string(), template: z.string() });
export const BranchConfigSchema = z.object({ branches: z.array(z.union([z.object({ when: z.unknown(), next: z.string() }), z.object({ else: z.string() })])) });
export const SplitConfigSchema = z.object({ arms: z.array(z.object({ percent: z.number(), next: z.string() })) });
export const WaitUntilConfigSchema = z.object({ time: z.string(), days: z.array(z.string()).optional() });
export const AwaitConfigSchema = z.object({ event: z.string(), where: z.record(z.string(), z.unknown()).optional(), sinceTrigger: z.boolean().optional() });
export const TagConfigSchema = z.object({ add: z.string().optional(), remove: z.string().optional() });
export const UpdateConfigSchema = z.object({ trait: z.string().min(1), value: z.union([z.string(), z.number(), z.boolean(), z.null()]) });
export const AudienceConfigSchema = z.record(z.string(), z.unknown());
/** The Catch of a send or webhook step: that step's own config (its channel, template, kind and target). */
export const RecordFailureConfigSchema = z.object({ channel: z.enum(SEND_CHANNELS).default('webhook'), template: z.string(), kind: Kind.default('transactional'), target: z.string().optional() });

/** Every action a step Task asks of the step runner, with its config. */
export const StepCallSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('send'), config: SendConfigSchema }),
  z.object({ action: z.literal('branch'), config: BranchConfigSchema }),
  z.object({ action: z.literal('split'), config: SplitConfigSchema }),
  z.object({ action: z.literal('tag'), config: TagConfigSchema }),
  z.object({ action: z.literal('update'), config: UpdateConfigSchema }),
  z.object({ action: z.literal('webhook'), config: WebhookConfigSchema }),
  z.object({ action: z.literal('waitUntil'), config: WaitUntilConfigSchema }),
  z.object({ action: z.literal('await'), config: AwaitConfigSchema }),
  z.object({ action: z.literal('audience'), config: AudienceConfigSchema }),
  z.object({ action: z.literal('recordFailure'), config: RecordFailureConfigSchema }),
]);
export type StepCall = z.infer<typeof StepCallSchema>;
export type StepAction = StepCall['action'];
/** The actions, in the contract's order. */
export const STEP_ACTIONS = StepCallSchema.options.map((o) => o.shape.action.value) as unknown as readonly [StepAction, ...StepAction[]];
/** A step's config as the compiler writes it (defaults may be left out). */
export type StepConfigInput<A extends StepAction> = z.input<Extract<(typeof StepCallSchema)['options'][number], { shape: { action: z.ZodLiteral<A> } }>>['config'];
/** A step's config as the runner reads it (defaults applied). */
export type StepConfig<A extends StepAction> = Extract<StepCall, { action: A }>['config'];
export type SendConfig = StepConfig<'send'>;
