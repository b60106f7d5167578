/**
 * One block per comparison operator, each with the EventBridge user guide's (or the
 * Event Ruler README's) example pattern and events that should and should not match.
 */
import { describe, expect, it } from 'vitest';
import { matchesEventPattern, type EventPattern } from '../../../shared/pattern';

/** The sample event of the Event Ruler README, used by the guide's numeric and complex examples. */
const rulerEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

/** Builds `{ [field]: value }` events for one-field tables; `undefined` leaves the field out. */
const eventWith = (field: string, value: unknown): Record<string, unknown> =>
  value === undefined ? {} : { [field]: value };

describe('prefix', () => {
  const pattern: EventPattern = { time: [{ prefix: '2017-10-02' }] };

  it.each([
    { time: '2017-10-02T18:43:48Z', expected: true },
    { time: '2017-10-02', expected: true },
    { time: '2017-10-03T18:43:48Z', expected: false },
    { time: ' 2017-10-02', expected: false },
    { time: 20171002, expected: false },
    { time: undefined, expected: false },
  ])('time $time -> $expected', ({ time, expected }) => {
    expect(matchesEventPattern(pattern, eventWith('time', time))).toBe(expected);
  });

  it('selects Auto Scaling events from European regions', () => {
    const european: EventPattern = { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] };
    expect(matchesEventPattern(european, { source: 'aws.autoscaling', region: 'eu-west-1' })).toBe(true);
    expect(matchesEventPattern(european, { source: 'aws.autoscaling', region: 'us-east-1' })).toBe(false);
  });

  it('matches any element of an array field', () => {
    expect(matchesEventPattern({ regions: [{ prefix: 'eu-' }] }, { regions: ['us-east-1', 'eu-west-1'] })).toBe(true);
  });

  describe('with equals-ignore-case', () => {
    const service: EventPattern = { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] };
    it.each([
      { service: 'EventBridge', expected: true },
      { service: 'eventbridge', expected: true },
      { service: 'EVENTBRIDGE', expected: true },
      { service: 'Lambda', expected: false },
      { service: 'theEventBridge', expected: false },
    ])('service $service -> $expected', ({ service: value, expected }) => {
      expect(matchesEventPattern(service, { service: value })).toBe(expected);
    });
  });
});

describe('suffix', () => {
  const pattern: EventPattern = { FileName: [{ suffix: '.png' }] };

  it.each([
    { FileName: 'image.png', expected: true },
    { FileName: 'dir/image.png', expected: true },
    { FileName: 'image.jpg', expected: false },
    { FileName: 'image.PNG', expected: false },
    { FileName: 'image.png.txt', expected: false },
    { FileName: undefined, expected: false },
  ])('FileName $FileName -> $expected', ({ FileName, expected }) => {
    expect(matchesEventPattern(pattern, eventWith('FileName', FileName))).toBe(expected);
  });

  it('matches the README example "source" suffix "ec2"', () => {
    expect(matchesEventPattern({ source: [{ suffix: 'ec2' }] }, rulerEvent)).toBe(true);
    expect(matchesEventPattern({ source: [{ suffix: 's3' }] }, rulerEvent)).toBe(false);
  });

  describe('with equals-ignore-case', () => {
    const service: EventPattern = { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] };
    it.each([
      { service: 'EventBridge', expected: true },
      { service: 'EVENTBRIDGE', expected: true },
      { service: 'eventbridge', expected: true },
      { service: 'EventBridges', expected: false },
    ])('service $service -> $expected', ({ service: value, expected }) => {
      expect(matchesEventPattern(service, { service: value })).toBe(expected);
    });

    it('matches file extensions in any case', () => {
      const png: EventPattern = { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] };
      expect(matchesEventPattern(png, { FileName: 'image.PNG' })).toBe(true);
      expect(matchesEventPattern(png, { FileName: 'image.jpg' })).toBe(false);
    });
  });
});

describe('equals-ignore-case', () => {
  const pattern: EventPattern = { Name: [{ 'equals-ignore-case': 'alice' }] };

  it.each([
    { Name: 'Alice', expected: true },
    { Name: 'ALICE', expected: true },
    { Name: 'alice', expected: true },
    { Name: 'Alicia', expected: false },
    { Name: 'alice ', expected: false },
    { Name: 5, expected: false },
    { Name: undefined, expected: false },
  ])('Name $Name -> $expected', ({ Name, expected }) => {
    expect(matchesEventPattern(pattern, eventWith('Name', Name))).toBe(expected);
  });

  it('matches a detail-type written in another case', () => {
    const byType: EventPattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };
    expect(matchesEventPattern(byType, rulerEvent)).toBe(true);
    expect(matchesEventPattern({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] }, rulerEvent)).toBe(true);
  });
});

describe('wildcard', () => {
  const simple: EventPattern = { source: [{ wildcard: 'Simple*Service' }] };

  it.each([
    { source: 'SimpleQueueService', expected: true },
    { source: 'SimpleNotificationService', expected: true },
    { source: 'SimpleService', expected: true },
    { source: 'SimpleQueueServiceX', expected: false },
    { source: 'simpleQueueService', expected: false },
    { source: 'Simple', expected: false },
  ])('source $source -> $expected', ({ source, expected }) => {
    expect(matchesEventPattern(simple, { source })).toBe(expected);
  });

  it('matches ARNs with several wildcards', () => {
    const bus: EventPattern = { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] };
    expect(matchesEventPattern(bus, { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' })).toBe(
      true,
    );
    expect(matchesEventPattern(bus, { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/myEventBus' })).toBe(
      false,
    );
  });

  it('treats \\* as a literal asterisk and \\\\ as a literal backslash', () => {
    expect(matchesEventPattern({ v: [{ wildcard: String.raw`a\*b` }] }, { v: 'a*b' })).toBe(true);
    expect(matchesEventPattern({ v: [{ wildcard: String.raw`a\*b` }] }, { v: 'axb' })).toBe(false);
    expect(matchesEventPattern({ v: [{ wildcard: String.raw`C:\\*` }] }, { v: String.raw`C:\Windows` })).toBe(true);
    expect(matchesEventPattern({ v: [{ wildcard: String.raw`C:\\*` }] }, { v: 'C:/Windows' })).toBe(false);
  });

  it('lets a lone * match any string, including the empty string, but not other types', () => {
    expect(matchesEventPattern({ v: [{ wildcard: '*' }] }, { v: '' })).toBe(true);
    expect(matchesEventPattern({ v: [{ wildcard: '*' }] }, { v: 'anything' })).toBe(true);
    expect(matchesEventPattern({ v: [{ wildcard: '*' }] }, { v: 5 })).toBe(false);
    expect(matchesEventPattern({ v: [{ wildcard: '*' }] }, {})).toBe(false);
  });

  it('stays fast on patterns that would backtrack badly as a regular expression', () => {
    const started = performance.now();
    expect(matchesEventPattern({ v: [{ wildcard: '*a*a*a*a*a*a*b' }] }, { v: 'a'.repeat(20_000) })).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('anything-but', () => {
  describe('a single string', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    it.each([
      { state: 'running', expected: true },
      { state: 'initializing', expected: false },
      { state: 'INITIALIZING', expected: true },
      // Event Ruler: any present value that is not excluded matches, null and numbers included.
      { state: null, expected: true },
      { state: 5, expected: true },
      // ...but a missing field does not.
      { state: undefined, expected: false },
      // With an array it is enough that one element is not excluded.
      { state: ['initializing', 'running'], expected: true },
      { state: ['initializing'], expected: false },
      { state: [], expected: false },
    ])('state $state -> $expected', ({ state, expected }) => {
      expect(matchesEventPattern(pattern, { detail: eventWith('state', state) })).toBe(expected);
    });

    it('excludes CloudTrail API calls by detail-type', () => {
      const notApiCalls: EventPattern = { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] };
      expect(matchesEventPattern(notApiCalls, rulerEvent)).toBe(true);
      expect(matchesEventPattern(notApiCalls, { 'detail-type': 'AWS API Call via CloudTrail' })).toBe(false);
    });
  });

  describe('a single number', () => {
    const pattern: EventPattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    it.each([
      { limit: 456, expected: true },
      { limit: 123, expected: false },
      { limit: 1.23e2, expected: false },
      { limit: '123', expected: true },
    ])('x-limit $limit -> $expected', ({ limit, expected }) => {
      expect(matchesEventPattern(pattern, { detail: { 'x-limit': limit } })).toBe(expected);
    });
  });

  it('excludes a list of strings', () => {
    const pattern: EventPattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matchesEventPattern(pattern, { detail: { state: 'running' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { state: 'stopped' } })).toBe(false);
    expect(matchesEventPattern(pattern, { detail: { state: 'overloaded' } })).toBe(false);
  });

  it('excludes a list of numbers', () => {
    const pattern: EventPattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matchesEventPattern(pattern, rulerEvent)).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 200 } })).toBe(false);
    expect(matchesEventPattern(pattern, { detail: { 'x-limit': 3e2 } })).toBe(false);
  });

  it('excludes sources from Amazon EC2 and Amazon S3', () => {
    const pattern: EventPattern = { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] };
    expect(matchesEventPattern(pattern, { source: 'aws.lambda' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'aws.s3' })).toBe(false);
  });

  it('excludes a prefix', () => {
    const state: EventPattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(matchesEventPattern(state, { detail: { state: 'running' } })).toBe(true);
    expect(matchesEventPattern(state, { detail: { state: 'initializing' } })).toBe(false);
    const ownEvents: EventPattern = { source: [{ 'anything-but': { prefix: 'aws.' } }] };
    expect(matchesEventPattern(ownEvents, { source: 'rapport.ingest' })).toBe(true);
    expect(matchesEventPattern(ownEvents, { source: 'aws.ec2' })).toBe(false);
    const regions: EventPattern = { Region: [{ 'anything-but': { prefix: 'us-' } }] };
    expect(matchesEventPattern(regions, { Region: 'eu-west-1' })).toBe(true);
    expect(matchesEventPattern(regions, { Region: 'us-east-1' })).toBe(false);
  });

  it('excludes a suffix', () => {
    const pattern: EventPattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };
    expect(matchesEventPattern(pattern, { FileName: 'image.jpg' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'image.png' })).toBe(false);
  });

  it('excludes values in any case with equals-ignore-case', () => {
    const single: EventPattern = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };
    expect(matchesEventPattern(single, { state: 'running' })).toBe(true);
    expect(matchesEventPattern(single, { state: 'INITIALIZING' })).toBe(false);
    const list: EventPattern = { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] };
    expect(matchesEventPattern(list, { state: 'Stopped' })).toBe(false);
    expect(matchesEventPattern(list, { state: 'pending' })).toBe(true);
  });

  it('excludes wildcard matches, one or a list', () => {
    const lib: EventPattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(matchesEventPattern(lib, { FilePath: '/usr/bin/example' })).toBe(true);
    expect(matchesEventPattern(lib, { FilePath: '/usr/lib/example' })).toBe(false);
    const libOrBin: EventPattern = { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] };
    expect(matchesEventPattern(libOrBin, { FilePath: '/usr/share/example' })).toBe(true);
    expect(matchesEventPattern(libOrBin, { FilePath: '/usr/bin/example' })).toBe(false);
  });
});

describe('numeric', () => {
  const pattern: EventPattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches the guide\'s example only when every field is in range', () => {
    expect(matchesEventPattern(pattern, rulerEvent)).toBe(true);
  });

  it.each([
    { field: 'c-count', value: 0, why: 'c-count must be > 0' },
    { field: 'c-count', value: 5.000001, why: 'c-count must be <= 5' },
    { field: 'd-count', value: 10, why: 'd-count must be < 10' },
    { field: 'x-limit', value: 301.9, why: 'x-limit must be 301.8' },
    { field: 'x-limit', value: '301.8', why: 'a string is not a number' },
  ])('does not match when $why', ({ field, value }) => {
    expect(matchesEventPattern(pattern, { detail: { ...rulerEvent.detail, [field]: value } })).toBe(false);
  });

  it.each([
    { condition: ['=', 5] as const, hits: [5], misses: [4.999, 5.001] },
    { condition: ['<', 5] as const, hits: [4.999, -5e9], misses: [5, 6] },
    { condition: ['<=', 5] as const, hits: [5, 0], misses: [5.001] },
    { condition: ['>', 5] as const, hits: [5.001, 5e9], misses: [5, 0] },
    { condition: ['>=', 5] as const, hits: [5, 6], misses: [4.999] },
    { condition: ['>=', 5, '<', 10] as const, hits: [5, 9.99], misses: [4, 10] },
    { condition: ['>', -1.5, '<=', 1.5] as const, hits: [-1, 1.5], misses: [-1.5, 2] },
  ])('$condition', ({ condition, hits, misses }) => {
    const byCondition: EventPattern = { v: [{ numeric: condition }] };
    for (const value of hits) expect(matchesEventPattern(byCondition, { v: value }), `${value}`).toBe(true);
    for (const value of misses) expect(matchesEventPattern(byCondition, { v: value }), `${value}`).toBe(false);
  });

  it('matches any element of an array field', () => {
    expect(matchesEventPattern({ v: [{ numeric: ['<', 10] }] }, { v: [20, 3] })).toBe(true);
    expect(matchesEventPattern({ v: [{ numeric: ['<', 10] }] }, { v: [20, 30] })).toBe(false);
  });

  it('ignores numbers outside the ±5e9 EventBridge compares', () => {
    expect(matchesEventPattern({ v: [{ numeric: ['>', 0] }] }, { v: 6e9 })).toBe(false);
    expect(matchesEventPattern({ v: [{ numeric: ['>', 0] }] }, { v: 5e9 })).toBe(true);
  });

  it('does not match a missing field, null or a boolean', () => {
    for (const event of [{}, { v: null }, { v: true }]) {
      expect(matchesEventPattern({ v: [{ numeric: ['>=', 0] }] }, event)).toBe(false);
    }
  });
});

describe('exists', () => {
  const hasState: EventPattern = { detail: { state: [{ exists: true }] } };
  const noCount: EventPattern = { detail: { 'c-count': [{ exists: false }] } };

  const pendingInstance = {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2015-11-11T21:29:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
    detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
  };
  const countAsObject = {
    'detail-type': 'EC2 Instance State-change Notification',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
    detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } },
  };

  it('exists: true matches an event that has detail.state', () => {
    expect(matchesEventPattern(hasState, pendingInstance)).toBe(true);
  });

  it('exists: true does not match an event without detail.state', () => {
    expect(matchesEventPattern(hasState, { detail: { 'c-count': { c1: 100 } } })).toBe(false);
  });

  it('exists: false matches an event without detail.c-count', () => {
    expect(matchesEventPattern(noCount, pendingInstance)).toBe(true);
    expect(matchesEventPattern(noCount, {})).toBe(true);
  });

  it('exists: false also matches when c-count is an object, because it is not a leaf', () => {
    expect(matchesEventPattern(noCount, countAsObject)).toBe(true);
    expect(matchesEventPattern({ detail: { 'c-count': [{ exists: true }] } }, countAsObject)).toBe(false);
  });

  it('exists: false does not match a present leaf', () => {
    expect(matchesEventPattern(noCount, { detail: { 'c-count': 5 } })).toBe(false);
  });

  it.each([
    { value: null, exists: true },
    { value: '', exists: true },
    { value: 0, exists: true },
    { value: false, exists: true },
    { value: ['a'], exists: true },
    { value: [], exists: false },
    { value: [{ nested: 1 }], exists: false },
    { value: { nested: 1 }, exists: false },
  ])('a field holding $value counts as existing: $exists', ({ value, exists }) => {
    expect(matchesEventPattern({ v: [{ exists: true }] }, { v: value })).toBe(exists);
    expect(matchesEventPattern({ v: [{ exists: false }] }, { v: value })).toBe(!exists);
  });

  it('can be combined with values in the same list (OR)', () => {
    const optionalPaid: EventPattern = { status: [{ exists: false }, 'paid'] };
    expect(matchesEventPattern(optionalPaid, {})).toBe(true);
    expect(matchesEventPattern(optionalPaid, { status: 'paid' })).toBe(true);
    expect(matchesEventPattern(optionalPaid, { status: 'open' })).toBe(false);
  });
});

describe('cidr', () => {
  const subnet: EventPattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };

  it.each([
    { ip: '10.0.0.0', expected: true },
    { ip: '10.0.0.33', expected: true },
    { ip: '10.0.0.255', expected: true },
    { ip: '10.0.1.0', expected: false },
    { ip: '9.255.255.255', expected: false },
    { ip: '10.0.0', expected: false },
    { ip: '10.0.0.256', expected: false },
    { ip: 'not an ip', expected: false },
    { ip: 167772161, expected: false },
  ])('sourceIPAddress $ip -> $expected', ({ ip, expected }) => {
    expect(matchesEventPattern(subnet, { detail: { sourceIPAddress: ip } })).toBe(expected);
  });

  it('matches the README complex example, /8 among other operators', () => {
    const complex: EventPattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    };
    expect(matchesEventPattern(complex, rulerEvent)).toBe(true);
    expect(matchesEventPattern(complex, { ...rulerEvent, detail: { ...rulerEvent.detail, 'source-ip': '11.0.0.1' } })).toBe(
      false,
    );
  });

  it('matches IPv6 blocks, in any textual form, and keeps the families apart', () => {
    const v6: EventPattern = { ip: [{ cidr: '2001:db8::/32' }] };
    expect(matchesEventPattern(v6, { ip: '2001:db8:85a3::8a2e:370:7334' })).toBe(true);
    expect(matchesEventPattern(v6, { ip: '2001:0DB8:ffff:ffff:ffff:ffff:ffff:ffff' })).toBe(true);
    expect(matchesEventPattern(v6, { ip: '2001:db9::1' })).toBe(false);
    expect(matchesEventPattern({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '::1' })).toBe(false);
    expect(matchesEventPattern({ ip: [{ cidr: '::/0' }] }, { ip: '127.0.0.1' })).toBe(false);
  });

  it('uses the network of a block written with host bits set', () => {
    expect(matchesEventPattern({ ip: [{ cidr: '10.0.0.77/24' }] }, { ip: '10.0.0.1' })).toBe(true);
  });
});
