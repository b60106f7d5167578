/**
 * Map a path in the parsed journey back to its YAML node, so every problem
 * says file:line:column. A path that leaves the document (a missing key)
 * points at the deepest node that exists.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './errors';

export interface Position {
  line: number;
  column: number;
}

export interface Locator {
  /** Position of the value at `path`; with `key: true`, of the key of its last segment (for unknown keys). */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): Position;
}

export function createLocator(doc: Document, lineCounter: LineCounter): Locator {
  const at = (node: Node | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  return {
    locate(path, options = {}) {
      let node: unknown = doc.contents;
      let best = at(doc.contents as Node | null) ?? { line: 1, column: 1 };
      for (const [i, segment] of path.entries()) {
        const last = i === path.length - 1;
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
          if (!pair) break;
          if (last && options.key) return at(pair.key as Node) ?? best;
          node = pair.value;
          // `key:` with no value has a null value node without a range: point at the key.
          best = at(node as Node) ?? at(pair.key as Node) ?? best;
        } else if (isSeq(node) && typeof segment === 'number') {
          node = node.items[segment];
          if (node === undefined) break;
          best = at(node as Node) ?? best;
        } else {
          break;
        }
      }
      return best;
    },
  };
}
