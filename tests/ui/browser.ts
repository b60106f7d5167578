/**
 * The UI tests' browser, brought by npm: `@sparticuz/chromium` ships a
 * headless Chromium build (brotli-compressed) inside the registry package,
 * with the few shared libraries and fonts it needs. It is unpacked once into
 * node_modules/.cache, so `npm ci && npm test` needs nothing installed by hand.
 * CHROMIUM_PATH still points the tests at another Chromium if a developer wants.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

export interface BrowserBinary {
  executablePath: string;
  /** Environment the binary needs (its libraries and fonts); empty for a system Chromium. */
  env: Record<string, string>;
}

const require = createRequire(import.meta.url);

/** The package's folder and version, resolved from its package.json. */
function sparticuz(): { root: string; bin: string; version: string } {
  // The package exports only its entry (build/index.js), not package.json.
  const root = resolve(dirname(require.resolve('@sparticuz/chromium')), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return { root, bin: join(root, 'bin'), version };
}

/**
 * Extract a tar archive's regular files and folders under `into` (the
 * archives of this package hold nothing else). Refuses paths that leave `into`.
 */
export function untar(tar: Buffer, into: string): void {
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, to: number) => header.subarray(from, to).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 500);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 136).trim() || '0', 8);
    const type = field(156, 157) || '0';
    const mode = parseInt(field(100, 108).trim() || '644', 8);
    const target = resolve(into, name);
    if (target !== resolve(into) && !target.startsWith(`${resolve(into)}/`)) throw new Error(`tar entry ${name} leaves ${into}`);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === '5') mkdirSync(target, { recursive: true });
    else if (type === '0') {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, body);
      chmodSync(target, mode & 0o777);
    } else throw new Error(`tar entry ${name}: type ${type} is not supported`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
}

/**
 * Unpack the package's Chromium into node_modules/.cache/rapport-chromium/<version>
 * (once: a finished unpack is renamed into place, so concurrent test files and
 * an interrupted run never see half a browser).
 */
export function unpackChromium(): BrowserBinary {
  const { root, bin, version } = sparticuz();
  const home = resolve(root, '..', '..', '.cache', 'rapport-chromium', version);
  const binary = (dir: string): BrowserBinary => ({
    executablePath: join(dir, 'chromium'),
    env: { LD_LIBRARY_PATH: join(dir, 'lib'), FONTCONFIG_PATH: join(dir, 'fonts') },
  });
  if (existsSync(join(home, 'chromium'))) return binary(home);
  const partial = `${home}.partial-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, 'chromium'), brotliDecompressSync(readFileSync(join(bin, 'chromium.br'))), { mode: 0o755 });
    untar(brotliDecompressSync(readFileSync(join(bin, 'al2023.tar.br'))), partial);
    untar(brotliDecompressSync(readFileSync(join(bin, 'swiftshader.tar.br'))), partial);
    untar(brotliDecompressSync(readFileSync(join(bin, 'fonts.tar.br'))), join(partial, 'fonts'));
    // The package's fonts.conf names Lambda's folders; this one names ours.
    writeFileSync(
      join(partial, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(home, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(home, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(partial, home);
    } catch (error) {
      // Another test file finished the same unpack first: use its copy.
      if (!existsSync(join(home, 'chromium'))) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return binary(home);
}

/** The Chromium the UI tests drive: CHROMIUM_PATH if set, else the one npm brought. */
export function browserBinary(): BrowserBinary {
  const path = process.env.CHROMIUM_PATH;
  if (path) {
    if (!existsSync(path)) throw new Error(`CHROMIUM_PATH=${path}: no such file (unset it to use the Chromium that @sparticuz/chromium brings)`);
    return { executablePath: path, env: {} };
  }
  return unpackChromium();
}
