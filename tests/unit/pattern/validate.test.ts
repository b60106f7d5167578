import { describe, expect, it } from 'vitest';
import {
  assertValidEventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
  type PatternProblem,
} from '../../../shared/pattern';

/** The single problem found in `pattern` (fails when there are none or several). */
function onlyProblem(pattern: unknown): PatternProblem {
  const problems = validateEventPattern(pattern);
  expect(problems).toHaveLength(1);
  const [problem] = problems;
  if (problem === undefined) throw new Error('unreachable');
  return problem;
}

/** `{ detail: { v: [value] } }`: a pattern with one value to check at `detail.v[0]`. */
const withValue = (value: unknown): unknown => ({ detail: { v: [value] } });

describe('validateEventPattern: valid patterns', () => {
  it.each([
    ['exact values', { source: ['aws.ec2'], detail: { n: [5, 3.018e2], ok: [true, false], gone: [null, ''] } }],
    ['prefix', { time: [{ prefix: '2017-10-02' }] }],
    ['prefix ignoring case', { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] }],
    ['suffix', { FileName: [{ suffix: '.png' }] }],
    ['suffix ignoring case', { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] }],
    ['equals-ignore-case', { Name: [{ 'equals-ignore-case': 'alice' }] }],
    ['wildcard', { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }],
    ['escaped wildcard', { v: [{ wildcard: String.raw`a\*b\\c*` }] }],
    ['anything-but string', { state: [{ 'anything-but': 'initializing' }] }],
    ['anything-but number', { 'x-limit': [{ 'anything-but': 123 }] }],
    ['anything-but strings', { state: [{ 'anything-but': ['stopped', 'overloaded'] }] }],
    ['anything-but numbers', { 'x-limit': [{ 'anything-but': [100, 200, 300] }] }],
    ['anything-but prefix', { state: [{ 'anything-but': { prefix: 'init' } }] }],
    ['anything-but suffix', { FileName: [{ 'anything-but': { suffix: '.png' } }] }],
    ['anything-but equals-ignore-case', { state: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] }],
    ['anything-but wildcards', { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] }],
    ['numeric', { c: [{ numeric: ['>', 0, '<=', 5] }], d: [{ numeric: ['<', 10] }], x: [{ numeric: ['=', 3.018e2] }] }],
    ['exists', { detail: { state: [{ exists: true }], 'c-count': [{ exists: false }] } }],
    ['cidr', { ip: [{ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }] }],
    ['IP address as a value', { ip: ['10.0.0.1'] }],
    [
      'nested $or',
      {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['CPUUtilization'] },
          { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        ],
        detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
      },
    ],
  ])('%s', (_name, pattern) => {
    expect(validateEventPattern(pattern)).toEqual([]);
    expect(() => {
      assertValidEventPattern(pattern);
    }).not.toThrow();
  });
});

describe('validateEventPattern: structure', () => {
  it.each([
    [null, 'null'],
    [[{ source: ['a'] }], 'an array'],
    ['{"source": ["a"]}', '"{\\"source\\": [\\"a\\"]}"'],
    [5, '5'],
    [undefined, 'nothing'],
  ])('rejects a non-object pattern: %j', (pattern, got) => {
    expect(onlyProblem(pattern)).toEqual({ path: '(root)', message: `event pattern must be a JSON object, got ${got}` });
  });

  it('rejects empty objects, at the top and nested', () => {
    expect(onlyProblem({})).toEqual({ path: '(root)', message: 'empty objects are not allowed' });
    expect(onlyProblem({ detail: {} })).toEqual({ path: 'detail', message: 'empty objects are not allowed' });
  });

  it('rejects empty value arrays', () => {
    expect(onlyProblem({ detail: { state: [] } })).toEqual({
      path: 'detail.state',
      message: 'empty arrays are not allowed; list at least one value to match',
    });
  });

  it('rejects a field that is neither an array nor an object', () => {
    expect(onlyProblem({ source: 'aws.ec2' })).toEqual({
      path: 'source',
      message: 'must be an array of values (e.g. ["a"] or [{"prefix": "a"}]) or a nested object, got "aws.ec2"',
    });
    expect(onlyProblem({ detail: { count: 5 } }).path).toBe('detail.count');
  });

  it('points at an operator written without its array', () => {
    // Event Ruler reads {"prefix": "x"} here as a nested field named "prefix".
    expect(onlyProblem({ state: { prefix: 'x' } }).path).toBe('state.prefix');
  });

  it.each([
    [['a'], 'nested arrays are not allowed; list the values directly in one array'],
    [Number.NaN, 'match value NaN is not a finite number'],
    [Number.POSITIVE_INFINITY, 'match value Infinity is not a finite number'],
    [undefined, 'match value must be a string, number, boolean, null or an operator object, got nothing'],
  ])('rejects the value %j', (value, message) => {
    expect(onlyProblem(withValue(value))).toEqual({ path: 'detail.v[0]', message });
  });

  it('rejects unknown operators like {"foo": 1}', () => {
    expect(onlyProblem({ detail: { state: ['ok', { foo: 1 }] } })).toEqual({
      path: 'detail.state[1]',
      message:
        'unknown operator "foo"; supported operators are "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"',
    });
  });

  it('rejects operator objects without exactly one key', () => {
    expect(onlyProblem(withValue({})).message).toBe('an operator object must have exactly one key, got 0 ((none))');
    expect(onlyProblem(withValue({ prefix: 'a', suffix: 'b' })).message).toBe(
      'an operator object must have exactly one key, got 2 ("prefix", "suffix")',
    );
  });

  it('collects every problem, each at its own path', () => {
    const problems = validateEventPattern({
      source: [],
      detail: { a: [{ foo: 1 }], b: [{ numeric: ['>'] }] },
      $or: [{ x: ['1'] }],
    });
    expect(problems.map((problem) => problem.path)).toEqual(['source', 'detail.a[0]', 'detail.b[0]', '$or']);
  });
});

describe('validateEventPattern: $or', () => {
  it('needs an array of at least two pattern objects', () => {
    expect(onlyProblem({ $or: { a: ['1'] } })).toEqual({
      path: '$or',
      message: '$or expects an array of at least two sub-patterns, got an object',
    });
    expect(onlyProblem({ detail: { $or: [{ a: ['1'] }] } })).toEqual({
      path: 'detail.$or',
      message: '$or expects an array of at least two sub-patterns, got 1 sub-pattern',
    });
    expect(onlyProblem({ $or: [{ a: ['1'] }, 'b'] })).toEqual({
      path: '$or[1]',
      message: 'each $or entry must be a pattern object, got "b"',
    });
  });

  it('checks inside each branch, with the branch in the path', () => {
    expect(onlyProblem({ $or: [{ a: ['1'] }, { detail: { b: [] } }] }).path).toBe('$or[1].detail.b');
  });

  it('rejects operator names used as field names inside $or', () => {
    expect(onlyProblem({ $or: [{ numeric: [123] }, { ok: ['x'] }] })).toEqual({
      path: '$or[0].numeric',
      message:
        '"numeric" is an operator name and cannot be a field name inside $or; put operators inside a value array, e.g. [{"prefix": "a"}]',
    });
    // The Event Ruler README's example of a rule that is not an $or.
    const readme = validateEventPattern({ $or: [{ numeric: 123 }, { prefix: 'abc' }] });
    expect(readme.map((problem) => problem.path)).toEqual(['$or[0].numeric', '$or[1].prefix']);
  });
});

describe('validateEventPattern: operator arguments', () => {
  it.each([
    // numeric
    [{ numeric: ['>', 0, '<='] }, 'numeric operator expects pairs like [">", 0, "<=", 5]'],
    [{ numeric: 5 }, 'numeric operator expects pairs like [">", 0, "<=", 5]'],
    [{ numeric: [] }, 'numeric operator expects pairs like [">", 0, "<=", 5]'],
    [{ numeric: ['~', 5] }, 'numeric operator "~" is not one of "=", "<", "<=", ">", ">="'],
    [{ numeric: [5, '>'] }, 'numeric operator 5 is not one of "=", "<", "<=", ">", ">="'],
    [{ numeric: ['<', '10'] }, 'numeric "<" needs a number, got "10"'],
    [
      { numeric: ['<', 10, '>', 0] },
      'numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<=")',
    ],
    [
      { numeric: ['=', 5, '<', 10] },
      'numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<=")',
    ],
    [{ numeric: ['>', 5, '<=', 5] }, 'numeric range lower bound 5 must be less than upper bound 5'],
    [{ numeric: ['>', 6e9] }, 'numeric ">" value 6000000000 is outside the range EventBridge compares (-5e9 to 5e9)'],
    // prefix / suffix / equals-ignore-case
    [{ prefix: 5 }, 'prefix operator expects a string or {"equals-ignore-case": "..."}, got 5'],
    [{ prefix: { foo: 'x' } }, 'prefix only accepts {"equals-ignore-case": "..."} as an object, got keys "foo"'],
    [{ suffix: { 'equals-ignore-case': 5 } }, 'suffix {"equals-ignore-case": ...} expects a string'],
    [{ 'equals-ignore-case': ['a'] }, 'equals-ignore-case operator expects a string, got an array'],
    // wildcard
    [{ wildcard: 'a**b' }, 'wildcard "a**b" has consecutive "*" at position 1'],
    [{ wildcard: String.raw`a\b` }, String.raw`wildcard "a\\b" has an invalid escape at position 1: only \* and \\ are allowed`],
    [{ wildcard: 'a\\' }, String.raw`wildcard "a\\" has an invalid escape at position 1: only \* and \\ are allowed`],
    [{ wildcard: 5 }, 'wildcard operator expects a string like "dir/*.png", got 5'],
    // anything-but
    [
      { 'anything-but': true },
      'anything-but expects a string, a number, a list of only strings or only numbers, or an object with one of "prefix", "suffix", "wildcard", "equals-ignore-case", got true',
    ],
    [{ 'anything-but': [] }, 'anything-but list must not be empty'],
    [{ 'anything-but': ['a', 1] }, 'anything-but list must hold only strings or only numbers'],
    [{ 'anything-but': [null] }, 'anything-but list must hold only strings or only numbers'],
    [{ 'anything-but': 6e9 }, 'anything-but value 6000000000 is outside the range EventBridge compares (-5e9 to 5e9)'],
    [
      { 'anything-but': { numeric: ['>', 1] } },
      'anything-but does not support "numeric"; use one of "prefix", "suffix", "wildcard", "equals-ignore-case"',
    ],
    [{ 'anything-but': { prefix: 'a', suffix: 'b' } }, 'anything-but object must have exactly one key, got "prefix", "suffix"'],
    [{ 'anything-but': { prefix: '' } }, 'anything-but "prefix" must not be empty'],
    [{ 'anything-but': { suffix: 5 } }, 'anything-but "suffix" expects a string or a list of strings'],
    [{ 'anything-but': { wildcard: [] } }, 'anything-but "wildcard" list must not be empty'],
    [{ 'anything-but': { wildcard: '*/lib**' } }, 'anything-but wildcard "*/lib**" has consecutive "*" at position 5'],
    // exists
    [{ exists: 'true' }, 'exists operator expects true or false, got "true"'],
    // cidr
    [{ cidr: 5 }, 'cidr operator expects a string like "10.0.0.0/24", got 5'],
    [{ cidr: '10.0.0.0' }, 'cidr "10.0.0.0" needs one "/" followed by a prefix length, like "10.0.0.0/24"'],
    [{ cidr: '10.0.0.0/abc' }, 'cidr "10.0.0.0/abc" prefix length must be a non-negative integer'],
    [{ cidr: '300.0.0.0/8' }, 'cidr "300.0.0.0/8" does not start with an IPv4 or IPv6 address'],
    [{ cidr: '10.0.0.1/32' }, 'cidr "10.0.0.1/32": IPv4 prefix length must be 0-31; match one address with its plain string'],
    [
      { cidr: '2001:db8::1/128' },
      'cidr "2001:db8::1/128": IPv6 prefix length must be 0-127; match one address with its plain string',
    ],
  ])('%j', (operator, message) => {
    expect(onlyProblem(withValue(operator))).toEqual({ path: 'detail.v[0]', message });
  });

  it('reports the brief\'s example at detail.revenue[0]', () => {
    const [problem] = validateEventPattern({ detail: { revenue: [{ numeric: ['>', 0, '<='] }] } });
    expect(problem && `${problem.path}: ${problem.message}`).toBe(
      'detail.revenue[0]: numeric operator expects pairs like [">", 0, "<=", 5]',
    );
  });
});

describe('assertValidEventPattern', () => {
  it('throws an InvalidEventPatternError listing every problem', () => {
    const pattern = { detail: { revenue: [{ numeric: ['>', 0, '<='] }], state: [] } };
    let thrown: unknown;
    try {
      assertValidEventPattern(pattern);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidEventPatternError);
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as InvalidEventPatternError;
    expect(error.name).toBe('InvalidEventPatternError');
    expect(error.problems).toEqual([
      { path: 'detail.revenue[0]', message: 'numeric operator expects pairs like [">", 0, "<=", 5]' },
      { path: 'detail.state', message: 'empty arrays are not allowed; list at least one value to match' },
    ]);
    expect(error.message).toBe(
      'Invalid event pattern (2 problems):\n' +
        '- detail.revenue[0]: numeric operator expects pairs like [">", 0, "<=", 5]\n' +
        '- detail.state: empty arrays are not allowed; list at least one value to match',
    );
  });

  it('puts a single problem on one line', () => {
    expect(() => {
      assertValidEventPattern({ source: [{ foo: 1 }] });
    }).toThrow(/^Invalid event pattern: source\[0\]: unknown operator "foo"/);
  });

  it('narrows the type so a checked pattern can be matched', () => {
    const fromJson: unknown = JSON.parse('{"source": [{"prefix": "rapport."}]}');
    assertValidEventPattern(fromJson);
    expect(matchesEventPattern(fromJson, { source: 'rapport.ingest' })).toBe(true);
  });
});
