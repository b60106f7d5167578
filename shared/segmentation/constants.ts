/** One day, as the segmentation rules count it: 24 hours of UTC time (no calendar, no DST). */
export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const WEEK_MS = 7 * DAY_MS;

/**
 * How far back a profile's `recentEvents` reach. Event conditions never look
 * further back than this, even without `within`, so a rule gives the same
 * answer whether or not the profile consumer has pruned the list yet.
 * Must equal the profile consumer's retention (functions/profile, RECENT_EVENTS_DAYS).
 */
export const RECENT_EVENTS_WINDOW_DAYS = 90;
export const RECENT_EVENTS_WINDOW_MS = RECENT_EVENTS_WINDOW_DAYS * DAY_MS;

/**
 * The longest `within` a condition may ask for: a year. The profile keeps the events such a condition reads
 * that long (its retention spec, `recentEventsSpec`); other events, and conditions without `within`, 90 days.
 */
export const EVENT_WINDOW_MAX_DAYS = 365;
export const EVENT_WINDOW_MAX_MS = EVENT_WINDOW_MAX_DAYS * DAY_MS;

/** At most this many tag rules in tags.yaml: each may publish one Tag Added or Removed per event (see DERIVED_EVENTS_MAX). */
export const TAG_RULES_MAX = 100;

/** At most this many recent events are kept on a profile (newest first). */
export const RECENT_EVENTS_MAX = 200;

/** File names of the segmentation settings inside the config folder (`RAPPORT_CONFIG_DIR`, `workflows/`). */
export const SEGMENTATION_FILES = {
  tags: 'tags.yaml',
  config: 'segmentation.config.yaml',
} as const;
