import { z } from 'zod';
import { ONE_CLICK_SOURCE_ID } from '../../shared';
import type { SourcePermissions } from './permissions';
import { decodeWebhookSecret, type SourceKey } from './signature';

/**
 * An ingest source: one external system that posts events, with the Standard
 * Webhooks secrets it signs with and the Segment write keys it may use. Several
 * secrets/keys are allowed at once so they can be rotated.
 */
export const IngestSourceSchema = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, 'source id must be 1-64 characters of a-z, 0-9 and -')
    // Rapport's own link's source: its events apply to a live profile only, and no sender may pass for it.
    .refine((id) => id !== ONE_CLICK_SOURCE_ID, `source id "${ONE_CLICK_SOURCE_ID}" is reserved for Rapport's one-click unsubscribe link and preference page`),
  webhookSecrets: z.array(z.string().min(1)).default([]),
  writeKeys: z.array(z.string().min(8, 'write keys must be at least 8 characters')).default([]),
  /** Event names it may send (see `SourcePermissions`). @default every event */
  events: z.array(z.string().min(1)).optional(),
  /** Identify traits (and `consent.<channel>`) it may set. @default every trait */
  traits: z.array(z.string().min(1)).optional(),
});
export type IngestSource = z.input<typeof IngestSourceSchema>;

/** What the request path needs to authenticate: HMAC keys and write keys, each tied to its source. */
export interface SourceCredentials {
  keys: SourceKey[];
  writeKeys: ReadonlyMap<string, string>;
  /**
   * Sources disabled by a bad configuration (a malformed secret, an unreadable Secrets Manager
   * secret), by id, with the reason. The others keep working; a disabled source's requests are
   * refused with a 503 (retry once it is fixed): a webhook whose signature matches no readable source's
   * secret while any source is disabled (it may be theirs), a write key of theirs (see `unreadable`).
   */
  broken?: ReadonlyMap<string, string>;
  /** Write keys of disabled sources, by key: their requests get a 503 (retry once it is fixed), not a 401. */
  disabledWriteKeys?: ReadonlyMap<string, string>;
  /**
   * Sources whose configuration could not be read at all (by id, with why): their write keys are
   * unknown, so a request with a key no source claims may be theirs and gets a 503 (retry), not a 401.
   */
  unreadable?: ReadonlyMap<string, string>;
  /** What each source may send, by id; a source without an entry may send everything. */
  permissions?: ReadonlyMap<string, SourcePermissions>;
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

/**
 * Validate sources and decode their secrets once. A source with a bad secret is disabled alone,
 * loudly (`broken`, naming it and the reason): the other sources keep working. `unreadable` names
 * sources whose configuration could not be loaded at all (e.g. Secrets Manager refused), with why.
 * Two sources with one id is a deployment error and throws.
 */
export function compileSources(sources: readonly IngestSource[], unreadable: ReadonlyMap<string, string> = new Map()): SourceCredentials {
  const keys: SourceKey[] = [];
  const writeKeys = new Map<string, string>();
  const broken = new Map(unreadable);
  const disabledWriteKeys = new Map<string, string>();
  const permissions = new Map<string, SourcePermissions>();
  const seen = new Set<string>(unreadable.keys());
  for (const raw of sources) {
    if (seen.has(raw.id)) throw new SourceConfigError(`source "${raw.id}" is configured twice`);
    seen.add(raw.id);
    const parsed = IngestSourceSchema.safeParse(raw);
    if (!parsed.success) {
      broken.set(raw.id, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      for (const writeKey of Array.isArray(raw.writeKeys) ? raw.writeKeys : []) if (typeof writeKey === 'string' && !writeKeys.has(writeKey)) disabledWriteKeys.set(writeKey, raw.id);
      continue;
    }
    const source = parsed.data;
    const problems: string[] = [];
    const sourceKeys: SourceKey[] = [];
    source.webhookSecrets.forEach((secret, index) => {
      try {
        sourceKeys.push({ sourceId: source.id, key: decodeWebhookSecret(secret) });
      } catch (e) {
        problems.push(`webhookSecrets[${index}]: ${(e as Error).message}`);
      }
    });
    for (const writeKey of source.writeKeys) {
      const owner = writeKeys.get(writeKey);
      if (owner !== undefined) problems.push(`a write key is also source "${owner}"'s`);
    }
    if (problems.length > 0) {
      broken.set(source.id, problems.join('; '));
      for (const writeKey of source.writeKeys) if (!writeKeys.has(writeKey)) disabledWriteKeys.set(writeKey, source.id);
      continue;
    }
    keys.push(...sourceKeys);
    if (source.events !== undefined || source.traits !== undefined) {
      permissions.set(source.id, { ...(source.events !== undefined && { events: source.events }), ...(source.traits !== undefined && { traits: source.traits }) });
    }
    for (const writeKey of source.writeKeys) writeKeys.set(writeKey, source.id);
  }
  // A write key of a disabled source that a healthy source also has is the healthy one's.
  for (const writeKey of writeKeys.keys()) disabledWriteKeys.delete(writeKey);
  return { keys, writeKeys, broken, disabledWriteKeys, permissions, unreadable: new Map(unreadable) };
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

export function sourceFromSecretValue(id: string, value: unknown, permissions: SourcePermissions = {}): IngestSource {
  const parsed = SourceSecretValueSchema.safeParse(value);
  if (!parsed.success) {
    throw new SourceConfigError(`secret of source "${id}" must be JSON {"webhookSecrets": [...], "writeKeys": [...]}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { webhookSecret, webhookSecrets, writeKeys } = parsed.data;
  const all = webhookSecret ? [...webhookSecrets, webhookSecret.startsWith('whsec_') ? webhookSecret : `whsec_${webhookSecret}`] : webhookSecrets;
  return {
    id,
    webhookSecrets: all,
    writeKeys,
    ...(permissions.events !== undefined && { events: [...permissions.events] }),
    ...(permissions.traits !== undefined && { traits: [...permissions.traits] }),
  };
}
