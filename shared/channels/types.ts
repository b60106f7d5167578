/**
 * What a channel is, as data: every list of channels Rapport keeps (the journey schema's, the step runner's, the
 * consent contract's, the templates', the broadcasts', the outbox's) is read from the registry of these
 * (`./index.ts`). A channel's senders (the AWS adapter, the embedded outbox's) live with the code that sends; this
 * module is pure, so every bundle may import it.
 */

/** How a channel's template file is written (`<template>[.<locale>].<channel>.liquid`). */
export type TemplateFormat =
  /** `Subject: <liquid>`, a blank line, the text body, optionally `--- html ---` and the HTML body. */
  | 'email'
  /** The whole file is the text. */
  | 'text'
  /** The whole file renders to a JSON body (every output JSON-escaped). */
  | 'json'
  /** Header lines `Name: <liquid>` (the channel's parts), a blank line, then the rest (see the channel's module). */
  | 'parts';

export interface ChannelSpec {
  /** The channel's name in journeys, templates, consent events and message records. */
  readonly id: string;
  /** How an error message names it ("email", "SMS"). */
  readonly label: string;
  /**
   * customer: a message to the customer's address on their profile (consent, suppression, topics, and for marketing
   * the frequency cap and quiet hours apply); system: a message to a configured system (no consent, no policy).
   */
  readonly audience: 'customer' | 'system';
  /** The profile keeps consent (and suppression) for it: `Subscribed`/`Unsubscribed { channel }` may name it. */
  readonly consent: boolean;
  /**
   * A new profile starts with an unknown consent record for it. True for the channels profiles had from the first;
   * false for one added later (profiles stored before it have no record, so none may be assumed).
   */
  readonly inEveryProfile?: boolean;
  /** The profile trait that holds the customer's address on it (customer channels). */
  readonly addressTrait?: string;
  /** What an address must look like: another one is not an address on this channel (the send is skipped, `invalid-address`). */
  readonly address?: { readonly regex: RegExp; readonly expected: string };
  /** A journey's send step may use it. */
  readonly sends: boolean;
  /** A broadcast may send on it. */
  readonly broadcasts: boolean;
  /** A send's `fallback` may name it, and a send on it may fall back (customer channels). */
  readonly fallback: boolean;
  /** An experiment's variant may name it. */
  readonly variants: boolean;
  /** Its template files, and whether they have locale variants. */
  readonly template?: { readonly format: TemplateFormat; readonly locales: boolean };
  /**
   * The sender every engine must provide (`Channels`); an optional one is refused at send time with a clear error
   * where it is not configured.
   */
  readonly sender: 'required' | 'optional';
  /**
   * The AWS deployment setting its sender needs: the app's context key (`-c <context>=...`) and how to give it. A
   * journey that sends on it without the setting fails synth, and validate says so at the send.
   */
  readonly deployment?: { readonly context: string; readonly hint: string };
}

/** A phone number as End User Messaging takes it (SMS and WhatsApp): E.164. */
export const E164_PHONE = { regex: /^\+[1-9]\d{6,14}$/, expected: 'a phone number in E.164 form, like +447700900123' } as const;
