import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../infra/cli/commands';
import { CHILD_PROCESS_TIMEOUT, cli, lines, ROOT } from './helpers';

/**
 * The command line itself: help on every command, usage errors and their exit
 * codes. Each call is a child process on the `rapport` bin, as `npx rapport` runs it.
 */

describe('rapport (the command line)', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('prints the commands for --help (exit 0) and for no command at all (exit 2, on stderr)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c.name}`);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 validation or business failure, 2 usage error, 3 could not reach the engine');
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: rapport <command> [options]');
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage, options and exit codes on stdout, exit 0', async (name) => {
    const result = await cli([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: rapport ${name}`));
    expect(result.stdout).toContain('-h, --help');
    expect(result.stdout).toContain('Exit codes: 0 ');
    expect(result.stderr).toBe('');
  });

  it('takes -h and `help <command>` as --help', async () => {
    const [short, word] = await Promise.all([cli(['graph', '-h']), cli(['help', 'graph'])]);
    expect(short).toMatchObject({ code: 0, stderr: '' });
    expect(word).toMatchObject({ code: 0, stdout: short.stdout });
    expect(short.stdout).toMatch(/^Usage: rapport graph <journey>/);
  });

  it('exits 2 on an unknown command, an unknown option, a missing argument or an extra one', async () => {
    const [unknown, option, missing, extra, noValue, noFolder] = await Promise.all([
      cli(['deploy']),
      cli(['validate', '--frobnicate']),
      cli(['graph']),
      cli(['validate', 'extra']),
      cli(['graph', 'welcome', '--config']),
      cli(['validate', '--config', 'no-such-folder']),
    ]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(lines(unknown.stderr)).toEqual(['rapport: unknown command "deploy"', `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run \`rapport --help\` for more.`]);
    expect(option.code).toBe(2);
    expect(lines(option.stderr)).toEqual(["rapport validate: Unknown option '--frobnicate'", 'Run `rapport validate --help` for its options.']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('rapport graph: missing argument; usage: rapport graph <journey> [--markdown] [--config workflows] [--journeys folder]');
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('rapport validate: unexpected argument "extra"');
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("rapport graph: Option '--config <value>' argument missing");
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toContain('rapport validate: --config: no folder no-such-folder');
  });

  it('finds the workflows folder from a subfolder of the repository', async () => {
    const result = await cli(['graph', 'welcome'], { cwd: join(ROOT, 'workflows', 'templates') });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.startsWith('graph TD\n')).toBe(true);
  });

  it('`npx rapport` and `npm run rapport --` run this repository\'s bin, with no registry (nothing is downloaded)', async () => {
    // An empty npm cache and a registry nobody answers at: a download would fail.
    const cache = mkdtempSync(join(tmpdir(), 'rapport-npx-cache-'));
    const env = { ...process.env, npm_config_cache: cache, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_config_update_notifier: 'false' };
    const run = (file: string, args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(file, args, { cwd: ROOT, env }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr })),
      );
    try {
      const [npx, npm, refused] = await Promise.all([run('npx', ['rapport', '--help']), run('npm', ['run', '-s', 'rapport', '--', 'validate', '--help']), run('npx', ['rapport', 'frobnicate'])]);
      expect(npx.code, npx.stderr).toBe(0);
      expect(npx.stdout).toMatch(/^rapport: the marketer's workbench for Rapport journeys\n/);
      expect(npm.code, npm.stderr).toBe(0);
      expect(npm.stdout).toMatch(/^Usage: rapport validate/);
      // Exit codes come through npx unchanged.
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('rapport: unknown command "frobnicate"');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
