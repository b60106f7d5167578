import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { observability } from '../../functions/observability';
import { ENV } from '../../shared/config/env';

/**
 * What a Rapport function prints when its metrics are flushed (EMF: one JSON
 * line on stdout, which CloudWatch turns into metrics): the dimensions the
 * dashboard of infra/cdk/observability.ts queries.
 */
type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: unknown[] }[] } };

/** The EMF lines `publish` prints on stdout, parsed. */
function printed(publish: () => void): Emf[] {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false'); // vitest.config.ts turns metrics off for the other tests
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    publish();
  } finally {
    write.mockRestore();
  }
  return lines.map((line) => line.trim()).filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line) as Emf);
}

/** The one EMF line of a flush of `EventsAccepted` = 2 by `observability(serviceName)`. */
function flushed(serviceName: string): Emf {
  const emf = printed(() => {
    const { metrics } = observability(serviceName);
    metrics.addMetric('EventsAccepted', MetricUnit.Count, 2);
    metrics.publishStoredMetrics();
  });
  expect(emf).toHaveLength(1);
  return emf[0] as Emf;
}

describe('Powertools metrics of a Rapport function', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('carry the stage as a dimension, next to service, when RAPPORT_STAGE is set', () => {
    vi.stubEnv(ENV.STAGE, 'prod');

    const emf = flushed('x');

    expect(emf._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Rapport', Dimensions: [['service', 'stage']], Metrics: [{ Name: 'EventsAccepted', Unit: 'Count' }] },
    ]);
    expect(emf).toMatchObject({ service: 'x', stage: 'prod', EventsAccepted: 2 });
  });

  it('keep the stage on metrics with dimensions of their own (Sends by channel and status)', () => {
    vi.stubEnv(ENV.STAGE, 'dev');
    // As functions/journeys/lambda.ts counts a send: a single metric with dimensions of its own.
    const [emf] = printed(() => {
      const sends = observability('rapport-steps').metrics.singleMetric();
      sends.addDimensions({ channel: 'email', status: 'sent' });
      sends.addMetric('Sends', MetricUnit.Count, 1);
    });

    expect(emf?._aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort())).toEqual([['channel', 'service', 'stage', 'status']]);
    expect(emf).toMatchObject({ service: 'rapport-steps', stage: 'dev', channel: 'email', status: 'sent', Sends: 1 });
  });

  it('carry only service without RAPPORT_STAGE (the embedded engine, tests)', () => {
    vi.stubEnv(ENV.STAGE, '');

    const emf = flushed('x');

    expect(emf._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    expect(emf).not.toHaveProperty('stage');
  });
});
