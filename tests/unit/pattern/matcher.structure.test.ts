/**
 * Structure of EventBridge matching: AND across keys, OR within a value list, nested
 * keys, array-valued event fields, exact values (numbers, booleans, null, ""), $or.
 * Events and patterns are the ones in the EventBridge user guide and the Event Ruler
 * README unless said otherwise.
 */
import { describe, expect, it } from 'vitest';
import { matchesEventPattern, type EventPattern } from '../../../shared/pattern';

/** The EC2 event from "Creating Amazon EventBridge event patterns". */
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

describe('keys, values and nesting', () => {
  const terminations: EventPattern = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches the guide\'s EC2 termination pattern, ignoring fields the pattern does not name', () => {
    expect(matchesEventPattern(terminations, ec2Event)).toBe(true);
  });

  it('needs every key to match (AND)', () => {
    expect(matchesEventPattern(terminations, { ...ec2Event, source: 'aws.s3' })).toBe(false);
    expect(matchesEventPattern(terminations, { ...ec2Event, detail: { state: 'running' } })).toBe(false);
  });

  it('needs every named field to be present', () => {
    const { 'detail-type': _omitted, ...withoutDetailType } = ec2Event;
    expect(matchesEventPattern(terminations, withoutDetailType)).toBe(false);
    expect(matchesEventPattern(terminations, { ...ec2Event, detail: {} })).toBe(false);
  });

  it('matches a field against any value of its list (OR): "Location" and "Day"', () => {
    const pattern: EventPattern = { Location: ['New York'], Day: ['Monday', 'Tuesday'] };
    expect(matchesEventPattern(pattern, { Location: 'New York', Day: 'Tuesday' })).toBe(true);
    expect(matchesEventPattern(pattern, { Location: 'New York', Day: 'Sunday' })).toBe(false);
    expect(matchesEventPattern(pattern, { Location: 'Boston', Day: 'Monday' })).toBe(false);
  });

  it('is case sensitive and character exact', () => {
    expect(matchesEventPattern({ source: ['aws.ec2'] }, { source: 'AWS.EC2' })).toBe(false);
    expect(matchesEventPattern({ source: ['aws.ec2'] }, { source: 'aws.ec2 ' })).toBe(false);
  });

  it('follows nested keys and does not match a nested pattern against a leaf', () => {
    const pattern: EventPattern = { detail: { order: { status: ['paid'] } } };
    expect(matchesEventPattern(pattern, { detail: { order: { status: 'paid', total: 3 } } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { order: 'paid' } })).toBe(false);
    expect(matchesEventPattern(pattern, { detail: { status: 'paid' } })).toBe(false);
  });

  it('does not match a value list against an object', () => {
    expect(matchesEventPattern({ detail: ['x'] }, { detail: { x: 'x' } })).toBe(false);
  });

  it('matches only absence checks against events that are not objects', () => {
    expect(matchesEventPattern({ source: ['aws.ec2'] }, 'aws.ec2')).toBe(false);
    expect(matchesEventPattern({ source: ['aws.ec2'] }, null)).toBe(false);
    expect(matchesEventPattern({ source: [{ exists: false }] }, undefined)).toBe(true);
  });

  it('matches everything with an empty pattern (no conditions)', () => {
    expect(matchesEventPattern({}, ec2Event)).toBe(true);
  });
});

describe('exact values: numbers, booleans, null and empty strings', () => {
  it('compares numbers numerically: 300 matches 3.0e2', () => {
    const event: unknown = JSON.parse('{"detail": {"x-limit": 3.0e2, "count": 5.0}}');
    expect(matchesEventPattern({ detail: { 'x-limit': [300] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [5] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { count: [5.5] } }, event)).toBe(false);
  });

  it('never matches a string against a number, either way', () => {
    expect(matchesEventPattern({ count: ['5'] }, { count: 5 })).toBe(false);
    expect(matchesEventPattern({ count: [5] }, { count: '5' })).toBe(false);
  });

  it('matches booleans exactly and never as strings or numbers', () => {
    expect(matchesEventPattern({ active: [true] }, { active: true })).toBe(true);
    expect(matchesEventPattern({ active: [true] }, { active: false })).toBe(false);
    expect(matchesEventPattern({ active: [true] }, { active: 'true' })).toBe(false);
    expect(matchesEventPattern({ active: [false] }, { active: 0 })).toBe(false);
  });

  // "Matching events on null values and empty strings"
  const autoscalingEvent = {
    version: '0',
    id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: '123456789012',
    time: '2015-11-11T21:31:47Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '', responseElements: null },
  };

  it('matches an empty string with [""] and null with [null]', () => {
    expect(matchesEventPattern({ detail: { eventVersion: [''] } }, autoscalingEvent)).toBe(true);
    expect(matchesEventPattern({ detail: { responseElements: [null] } }, autoscalingEvent)).toBe(true);
  });

  it('does not treat null and the empty string as interchangeable', () => {
    expect(matchesEventPattern({ detail: { responseElements: [''] } }, autoscalingEvent)).toBe(false);
    expect(matchesEventPattern({ detail: { eventVersion: [null] } }, autoscalingEvent)).toBe(false);
  });

  it('does not match [null] against a missing field', () => {
    expect(matchesEventPattern({ detail: { missing: [null] } }, autoscalingEvent)).toBe(false);
  });

  it('compares IP address strings as addresses, as Event Ruler does', () => {
    expect(matchesEventPattern({ ip: ['2001:db8::1'] }, { ip: '2001:0db8:0000:0000:0000:0000:0000:0001' })).toBe(true);
    expect(matchesEventPattern({ ip: ['2001:db8::1'] }, { ip: '2001:db8::2' })).toBe(false);
  });
});

describe('array values in the event', () => {
  // "Arrays in Amazon EventBridge event patterns"
  const resourcesPattern: EventPattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern list and the event array intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesEventPattern(resourcesPattern, event)).toBe(true);
  });

  it('does not match when the intersection is empty, or the array is empty', () => {
    expect(matchesEventPattern(resourcesPattern, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-x'] })).toBe(
      false,
    );
    expect(matchesEventPattern(resourcesPattern, { resources: [] })).toBe(false);
  });

  it('flattens arrays of arrays', () => {
    expect(matchesEventPattern({ tags: ['vip'] }, { tags: [['new'], ['returning', ['vip']]] })).toBe(true);
  });

  // Event Ruler README, "JSON Array Matching"
  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('matches a nested pattern against each object of an array', () => {
    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
  });

  it('needs all fields of a nested pattern to come from the same array element', () => {
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
  });

  it('works through multi-level arrays of objects', () => {
    const nested = {
      employees: [
        [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
        [{ firstName: 'Peter', lastName: 'Jones' }],
      ],
    };
    expect(matchesEventPattern({ employees: { firstName: ['Peter'], lastName: ['Jones'] } }, nested)).toBe(true);
    expect(matchesEventPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(false);
  });

  it('ignores objects when matching a value list against an array', () => {
    expect(matchesEventPattern({ items: ['a'] }, { items: [{ a: 'a' }, 'a'] })).toBe(true);
    expect(matchesEventPattern({ items: ['a'] }, { items: [{ a: 'a' }] })).toBe(false);
  });
});

describe('$or', () => {
  it('matches "source" && ("metricName" || "namespace")', () => {
    const pattern: EventPattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', metricName: 'DiskWrites' })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'aws.s3', metricName: 'ReadLatency' })).toBe(false);
  });

  it('matches parallel $or at different levels: (metricName || namespace) && (detail.source || detail.detail-type)', () => {
    const pattern: EventPattern = {
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      detail: {
        $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
      },
    };
    expect(
      matchesEventPattern(pattern, { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }),
    ).toBe(true);
    expect(matchesEventPattern(pattern, { namespace: 'AWS/EC2', detail: { source: 'aws.ec2' } })).toBe(false);
    expect(matchesEventPattern(pattern, { namespace: 'AWS/S3', detail: { source: 'aws.cloudwatch' } })).toBe(false);
  });

  it('matches an $or branch that is itself an AND, with a nested $or inside', () => {
    // source && (metricName || (metricType && namespace && (metricId || spaceId)) || scope)
    const pattern: EventPattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2', 'AWS/ES'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
    };
    const base = { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' };
    expect(matchesEventPattern(pattern, { ...base, spaceId: 1000 })).toBe(true);
    expect(matchesEventPattern(pattern, { ...base, metricId: 1234 })).toBe(true);
    expect(matchesEventPattern(pattern, { ...base, metricId: 9 })).toBe(false);
    expect(matchesEventPattern(pattern, { ...base, metricType: 'Other', spaceId: 1000 })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', scope: 'Service' })).toBe(true);
  });

  it('combines $or with operators (the guide\'s numeric example)', () => {
    const pattern: EventPattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    expect(matchesEventPattern(pattern, { detail: { 'c-count': 9, 'd-count': 11, 'x-limit': 301.8 } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'c-count': 9, 'd-count': 3 } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'c-count': 9, 'd-count': 11, 'x-limit': 300 } })).toBe(false);
  });

  it('evaluates $or branches against the same array element', () => {
    const pattern: EventPattern = {
      items: { sku: ['A'], $or: [{ qty: [{ numeric: ['>', 3] }] }, { gift: [true] }] },
    };
    const event = { items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 5, gift: true }] };
    expect(matchesEventPattern(pattern, event)).toBe(false);
    expect(matchesEventPattern(pattern, { items: [{ sku: 'B' }, { sku: 'A', gift: true }] })).toBe(true);
  });
});

describe('malformed patterns', () => {
  const loose = (pattern: unknown): EventPattern => pattern as EventPattern;

  it('never throws and never matches the malformed part', () => {
    expect(matchesEventPattern(loose({ a: [{ numeric: 'x' }] }), { a: 1 })).toBe(false);
    expect(matchesEventPattern(loose({ a: [{ foo: 1 }] }), { a: 1 })).toBe(false);
    expect(matchesEventPattern(loose({ a: [{ prefix: 'x', suffix: 'y' }] }), { a: 'xy' })).toBe(false);
    expect(matchesEventPattern(loose({ a: 'x' }), { a: 'x' })).toBe(false);
    expect(matchesEventPattern(loose({ a: [{ cidr: '10.0.0.0/99' }] }), { a: '10.0.0.1' })).toBe(false);
  });
});
