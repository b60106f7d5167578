/**
 * asl-validator 4 ships JavaScript only. Its API: one CommonJS function that
 * validates an Amazon States Language definition, and mutates it (it adds
 * `QueryLanguage` to every state), so callers pass a copy.
 */
declare module 'asl-validator' {
  interface AslValidatorOptions {
    /** Check JSONPath expressions (`InputPath`, `Variable`, ...). @default true */
    checkPaths?: boolean;
    /** Check the ARNs of `Resource` fields. @default true */
    checkArn?: boolean;
  }
  interface AslValidationError {
    'Error code': string;
    Message: string;
  }
  interface AslValidationResult {
    isValid: boolean;
    errors: AslValidationError[];
    /** Every error as `<code>: <message>`, joined by `separator` (default a new line). */
    errorsText(separator?: string): string;
  }
  function aslValidator(definition: unknown, options?: AslValidatorOptions): AslValidationResult;
  export default aslValidator;
}
