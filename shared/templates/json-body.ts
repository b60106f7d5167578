import { Liquid, type LiquidOptions } from 'liquidjs';

/** What the `json` filter outputs: a JSON text, written into the body as it is. */
class JsonText {
  constructor(readonly text: string | undefined) {}
  toString(): string {
    return this.text ?? '';
  }
}

/**
 * The Liquid engine for webhook bodies (JSON), used to render them and to check them (`rapport validate`).
 * Every `{{ output }}` is JSON-string-escaped, so a value a sender controls, written inside a string
 * (`"note": "Call {{ profile.traits.firstName }}"`), stays inside it: it cannot close the string and add or
 * override keys of the JSON the receiver acts on. `{{ x | json }}` writes a JSON value (quoted string,
 * number, object) as it is; `{{ x | raw }}` writes anything as it is, explicitly.
 */
export function jsonBodyLiquid(options: LiquidOptions = {}): Liquid {
  const liquid = new Liquid({
    ...options,
    outputEscape: (value: unknown) => (value instanceof JsonText ? value.toString() : JSON.stringify(String(value ?? '')).slice(1, -1)),
  });
  liquid.registerFilter('json', (value: unknown, space?: number) => new JsonText(JSON.stringify(value, null, space)));
  return liquid;
}
