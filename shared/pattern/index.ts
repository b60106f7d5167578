/**
 * EventBridge content filtering, as a pure module: the same patterns the CDK stack
 * deploys can be validated and matched in-process (embedded engine, tests).
 */
export {
  matchesEventPattern,
  type AnythingButCondition,
  type EqualsIgnoreCase,
  type EventPattern,
  type JsonScalar,
  type MatchOperator,
  type NumericCondition,
  type NumericOperator,
  type OperatorName,
  type PatternValue,
  type PatternValues,
} from './matcher';
export {
  assertValidEventPattern,
  InvalidEventPatternError,
  validateEventPattern,
  type PatternProblem,
} from './validate';
