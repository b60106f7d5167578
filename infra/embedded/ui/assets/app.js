// Rapport's local web page: journeys with live counts, customer lookup, segments, broadcasts, outbox, tracking plan violations.
// Vanilla JS reading the embedded engine's JSON API; no framework, no build step.
/* global document, location, window, fetch, setTimeout, clearTimeout, getComputedStyle, Node, URLSearchParams */
import { layoutGraph, nodeKind, parseMermaid, renderSvg } from './diagram.js';

const POLL_MS = 2000;
const main = document.getElementById('main');
const live = document.getElementById('live');
const announce = document.getElementById('announce');

// ---------------------------------------------------------------- helpers

/** Create an element: attributes (`class`, `on<event>` handlers, others as attributes) and children (nodes or text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.error;
  }
}

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const pad = (n) => String(n).padStart(2, '0');
/** Local time as YYYY-MM-DD HH:MM:SS (the ISO value is in the title). */
function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
const time = (iso) => (iso ? h('time', { datetime: iso, title: iso }, fmtTime(iso)) : h('span', { class: 'muted' }, '–'));
const nowClock = () => fmtTime(new Date().toISOString()).slice(11);
const num = (n) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(n);
const json = (v, max = 240) => {
  const s = JSON.stringify(v);
  return s.length > max ? h('span', { class: 'json', title: s }, `${s.slice(0, max)}…`) : h('span', { class: 'json' }, s);
};
const empty = (text) => h('p', { class: 'empty' }, text);

function table(caption, head, rows, options = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: options.class },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col', class: /^(Sent|Skipped|Deferred|Failed|Transitions|Members|#|\$)/.test(c) ? 'num' : undefined }, c)))),
      h('tbody', {}, rows),
    ),
  );
}

/** The refresh note in the header; only a problem is announced to screen readers (not every refresh). */
function setLive(text, error = false) {
  live.textContent = text;
  live.classList.toggle('error', error);
  const said = error ? text : '';
  if (announce.textContent !== said) announce.textContent = said;
}

// ---------------------------------------------------------------- routing

/** One view's lifetime: polls stop and late responses are dropped when the view changes. */
function session() {
  const stops = [];
  const s = {
    active: true,
    poll(fn, ms) {
      let timer;
      const tick = async () => {
        try {
          await fn();
        } catch (error) {
          if (!s.active) return;
          const what = error instanceof ApiError ? `The engine answered ${error.status} (${error.message})` : `The engine does not answer (${error.message})`;
          setLive(`${what}; retrying every ${ms / 1000} s`, true);
        }
        if (s.active) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
      stops.push(() => clearTimeout(timer));
    },
    stop() {
      s.active = false;
      stops.forEach((f) => f());
    },
  };
  return s;
}

const VIEWS = { journeys: journeysView, customers: customersView, segments: segmentsView, broadcasts: broadcastsView, outbox: outboxView, 'tracking-plan': trackingPlanView };
let current = session();

function route() {
  const hash = location.hash && location.hash !== '#' ? location.hash : '#/journeys';
  if (!hash.startsWith('#/')) return;
  const [view, ...rest] = hash.slice(2).split('/');
  let arg;
  try {
    arg = rest.length && rest.join('/') ? decodeURIComponent(rest.join('/')) : undefined;
  } catch {
    arg = rest.join('/');
  }
  current.stop();
  current = session();
  setLive('');
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.getAttribute('href') === `#/${view}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  const render = VIEWS[view];
  if (!render) {
    document.title = 'Not found · Rapport';
    main.append(h('h1', {}, 'Not found'), h('p', {}, 'There is no view ', h('code', {}, hash), '. Try ', h('a', { href: '#/journeys' }, 'Journeys'), '.'));
    return;
  }
  const s = current;
  render(main, arg, s).catch((error) => {
    if (!s.active) return;
    main.append(h('p', { class: 'notice error', role: 'alert' }, `Could not load this view: ${error.message}`));
  });
}

// After a navigation, a keyboard or screen reader user continues at the new view (a view may then focus its own field).
window.addEventListener('hashchange', () => {
  main.focus({ preventScroll: true });
  route();
});
route();

// ---------------------------------------------------------------- journeys

let measureCtx;
/** Text width as the SVG will draw it (same font as the stylesheet's `.diagram text`). */
function measure(text, bold) {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  const family = getComputedStyle(document.documentElement).getPropertyValue('--sans').trim() || 'sans-serif';
  measureCtx.font = `${bold ? '600 ' : ''}12px ${family}`;
  return measureCtx.measureText(text).width;
}

const detailTypes = (patterns) => (patterns ?? []).flatMap((p) => p['detail-type'] ?? []);
const COUNTED = new Set(['send', 'webhook', 'trigger']);

/** Journey counters split into journey-level ones and per-step ones (`<step>.sent`, `<step>.skipped.<reason>`, `<step>.deferred.<reason>`). */
function splitCounters(counters) {
  const journey = {};
  const steps = new Map();
  for (const [key, value] of Object.entries(counters ?? {})) {
    const m = key.startsWith('skipped.') ? null : /^(.+?)\.(sent|skipped|deferred)(?:\.(.+))?$/.exec(key);
    if (!m) {
      journey[key] = value;
      continue;
    }
    const [, step, what, reason] = m;
    const s = steps.get(step) ?? { sent: 0, skipped: {}, deferred: {} };
    if (what === 'sent') s.sent += value;
    else s[what][reason ?? 'unknown'] = (s[what][reason ?? 'unknown'] ?? 0) + value;
    steps.set(step, s);
  }
  return { journey, steps };
}
const total = (byReason) => Object.values(byReason).reduce((a, b) => a + b, 0);
const reasons = (byReason) => Object.entries(byReason).map(([r, n]) => `${r} ${n}`).join(', ');

async function journeysView(root, arg, s) {
  document.title = arg ? `${arg} · Journeys · Rapport` : 'Journeys · Rapport';
  const { journeys } = await api('/v1/journeys');
  if (!s.active) return;
  const shown = arg ? journeys.filter((j) => j.id === arg) : journeys;
  root.replaceChildren(h('h1', {}, arg ? h('span', {}, h('a', { href: '#/journeys' }, 'Journeys'), ' / ', arg) : 'Journeys'));
  if (arg && shown.length === 0) {
    root.append(h('p', { class: 'notice', role: 'alert' }, `No journey with id "${arg}".`));
    return;
  }
  if (shown.length === 0) {
    root.append(empty('No journeys: add YAML files to workflows/journeys.d and restart the engine.'));
    return;
  }
  root.append(h('p', { class: 'muted' }, `${shown.length === 1 ? 'One journey' : `${shown.length} journeys`} as the engine compiled them. Counts refresh every 2 seconds.`));
  const cards = shown.map(journeyCard);
  root.append(...cards.map((c) => c.el));
  const refresh = async () => {
    const stats = await Promise.all(shown.map((j) => api(`/v1/journeys/${encodeURIComponent(j.id)}/stats`)));
    if (!s.active) return;
    stats.forEach((st, i) => cards[i].update(st.counters ?? {}));
    setLive(`Live counts, updated ${nowClock()}`);
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

function journeyCard(j) {
  const headingId = `journey-${j.id}`;
  const goals = detailTypes(j.goalPatterns);
  const chips = {};
  const chip = (key, label, cls, alwaysShown = true) => {
    chips[key] = h('span', { class: 'n' }, '0');
    const li = h('li', { class: cls, hidden: !alwaysShown }, chips[key], ` ${label}`);
    chips[key].li = li;
    return li;
  };
  const summary = h(
    'ul',
    { class: 'chips', 'aria-label': `${j.id} totals` },
    chip('entered', 'entered'),
    chip('running', 'in progress'),
    chip('goal', 'reached the goal', 'goal'),
    chip('completed', 'completed'),
    chip('holdout', 'in the holdout', '', false),
    chip('exited', 'exited on an exit event', '', false),
    chip('stopped', 'stopped', '', false),
    chip('failed', 'failed', 'bad', false),
    chip('skipped', 'not entered', '', false),
  );

  // The diagram, drawn from the compiler's Mermaid text.
  let graph;
  let layout;
  const wrap = h('div', { class: 'diagram-wrap' });
  try {
    graph = parseMermaid(j.mermaid);
    const single = (kind) => graph.nodes.filter((n) => n.id.startsWith(kind)).length === 1;
    const counted = (n) => COUNTED.has(n.kind) || (n.kind === 'goal' && single('goal_')) || (n.kind === 'exit-event' && single('exit_'));
    layout = layoutGraph(graph, {
      measure,
      reserve: (n) => {
        const kind = nodeKind(n);
        if (kind === 'trigger') return 76;
        if (kind === 'send' || kind === 'webhook') return 84;
        return (kind === 'goal' && single('goal_')) || (kind === 'exit-event' && single('exit_')) ? 70 : 0;
      },
    });
    wrap.innerHTML = renderSvg(layout, { id: j.id, title: `Diagram of journey ${j.id}: ${layout.nodes.length} nodes from trigger to end`, counters: counted, measure });
  } catch (error) {
    wrap.append(h('p', { class: 'notice error' }, `Could not draw this diagram (${error.message}). Its Mermaid text is below.`));
  }

  // Per-step counts as a table: the text equivalent of the numbers on the diagram.
  const stepNodes = (layout?.nodes ?? []).filter((n) => n.stepId && (n.kind === 'send' || n.kind === 'webhook'));
  const stepRows = new Map();
  const stepBody = h('tbody');
  const row = (step, what) => {
    const cells = { sent: h('td', { class: 'num' }, '0'), skipped: h('td', { class: 'num' }, '0'), deferred: h('td', { class: 'num' }, '0') };
    const tr = h('tr', { 'data-step': step }, h('th', { scope: 'row' }, h('code', {}, step), what ? h('span', { class: 'reasons' }, what) : null), cells.sent, cells.skipped, cells.deferred);
    stepRows.set(step, cells);
    stepBody.append(tr);
  };
  for (const n of stepNodes) row(n.stepId, n.title[1]);
  const stepTable = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'step-counts' },
      h('caption', {}, 'Per step'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Step'), h('th', { scope: 'col', class: 'num' }, 'Sent'), h('th', { scope: 'col', class: 'num' }, 'Skipped'), h('th', { scope: 'col', class: 'num' }, 'Deferred'))),
      stepBody,
    ),
  );

  const paths = table(
    'Paths and their Step Functions state transitions',
    ['Path', 'Transitions', '$ per 1,000 runs'],
    (j.transitionsPerPath ?? []).map((p) =>
      h(
        'tr',
        {},
        h('td', {}, p.path.filter((st) => !st.endsWith('.route') && st !== 'End').join(' → ')),
        h('td', { class: 'num' }, String(p.transitions)),
        h('td', { class: 'num' }, (p.transitions * 0.025).toFixed(3)),
      ),
    ),
    { class: 'paths' },
  );

  const el = h(
    'section',
    { class: 'card journey', 'aria-labelledby': headingId, 'data-journey': j.id },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: headingId }, h('a', { href: `#/journeys/${encodeURIComponent(j.id)}` }, j.id), ' ', h('span', { class: 'version' }, `v${j.version}`)),
      h(
        'dl',
        { class: 'meta' },
        h('div', {}, h('dt', {}, 'Trigger'), h('dd', {}, detailTypes(j.triggerPatterns).join(', ') || '–')),
        h('div', {}, h('dt', {}, 'Goal'), h('dd', {}, goals.join(', ') || 'none')),
      ),
    ),
    summary,
    h('div', { class: 'journey-body' }, wrap, h('div', {}, stepTable, whoIsWhere(j, [...new Set((layout?.nodes ?? []).map((n) => n.stepId).filter(Boolean))]), journeyPreview(j), h('details', {}, h('summary', {}, 'Paths and cost'), paths), h('details', {}, h('summary', {}, 'Mermaid source'), h('pre', {}, j.mermaid)))),
  );

  const svg = wrap.querySelector('svg');
  const badges = new Map([...(svg?.querySelectorAll('text.counts') ?? [])].map((t) => [t.getAttribute('data-node'), t]));
  const nodeStep = new Map((layout?.nodes ?? []).map((n) => [n.id, n.stepId]));
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const setBadge = (nodeId, lines) => {
    const t = badges.get(nodeId);
    if (!t) return;
    const spans = lines.map(([text, cls], i) => {
      const span = document.createElementNS(SVG_NS, 'tspan');
      span.setAttribute('x', t.getAttribute('x'));
      span.setAttribute('dy', String(i === 0 ? 4 - ((lines.length - 1) * 14) / 2 : 14));
      if (cls) span.setAttribute('class', cls);
      span.textContent = text;
      return span;
    });
    t.replaceChildren(...spans);
  };

  function update(counters) {
    const { journey, steps } = splitCounters(counters);
    // A holdout run that reached the goal is counted in both `holdout` and `goal` (and in `holdout.goal`).
    const ended = ['goal', 'completed', 'exited', 'stopped', 'failed', 'holdout'].reduce((a, k) => a + (journey[k] ?? 0), 0) - (journey['holdout.goal'] ?? 0);
    const values = { ...journey, running: Math.max(0, (journey.entered ?? 0) - ended), skipped: Object.entries(journey).filter(([k]) => k.startsWith('skipped.')).reduce((a, [, v]) => a + v, 0) };
    for (const [key, span] of Object.entries(chips)) {
      const v = values[key] ?? 0;
      span.textContent = String(v);
      if (span.li.hidden && v > 0) span.li.hidden = false;
    }
    const skippedReasons = Object.entries(journey).filter(([k]) => k.startsWith('skipped.'));
    chips.skipped.li.title = skippedReasons.map(([k, v]) => `${k.slice(8)} ${v}`).join(', ');
    chips.holdout.li.title = `${journey['holdout.goal'] ?? 0} of them reached the goal while held`;

    for (const step of steps.keys()) if (!stepRows.has(step)) row(step, '');
    for (const [step, cells] of stepRows) {
      const c = steps.get(step) ?? { sent: 0, skipped: {}, deferred: {} };
      cells.sent.textContent = String(c.sent);
      for (const what of ['skipped', 'deferred']) {
        cells[what].replaceChildren(String(total(c[what])), total(c[what]) ? h('span', { class: 'reasons' }, reasons(c[what])) : '');
      }
    }
    for (const nodeId of badges.keys()) {
      if (nodeId === 'trigger') setBadge(nodeId, [[`${journey.entered ?? 0} entered`, journey.entered ? '' : 'zero']]);
      else if (nodeId.startsWith('goal_')) setBadge(nodeId, [[`${journey.goal ?? 0} reached`, journey.goal ? '' : 'zero']]);
      else if (nodeId.startsWith('exit_')) setBadge(nodeId, [[`${journey.exited ?? 0} exited`, journey.exited ? '' : 'zero']]);
      else {
        const c = steps.get(nodeStep.get(nodeId)) ?? { sent: 0, skipped: {}, deferred: {} };
        const lines = [[`${c.sent} sent`, c.sent ? '' : 'zero']];
        if (total(c.skipped)) lines.push([`${total(c.skipped)} skipped`, 'skipped']);
        if (total(c.deferred)) lines.push([`${total(c.deferred)} deferred`, 'deferred']);
        setBadge(nodeId, lines);
      }
    }
  }
  return { el, update };
}

// ---------------------------------------------------------------- customers

async function customersView(root, arg, s) {
  document.title = arg ? `${arg} · Customers · Rapport` : 'Customers · Rapport';
  const input = h('input', {
    id: 'customer-id',
    name: 'customer',
    type: 'search',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    list: 'known-customers',
    placeholder: 'e.g. cust-1, tag:vip or ada@example.com',
    'aria-describedby': 'customer-id-hint',
  });
  input.value = arg ?? '';
  const datalist = h('datalist', { id: 'known-customers' });
  const form = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const id = input.value.trim();
        if (!id) return;
        const next = isSegmentId(id) ? segmentHref(id) : `#/customers/${encodeURIComponent(id)}`;
        if (location.hash === next) route();
        else location.hash = next;
      },
    },
    h('label', { for: 'customer-id' }, 'Customer id, segment id or email'),
    input,
    datalist,
    h('button', { type: 'submit' }, 'Look up'),
    h(
      'p',
      { id: 'customer-id-hint', class: 'hint' },
      'A customer id (the userId their events were sent with), or a segment id such as ',
      h('code', {}, 'tag:vip'),
      ', ',
      h('code', {}, 'lifecycle:active'),
      ' or ',
      h('code', {}, 'rfm:high-value'),
      ' (or a named segment, ',
      h('code', {}, 'segment:<id>'),
      ') to list its members, or an email address to find the customers who have it.',
    ),
  );
  root.replaceChildren(h('h1', {}, 'Customer lookup'), form);
  // Suggestions: the customer ids on the bus log, most recent first.
  api('/v1/bus/events?limit=2000')
    .then(({ events }) => {
      if (!s.active) return;
      const ids = [...new Set((events ?? []).map((e) => e.detail?.userId).filter((v) => typeof v === 'string').reverse())].slice(0, 200);
      datalist.replaceChildren(...ids.map((id) => h('option', { value: id })));
    })
    .catch(() => undefined);

  if (!arg) {
    root.append(h('p', { class: 'muted' }, 'Enter the id of a customer (the userId their events were sent with) to see their profile, timeline, messages and journey runs.'));
    input.focus();
    return;
  }
  const out = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(out);
  const base = `/v1/customers/${encodeURIComponent(arg)}`;
  let profile;
  try {
    profile = await api(base);
  } catch (error) {
    if (!s.active) return;
    // Not an id: an email address finds the customers who have it (one opens at once).
    if (error.status === 404 && arg.includes('@')) {
      const found = await api(`/v1/customers?email=${encodeURIComponent(arg)}`).catch(() => ({ customers: [] }));
      if (!s.active) return;
      const customers = found.customers ?? [];
      if (customers.length === 1) {
        location.hash = customerHref(customers[0].id);
        return;
      }
      if (customers.length > 1) {
        out.replaceChildren(
          table(
            `${customers.length} customers with the email ${arg}`,
            ['Customer', 'Email', 'Lifecycle', 'Last seen'],
            customers.map((c) => h('tr', { 'data-customer': c.id }, h('th', { scope: 'row' }, h('a', { href: customerHref(c.id) }, c.id)), h('td', {}, c.email), h('td', {}, c.lifecycleStage), h('td', {}, time(c.lastSeenAt)))),
            { class: 'customers-found' },
          ),
        );
        out.removeAttribute('aria-busy');
        return;
      }
    }
    out.replaceChildren(h('p', { class: 'notice', role: 'alert' }, error.status === 404 ? `No customer with id "${arg}"${arg.includes('@') ? ' or with that email' : ''}: the engine has received no event with this userId (or the customer was erased).` : `Could not load the customer: ${error.message}`));
    out.removeAttribute('aria-busy');
    return;
  }
  const [events, messages, runs] = await Promise.all([api(`${base}/events?limit=200`), api(`${base}/messages`), api(`${base}/journeys`)]);
  if (!s.active) return;
  out.replaceChildren(...customerSections(profile, events.events ?? [], messages.messages ?? [], runs.runs ?? []));
  out.removeAttribute('aria-busy');
}

const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
const valueText = (v) => (v === null || typeof v !== 'object' ? String(v) : json(v, 120));

function customerSections(p, events, messages, runs) {
  const t = p.traits ?? {};
  const name = [t.name ?? [t.firstName, t.lastName].filter(Boolean).join(' '), t.email].filter(Boolean).join(' · ');
  const computed = new Set(p.computedTags ?? []);
  const manual = new Set(p.manualTags ?? []);
  const tags = [...new Set([...(p.computedTags ?? []), ...(p.manualTags ?? []), ...(p.journeyTags ?? [])])].sort();
  const rfm = p.rfm ?? {};
  const head = h(
    'div',
    { class: 'card profile' },
    h('div', { class: 'profile-head' }, h('h2', {}, p.id), name ? h('span', { class: 'muted' }, name) : null),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', {}, 'Lifecycle'), h('dd', {}, h('span', { class: 'badge stage', 'data-field': 'lifecycle' }, p.lifecycleStage ?? '–'))),
      h('div', {}, h('dt', {}, 'RFM'), h('dd', { 'data-field': 'rfm' }, rfm.recency ? [h('span', { title: 'recency, frequency, monetary: 1 (low) to 5 (high)' }, `R${rfm.recency} F${rfm.frequency} M${rfm.monetary}`), rfm.tier ? h('span', { class: 'badge' }, rfm.tier) : h('span', { class: 'muted' }, 'no tier')] : h('span', { class: 'muted' }, 'none (no orders yet)'))),
      h(
        'div',
        {},
        h('dt', {}, 'Tags'),
        h(
          'dd',
          { 'data-field': 'tags' },
          tags.length
            ? tags.map((tag) =>
                computed.has(tag)
                  ? h('span', { class: 'tag', title: 'computed from a tag rule' }, tag)
                  : manual.has(tag)
                    ? h('span', { class: 'tag manual', title: 'manual: set from outside (tags trait)' }, tag, h('span', { class: 'visually-hidden' }, ' (manual)'))
                    : h('span', { class: 'tag manual', title: 'added by a journey (tag step)' }, tag, h('span', { class: 'visually-hidden' }, ' (journey)')),
              )
            : h('span', { class: 'muted' }, 'none'),
        ),
      ),
      Array.isArray(p.segments)
        ? h(
            'div',
            {},
            h('dt', {}, 'Segments'),
            h('dd', { 'data-field': 'segments' }, p.segments.length ? p.segments.map((id) => h('a', { class: 'segment', href: segmentHref(id), title: `Members of ${id}` }, id)) : h('span', { class: 'muted' }, 'none')),
          )
        : null,
    ),
  );

  const consent = Object.entries(p.consent ?? {}).map(([channel, c]) => [
    channel,
    h('span', { 'data-channel': channel }, h('span', { class: `badge ${c.status}` }, c.status), h('span', { class: 'reasons' }, [c.source, c.at ? ['since ', time(c.at)] : null].filter(Boolean).flatMap((v, i) => (i ? [' · ', v] : [v])))),
  ]);
  // Per topic (topics.yaml) and channel, the choices the customer made; a topic not listed stands at its default.
  const topicConsent = Object.entries(p.topicConsent ?? {}).flatMap(([channel, topics]) =>
    Object.entries(topics ?? {}).map(([topic, c]) => [
      `${channel} · ${topic}`,
      h('span', { 'data-channel': channel, 'data-topic': topic }, h('span', { class: `badge ${c.status}` }, c.status), h('span', { class: 'reasons' }, [c.source, c.at ? ['since ', time(c.at)] : null].filter(Boolean).flatMap((v, i) => (i ? [' · ', v] : [v])))),
    ]),
  );
  const suppression = Object.entries(p.suppression ?? {});
  const st = p.stats ?? {};
  const known = ['eventCount', 'orderCount', 'totalRevenue', 'averageOrderValue', 'firstOrderAt', 'lastOrderAt', 'complaintCount', 'openComplaints', 'resolvedComplaints', 'lastComplaintAt', 'lastResolutionAt', 'productsViewed', 'lastSurvey'];
  const statPairs = [
    ['Events', st.eventCount !== undefined ? num(st.eventCount) : undefined],
    ['Orders', st.orderCount !== undefined ? num(st.orderCount) : undefined],
    ['Revenue', st.totalRevenue !== undefined ? num(st.totalRevenue) : undefined],
    ['Average order', st.averageOrderValue !== undefined ? num(st.averageOrderValue) : undefined],
    ['First order', st.firstOrderAt ? time(st.firstOrderAt) : undefined],
    ['Last order', st.lastOrderAt ? time(st.lastOrderAt) : undefined],
    ['Complaints', st.complaintCount !== undefined ? num(st.complaintCount) : undefined],
    ['Open complaints', Array.isArray(st.openComplaints) ? st.openComplaints.join(', ') || 'none' : undefined],
    ['Resolved complaints', Array.isArray(st.resolvedComplaints) ? String(st.resolvedComplaints.length) : undefined],
    ['Last complaint', st.lastComplaintAt ? time(st.lastComplaintAt) : undefined],
    ['Last resolution', st.lastResolutionAt ? time(st.lastResolutionAt) : undefined],
    ['Products viewed', Array.isArray(st.productsViewed) ? String(st.productsViewed.length) : undefined],
    ['Last survey', st.lastSurvey ? `${st.lastSurvey.type} ${st.lastSurvey.score} (${fmtTime(st.lastSurvey.at)})` : undefined],
    ...Object.entries(st).filter(([k]) => !known.includes(k)).map(([k, v]) => [k, valueText(v)]),
  ];
  const grid = h(
    'div',
    { class: 'grid' },
    h('section', { class: 'card', 'aria-labelledby': 'h-traits' }, h('h3', { id: 'h-traits' }, 'Traits'), Object.keys(t).length ? kv(Object.entries(t).map(([k, v]) => [k, valueText(v)])) : empty('No traits.')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'h-consent' },
      h('h3', { id: 'h-consent' }, 'Consent'),
      consent.length ? kv(consent) : empty('No consent recorded.'),
      topicConsent.length ? [h('h4', {}, 'Topics'), kv(topicConsent)] : null,
      h('p', {}, h('strong', {}, 'Suppression: '), suppression.length ? suppression.map(([ch, v]) => `${ch} (${v?.reason ?? 'yes'})`).join(', ') : 'none'),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'h-stats' }, h('h3', { id: 'h-stats' }, 'Stats'), kv(statPairs)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'h-seen' },
      h('h3', { id: 'h-seen' }, 'Seen'),
      kv([
        ['First seen', time(p.firstSeenAt)],
        ['Last seen', time(p.lastSeenAt)],
        ['Anonymous ids', (p.anonymousIds ?? []).join(', ') || 'none'],
        ['Computed tags', (p.computedTags ?? []).join(', ') || 'none'],
        ['Manual tags', (p.manualTags ?? []).join(', ') || 'none'],
        ['Journey tags', (p.journeyTags ?? []).join(', ') || 'none'],
      ]),
    ),
  );

  const byTimeDesc = (key) => (a, b) => String(b[key] ?? '').localeCompare(String(a[key] ?? ''));
  const timeline = h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-timeline' },
    h('h2', { id: 'h-timeline', class: 'visually-hidden' }, 'Timeline'),
    events.length
      ? table(
          `Timeline: ${events.length} event${events.length === 1 ? '' : 's'}, newest first`,
          ['Time', 'Event', 'Details', 'Message id'],
          [...events].sort(byTimeDesc('timestamp')).map((e) =>
            h(
              'tr',
              {},
              h('td', {}, time(e.timestamp)),
              h('td', {}, e.type === 'track' ? h('strong', {}, e.event) : h('span', {}, e.type), e.type === 'track' ? null : h('span', { class: 'reasons' }, e.event ?? '')),
              h('td', {}, json(e.type === 'identify' || e.type === 'group' ? e.traits : e.properties)),
              h('td', { class: 'mono' }, e.messageId),
            ),
          ),
          { class: 'timeline' },
        )
      : empty('No events in the timeline.'),
  );
  const messageTable = h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-messages' },
    h('h2', { id: 'h-messages', class: 'visually-hidden' }, 'Messages'),
    messages.length
      ? table(
          `Messages: ${messages.length}, newest first`,
          ['Time', 'Journey', 'Step', 'Channel', 'Template', 'Kind', 'Status'],
          [...messages].sort(byTimeDesc('at')).map((m) =>
            h(
              'tr',
              { 'data-step': m.stepId },
              h('td', {}, time(m.at)),
              h('td', {}, h('a', { href: `#/journeys/${encodeURIComponent(m.journeyId)}` }, m.journeyId)),
              h('td', {}, h('code', {}, m.stepId)),
              h('td', {}, m.channel),
              h('td', {}, m.template),
              h('td', {}, m.kind ?? ''),
              h('td', {}, h('span', { class: `badge ${m.status}` }, m.status), m.reason ? ` ${m.reason}` : ''),
            ),
          ),
          { class: 'messages' },
        )
      : empty('No messages sent or skipped for this customer.'),
  );
  const runTable = h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-runs' },
    h('h2', { id: 'h-runs', class: 'visually-hidden' }, 'Journey runs'),
    runs.length
      ? table(
          `Journey runs: ${runs.length}, newest first`,
          ['Journey', 'Status', 'Started', 'Ended', 'Execution'],
          [...runs].sort(byTimeDesc('startedAt')).map((r) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: `#/journeys/${encodeURIComponent(r.journeyId)}` }, r.journeyId), r.key && r.key !== '*' ? h('span', { class: 'reasons' }, `per ${r.key}`) : null),
              h('td', {}, h('span', { class: `badge ${r.status}` }, r.status)),
              h('td', {}, time(r.startedAt)),
              h('td', {}, time(r.endedAt)),
              h('td', { class: 'mono' }, r.executionName),
            ),
          ),
          { class: 'runs' },
        )
      : empty('No journey runs for this customer.'),
  );
  return [head, grid, timeline, messageTable, previewBlock(p, messages), runTable];
}

/**
 * A message rendered for a customer as the send gateway would send it (GET /v1/admin/preview: the locale variant
 * of their locale trait, the address, the headers), nothing sent. The email's HTML is shown in a frame sandboxed
 * without scripts (`sandbox=""`), from /v1/admin/preview.html, whose own policy sandboxes it too and lets its inline
 * styles apply (a `srcdoc` frame would take this page's policy, which refuses them): the message's markup cannot
 * run anything nor reach the page. `show(params)` renders `{ customerId, template, channel, kind?, locale? }`.
 */
function previewPanel() {
  const out = h('div', { class: 'preview', 'aria-live': 'polite' });
  async function show(params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    out.setAttribute('aria-busy', 'true');
    try {
      const { message: m, locale: chosen } = await api(`/v1/admin/preview?${query}`);
      const headers = Object.entries(m.headers ?? {});
      out.replaceChildren(
        kv([
          ['To', m.to || 'no address: a send would be skipped'],
          ['Locale', chosen ?? 'default'],
          m.subject !== undefined ? ['Subject', m.subject] : ['', undefined],
          ['Headers', headers.length ? h('div', {}, headers.map(([k, v]) => h('div', { class: 'mono' }, `${k}: ${v}`))) : m.body !== undefined ? undefined : 'none'],
        ]),
        m.html !== undefined ? h('iframe', { class: 'email-html', sandbox: '', src: `/v1/admin/preview.html?${query}`, title: `HTML of ${m.subject}`, referrerpolicy: 'no-referrer' }) : null,
        h('pre', { class: 'email-text', 'aria-label': m.body !== undefined ? 'Text of the SMS' : `Text of ${m.subject}` }, m.body ?? m.text ?? ''),
      );
    } catch (error) {
      out.replaceChildren(h('p', { class: 'notice', role: 'alert' }, `Could not render it: ${error.message}`));
    }
    out.removeAttribute('aria-busy');
  }
  return { out, show };
}

/** A form whose submit calls `act` (no page load). */
const previewForm = (act, ...fields) =>
  h(
    'form',
    {
      class: 'preview-form',
      onsubmit: (e) => {
        e.preventDefault();
        void act();
      },
    },
    fields.flatMap((f) => [f, ' ']),
    h('button', { type: 'submit' }, 'Preview'),
  );

/** The customer view's preview: any template, for this customer; it starts as the template of their latest email or SMS. */
function previewBlock(p, messages) {
  const latest = [...messages].sort((a, b) => String(b.at ?? '').localeCompare(String(a.at ?? ''))).find((m) => m.channel === 'email' || m.channel === 'sms');
  const template = h('input', { name: 'template', value: latest?.template ?? '', placeholder: 'welcome', required: true, 'aria-label': 'Template', spellcheck: 'false' });
  const channel = h('select', { name: 'channel', 'aria-label': 'Channel' }, ['email', 'sms'].map((c) => h('option', { value: c, selected: latest?.channel === c }, c)));
  const locale = h('input', { name: 'locale', placeholder: 'their locale', 'aria-label': 'Locale', size: 10, spellcheck: 'false' });
  const panel = previewPanel();
  const show = () => {
    const name = template.value.trim();
    return panel.show({ customerId: p.id, template: name, channel: channel.value, kind: latest?.template === name ? latest.kind : undefined, locale: locale.value.trim() });
  };
  const form = previewForm(show, h('label', {}, 'Template ', template), channel, h('label', {}, 'Locale ', locale));
  return h('section', { class: 'block', 'aria-labelledby': 'h-preview' }, h('h2', { id: 'h-preview' }, 'Preview a message'), form, panel.out);
}

/** Who is where: the customers whose run is at a step of the journey now (the first 100, each a link to the customer). */
function whoIsWhere(j, stepIds) {
  if (stepIds.length === 0) return null;
  const step = h('select', { name: 'step', 'aria-label': `Step of ${j.id}` }, stepIds.map((id) => h('option', { value: id }, id)));
  const out = h('div', { class: 'who-is-where', 'aria-live': 'polite' });
  const show = async (event) => {
    event.preventDefault();
    try {
      const body = await api(`/v1/journeys/${encodeURIComponent(j.id)}/runs?step=${encodeURIComponent(step.value)}&limit=100`);
      const runs = body.runs ?? [];
      out.replaceChildren(
        runs.length === 0
          ? empty(`Nobody is at ${step.value} now.`)
          : table(
              `${runs.length}${body.next ? '+' : ''} at ${step.value} now${body.next ? ' (the first 100)' : ''}`,
              ['Customer', 'Since'],
              runs.map((r) => h('tr', { 'data-customer': r.customerId }, h('th', { scope: 'row' }, h('a', { href: customerHref(r.customerId) }, r.customerId)), h('td', {}, time(r.since)))),
              { class: 'runs-at' },
            ),
      );
    } catch (error) {
      out.replaceChildren(h('p', { class: 'notice error', role: 'alert' }, `Could not list: ${error.message}`));
    }
  };
  const form = h('form', { onsubmit: show }, h('label', {}, 'Step ', step), ' ', h('button', { type: 'submit' }, 'Who is here'));
  return h('details', { class: 'journey-where' }, h('summary', {}, 'Who is where now'), form, out);
}

/** A journey's preview: one of its email or SMS steps, for a customer the engine knows (trigger properties render empty). */
function journeyPreview(j) {
  const sends = j.sends ?? [];
  if (sends.length === 0) return null;
  const step = h('select', { name: 'step', 'aria-label': `Step of ${j.id} to preview` }, sends.map((s, i) => h('option', { value: String(i) }, `${s.step} (${s.channel} ${s.template})`)));
  const customer = h('input', { name: 'customer', required: true, placeholder: 'customer id', 'aria-label': `Customer to preview ${j.id} for`, spellcheck: 'false' });
  const panel = previewPanel();
  const show = () => {
    const s = sends[Number(step.value)];
    return panel.show({ customerId: customer.value.trim(), template: s.template, channel: s.channel, kind: s.kind });
  };
  return h('details', { class: 'journey-preview' }, h('summary', {}, 'Preview a send step for a customer'), previewForm(show, step, customer), panel.out);
}

// ---------------------------------------------------------------- segments

/** The kinds of built-in segment, as the engine names them in ids (`<kind>:<name>`), with their headings. */
const SEGMENT_KINDS = { segment: 'Named segments', tag: 'Tags', lifecycle: 'Lifecycle stages', rfm: 'RFM tiers' };
const SEGMENT_NOUNS = { segment: 'a named segment (workflows/segments.yaml)', tag: 'a tag', lifecycle: 'a lifecycle stage', rfm: 'an RFM value tier' };
/** Whether a lookup is a segment id rather than a customer id (a customer whose id looks like one is still at #/customers/<id>). */
const isSegmentId = (id) => /^([a-z]+):./.test(id) && Object.hasOwn(SEGMENT_KINDS, id.slice(0, id.indexOf(':')));
/** A segment's member list (the colon kept readable in the address bar). */
const segmentHref = (id) => `#/segments/${encodeURIComponent(id).replaceAll('%3A', ':')}`;
const customerHref = (id) => `#/customers/${encodeURIComponent(id)}`;
/** Members per page: the choices offered, and the default. */
const PAGE_SIZES = [10, 50, 100, 500];
let pageSize = 50;

async function segmentsView(root, arg, s) {
  if (arg) return segmentView(root, arg, s);
  document.title = 'Segments · Rapport';
  root.replaceChildren(
    h('h1', {}, 'Segments'),
    h('p', { class: 'muted' }, 'Every tag, lifecycle stage and RFM tier is a segment. Counts are exact (kept as customers come and go) and refresh every 2 seconds. Select a segment to list its members.'),
  );
  const holder = h('div');
  root.append(holder);
  let signature = '';
  /** Per segment id: set the count shown in its row. */
  const cells = new Map();
  const refresh = async () => {
    const { segments } = await api('/v1/segments');
    if (!s.active) return;
    setLive(`Live counts, updated ${nowClock()}`);
    // The same segments as before: only their counts change, in place (a focused link keeps its focus).
    const sig = segments.map((g) => g.id).join('\n');
    if (sig === signature) {
      for (const g of segments) cells.get(g.id)?.(g.count);
      return;
    }
    signature = sig;
    cells.clear();
    const kinds = [...new Set([...Object.keys(SEGMENT_KINDS), ...segments.map((g) => g.kind ?? g.id.split(':')[0])])];
    holder.replaceChildren(
      ...kinds.map((kind) => {
        const rows = segments.filter((g) => (g.kind ?? g.id.split(':')[0]) === kind);
        const heading = SEGMENT_KINDS[kind] ?? kind;
        const headingId = `segments-${kind}`;
        return h(
          'section',
          { class: 'block', 'aria-labelledby': headingId, 'data-kind': kind },
          h('h2', { id: headingId }, heading),
          rows.length
            ? table(
                `${rows.length} segment${rows.length === 1 ? '' : 's'}, by name`,
                ['Segment', 'Members'],
                rows.map((g) => {
                  const td = h('td', { class: 'num' });
                  const tr = h('tr', { 'data-segment': g.id }, h('th', { scope: 'row' }, h('a', { href: segmentHref(g.id) }, g.name ?? g.id), ' ', h('code', { class: 'reasons' }, g.id)), td);
                  const show = (count) => {
                    td.replaceChildren(num(count), count ? '' : h('span', { class: 'reasons' }, 'empty'));
                    tr.classList.toggle('zero', !count);
                  };
                  show(g.count);
                  cells.set(g.id, show);
                  return tr;
                }),
                { class: 'segments' },
              )
            : empty(kind === 'tag' ? 'No tag has had a member yet: tags appear here once a customer has one.' : 'None.'),
        );
      }),
    );
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

/** One segment: its count (live) and its members in pages, each a link to the customer. */
async function segmentView(root, id, s) {
  document.title = `${id} · Segments · Rapport`;
  root.replaceChildren(h('h1', {}, h('a', { href: '#/segments' }, 'Segments'), ' / ', id));
  const base = `/v1/segments/${encodeURIComponent(id)}`;
  let segment;
  try {
    segment = await api(base);
  } catch (error) {
    if (!s.active) return;
    root.append(
      h('p', { class: 'notice', role: 'alert' }, error.status === 400 ? `Not a segment: ${error.message}.` : `Could not load the segment: ${error.message}`),
      h('p', {}, 'Looking for a customer with this id? ', h('a', { href: customerHref(id) }, `Open customer "${id}"`), '.'),
    );
    return;
  }
  if (!s.active) return;
  const countEl = h('strong', { 'data-field': 'count' });
  const noun = h('span');
  const showCount = (n) => {
    countEl.textContent = num(n);
    noun.textContent = n === 1 ? ' member' : ' members';
  };
  showCount(segment.count);
  const summary = h('p', { class: 'segment-summary' }, countEl, noun, h('span', { class: 'muted' }, ` · ${SEGMENT_NOUNS[segment.kind] ?? 'segment'} · refreshes every 2 seconds`));
  const holder = h('div');
  // Said to screen readers when the page of members changes (not on every refresh).
  const status = h('p', { class: 'visually-hidden', role: 'status' });
  const prev = h('button', { type: 'button', disabled: true, onclick: () => go(page - 1) }, 'Previous');
  const next = h('button', { type: 'button', disabled: true, onclick: () => go(page + 1) }, 'Next');
  const size = h(
    'select',
    {
      id: 'page-size',
      onchange: () => {
        pageSize = Number(size.value);
        go(0, true);
      },
    },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === pageSize }, String(n))),
  );
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of members' }, prev, next, h('label', { for: 'page-size' }, 'Per page'), size);
  root.append(summary, holder, pager, status);

  // cursors[i] opens page i (undefined: the first); a page's `next` is the following page's cursor.
  const cursors = [undefined];
  let page = 0;
  let signature = '';
  let busy = false;
  /** Read the current page (and the count); draw it if it changed. */
  const load = async () => {
    const at = page;
    const limit = pageSize;
    const cursor = cursors[at];
    const [body, seg] = await Promise.all([api(`${base}/customers?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), api(base)]);
    // A late answer for a page (or page size) no longer shown is dropped.
    if (!s.active || at !== page || limit !== pageSize) return;
    showCount(seg.count);
    setLive(`Live, updated ${nowClock()}`);
    cursors.length = at + 1;
    if (body.next) cursors.push(body.next);
    prev.disabled = at === 0;
    next.disabled = !body.next;
    if (next.disabled && document.activeElement === next) prev.focus();
    const members = body.customers ?? [];
    const sig = `${limit}:${at}:${members.map((c) => c.id).join('\n')}`;
    if (sig === signature) return;
    signature = sig;
    if (members.length === 0) {
      holder.replaceChildren(empty(at === 0 ? `No customers in ${id} right now.` : 'No more members.'));
      status.textContent = at === 0 ? 'No members' : 'No more members';
      return;
    }
    const first = at * limit + 1;
    const last = first + members.length - 1;
    const caption = `Members ${num(first)}–${num(last)} of ${num(Math.max(seg.count, last))}`;
    holder.replaceChildren(
      table(
        caption,
        ['#', 'Customer'],
        members.map((c, i) => h('tr', { 'data-customer': c.id }, h('td', { class: 'num' }, String(first + i)), h('td', {}, h('a', { href: customerHref(c.id) }, c.id)))),
        { class: 'members' },
      ),
    );
    status.textContent = caption;
  };
  /** Show page `to` (`restart`: from the first page again, after the page size changed). */
  async function go(to, restart = false) {
    if (restart) cursors.length = 1;
    else if (busy || to < 0 || to >= cursors.length) return;
    busy = true;
    page = to;
    try {
      await load();
    } catch (error) {
      if (s.active) setLive(`Could not load the members: ${error.message}`, true);
    } finally {
      busy = false;
    }
  }
  await load();
  s.poll(load, POLL_MS);
}

// ---------------------------------------------------------------- broadcasts

const broadcastHref = (id) => `#/broadcasts/${encodeURIComponent(id)}`;
const skippedTotal = (b) => Object.values(b.skipped ?? {}).reduce((a, n) => a + n, 0);

/** Every broadcast, newest first, with its status and counters (live); select one for its skips and what it earned. */
async function broadcastsView(root, arg, s) {
  if (arg) return broadcastView(root, arg, s);
  document.title = 'Broadcasts · Rapport';
  root.replaceChildren(
    h('h1', {}, 'Broadcasts'),
    h('p', { class: 'muted' }, 'One-off messages to a segment (workflows/broadcasts.d or POST /v1/broadcasts), newest first; counts refresh every 2 seconds. Select a broadcast for its skips by reason and what it earned.'),
  );
  const holder = h('div');
  root.append(holder);
  let signature = '';
  const refresh = async () => {
    const { broadcasts } = await api('/v1/broadcasts?limit=100');
    if (!s.active) return;
    setLive(`Live, updated ${nowClock()}`);
    const sig = JSON.stringify(broadcasts.map((b) => [b.id, b.status, b.recipients, b.sent, b.deferred, b.failed, skippedTotal(b)]));
    if (sig === signature) return;
    signature = sig;
    if (broadcasts.length === 0) {
      holder.replaceChildren(empty('No broadcast yet. Add workflows/broadcasts.d/<id>.yaml or POST /v1/broadcasts.'));
      return;
    }
    holder.replaceChildren(
      table(
        `${broadcasts.length} broadcast${broadcasts.length === 1 ? '' : 's'}, newest first`,
        ['Broadcast', 'Segment', 'Status', 'Sent', 'Skipped', 'Deferred', 'Failed', 'Created'],
        broadcasts.map((b) =>
          h(
            'tr',
            { 'data-broadcast': b.id },
            h('th', { scope: 'row' }, h('a', { href: broadcastHref(b.id) }, b.id), ' ', h('code', { class: 'reasons' }, `${b.send.channel}: ${b.send.template}`)),
            h('td', {}, h('a', { href: segmentHref(b.segment) }, b.segment)),
            h('td', { 'data-field': 'status' }, b.status),
            h('td', { class: 'num' }, num(b.sent)),
            h('td', { class: 'num' }, num(skippedTotal(b))),
            h('td', { class: 'num' }, num(b.deferred)),
            h('td', { class: 'num' }, num(b.failed)),
            h('td', {}, time(b.createdAt)),
          ),
        ),
        { class: 'broadcasts' },
      ),
    );
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

/** One broadcast: its definition, counters, skips by reason and attribution (live). */
async function broadcastView(root, id, s) {
  document.title = `${id} · Broadcasts · Rapport`;
  root.replaceChildren(h('h1', {}, h('a', { href: '#/broadcasts' }, 'Broadcasts'), ' / ', id));
  const holder = h('div');
  root.append(holder);
  let signature = '';
  const refresh = async () => {
    let b;
    try {
      b = await api(`/v1/broadcasts/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!s.active) return;
      if (error.status === 404) {
        holder.replaceChildren(h('p', { class: 'notice', role: 'alert' }, `No broadcast "${id}".`));
        return;
      }
      throw error;
    }
    if (!s.active) return;
    setLive(`Live, updated ${nowClock()}`);
    const sig = JSON.stringify(b);
    if (sig === signature) return;
    signature = sig;
    const a = b.attribution;
    const skipped = Object.entries(b.skipped ?? {});
    holder.replaceChildren(
      h(
        'dl',
        { class: 'card broadcast' },
        h('dt', {}, 'Status'),
        h('dd', { 'data-field': 'status' }, b.status),
        h('dt', {}, 'Segment'),
        h('dd', {}, h('a', { href: segmentHref(b.segment) }, b.segment)),
        h('dt', {}, 'Message'),
        h('dd', {}, `${b.send.channel}: ${b.send.template} (${b.send.kind})`),
        b.topic ? [h('dt', {}, 'Topic'), h('dd', {}, b.topic)] : [],
        h('dt', {}, 'Created'),
        h('dd', {}, time(b.createdAt)),
        b.completedAt ? [h('dt', {}, 'Completed'), h('dd', {}, time(b.completedAt))] : [],
        b.cancelledAt ? [h('dt', {}, 'Cancelled'), h('dd', {}, time(b.cancelledAt))] : [],
        h('dt', {}, 'Recipients'),
        h('dd', { 'data-field': 'counters' }, `${num(b.recipients)} reached: ${num(b.sent)} sent, ${num(skippedTotal(b))} skipped, ${num(b.deferred)} deferred, ${num(b.failed)} failed`),
        a
          ? [
              h('dt', {}, 'Earned'),
              h('dd', { 'data-field': 'attribution' }, `${num(a.conversions)} conversion${a.conversions === 1 ? '' : 's'}, ${num(a.revenue)} revenue (last touch: ${a.event} within ${Math.round(a.windowSeconds / 3600)} h of the message)`),
            ]
          : [],
      ),
      skipped.length
        ? table('Skipped, by reason', ['Reason', 'Skipped'], skipped.map(([reason, n]) => h('tr', { 'data-reason': reason }, h('th', { scope: 'row' }, reason), h('td', { class: 'num' }, num(n)))), { class: 'skips' })
        : empty('Nobody skipped.'),
    );
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

// ---------------------------------------------------------------- outbox

// ---------------------------------------------------------------- tracking plan

/**
 * Events accepted from `flag` sources although they broke the tracking plan (GET /v1/tracking-plan/violations),
 * newest first: one row per field at fault, so a sender's developer sees what to fix. No value sent is listed.
 */
async function trackingPlanView(root, _arg, s) {
  document.title = 'Tracking plan · Rapport';
  root.replaceChildren(
    h('h1', {}, 'Tracking plan'),
    h('p', { class: 'muted' }, 'Events of the last 7 days that broke workflows/tracking-plan.yaml, newest first. A source in mode flag sends them on (accepted and applied as sent); a source in mode block gets a 400 instead.'),
  );
  const holder = h('div');
  root.append(holder);
  let signature = '';
  const refresh = async () => {
    const { violations } = await api('/v1/tracking-plan/violations?limit=200');
    if (!s.active) return;
    setLive(`Live, updated ${nowClock()}`);
    const sig = violations.map((v) => `${v.receivedAt}/${v.sourceId}/${v.messageIdHash}`).join(',');
    if (sig === signature && holder.childElementCount > 0) return;
    signature = sig;
    if (violations.length === 0) {
      holder.replaceChildren(empty('No violations: every event of a known name carried what the tracking plan asks.'));
      return;
    }
    const rows = violations.flatMap((v) =>
      v.violations.map((f) =>
        h(
          'tr',
          { 'data-message-hash': v.messageIdHash, 'data-source': v.sourceId },
          h('td', {}, time(v.receivedAt)),
          h('td', {}, v.sourceId),
          h('td', {}, v.event, h('span', { class: 'reasons', title: 'SHA-256 of <source>\\n<messageId>, first 32 hex characters' }, v.messageIdHash)),
          h('td', {}, h('code', {}, f.path)),
          h('td', {}, f.message),
          h('td', {}, h('span', { class: `badge mode-${v.mode ?? 'flag'}` }, v.mode ?? 'flag')),
        ),
      ),
    );
    const fields = rows.length;
    holder.replaceChildren(
      table(`${violations.length} event${violations.length === 1 ? '' : 's'}, ${fields} field${fields === 1 ? '' : 's'} at fault`, ['When', 'Source', 'Event', 'Field', 'Problem', 'Mode'], rows, { class: 'violations' }),
    );
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

/** Journey and step of an outbox entry: email and SMS carry tags; a webhook's id is `<execution>:<step>`. */
function origin(m) {
  if (m.tags?.journey) return { journey: m.tags.journey, step: m.tags.step, execution: m.tags.execution, customer: m.tags.customer };
  const match = /^(.+)-[0-9a-f]{40}:(.+)$/.exec(m.id ?? '');
  return match ? { journey: match[1], step: match[2], execution: (m.id ?? '').split(':')[0] } : {};
}

function outboxSubject(m) {
  if (m.channel === 'email') return m.subject || '(no subject)';
  if (m.channel === 'sms') return (m.text ?? '').split('\n')[0].slice(0, 80);
  return `POST to ${m.target}${m.delivered ? '' : ' (recorded, no URL configured)'}`;
}

async function outboxView(root, _arg, s) {
  document.title = 'Outbox · Rapport';
  root.replaceChildren(h('h1', {}, 'Outbox'), h('p', { class: 'muted' }, 'Email, SMS and webhooks the engine sent (kept here instead of SES and End User Messaging), newest first. Select a subject to read the message.'));
  const holder = h('div');
  root.append(holder);
  const open = new Set();
  let signature = '';
  const refresh = async () => {
    const { messages } = await api('/v1/outbox?limit=1000');
    if (!s.active) return;
    setLive(`Live, updated ${nowClock()}`);
    const sig = `${messages.length}:${messages.at(-1)?.outboxId ?? ''}:${messages[0]?.outboxId ?? ''}`;
    if (sig === signature) return;
    signature = sig;
    if (messages.length === 0) {
      holder.replaceChildren(empty('Nothing sent yet. Send a "Signed Up" event and the welcome journey writes here.'));
      return;
    }
    const rows = [...messages].reverse().flatMap((m) => {
      const o = origin(m);
      const detailId = `msg-${m.outboxId}`;
      const detail = h('tr', { class: 'detail', id: detailId, hidden: !open.has(m.outboxId) }, h('td', { colspan: 5 }, messageDetail(m, o)));
      const button = h(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-expanded': String(open.has(m.outboxId)),
          'aria-controls': detailId,
          onclick: () => {
            const show = detail.hidden;
            detail.hidden = !show;
            button.setAttribute('aria-expanded', String(show));
            if (show) open.add(m.outboxId);
            else open.delete(m.outboxId);
          },
        },
        outboxSubject(m),
      );
      return [
        h(
          'tr',
          { 'data-outbox-id': m.outboxId, 'data-channel': m.channel },
          h('td', {}, time(m.at)),
          h('td', {}, m.channel),
          h('td', {}, m.channel === 'webhook' ? m.target : m.to),
          h('td', {}, button),
          h('td', {}, o.journey ? [h('a', { href: `#/journeys/${encodeURIComponent(o.journey)}` }, o.journey), ' / ', h('code', {}, o.step)] : h('span', { class: 'muted' }, '–')),
        ),
        detail,
      ];
    });
    holder.replaceChildren(table(`${messages.length} message${messages.length === 1 ? '' : 's'}`, ['Time', 'Channel', 'To', 'Subject', 'Journey / step'], rows, { class: 'outbox' }));
  };
  await refresh();
  s.poll(refresh, POLL_MS);
}

function messageDetail(m, o) {
  const customer = o.customer ? h('a', { href: `#/customers/${encodeURIComponent(o.customer)}` }, o.customer) : undefined;
  if (m.channel === 'webhook') {
    return [kv([['Target', m.target], ['Delivered', m.delivered ? 'yes' : m.status ?? 'no'], ['Id', m.id]]), h('pre', { class: 'email-text' }, m.body ?? '')];
  }
  const headers = Object.entries(m.headers ?? {});
  return [
    kv([
      ['To', m.to],
      m.channel === 'email' ? ['Subject', m.subject] : ['', undefined],
      ['Customer', customer],
      ['Execution', o.execution ? h('code', {}, o.execution) : undefined],
      ['Headers', headers.length ? h('div', {}, headers.map(([k, v]) => h('div', { class: 'mono' }, `${k}: ${v}`))) : 'none'],
    ]),
    h('pre', { class: 'email-text', 'aria-label': `Text of ${outboxSubject(m)}` }, m.text ?? ''),
  ];
}
