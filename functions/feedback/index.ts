export {
  decodeTagValue,
  encodeTagValue,
  feedbackAttribute,
  feedbackMessageId,
  feedbackOf,
  MESSAGE_TAGS,
  SES_DETAIL_TYPES,
  SES_EVENT_SOURCE,
  sesFeedbackPattern,
  SES_CONFIGURATION_SET_TAG,
  SES_MATCHING_EVENT_TYPES,
  SesEventDetailSchema,
  type Feedback,
  type FeedbackKind,
  type MessageRef,
  type SesEvent,
  type SesEventDetail,
  type SesEventType,
} from './ses-event';
export { FeedbackPublishError, handleSesFeedback, type FeedbackDeps, type FeedbackMessages, type FeedbackOutcome, type FeedbackProfiles } from './service';
export { createSesFeedbackHandler } from './lambda';
