import { ConditionSchema, evaluateCondition, type SegmentationConfig } from '../../shared/segmentation';
import type { ConditionEvaluator } from './steps';
import { StepConfigError } from './steps';

/**
 * Branch conditions are the tag-rule condition language: parsed with its schema
 * and evaluated by the same code that computes tags, with the deployment's
 * segmentation thresholds.
 */
export function segmentationConditions(config?: SegmentationConfig): ConditionEvaluator {
  return (condition, profile, now) => {
    const parsed = ConditionSchema.safeParse(condition);
    if (!parsed.success) throw new StepConfigError(`branch condition is not valid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return evaluateCondition(parsed.data, profile, now, config).holds;
  };
}
