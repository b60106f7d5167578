import { startEngine, type Engine, type EngineOptions } from '../../infra/embedded/engine';

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const TEST_WRITE_KEY = 'wk_test_0123456789';
export const OTHER_SECRET = 'whsec_c2Vjb25kLXNvdXJjZS1zZWNyZXQtMTIzNDU2Nzg=';

/** An embedded engine in memory on a free port, with two sources. */
export function startTestEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  return startEngine({
    port: 0,
    dataDir: null,
    sources: [
      { id: 'default', webhookSecrets: [TEST_SECRET], writeKeys: [TEST_WRITE_KEY] },
      { id: 'shop', webhookSecrets: [OTHER_SECRET], writeKeys: [] },
    ],
    publish: { maxAttempts: 4, baseDelayMs: 1 },
    ...overrides,
  });
}
