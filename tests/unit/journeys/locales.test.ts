import { describe, expect, it } from 'vitest';
import { chooseLocale, localeChain, parseTemplateFileName, templateKey } from '../../../shared';

/** The template file format's locale part: names, keys and the fallback chain (shared/templates). */
describe('template locales', () => {
  it('splits a file name into template, locale (normalised) and channel; the default file has no locale', () => {
    expect(parseTemplateFileName('welcome.email.liquid')).toEqual({ template: 'welcome', channel: 'email' });
    expect(parseTemplateFileName('welcome.zh-CN.email.liquid')).toEqual({ template: 'welcome', locale: 'zh-cn', channel: 'email' });
    expect(parseTemplateFileName('first-order-offer.pt_BR.sms.liquid')).toEqual({ template: 'first-order-offer', locale: 'pt-br', channel: 'sms' });
    expect(parseTemplateFileName('welcome.french.email.liquid')).toBeUndefined();
    expect(parseTemplateFileName('Welcome.fr.email.liquid')).toBeUndefined();
    expect(templateKey('welcome', 'email', 'zh-TW')).toBe('welcome.zh-tw.email');
  });

  it('falls back by dropping subtags, most specific first; anything that is not a tag gives no chain', () => {
    expect(localeChain('zh-Hant-TW')).toEqual(['zh-hant-tw', 'zh-hant', 'zh']);
    expect(localeChain(' fr_CA ')).toEqual(['fr-ca', 'fr']);
    for (const notATag of [undefined, null, 42, '', '   ', 'fr--CA', 'x'.repeat(40), '../fr']) expect(localeChain(notATag), String(notATag)).toEqual([]);
  });

  it('chooses the first variant there is, else none (the default file)', () => {
    const have = new Set(['welcome.zh.email', 'welcome.fr.email', 'welcome.fr-ca.sms']);
    const has = (key: string) => have.has(key);
    expect(chooseLocale(has, 'welcome', 'email', 'zh-TW')).toBe('zh');
    expect(chooseLocale(has, 'welcome', 'email', 'FR-ca')).toBe('fr');
    expect(chooseLocale(has, 'welcome', 'sms', 'fr-CA')).toBe('fr-ca');
    expect(chooseLocale(has, 'welcome', 'sms', 'fr')).toBeUndefined();
    expect(chooseLocale(has, 'welcome', 'email', 'de')).toBeUndefined();
    expect(chooseLocale(has, 'welcome', 'email', undefined)).toBeUndefined();
  });
});
