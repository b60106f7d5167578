/**
 * Subscription topics (`workflows/topics.yaml`): the loader (text in, typed topics or file:line:col
 * problems out; no I/O), the lookup journeys, broadcasts and the send gateway use, and the JSON Schema.
 */
export {
  loadTopics,
  loadTopicsOrThrow,
  NO_TOPICS,
  subscribedByDefault,
  TOPIC_ID_PATTERN,
  TopicIdSchema,
  TopicSchema,
  TOPICS_FILE,
  TOPICS_MAX,
  TopicsFileError,
  TopicsFileSchema,
  topicsJsonSchema,
  topicsOf,
  undeclaredTopicProblem,
  unknownTopicMessage,
  type Topic,
  type TopicDefault,
  type Topics,
  type TopicsResult,
  type TopicState,
} from './schema';
