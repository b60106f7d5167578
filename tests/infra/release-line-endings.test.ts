/**
 * A run renders the template files it started with whatever line endings the deploying checkout has (issue 15).
 * Deploy 1 from an LF checkout records welcome v1 (`recordReleases`, what synth commits to workflows/releases); runs in
 * flight carry its release (`templateRelease` of the LF sources). The welcome email then changes in place, and deploy 2
 * is made from a checkout of the same commits with CRLF endings (Git for Windows' `core.autocrlf`). The step function's
 * `releasedTemplates` still finds the run's release: `templateRelease` hashes text as git normalises it (CRLF → LF),
 * and .gitattributes keeps workflows/ LF in every checkout. Before, the CRLF copy hashed differently, the release was
 * "kept nowhere" and the waiting customer got the changed email. Control: deploy 2 from an LF checkout.
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

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-release-eol-'));
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

  it('a CRLF checkout renders the files the run started with too', async () => {
    const { repo, runRelease, original } = await deployOne();
    expect(await subjectRendered(crlfCheckout(repo), runRelease)).toBe(original);
  });
});
