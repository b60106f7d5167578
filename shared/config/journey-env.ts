/**
 * Names of the environment variables of the journey functions (starter, step,
 * run-ended) and of the profile consumer's journey router, shared between the
 * CDK stack (which sets them) and `functions/journeys/aws.ts` (which reads
 * them). The variables both legs use (table, bus, config folder, consent mode,
 * unsubscribe secret, public URL) are in `ENV` (`shared/config/env.ts`).
 */
export const JOURNEY_ENV = {
  /**
   * The state machine ARN of every journey without its journey id: a journey's state machine
   * is this prefix followed by the id, `arn:aws:states:eu-west-1:123456789012:stateMachine:Rapport-dev_`
   * + `welcome`. One value for any number of journeys (Lambda allows 4 KB of variables in all).
   */
  STATE_MACHINE_ARN_PREFIX: 'RAPPORT_STATE_MACHINE_ARN_PREFIX',
  /** Path of `journeys.json`: what the starter and the router need of each compiled journey (written at synth, bundled). */
  JOURNEYS_FILE: 'RAPPORT_JOURNEYS_FILE',
  /** Folder of the message templates (`<template>.<channel>.liquid`, bundled). */
  TEMPLATES_DIR: 'RAPPORT_TEMPLATES_DIR',
  /**
   * Folder of the kept journey releases (`<journey>/v<version>/<template files>`): the templates a run of an
   * older journey version renders. Unset (as synth leaves it, saving the 4 KB of variables): the bundle's `releases/`.
   */
  RELEASES_DIR: 'RAPPORT_RELEASES_DIR',
  /** Sender of journey emails: an address of a verified SES identity. */
  EMAIL_FROM_ADDRESS: 'RAPPORT_EMAIL_FROM_ADDRESS',
  /** SES configuration set journey emails are sent with (event publishing, dedicated IPs); unset: none. */
  EMAIL_CONFIGURATION_SET: 'RAPPORT_EMAIL_CONFIGURATION_SET',
  /** End User Messaging origination identity (ARN of a phone number, pool or sender id); unset: no SMS. */
  SMS_ORIGINATION_IDENTITY: 'RAPPORT_SMS_ORIGINATION_IDENTITY',
  /** End User Messaging Social origination phone number id (`phone-number-id-...`) WhatsApp is sent from; unset: no WhatsApp. */
  WHATSAPP_PHONE_NUMBER_ID: 'RAPPORT_WHATSAPP_PHONE_NUMBER_ID',
  /** The Meta Cloud API version WhatsApp messages are written for (`v20.0`). */
  WHATSAPP_META_API_VERSION: 'RAPPORT_WHATSAPP_META_API_VERSION',
  /** SNS platform application (`arn:aws:sns:...:app/<platform>/<name>`) whose endpoints pushes go to; unset: no push. */
  PUSH_PLATFORM_APPLICATION_ARN: 'RAPPORT_PUSH_PLATFORM_APPLICATION_ARN',
  /**
   * JSON object: the outbound webhooks by name, `{ "support": { "url": "https://...", "secretArn": "arn:..." } }`.
   * Each secret's value is the Standard Webhooks secret (`whsec_<base64>`, or the base64 alone) as plain text.
   */
  OUTBOUND_WEBHOOK_TARGETS: 'RAPPORT_OUTBOUND_WEBHOOK_TARGETS',
  /**
   * JSON object: the send policy besides the consent mode,
   * `{ "frequencyCap": 3, "frequencyWindowDays": 7, "frequencyCapMaxDelayDays": 3, "quietHours": { "start": "21:00", "end": "08:00" } | null, "defaultTimeZone": "UTC" }`.
   */
  SEND_POLICY: 'RAPPORT_SEND_POLICY',
} as const;

export type JourneyEnvName = (typeof JOURNEY_ENV)[keyof typeof JOURNEY_ENV];

/**
 * Where synth puts the journey files in a function's bundle, and where the
 * functions find them when the variables above do not say otherwise
 * (relative to the bundle's root, `/var/task` in Lambda).
 */
export const JOURNEY_BUNDLE = {
  /** Folder holding `journeys.json`. */
  journeysFolder: 'journeys',
  journeysFile: 'journeys.json',
  /** Folder holding the `*.liquid` templates. */
  templatesFolder: 'templates',
  /** Folder holding the kept releases of older journey versions, `<journey>/v<version>/*.liquid`. */
  releasesFolder: 'releases',
} as const;

/**
 * The alias each journey's state machine is started through: `<state machine ARN>:live`. Every deploy that
 * changes a journey publishes a state machine version and points this alias at it (100%), so new runs take the
 * new definition while runs in flight finish on the version they started on (Step Functions keeps an execution
 * on the version it started with). Executions, their ARNs and IAM stay the state machine's (unqualified).
 */
export const JOURNEY_ALIAS = 'live';

/** Version of the `journeys.json` format; the loader refuses any other. */
export const JOURNEYS_FILE_FORMAT = 1;
