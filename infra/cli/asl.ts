import { createRequire } from 'node:module';

type AslValidator = (definition: unknown, options?: { checkArn?: boolean; checkPaths?: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };

/** asl-validator (CommonJS, untyped) on a copy: it adds QueryLanguage to what it is given. */
export function checkAsl(definition: unknown): string[] {
  const validator = createRequire(import.meta.url)('asl-validator') as AslValidator;
  const { isValid, errorsText } = validator(structuredClone(definition), { checkArn: true, checkPaths: true });
  return isValid ? [] : errorsText('\n').split('\n').filter(Boolean);
}

/** Where `compile` points the tasks when no ARN is given: obviously not a real one. */
export const PLACEHOLDER_STEP_FUNCTION_ARN = 'arn:aws:lambda:REGION:ACCOUNT_ID:function:rapport-steps';
