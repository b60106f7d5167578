import { profileTags, type Profile } from '../profile';

/**
 * What a message template sees of the customer: `profile`, one view shared by
 * the step runtime (which renders it) and `rapport validate` (which checks that
 * a template reads only what is there). Bookkeeping (consent records, recent
 * events, trait times) is not part of it.
 */
export const TEMPLATE_PROFILE_FIELDS = ['id', 'traits', 'stats', 'lifecycleStage', 'rfm', 'tags', 'firstSeenAt', 'lastSeenAt'] as const;
export type TemplateProfileField = (typeof TEMPLATE_PROFILE_FIELDS)[number];

/** `profile` as a template sees it: `tags` holds every tag (rules', senders', journeys'), sorted. */
export function templateProfile(profile: Profile | undefined, customerId: string): Partial<Record<TemplateProfileField, unknown>> {
  if (profile === undefined) return { id: customerId, traits: {}, tags: [] };
  return {
    id: profile.id,
    traits: profile.traits,
    stats: profile.stats,
    lifecycleStage: profile.lifecycleStage,
    rfm: profile.rfm,
    tags: [...profileTags(profile)].sort(),
    firstSeenAt: profile.firstSeenAt,
    lastSeenAt: profile.lastSeenAt,
  };
}

/**
 * The customer's locale, which picks a template's locale variant: the `locale` trait (`fr`, `zh-TW`, `zh_TW`).
 * Segment clients send `context.locale` on every call; ingest keeps it as the trait when the trait is absent.
 */
export function customerLocale(profile: Pick<Profile, 'traits'> | undefined): string | undefined {
  const locale = profile?.traits.locale;
  return typeof locale === 'string' && locale.trim() !== '' ? locale : undefined;
}
