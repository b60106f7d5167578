/**
 * Audit 14 (issue 15, commit 8ac47ff): a run renders the template files it started with.
 *
 * Promise: the compiler writes the journey's template release (a hash of its template files) into every step; the
 * step function renders a run's messages with that release when the bundle carries it (`releasedTemplates` over the
 * committed workflows/releases), so a template changed without a bump reaches new runs only.
 *
 * What I did: deploy 1 from a checkout with LF files: welcome v1 recorded (`recordReleases`, what synth writes to
 * workflows/releases and commits), runs in flight carry its release (`templateRelease` of the LF sources, what the
 * compiler wrote into their steps). The welcome email is then changed in place, and deploy 2 is made from another
 * checkout of the same commits with CRLF line endings (git's `core.autocrlf=true`, the default of Git for Windows;
 * the repository has no .gitattributes): the same files, the same releases, other line endings. The step function's
 * `releasedTemplates` then serves a run that started on deploy 1.
 *
 * Observed: `releasedTemplates` keeps a release folder only when its files hash to the run's release, byte for byte;
 * the CRLF copy of `v1/` hashes to another value, so the run's release is "kept nowhere" and the run renders the
 * current templates: the customer already waiting in the journey gets the changed email (issue 15 again), silently.
 * Control: deploy 2 from an LF checkout renders the run's own files.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesFor } from '../../functions/journeys/gateway';
import { releasedTemplates } from '../../functions/journeys/releases';
import { liquidTemplates, readTemplates } from '../../functions/journeys/templates';
import { templateRelease } from '../../shared';
import { recordReleases } from '../../workflows/journeys';
import { TEMPLATES_DIR } from './synth';

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-audit14-eol-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const welcomeV1 = { id: 'welcome', version: 1, steps: [{ id: 'send-welcome', send: { channel: 'email', template: 'welcome' } }] } as never;
const welcomeSources = (dir: string) => Object.fromEntries(Object.entries(readTemplates(dir)).filter(([key]) => key.startsWith('welcome.')));

const DATA = { profile: {}, customer: { id: 'c1' } };

/** Deploy 1 (LF): v1 recorded, the release its runs carry; then the welcome email changed in place. */
async function deployOne(): Promise<{ repo: string; runRelease: string; original: string }> {
  const repo = mkdtempSync(path.join(scratch, 'repo-'));
  cpSync(TEMPLATES_DIR, path.join(repo, 'templates'), { recursive: true });
  expect(recordReleases(path.join(repo, 'releases'), path.join(repo, 'templates'), [welcomeV1])).toEqual(['welcome/v1']);
  const runRelease = templateRelease(welcomeSources(path.join(repo, 'templates')));
  const file = path.join(repo, 'templates', 'welcome.email.liquid');
  const original = (await liquidTemplates(welcomeSources(path.join(repo, 'templates'))).email('welcome', DATA)).subject;
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^Subject: .*$/m, 'Subject: Changed in place'));
  return { repo, runRelease, original };
}

/** Another checkout of the same commit: every text file with CRLF line endings (`core.autocrlf=true`). */
function crlfCheckout(from: string): string {
  const to = mkdtempSync(path.join(scratch, 'checkout-'));
  cpSync(from, to, { recursive: true });
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else writeFileSync(p, readFileSync(p, 'utf8').replace(/\r?\n/g, '\r\n'));
    }
  };
  walk(to);
  return to;
}

/** The subject the step function renders for a run of welcome v1 carrying `release`, from this checkout's bundle. */
async function subjectRendered(checkout: string, release: string): Promise<string> {
  const templates = templatesFor({ templates: liquidTemplates(readTemplates(path.join(checkout, 'templates'))), templatesOf: releasedTemplates(path.join(checkout, 'releases')) }, 'welcome', 1, release);
  return (await templates.email('welcome', DATA)).subject;
}

describe('a run in flight, deploy 2 made from another checkout of the same commits', () => {
  it('control: an LF checkout renders the files the run started with', async () => {
    const { repo, runRelease, original } = await deployOne();
    expect(await subjectRendered(repo, runRelease)).toBe(original);
  });

  // BREAK (audit 14): a checkout with other line endings (CRLF) keeps no release a run carries: runs in flight render
  // the current templates; fix idea: hash the sources with line endings normalised (`\r\n` -> `\n`) in `templateRelease`
  // and `releaseOfFolder`, and/or commit a .gitattributes `workflows/** text eol=lf`; and have synth fail when a kept
  // folder does not hash to its name (a run's release silently "kept nowhere").
  it.fails('a CRLF checkout renders the files the run started with too', async () => {
    const { repo, runRelease, original } = await deployOne();
    expect(await subjectRendered(crlfCheckout(repo), runRelease)).toBe(original);
  });
});
