/**
 * The page's journey diagrams (infra/embedded/ui/assets/diagram.js) without a
 * browser: the compiler's Mermaid text of real journeys, parsed, laid out and
 * drawn; nothing overlaps, every node and edge is there.
 */
import { describe, expect, it } from 'vitest';
import { layoutGraph, nodeKind, parseMermaid, placeLabels, renderSvg, stepIdOf, type Layout } from '../../infra/embedded/ui/assets/diagram.js';
import { builtIn, compileTest, loadOk } from '../unit/journeys/helpers';

/** One step of every type, two wait_for branches, a split with a holdout, a goal and an exit event. */
const EVERY_STEP = `id: every-step
name: Every step
version: 2
trigger: { event: Signed Up, where: { method: [email] } }
goals:
  - event: Order Completed
exits:
  - event: Unsubscribed
steps:
  - id: hello
    send: { channel: email, template: hello }
  - id: partner
    send: { channel: webhook, template: partner, target: partner }
  - id: morning
    wait_until: { time: "09:00", days: [mon, tue] }
  - id: pause
    wait: 30m
  - id: await-order
    wait_for: { event: Order Completed, timeout: 7d }
    on_event: converted
    on_timeout: pick
  - id: pick
    branch:
      - when: { stat: orderCount, eq: 0 }
        next: test-group
      - else: set-plan
  - id: test-group
    split:
      - { percent: 50, next: offer }
      - { percent: 40 }
      - { percent: 10, holdout: true }
  - id: set-plan
    update: { trait: plan, value: "<gold> & \\"more\\"" }
  - id: offer
    send: { channel: email, template: offer }
  - id: tag-it
    tag: { add: offered }
  - id: ticket
    webhook: { target: support, template: ticket }
    next: done
  - id: converted
    exit: goal
  - id: done
    exit: finished
`;

type Box = { x: number; y: number; w: number; h: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

function expectNoOverlaps(layout: Layout) {
  // A node's box includes the room kept to its right for its counters.
  const boxes = layout.nodes.map((n) => ({ id: n.id, x: n.x, y: n.y, w: n.w + n.reserve, h: n.h }));
  for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) expect(overlaps(a, b), `nodes ${a.id} and ${b.id} overlap`).toBe(false);
  const labels = placeLabels(layout.edges).map((l) => ({ ...l, x: l.x - l.w / 2, y: l.y - 9, h: 18 }));
  for (const [i, a] of labels.entries()) for (const b of labels.slice(i + 1)) expect(overlaps(a, b), `edge labels "${a.text}" and "${b.text}" overlap`).toBe(false);
  for (const n of layout.nodes) {
    expect(n.x, `${n.id} inside the picture`).toBeGreaterThanOrEqual(0);
    expect(n.x + n.w + n.reserve).toBeLessThanOrEqual(layout.width);
    expect(n.y + n.h).toBeLessThanOrEqual(layout.height);
  }
}

const journeys: Record<string, string> = { ...Object.fromEntries(Object.entries(builtIn()).map(([id, j]) => [id, j.mermaid])), 'every-step': compileTest(loadOk(EVERY_STEP, 'every-step.yaml')).mermaid };

describe('journey diagrams', () => {
  it.each(Object.keys(journeys))('draws %s: every node and edge of the Mermaid graph, nothing overlapping, edges from bottom to top', (id) => {
    const graph = parseMermaid(journeys[id]!);
    const layout = layoutGraph(graph, { reserve: (n) => (nodeKind(n) === 'send' ? 84 : 0) });
    expect(layout.nodes.map((n) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    expect(layout.edges).toHaveLength(graph.edges.length);
    expectNoOverlaps(layout);
    const at = new Map(layout.nodes.map((n) => [n.id, n]));
    for (const e of layout.edges.filter((e) => !e.reversed)) {
      const [from, to] = [at.get(e.from)!, at.get(e.to)!];
      expect(e.points[0], `${e.from} -> ${e.to} leaves ${e.from} at its bottom`).toEqual({ x: from.cx, y: from.y + from.h });
      expect(e.points.at(-1), `${e.from} -> ${e.to} arrives on top of ${e.to}`).toEqual({ x: to.cx, y: to.y });
      expect(to.y).toBeGreaterThan(from.y);
    }
    const svg = renderSvg(layout, { id, title: `Diagram of ${id}`, counters: (n) => n.kind === 'send' });
    expect(svg.match(/<g class="node /g)).toHaveLength(graph.nodes.length);
    expect(svg.match(/<path class="edge/g)).toHaveLength(graph.edges.length);
    expect(svg.match(/<g class="edge-label">/g) ?? []).toHaveLength(graph.edges.filter((e) => e.label).length);
    expect(svg).toContain(`<title id="dt-${id}">Diagram of ${id}</title>`);
  });

  it('knows every step type, and which journey step each node stands for', () => {
    const graph = parseMermaid(journeys['every-step']!);
    const kinds = Object.fromEntries(graph.nodes.map((n) => [n.id, [nodeKind(n), stepIdOf(n)]]));
    expect(kinds).toEqual({
      trigger: ['trigger', undefined],
      s_hello: ['send', 'hello'],
      s_partner: ['send', 'partner'],
      s_morning: ['wait', 'morning'],
      s_pause: ['wait', 'pause'],
      s_await_order: ['wait-for', 'await-order'],
      s_pick: ['branch', 'pick'],
      s_test_group: ['branch', 'test-group'],
      s_set_plan: ['update', 'set-plan'],
      s_offer: ['send', 'offer'],
      s_tag_it: ['tag', 'tag-it'],
      s_ticket: ['webhook', 'ticket'],
      s_converted: ['exit', 'converted'],
      s_done: ['exit', 'done'],
      holdout: ['end', undefined],
      goal_0: ['goal', undefined],
      exit_0: ['exit-event', undefined],
    });
    // Mermaid's entities are decoded for the label, and escaped again in the SVG.
    expect(graph.nodes.find((n) => n.id === 's_set_plan')!.lines).toEqual(['set-plan', 'set plan = "<gold> & \\"more\\""']);
    expect(graph.edges.filter((e) => e.from === 's_test_group').map((e) => e.label)).toEqual(['50%', '40%', '10% holdout']);
    const svg = renderSvg(layoutGraph(graph), { id: 'every-step', title: 't' });
    expect(svg).toContain('set plan = &quot;&lt;gold&gt; &amp; \\&quot;more\\&quot;&quot;');
    expect(svg).not.toContain('<gold>');
  });

  it('says where Mermaid text it cannot read goes wrong', () => {
    expect(() => parseMermaid('')).toThrow('empty diagram: expected "graph TD"');
    expect(() => parseMermaid('sequenceDiagram\n  a->>b: hi')).toThrow('line 1: expected "graph TD", got "sequenceDiagram"');
    expect(() => parseMermaid('graph TD\n  a["open')).toThrow('line 2, column 3: expected a closing quote in "a[\\"open"');
    expect(() => parseMermaid('graph TD\n  a --> ')).toThrow('line 2, column 6: expected a node id in "a -->"');
    expect(() => parseMermaid('graph TD\n  a ~~ b')).toThrow('line 2, column 3: expected "-->" or the end of the line in "a ~~ b"');
  });
});
