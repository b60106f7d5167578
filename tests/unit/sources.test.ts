import type { GetSecretValueCommand} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { compileSources, secretsManagerSources, SourceConfigError, sourceFromSecretValue } from '../../functions/ingest';

describe('ingest sources', () => {
  it('reads each source secret from Secrets Manager once per 5 minutes (the exact request is asserted; AWS is not reachable here)', async () => {
    const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const requests: unknown[] = [];
    client.send = (async (command: GetSecretValueCommand) => {
      requests.push(command.input);
      return { SecretString: JSON.stringify({ webhookSecret: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', webhookSecrets: [], writeKeys: ['wk_from_secret'] }) };
    }) as unknown as SecretsManagerClient['send'];
    const env = { RAPPORT_SOURCES: JSON.stringify([{ id: 'shop', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf' }]) };
    const provider = secretsManagerSources(env, client);
    const first = await provider.load();
    await provider.load();
    expect(requests).toEqual([{ SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-AbCdEf' }]);
    expect(first.keys.map((k) => k.sourceId)).toEqual(['shop']);
    expect(first.writeKeys.get('wk_from_secret')).toBe('shop');
  });

  it('turns the generated webhookSecret into a whsec_ key and keeps rotated ones', () => {
    expect(sourceFromSecretValue('a', { webhookSecret: 'abcd', webhookSecrets: ['whsec_old'] }).webhookSecrets).toEqual(['whsec_old', 'whsec_abcd']);
    expect(() => sourceFromSecretValue('a', { writeKeys: 'nope' })).toThrow(/secret of source "a" must be JSON/);
  });

  it('refuses two sources with one id', () => {
    expect(() => compileSources([{ id: 'a' }, { id: 'a' }])).toThrow(SourceConfigError);
    expect(() => compileSources([{ id: 'a' }, { id: 'a' }])).toThrow('source "a" is configured twice');
  });

  it("disables a source that takes the one-click link's id: no sender passes for Rapport's own link", () => {
    const compiled = compileSources([{ id: 'unsubscribe', webhookSecrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], writeKeys: ['wk_unsub_key'] }]);
    expect(compiled.broken!.get('unsubscribe')).toBe('id: source id "unsubscribe" is reserved for Rapport\'s one-click unsubscribe link and preference page');
    expect(compiled.keys).toEqual([]);
    expect([...compiled.writeKeys]).toEqual([]);
  });

  it('disables only the source whose configuration is bad, naming it and the reason', () => {
    const compiled = compileSources([
      { id: 'Shop!', webhookSecrets: [] },
      { id: 'a', webhookSecrets: ['whsec_!!'], writeKeys: ['wk_a_disabled'] },
      { id: 'b', writeKeys: ['shared-key-1'] },
      { id: 'c', writeKeys: ['shared-key-1'] },
      { id: 'ok', webhookSecrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], writeKeys: ['wk_ok_working'] },
    ]);
    expect([...compiled.broken!.keys()]).toEqual(['Shop!', 'a', 'c']);
    expect(compiled.broken!.get('a')).toMatch(/^webhookSecrets\[0\]: webhook secret must be/);
    expect(compiled.broken!.get('c')).toBe('a write key is also source "b"\'s');
    expect(compiled.keys.map((k) => k.sourceId)).toEqual(['ok']);
    expect([...compiled.writeKeys]).toEqual([['shared-key-1', 'b'], ['wk_ok_working', 'ok']]);
    expect([...compiled.disabledWriteKeys!]).toEqual([['wk_a_disabled', 'a']]);
  });
});
