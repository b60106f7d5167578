export * from './concurrency';
export * from './attribution';
export * from './config/env';
export * from './contract';
export * from './errors';
export * from './ports';
export * from './pattern';
export * from './bus';
export * from './profile';
export * from './templates';
export * from './topics';
export {
  CHANNEL_SPECS,
  SEND_CHANNELS,
  MESSAGE_CHANNELS,
  FALLBACK_CHANNELS,
  VARIANT_CHANNELS,
  BROADCAST_CHANNELS,
  LOCALE_CHANNELS,
  CONSENT_CHANNELS,
  PROFILE_CONSENT_CHANNELS,
  CHANNEL_PARTS,
  DEPLOYED_CHANNELS,
  addressFormat,
  E164_PHONE,
  metaTemplateMessage,
  snsPushMessage,
  channelSpec,
  isChannelId,
  isMessageChannel,
  orList,
  type ChannelSpec,
  type ChannelId,
  type ChannelMessages,
  type SendChannel,
  type MessageChannel,
  type FallbackChannel,
  type VariantChannel,
  type RequiredSenderChannel,
  type ConsentChannel,
  type ProfileConsentChannel,
  type PartsTemplateChannel,
  type WhatsAppMessage,
  type PushMessage,
  type TextTemplateChannel,
} from './channels';
export * from './steps';
