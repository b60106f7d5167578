import type { PartsFormat } from '../templates/parts';
import type { ChannelSpec } from './types';

/**
 * Mobile push: SNS mobile push (Publish to a platform endpoint: APNs, FCM) in AWS, the outbox in the embedded
 * engine. Address: the profile's `pushToken` trait, holding the customer's SNS platform endpoint ARN
 * (`arn:aws:sns:<region>:<account>:endpoint/<GCM|APNS|...>/<app>/<id>`), as the app registered it: another value, or
 * in AWS an endpoint of another platform application than the deployment's, is no address on push (the send is
 * skipped `invalid-address`, and a `fallback` takes over). Consent is push's own (`consent.push`); marketing pushes
 * have topics, the frequency cap and quiet hours as SMS has. Its AWS sender needs a deployment setting (the
 * platform application ARN the endpoints belong to).
 *
 * `<template>.push.liquid`: a title, optional data (a JSON object for the app), then the body:
 * ```liquid
 * Title: Order {{ trigger.orderId }} has shipped
 * Data: {"orderId": {{ trigger.orderId | json }}}
 *
 * It arrives {{ trigger.eta }}.
 * ```
 */
export const push = {
  id: 'push',
  label: 'push',
  audience: 'customer',
  consent: true,
  inEveryProfile: true,
  addressTrait: 'pushToken',
  // An SNS platform endpoint ARN (its id a UUID); a deployment's sender reaches only its own application's endpoints.
  address: {
    regex: /^arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:endpoint\/[A-Z_]+\/[\w.-]{1,256}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    expected: 'an SNS platform endpoint ARN, like arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  },
  sends: true,
  // A broadcast may send on it where the deployment gives its setting (its grant follows the setting, not the journeys).
  broadcasts: true,
  fallback: true,
  variants: true,
  template: { format: 'parts', locales: true },
  sender: 'optional',
  deployment: {
    context: 'pushPlatformApplicationArn',
    hint: 'npx cdk deploy -c pushPlatformApplicationArn=arn:aws:sns:<region>:<account>:app/<GCM|APNS>/<app> (or "pushPlatformApplicationArn" under context in cdk.json, or the push prop of the Rapport construct)',
  },
} as const satisfies ChannelSpec;

/** The parts of a push template file. */
export const PUSH_PARTS: PartsFormat = {
  headers: [
    { key: 'title', header: 'Title', required: true, describe: "the notification's title" },
    { key: 'data', header: 'Data', required: false, json: true, describe: 'a JSON object the app receives with the notification' },
  ],
  body: { key: 'body', required: true, describe: "notification's text" },
};

/** A rendered push notification, ready for a provider. */
export interface PushMessage {
  /** The customer's SNS platform endpoint ARN. */
  to: string;
  title: string;
  body: string;
  /** What the app receives with it (absent: nothing). */
  data?: Record<string, unknown>;
  kind: 'marketing' | 'transactional';
  tags: Record<string, string>;
}

/** The message from its rendered parts. */
export function pushMessage(parts: Readonly<Record<string, string>>, base: Pick<PushMessage, 'to' | 'kind' | 'tags'>): PushMessage {
  const data = parts.data ? (JSON.parse(parts.data) as Record<string, unknown>) : undefined;
  return { to: base.to, title: parts.title!, body: parts.body!, ...(data !== undefined && { data }), kind: base.kind, tags: base.tags };
}

/**
 * The SNS Publish `Message` of a push (MessageStructure json): one payload per platform. FCM's `data` takes string
 * values only (others are written as JSON); APNs gets the data beside `aps`.
 */
export function snsPushMessage(message: PushMessage): string {
  const data = message.data ?? {};
  const fcmData = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const apns = JSON.stringify({ aps: { alert: { title: message.title, body: message.body } }, ...data });
  return JSON.stringify({
    default: message.body,
    GCM: JSON.stringify({ notification: { title: message.title, body: message.body }, ...(Object.keys(fcmData).length > 0 && { data: fcmData }) }),
    APNS: apns,
    APNS_SANDBOX: apns,
  });
}

/** The endpoints of a platform application: `arn:aws:sns:<region>:<account>:endpoint/<platform>/<name>/<id>`. */
export function endpointArnPrefix(platformApplicationArn: string): string {
  return `${platformApplicationArn.replace(/:app\//, ':endpoint/')}/`;
}
