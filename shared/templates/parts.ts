/**
 * The `parts` template format (WhatsApp, push): header lines `Name: <liquid>`, one per part the channel declares,
 * then a blank line, then the body. A channel's module declares its parts (`PartsFormat`); this module splits a
 * file into them, and says what is wrong (which line, what was expected) when it does not fit.
 *
 * @example
 * ```liquid
 * Title: Your order {{ trigger.orderId }} has shipped
 * Data: {"orderId": {{ trigger.orderId | json }}}
 *
 * It arrives {{ trigger.eta }}.
 * ```
 */

/** One header part: written `<header>: <liquid>` on a line of its own before the body. */
export interface HeaderPart {
  /** The part's key in the rendered parts (`title`). */
  readonly key: string;
  /** How the file writes it (`Title`). */
  readonly header: string;
  readonly required: boolean;
  /** Rendered as JSON (every output JSON-escaped, `| json` writes a value) and must be a JSON object. */
  readonly json?: boolean;
  /** What a literal value (one without Liquid) must look like, checked by validate; and any rendered value at send time. */
  readonly pattern?: { readonly regex: RegExp; readonly expected: string };
  /** What the part is, for error messages ("the WhatsApp template's name"). */
  readonly describe: string;
}

export interface PartsFormat {
  readonly headers: readonly HeaderPart[];
  /** The body after the blank line: its key, whether it must have text, and what it is. */
  readonly body: { readonly key: string; readonly required: boolean; readonly describe: string };
}

export interface PartsTemplate {
  /** Each part's Liquid source, by key (an absent optional header is absent). */
  readonly parts: Readonly<Record<string, string>>;
  /** The 1-based line each part starts on. */
  readonly lines: Readonly<Record<string, number>>;
}

export type PartsProblem = { line: number; message: string };

const HEADER_LINE = /^([A-Za-z][A-Za-z-]*):[ \t]*(.*)$/;

/** Split `source` into the parts `format` declares, or the problems that stop it (line and what was expected). */
export function parsePartsTemplate(source: string, format: PartsFormat): PartsTemplate | { problems: PartsProblem[] } {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const parts: Record<string, string> = {};
  const at: Record<string, number> = {};
  const problems: PartsProblem[] = [];
  const expectedHeaders = format.headers.map((h) => `"${h.header}:"`).join(', ');
  let i = 0;
  for (; i < lines.length && lines[i]!.trim() !== ''; i++) {
    const m = HEADER_LINE.exec(lines[i]!);
    const part = m && format.headers.find((h) => h.header.toLowerCase() === m[1]!.toLowerCase());
    if (!m || !part) {
      problems.push({ line: i + 1, message: `expected a header line (${expectedHeaders}), then a blank line, then the ${format.body.describe}; got ${JSON.stringify(lines[i]!.slice(0, 40))}` });
      continue;
    }
    if (parts[part.key] !== undefined) problems.push({ line: i + 1, message: `"${part.header}:" is given twice` });
    parts[part.key] = m[2]!.trim();
    at[part.key] = i + 1;
  }
  for (const part of format.headers) {
    if (parts[part.key] === undefined && part.required) problems.push({ line: 1, message: `missing the "${part.header}:" line: expected ${part.describe}` });
    else if (parts[part.key] === '' && part.required) problems.push({ line: at[part.key]!, message: `expected ${part.describe} after "${part.header}:"` });
  }
  const body = lines.slice(i + 1).join('\n').trim();
  if (body === '' && format.body.required) problems.push({ line: Math.min(i + 2, lines.length), message: `expected the ${format.body.describe} after the header lines and a blank line` });
  parts[format.body.key] = body;
  at[format.body.key] = i + 2;
  return problems.length > 0 ? { problems } : { parts, lines: at };
}
