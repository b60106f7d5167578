// Journey diagrams without mermaid.js: parse the `graph TD` flowchart the journey
// compiler writes (workflows/journeys/mermaid.ts), lay it out in layers from top
// to bottom, and draw it as plain SVG. Pure functions: no DOM needed, so Node
// tests import this file too.

/** @typedef {'rect'|'stadium'|'hexagon'|'rhombus'|'circle'|'doublecircle'|'flag'} Shape */

const SHAPES = [
  // opener, closer, shape: longest openers first
  ['(((', ')))', 'doublecircle'],
  ['((', '))', 'circle'],
  ['([', '])', 'stadium'],
  ['{{', '}}', 'hexagon'],
  ['[', ']', 'rect'],
  ['{', '}', 'rhombus'],
  ['(', ')', 'stadium'],
  ['>', ']', 'flag'],
];

/** Mermaid entity codes (`#quot;`, `#lt;`, `#35;`) back to characters. */
export function decodeEntities(s) {
  const named = { quot: '"', lt: '<', gt: '>', amp: '&', apos: "'", nbsp: '\u00a0' };
  return s.replace(/#(\w+);/g, (all, name) => (/^\d+$/.test(name) ? String.fromCodePoint(Number(name)) : (named[name] ?? all)));
}

function labelLines(raw) {
  return raw.split(/<br\s*\/?>/i).map(decodeEntities);
}

/**
 * Parse a Mermaid flowchart as the journey compiler writes it: one statement a
 * line, nodes `id<open>"label"<close>`, edges `a --> b` or `a -->|"label"| b`.
 * @returns {{ direction: string, nodes: Array<{ id: string, shape: Shape, lines: string[] }>, edges: Array<{ from: string, to: string, label?: string }> }}
 */
export function parseMermaid(text) {
  const nodes = new Map();
  const edges = [];
  let direction = 'TD';
  const lines = String(text).split(/\r?\n/);
  let sawHeader = false;
  for (const [lineNo, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (!line || line.startsWith('%%')) continue;
    const header = /^(?:graph|flowchart)\s+(TD|TB|BT|LR|RL)\s*;?$/i.exec(line);
    if (!sawHeader) {
      if (!header) throw new Error(`line ${lineNo + 1}: expected "graph TD", got ${JSON.stringify(line)}`);
      direction = header[1].toUpperCase();
      sawHeader = true;
      continue;
    }
    if (/^(classDef|class|style|linkStyle|click)\b/.test(line)) continue;
    let pos = 0;
    const fail = (what) => {
      throw new Error(`line ${lineNo + 1}, column ${pos + 1}: expected ${what} in ${JSON.stringify(line)}`);
    };
    const spaces = () => {
      while (line[pos] === ' ' || line[pos] === '\t') pos++;
    };
    const quoted = () => {
      if (line[pos] === '"') {
        const end = line.indexOf('"', pos + 1);
        if (end < 0) fail('a closing quote');
        const s = line.slice(pos + 1, end);
        pos = end + 1;
        return s;
      }
      return undefined;
    };
    const node = () => {
      const m = /^[A-Za-z0-9_]+/.exec(line.slice(pos));
      if (!m) fail('a node id');
      const id = m[0];
      pos += id.length;
      const shape = SHAPES.find(([open]) => line.startsWith(open, pos));
      if (shape) {
        const [open, close, kind] = shape;
        pos += open.length;
        let label = quoted();
        if (label === undefined) {
          const end = line.indexOf(close, pos);
          if (end < 0) fail(`"${close}"`);
          label = line.slice(pos, end);
          pos = end;
        }
        if (!line.startsWith(close, pos)) fail(`"${close}"`);
        pos += close.length;
        const existing = nodes.get(id);
        if (existing) Object.assign(existing, { shape: kind, lines: labelLines(label) });
        else nodes.set(id, { id, shape: kind, lines: labelLines(label) });
      } else if (!nodes.has(id)) {
        nodes.set(id, { id, shape: 'rect', lines: [id], implicit: true });
      }
      return id;
    };
    spaces();
    let from = node();
    for (;;) {
      spaces();
      if (pos >= line.length || line[pos] === ';') break;
      const arrow = /^(-->|---|==>|-\.->)/.exec(line.slice(pos));
      if (!arrow) fail('"-->" or the end of the line');
      pos += arrow[0].length;
      spaces();
      let label;
      if (line[pos] === '|') {
        pos++;
        label = quoted();
        if (label === undefined) {
          const end = line.indexOf('|', pos);
          if (end < 0) fail('"|"');
          label = line.slice(pos, end);
          pos = end;
        }
        if (line[pos] !== '|') fail('"|"');
        pos++;
        spaces();
      }
      const to = node();
      edges.push(label === undefined ? { from, to } : { from, to, label: decodeEntities(label) });
      from = to;
    }
  }
  if (!sawHeader) throw new Error('empty diagram: expected "graph TD"');
  return { direction, nodes: [...nodes.values()], edges };
}

/** What a node is, from the compiler's conventions (ids and label lines). */
export function nodeKind(node) {
  if (node.id === 'trigger') return 'trigger';
  if (/^goal_\d+$/.test(node.id)) return 'goal';
  if (/^exit_\d+$/.test(node.id)) return 'exit-event';
  if (node.id === 'done' || node.id === 'holdout') return 'end';
  const what = node.lines[1] ?? '';
  if (node.shape === 'circle') return 'exit';
  if (what.startsWith('send ')) return 'send';
  if (what.startsWith('webhook ')) return 'webhook';
  if (what.startsWith('wait for ')) return 'wait-for';
  if (what.startsWith('wait')) return 'wait';
  if (what === 'branch' || what === 'random split') return 'branch';
  if (what.startsWith('tag ')) return 'tag';
  if (what.startsWith('set ')) return 'update';
  return 'step';
}

/** The journey step id a node stands for (`s_send_welcome` -> `send-welcome`), or undefined. */
export function stepIdOf(node) {
  if (!node.id.startsWith('s_')) return undefined;
  // A step's label starts with its id; an exit step's label is "exit: ...", so its id comes from the node id.
  return nodeKind(node) === 'exit' ? node.id.slice(2).replace(/_/g, '-') : node.lines[0];
}

/** Split a long label line at spaces so no line is much wider than `max` characters. */
export function wrapLine(line, max = 34) {
  if (line.length <= max) return [line];
  const out = [];
  let rest = line;
  while (rest.length > max) {
    let cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = rest.indexOf(' ', max);
    if (cut < 0) break;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}

const LINE_HEIGHT = 15;
const PAD_X = 12;
const PAD_Y = 8;
const NODE_GAP = 28;
const RANK_GAP = 46;
const MARGIN = 12;

/** Width of a text line, about right for 12 px sans-serif; the page passes a real measure. */
export function estimateWidth(text, bold = false) {
  let w = 0;
  for (const ch of text) w += /[il.,:;'|!]/.test(ch) ? 3.5 : /[mwMW@]/.test(ch) ? 10 : /[A-Z]/.test(ch) ? 8 : 6.6;
  return w * (bold ? 1.08 : 1);
}

function nodeBox(node, measure) {
  const lines = node.lines.flatMap((l) => wrapLine(l));
  const textW = Math.max(...lines.map((l, i) => measure(l, i === 0 && node.lines.length > 1)), 10);
  const textH = lines.length * LINE_HEIGHT;
  let w = textW + 2 * PAD_X;
  let h = textH + 2 * PAD_Y;
  switch (node.shape) {
    case 'stadium':
      w += h / 2;
      break;
    case 'hexagon':
      w += 24;
      break;
    case 'rhombus':
      w = textW * 1.25 + 36;
      h = textH * 1.6 + 26;
      break;
    case 'circle':
    case 'doublecircle': {
      w = Math.max(textW + 28, h + 8);
      h = Math.max(h + 6, 34);
      break;
    }
    case 'flag':
      w += 14;
      break;
  }
  return { lines, w: Math.ceil(w), h: Math.ceil(h) };
}

/**
 * A layered top-down layout (Sugiyama style): cycles broken by reversing back
 * edges, longest-path layers, dummy points on long edges, barycentre ordering,
 * then x positions pulled towards neighbours without overlaps.
 * @param {ReturnType<typeof parseMermaid>} graph
 * @param {{ measure?: (text: string, bold: boolean) => number, reserve?: (node: object) => number }} [options]
 *   `reserve`: extra width kept free to the right of a node (for counters).
 */
export function layoutGraph(graph, options = {}) {
  const measure = options.measure ?? estimateWidth;
  const reserve = options.reserve ?? (() => 0);
  const ids = graph.nodes.map((n) => n.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const out = ids.map(() => []);
  const inn = ids.map(() => []);
  graph.edges.forEach((e, i) => {
    out[index.get(e.from)].push(i);
    inn[index.get(e.to)].push(i);
  });

  // 1. Break cycles: depth-first from the nodes without incoming edges; an edge to a node on the stack is reversed.
  const reversed = new Set();
  const state = ids.map(() => 0);
  const visit = (v) => {
    state[v] = 1;
    for (const ei of out[v]) {
      const w = index.get(graph.edges[ei].to);
      if (state[w] === 1) reversed.add(ei);
      else if (state[w] === 0) visit(w);
    }
    state[v] = 2;
  };
  ids.forEach((_, v) => inn[v].length === 0 && state[v] === 0 && visit(v));
  ids.forEach((_, v) => state[v] === 0 && visit(v));
  const dag = graph.edges.map((e, i) => {
    const [a, b] = reversed.has(i) ? [e.to, e.from] : [e.from, e.to];
    return { a: index.get(a), b: index.get(b), i };
  }).filter((e) => e.a !== e.b);

  // 2. Layers: longest path from the sources.
  const layer = ids.map(() => 0);
  const order = topological(ids.length, dag);
  for (const v of order) for (const e of dag) if (e.a === v) layer[e.b] = Math.max(layer[e.b], layer[v] + 1);
  // A source placed far above its successors (a second entry point) moves down next to them.
  for (const v of [...order].reverse()) {
    const succ = dag.filter((e) => e.a === v).map((e) => layer[e.b]);
    if (succ.length && dag.every((e) => e.b !== v)) layer[v] = Math.max(layer[v], Math.min(...succ) - 1);
  }

  // 3. Boxes and dummy points for edges spanning more than one layer.
  const items = graph.nodes.map((n) => ({ ...nodeBox(n, measure), id: n.id, node: n, reserve: reserve(n), dummy: false }));
  items.forEach((it, v) => (it.layer = layer[v]));
  const segments = []; // per original edge: the chain of item indices from its top end to its bottom end
  for (const e of dag) {
    const chain = [e.a];
    for (let l = layer[e.a] + 1; l < layer[e.b]; l++) {
      items.push({ id: `~${e.i}.${l}`, lines: [], w: graph.edges[e.i].label && l === layer[e.a] + 1 ? 8 : 4, h: 0, reserve: 0, dummy: true, layer: l });
      chain.push(items.length - 1);
    }
    chain.push(e.b);
    segments[e.i] = chain;
  }
  const depth = Math.max(0, ...items.map((it) => it.layer)) + 1;
  const layers = Array.from({ length: depth }, () => []);
  items.forEach((it, k) => layers[it.layer].push(k));
  const up = items.map(() => []);
  const down = items.map(() => []);
  for (const chain of segments) {
    if (!chain) continue;
    for (let k = 0; k + 1 < chain.length; k++) {
      down[chain[k]].push(chain[k + 1]);
      up[chain[k + 1]].push(chain[k]);
    }
  }

  // 4. Order within layers: barycentre sweeps, keeping the order with the fewest crossings.
  const pos = new Map();
  const setPositions = () => layers.forEach((ls) => ls.forEach((k, i) => pos.set(k, i)));
  setPositions();
  const crossings = () => {
    let c = 0;
    for (let l = 0; l + 1 < depth; l++) {
      const edges = layers[l].flatMap((k) => down[k].map((m) => [pos.get(k), pos.get(m)]));
      for (let x = 0; x < edges.length; x++)
        for (let y = x + 1; y < edges.length; y++) if ((edges[x][0] - edges[y][0]) * (edges[x][1] - edges[y][1]) < 0) c++;
    }
    return c;
  };
  let best = layers.map((ls) => [...ls]);
  let bestCrossings = crossings();
  for (let sweep = 0; sweep < 8 && bestCrossings > 0; sweep++) {
    const downward = sweep % 2 === 0;
    const range = downward ? [...Array(depth).keys()].slice(1) : [...Array(depth).keys()].reverse().slice(1);
    for (const l of range) {
      const neighbours = downward ? up : down;
      const bary = new Map(layers[l].map((k) => {
        const ns = neighbours[k];
        return [k, ns.length ? ns.reduce((s, m) => s + pos.get(m), 0) / ns.length : pos.get(k)];
      }));
      layers[l].sort((p, q) => bary.get(p) - bary.get(q) || pos.get(p) - pos.get(q));
      layers[l].forEach((k, i) => pos.set(k, i));
    }
    const c = crossings();
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((ls) => [...ls]);
    }
  }
  best.forEach((ls, l) => (layers[l] = ls));
  setPositions();

  // 5. x: pack each layer, then pull nodes towards the mean of their neighbours' centres, keeping them apart.
  const x = new Array(items.length).fill(0);
  const left = (k) => items[k].w / 2;
  const right = (k) => items[k].w / 2 + items[k].reserve;
  const gap = (k, m) => (items[k].dummy || items[m].dummy ? NODE_GAP / 2 : NODE_GAP);
  for (const ls of layers) {
    let cursor = 0;
    ls.forEach((k, i) => {
      if (i > 0) cursor += right(ls[i - 1]) + gap(ls[i - 1], k) + left(k);
      x[k] = cursor;
    });
    const shift = cursor / 2;
    ls.forEach((k) => (x[k] -= shift));
  }
  const place = (ls, desired) => {
    // Left to right at the desired x or just right of the previous one; then the same right to left, and average.
    const a = ls.map((k) => desired.get(k));
    const fromLeft = [...a];
    for (let i = 1; i < ls.length; i++) fromLeft[i] = Math.max(fromLeft[i], fromLeft[i - 1] + right(ls[i - 1]) + gap(ls[i - 1], ls[i]) + left(ls[i]));
    const fromRight = [...a];
    for (let i = ls.length - 2; i >= 0; i--) fromRight[i] = Math.min(fromRight[i], fromRight[i + 1] - right(ls[i]) - gap(ls[i], ls[i + 1]) - left(ls[i + 1]));
    const merged = a.map((_, i) => (fromLeft[i] + fromRight[i]) / 2);
    for (let i = 1; i < ls.length; i++) merged[i] = Math.max(merged[i], merged[i - 1] + right(ls[i - 1]) + gap(ls[i - 1], ls[i]) + left(ls[i]));
    ls.forEach((k, i) => (x[k] = merged[i]));
  };
  for (let iter = 0; iter < 12; iter++) {
    const downward = iter % 2 === 0;
    const range = downward ? [...Array(depth).keys()] : [...Array(depth).keys()].reverse();
    for (const l of range) {
      const desired = new Map(layers[l].map((k) => {
        const ns = downward ? up[k] : down[k];
        const all = ns.length ? ns : [...up[k], ...down[k]];
        return [k, all.length ? all.reduce((s, m) => s + x[m], 0) / all.length : x[k]];
      }));
      place(layers[l], desired);
    }
  }

  // 6. y: one row per layer, as tall as its tallest node.
  const rowH = layers.map((ls) => Math.max(0, ...ls.map((k) => items[k].h)));
  const rowTop = [];
  let y = MARGIN;
  for (let l = 0; l < depth; l++) {
    rowTop[l] = y;
    y += (rowH[l] || 8) + RANK_GAP;
  }
  const height = Math.ceil(y - RANK_GAP + MARGIN);
  const minX = Math.min(...items.map((it, k) => x[k] - left(k)));
  const maxX = Math.max(...items.map((it, k) => x[k] + right(k)));
  const dx = MARGIN - minX;
  const box = (k) => {
    const it = items[k];
    const cx = x[k] + dx;
    const cy = rowTop[it.layer] + rowH[it.layer] / 2;
    return { cx, cy, x: cx - it.w / 2, y: cy - it.h / 2, w: it.w, h: it.h };
  };

  const nodes = graph.nodes.map((n, k) => ({ ...box(k), id: n.id, shape: n.shape, kind: nodeKind(n), lines: items[k].lines, title: n.lines, stepId: stepIdOf(n), reserve: items[k].reserve }));
  const edges = graph.edges.map((e, i) => {
    const chain = segments[i];
    if (!chain) {
      // A self-loop: a small arc on the right.
      const b = box(index.get(e.from));
      const r = b.x + b.w;
      return { ...e, points: [{ x: r, y: b.cy - 6 }, { x: r + 24, y: b.cy - 14 }, { x: r + 24, y: b.cy + 14 }, { x: r, y: b.cy + 6 }], labelAt: { x: r + 28, y: b.cy } };
    }
    const points = chain.map((k, j) => {
      const b = box(k);
      if (items[k].dummy) return { x: b.cx, y: b.cy };
      return j === 0 ? { x: b.cx, y: b.y + b.h } : { x: b.cx, y: b.y };
    });
    if (reversed.has(i)) points.reverse();
    // The label sits on the first stretch of the edge, a little below the middle (clear of sibling labels).
    const [p, q] = reversed.has(i) ? [points[points.length - 2], points[points.length - 1]] : [points[0], points[1]];
    const t = chain.length > 2 ? 0.55 : 0.5;
    return { ...e, reversed: reversed.has(i), points, labelAt: { x: p.x + (q.x - p.x) * t, y: p.y + (q.y - p.y) * t } };
  });
  return { width: Math.ceil(maxX + dx + MARGIN), height, nodes, edges, crossings: bestCrossings };
}

function topological(n, dag) {
  const indeg = new Array(n).fill(0);
  for (const e of dag) indeg[e.b]++;
  const queue = [...Array(n).keys()].filter((v) => indeg[v] === 0);
  const out = [];
  while (queue.length) {
    const v = queue.shift();
    out.push(v);
    for (const e of dag) if (e.a === v && --indeg[e.b] === 0) queue.push(e.b);
  }
  return out;
}

/** Escape text for SVG/HTML markup. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const f = (n) => Math.round(n * 10) / 10;

function shapeMarkup(n) {
  const { x, y, w, h, cx, cy } = n;
  switch (n.shape) {
    case 'stadium':
      return `<rect x="${f(x)}" y="${f(y)}" width="${w}" height="${h}" rx="${f(Math.min(h / 2, 18))}"/>`;
    case 'hexagon': {
      const d = 12;
      return `<polygon points="${f(x + d)},${f(y)} ${f(x + w - d)},${f(y)} ${f(x + w)},${f(cy)} ${f(x + w - d)},${f(y + h)} ${f(x + d)},${f(y + h)} ${f(x)},${f(cy)}"/>`;
    }
    case 'rhombus':
      return `<polygon points="${f(cx)},${f(y)} ${f(x + w)},${f(cy)} ${f(cx)},${f(y + h)} ${f(x)},${f(cy)}"/>`;
    case 'circle':
      return `<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="${f(w / 2)}" ry="${f(h / 2)}"/>`;
    case 'doublecircle':
      return `<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="${f(w / 2)}" ry="${f(h / 2)}"/><ellipse class="inner" cx="${f(cx)}" cy="${f(cy)}" rx="${f(w / 2 - 4)}" ry="${f(h / 2 - 4)}"/>`;
    case 'flag':
      return `<polygon points="${f(x)},${f(y)} ${f(x + w)},${f(y)} ${f(x + w)},${f(y + h)} ${f(x)},${f(y + h)} ${f(x + 12)},${f(cy)}"/>`;
    default:
      return `<rect x="${f(x)}" y="${f(y)}" width="${w}" height="${h}" rx="4"/>`;
  }
}

function edgePath(points) {
  const [first, ...rest] = points;
  let d = `M${f(first.x)},${f(first.y)}`;
  let prev = first;
  for (const p of rest) {
    const dy = (p.y - prev.y) / 2;
    d += ` C${f(prev.x)},${f(prev.y + dy)} ${f(p.x)},${f(p.y - dy)} ${f(p.x)},${f(p.y)}`;
    prev = p;
  }
  return d;
}

/**
 * SVG markup for a laid-out journey. Every node that can carry counters gets an
 * empty `<text class="counts" data-node="...">` to its right for the page to fill.
 * @param {ReturnType<typeof layoutGraph>} layout
 * @param {{ id: string, title: string, counters?: (node: object) => boolean, measure?: (text: string, bold: boolean) => number }} options
 */
export function renderSvg(layout, options) {
  const uid = options.id.replace(/[^A-Za-z0-9_-]/g, '_');
  const measure = options.measure ?? estimateWidth;
  const labels = placeLabels(layout.edges, measure);
  // Labels pushed apart may stick out of the layout: the picture grows to hold them.
  const minX = Math.floor(Math.min(0, ...labels.map((l) => l.x - l.w / 2 - 4)));
  const maxX = Math.ceil(Math.max(layout.width, ...labels.map((l) => l.x + l.w / 2 + 4)));
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="${maxX - minX}" height="${layout.height}" viewBox="${minX} 0 ${maxX - minX} ${layout.height}" role="img" aria-labelledby="dt-${uid}">`,
    `<title id="dt-${uid}">${esc(options.title)}</title>`,
    `<defs><marker id="arrow-${uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  parts.push('<g class="edges">');
  for (const e of layout.edges) {
    parts.push(`<path class="edge${e.reversed ? ' back' : ''}" d="${edgePath(e.points)}" marker-end="url(#arrow-${uid})" data-from="${esc(e.from)}" data-to="${esc(e.to)}"/>`);
  }
  parts.push('</g><g class="nodes">');
  for (const n of layout.nodes) {
    parts.push(`<g class="node ${n.kind}" data-node="${esc(n.id)}"${n.stepId ? ` data-step="${esc(n.stepId)}"` : ''}>`);
    parts.push(shapeMarkup(n));
    const top = n.cy - (n.lines.length * LINE_HEIGHT) / 2 + 11;
    const bold = n.title.length > 1;
    const firstTitleLines = bold ? wrapLine(n.title[0]).length : 0;
    n.lines.forEach((line, i) => {
      parts.push(`<text x="${f(n.cx)}" y="${f(top + i * LINE_HEIGHT)}" text-anchor="middle"${i < firstTitleLines ? ' class="title"' : ''}>${esc(line)}</text>`);
    });
    parts.push('</g>');
    if (options.counters?.(n)) {
      parts.push(`<text class="counts" data-node="${esc(n.id)}" x="${f(n.x + n.w + 8)}" y="${f(n.cy)}" aria-hidden="true"></text>`);
    }
  }
  // Edge labels last, so no node hides one; labels that would overlap (sibling edges leaving one node) are pushed apart.
  parts.push('</g><g class="edge-labels">');
  for (const l of labels) {
    parts.push(`<g class="edge-label"><rect x="${f(l.x - l.w / 2)}" y="${f(l.y - 9)}" width="${f(l.w)}" height="18" rx="3"/><text x="${f(l.x)}" y="${f(l.y + 4)}" text-anchor="middle">${esc(l.text)}</text></g>`);
  }
  parts.push('</g></svg>');
  return parts.join('');
}

/** Label boxes (centre x, y and width) at their edges, moved sideways until no two overlap. */
export function placeLabels(edges, measure = estimateWidth) {
  const GAP = 6;
  const labels = edges.filter((e) => e.label).map((e) => ({ text: e.label, w: measure(e.label, false) + 8, x: e.labelAt.x, y: e.labelAt.y }));
  for (let round = 0; round < 20; round++) {
    let moved = false;
    labels.sort((a, b) => a.x - b.x);
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        const [a, b] = [labels[i], labels[j]];
        if (Math.abs(a.y - b.y) >= 18 + 2) continue;
        const overlap = a.x + a.w / 2 + GAP - (b.x - b.w / 2);
        if (overlap <= 0) continue;
        a.x -= overlap / 2;
        b.x += overlap / 2;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return labels;
}
