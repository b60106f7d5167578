import { z } from 'zod';
import { decodeWebhookSecret, type SourceKey } from './signature';

/**
 * An ingest source: one external system that posts events, with the Standard
 * Webhooks secrets it signs with and the Segment write keys it may use. Several
 * secrets/keys are allowed at once so they can be rotated.
 */
export const IngestSourceSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/, 'source id must be 1-64 characters of a-z, 0-9 and -'),
  webhookSecrets: z.array(z.string().min(1)).default([]),
  writeKeys: z.array(z.string().min(8, 'write keys must be at least 8 characters')).default([]),
});
export type IngestSource = z.input<typeof IngestSourceSchema>;

/** What the request path needs to authenticate: HMAC keys and write keys, each tied to its source. */
export interface SourceCredentials {
  keys: SourceKey[];
  writeKeys: ReadonlyMap<string, string>;
}

/** Port: where source credentials come from (Secrets Manager in AWS, env/config in the embedded engine). */
export interface SourceProvider {
  load(): Promise<SourceCredentials>;
}

export class SourceConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceConfigError';
  }
}

/** Validate sources and decode their secrets once; a bad secret fails loudly naming its source. */
export function compileSources(sources: readonly IngestSource[]): SourceCredentials {
  const keys: SourceKey[] = [];
  const writeKeys = new Map<string, string>();
  const seen = new Set<string>();
  for (const raw of sources) {
    const parsed = IngestSourceSchema.safeParse(raw);
    if (!parsed.success) throw new SourceConfigError(`source ${JSON.stringify(raw.id)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const source = parsed.data;
    if (seen.has(source.id)) throw new SourceConfigError(`source "${source.id}" is configured twice`);
    seen.add(source.id);
    for (const secret of source.webhookSecrets) {
      try {
        keys.push({ sourceId: source.id, key: decodeWebhookSecret(secret) });
      } catch (e) {
        throw new SourceConfigError(`source "${source.id}": ${(e as Error).message}`);
      }
    }
    for (const writeKey of source.writeKeys) {
      const owner = writeKeys.get(writeKey);
      if (owner !== undefined && owner !== source.id) throw new SourceConfigError(`a write key is shared by sources "${owner}" and "${source.id}"`);
      writeKeys.set(writeKey, source.id);
    }
  }
  return { keys, writeKeys };
}

export const staticSources = (sources: readonly IngestSource[]): SourceProvider => {
  const compiled = compileSources(sources);
  return { load: async () => compiled };
};

/**
 * The value stored in each source's Secrets Manager secret. The CDK stack seeds
 * `webhookSecret` with 32 random base64 characters; it is used as `whsec_<value>`.
 */
export const SourceSecretValueSchema = z.object({
  webhookSecret: z.string().optional(),
  webhookSecrets: z.array(z.string()).default([]),
  writeKeys: z.array(z.string()).default([]),
});

export function sourceFromSecretValue(id: string, value: unknown): IngestSource {
  const parsed = SourceSecretValueSchema.safeParse(value);
  if (!parsed.success) {
    throw new SourceConfigError(`secret of source "${id}" must be JSON {"webhookSecrets": [...], "writeKeys": [...]}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { webhookSecret, webhookSecrets, writeKeys } = parsed.data;
  const all = webhookSecret ? [...webhookSecrets, webhookSecret.startsWith('whsec_') ? webhookSecret : `whsec_${webhookSecret}`] : webhookSecrets;
  return { id, webhookSecrets: all, writeKeys };
}
