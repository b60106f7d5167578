import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The names of a config folder's files (journeys, templates), sorted: regular files only (a symlink to one counts),
 * never a dot-file. Editors leave lock files and backups beside the file being edited (Emacs' `.#welcome.yaml`, a
 * dangling symlink; vim's `.welcome.yaml.swp`): a reload on save must not read them, nor fail on them.
 */
export function sourceFileNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && isRegularFile(join(dir, name)))
    .sort();
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    // A dangling symlink (an editor's lock) or a file gone meanwhile.
    return false;
  }
}
