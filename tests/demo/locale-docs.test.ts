import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInProcess, lines, ROOT } from '../cli/helpers';

/**
 * The locale and preview examples of the journeys reference (workflows/journeys/README.md, "Locales" and
 * "Preview and test sends"), run: the preview of the profile file prints what the reference shows, and
 * validate words the missing default file as the reference does.
 */
const README = readFileSync(join(ROOT, 'workflows', 'journeys', 'README.md'), 'utf8');
const section = (title: string) => {
  const start = README.indexOf(`### ${title}\n`);
  if (start === -1) throw new Error(`no section "${title}" in workflows/journeys/README.md`);
  const end = README.indexOf('\n#', start + 4);
  return README.slice(start, end === -1 ? undefined : end);
};
/** The fenced blocks of `text` in `lang` ('' for plain ones), fence by fence. */
function blocks(text: string, lang = ''): string[] {
  const found: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('```')) open?.lines.push(line);
    else if (open) {
      if (open.lang === lang) found.push(open.lines.join('\n'));
      open = undefined;
    } else open = { lang: line.slice(3).trim(), lines: [] };
  }
  return found;
}
const tmp = mkdtempSync(join(tmpdir(), 'rapport-locale-docs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('workflows/journeys/README.md: locales and previews', () => {
  it('the preview example prints what the reference shows', async () => {
    const text = section('Preview and test sends');
    const [profile] = blocks(text, 'json');
    const [command] = blocks(text, 'sh');
    const shown = blocks(text).find((b) => b.startsWith('Preview of '));
    writeFileSync(join(tmp, 'ada.json'), profile!);
    const argv = command!.trim().replace(/^npx rapport /, '').split(/\s+/);

    const result = await cliInProcess([...argv, '--config', join(ROOT, 'workflows')], { cwd: tmp });

    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).slice(0, lines(shown!).length)).toEqual(lines(shown!));
  });

  it("validate words a variant without its default file as the reference's example does", async () => {
    const [shown] = blocks(section('Locales')).filter((b) => b.includes('(template):'));
    cpSync(join(ROOT, 'workflows'), join(tmp, 'workflows'), { recursive: true });
    writeFileSync(join(tmp, 'workflows', 'templates', 'receipt.fr.email.liquid'), 'Subject: Reçu\n\nMerci.\n');

    const result = await cliInProcess(['validate', '--config', 'workflows'], { cwd: tmp });

    expect(result.code).toBe(1);
    expect(lines(result.stdout)[0]).toBe(shown!.trim());
  });
});
