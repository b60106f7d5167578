import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileJourney, loadJourney, loadJourneysFromDir, type CompiledJourney, type Journey, type JourneyProblem } from '../../../workflows/journeys';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const JOURNEYS_DIR = join(ROOT, 'workflows', 'journeys.d');
export const TEMPLATES_DIR = join(ROOT, 'workflows', 'templates');
export const STEP_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:rapport-steps';
export const WEBHOOK_TARGETS = ['support', 'supervisor'];

/** Templates available to the in-memory journeys of the language tests. */
export const TEMPLATES = ['hello.email', 'hello.sms', 'offer.email', 'ticket.webhook', 'partner.webhook'];

type AslValidator = (definition: unknown, options?: { checkArn?: boolean; checkPaths?: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };
/** asl-validator ships no types; it also mutates the definition (adds QueryLanguage), so it gets a copy. */
export function validateAsl(definition: unknown): { isValid: boolean; errors: string } {
  const validator = createRequire(import.meta.url)('asl-validator') as AslValidator;
  const { isValid, errorsText } = validator(structuredClone(definition), { checkArn: true, checkPaths: true });
  return { isValid, errors: errorsText('\n') };
}

/** Load a journey from text; the file is named after the id so the id check passes. */
export function load(text: string, file = 'test.yaml') {
  return loadJourney(text, file, { templates: TEMPLATES, webhookTargets: ['support', 'partner'] });
}

export function loadOk(text: string, file = 'test.yaml'): Journey {
  const result = load(text, file);
  if (!result.ok) throw new Error(`expected the journey to load:\n${result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`).join('\n')}`);
  return result.journey;
}

export function loadErrors(text: string, file = 'test.yaml'): JourneyProblem[] {
  const result = load(text, file);
  if (result.ok) throw new Error('expected the journey to be refused');
  return result.errors;
}

export function compileTest(journey: Journey): CompiledJourney {
  return compileJourney(journey, { stepFunctionArn: STEP_ARN, templates: TEMPLATES, webhookTargets: ['support', 'partner'] });
}

/** The built-in journeys, compiled, by id. */
export function builtIn(): Record<string, CompiledJourney & { journey: Journey }> {
  const { journeys, catalog } = loadJourneysFromDir(JOURNEYS_DIR, TEMPLATES_DIR, { webhookTargets: WEBHOOK_TARGETS });
  return Object.fromEntries(
    journeys.map(({ journey }) => [journey.id, { ...compileJourney(journey, { stepFunctionArn: STEP_ARN, ...catalog, webhookTargets: WEBHOOK_TARGETS }), journey }]),
  );
}

/** A bus event as EventBridge delivers it to a rule. */
export function busEvent(event: string, properties: Record<string, unknown> = {}, source = 'rapport.ingest') {
  return {
    version: '0',
    id: 'evt-1',
    source,
    account: '123456789012',
    time: '2026-11-23T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    'detail-type': event,
    detail: { specVersion: 1, type: 'track', messageId: 'm-1', userId: 'cust-1', event, properties, traits: {}, context: {}, timestamp: '2026-11-23T10:00:00Z', receivedAt: '2026-11-23T10:00:00Z', sourceId: 'default' },
  };
}
