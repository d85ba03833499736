/* The operator dashboard: plain DOM and SVG, no framework, no build step. It reads the live
 * feed (`GET /stream`, server-sent events) with fetch so that it can send the token as a header,
 * and renders every piece of data with textContent (task data and LLM reasoning are untrusted). */
/* global window, document, sessionStorage, location, history, fetch, TextDecoder, AbortController,
   setTimeout, clearTimeout, setInterval, requestAnimationFrame, URLSearchParams */
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const OUTCOMES = ['completed', 'assigned', 'failed', 'rejected'];
  const DECIDERS = ['llm', 'fast_path', 'rules', 'fallback', 'direct'];
  const DECIDER_LABEL = {
    llm: 'LLM',
    fast_path: 'fast path',
    rules: 'rules',
    fallback: 'rules (LLM fallback)',
    direct: 'direct',
  };
  const TOKEN_KEY = 'agent-coordinator.token';
  const QUEUE_ROWS = 12;

  const state = { snapshot: null, tasks: new Map(), skew: 0, fresh: new Set(), open: new Set() };
  let token = sessionStorage.getItem(TOKEN_KEY);
  let controller = null;
  let retryTimer = null;
  let renderQueued = false;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- token

  // `#token=...` in the address hands the token over once; it is moved to sessionStorage and
  // removed from the address bar so that it is not bookmarked or shared by accident.
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    token = hash.get('token');
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname + location.search);
  }

  function askToken(refused) {
    const dialog = $('login');
    $('login-error').hidden = !refused;
    if (!dialog.open) dialog.showModal();
    $('login-token').focus();
  }

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('login-token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login').close();
    connect();
  });

  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    connect();
  });

  // ---------------------------------------------------------------- live feed

  function setConn(kind, text) {
    const el = $('conn');
    el.className = `conn conn-${kind}`;
    el.textContent = text;
  }

  function connect() {
    if (controller) controller.abort();
    clearTimeout(retryTimer);
    controller = new AbortController();
    const signal = controller.signal;
    setConn('connecting', 'connecting');
    const headers = { accept: 'text/event-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    fetch('/stream', { headers, signal, cache: 'no-store' })
      .then((res) => {
        if (res.status === 401) {
          setConn('unauthorized', 'token required');
          askToken(Boolean(token));
          return undefined;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        $('logout').hidden = !token;
        setConn('live', 'live');
        return readEvents(res.body.getReader(), signal);
      })
      .catch((err) => {
        if (signal.aborted) return;
        setConn('offline', `offline (${err.message}), retrying`);
        retryTimer = setTimeout(connect, 2000);
      });
  }

  async function readEvents(reader, signal) {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
    }
    if (!signal.aborted) throw new Error('stream ended');
  }

  function onEvent(event, text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    if (event === 'snapshot') {
      state.snapshot = data;
      state.skew = Date.parse(data.generated_at) - Date.now();
      const known = new Map(state.tasks);
      state.tasks = new Map();
      for (const t of data.tasks) {
        const before = known.get(t.task_id);
        if (before && before.updated_at !== t.updated_at) state.fresh.add(t.task_id);
        state.tasks.set(t.task_id, t);
      }
    } else if (event === 'task') {
      state.tasks.delete(data.task_id);
      state.tasks = new Map([[data.task_id, data], ...state.tasks]);
      state.fresh.add(data.task_id);
      const limit = 50;
      if (state.tasks.size > limit) state.tasks = new Map([...state.tasks].slice(0, limit));
    } else {
      return;
    }
    scheduleRender();
  }

  // ---------------------------------------------------------------- rendering helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'title') node.title = v;
      else if (k === 'style')
        node.style.cssText = v; // CSSOM: allowed by the page's CSP
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, String(v));
    }
    return node;
  }

  const now = () => Date.now() + state.skew;

  function age(iso) {
    const ms = now() - Date.parse(iso);
    if (!Number.isFinite(ms)) return '–';
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
    return `${Math.floor(s / 86400)}d ago`;
  }

  const waited = (iso) => age(iso).replace(' ago', '');
  const clock = (iso) =>
    new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const pct = (n, total) => (total > 0 ? `${Math.round((100 * n) / total)}%` : '–');
  const badge = (cls, text, title) => el('span', { class: `badge ${cls}`, title }, text);

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function fillBody(table, rows) {
    const body = table.tBodies[0];
    body.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- sections

  function isStale(agent, ttlSeconds) {
    return agent.status !== 'offline' && now() - Date.parse(agent.last_heartbeat) > ttlSeconds * 1000;
  }

  function renderHeader(s) {
    $('server').textContent =
      `store ${s.server.store} · router ${s.server.router} · auth ${s.server.auth ? 'on' : 'off'}`;
    $('updated').textContent = `updated ${clock(s.generated_at)}`;
  }

  function renderCards(s) {
    const ttl = s.server.heartbeat_ttl_seconds;
    const by = { available: 0, busy: 0, offline: 0 };
    let stale = 0;
    for (const a of s.agents) {
      by[a.status] = (by[a.status] || 0) + 1;
      if (a.stale || isStale(a, ttl)) stale += 1;
    }
    $('c-agents').textContent = String(s.agents.length);
    $('c-agents-sub').textContent =
      `${by.available} available · ${by.busy} busy · ${by.offline} offline${stale ? ` · ${stale} stale` : ''}`;
    $('c-queue').textContent = String(s.queue.depth);
    $('c-queue-sub').textContent = s.queue.oldest_created_at
      ? `oldest waiting ${waited(s.queue.oldest_created_at)}`
      : 'empty';
    const sum = (k) => s.stats.per_minute.reduce((n, b) => n + b[k], 0);
    $('c-tasks').textContent = String(sum('received'));
    $('c-tasks-sub').textContent =
      `${sum('completed')} completed · ${sum('failed')} failed · ${sum('rejected')} rejected`;
    const d = s.stats.deciders;
    const total = DECIDERS.reduce((n, k) => n + d[k], 0);
    $('c-deciders').textContent = total ? `${pct(d.llm, total)} LLM` : '–';
    $('c-deciders-sub').textContent = total
      ? `${pct(d.fast_path, total)} fast path · ${pct(d.rules + d.fallback, total)} rules · ${pct(d.direct, total)} direct`
      : 'no decisions yet';
  }

  function renderAgents(s) {
    const ttl = s.server.heartbeat_ttl_seconds;
    $('agents-count').textContent = `(${s.agents.length})`;
    $('agents-empty').hidden = s.agents.length > 0;
    fillBody(
      $('agents'),
      s.agents.map((a) => {
        const stale = a.stale || isStale(a, ttl);
        const ratio = a.max_concurrent_tasks ? a.active_tasks / a.max_concurrent_tasks : 0;
        return el(
          'tr',
          { 'data-agent-id': a.agent_id, 'data-status': a.status, class: stale ? 'stale' : '' },
          el('td', { class: 'id', title: a.agent_id }, el('span', {}, a.agent_id)),
          el(
            'td',
            {},
            badge(`s-${a.status}`, a.status),
            stale ? ' ' : null,
            stale ? badge('s-stale', 'stale', `no heartbeat for more than ${ttl}s`) : null,
          ),
          el(
            'td',
            { 'data-load': `${a.active_tasks}/${a.max_concurrent_tasks}` },
            el(
              'span',
              { class: 'load' },
              el('span', { class: ratio >= 1 ? 'full' : '', style: `width:${Math.min(100, ratio * 100)}%` }),
            ),
            `${a.active_tasks}/${a.max_concurrent_tasks}`,
          ),
          el('td', {}, ...a.capabilities.map((c) => el('span', { class: 'chip' }, c))),
          el(
            'td',
            { 'data-field': 'protocol', title: a.a2a ? `${a.a2a.card_name}: ${a.a2a.interface_url}` : '' },
            a.a2a ? `A2A ${a.a2a.protocol_binding}` : 'events',
          ),
          el(
            'td',
            { title: a.last_heartbeat + (a.last_error ? `\nlast error: ${a.last_error}` : '') },
            age(a.last_heartbeat),
          ),
        );
      }),
    );
  }

  function renderQueue(s) {
    $('queue-count').textContent = `(${s.queue.depth})`;
    $('queue-empty').hidden = s.queue.depth > 0;
    $('queue-prio').replaceChildren(
      ...['critical', 'high', 'medium', 'low'].map((p) =>
        el('span', { class: `p-${p}` }, `${p} ${s.queue.by_priority[p]}`),
      ),
    );
    const shown = s.queue.tasks.slice(0, QUEUE_ROWS);
    const more = s.queue.depth - shown.length;
    $('queue-more').hidden = more <= 0;
    $('queue-more').textContent = `… and ${more} more (agent-coordinator tasks --status queued)`;
    fillBody(
      $('queue'),
      shown.map((t) =>
        el(
          'tr',
          { 'data-task-id': t.task_id },
          el('td', { class: 'id', title: t.task_id }, el('span', {}, t.task_id)),
          el('td', {}, t.task_type),
          el('td', { class: `p-${t.priority}` }, t.priority),
          el('td', { title: t.created_at }, waited(t.created_at)),
          el('td', { class: 'reason', title: reasonOf(t) }, el('span', {}, reasonOf(t))),
        ),
      ),
    );
  }

  // Why a task is where it is: the error for a failed or waiting task, else the decision's reasoning.
  function reasonOf(t) {
    const reasoning = (t.decision && t.decision.reasoning) || '';
    if (t.status === 'assigned' || t.status === 'completed') return reasoning;
    return t.error || t.reason || reasoning;
  }

  function llmCell(t) {
    const d = t.decision;
    if (!d || d.router !== 'llm') return '';
    const parts = [];
    if (d.usage) parts.push(`${d.usage.input_tokens}+${d.usage.output_tokens} tok`);
    if (d.latency_ms !== undefined) parts.push(`${Math.round(d.latency_ms)} ms`);
    return parts.join(' · ');
  }

  function renderTasks() {
    const tasks = [...state.tasks.values()];
    $('tasks-empty').hidden = tasks.length > 0;
    const rows = [];
    for (const t of tasks) {
      const d = t.decision;
      const open = state.open.has(t.task_id);
      const row = el(
        'tr',
        {
          'data-task-id': t.task_id,
          'data-status': t.status,
          class: `${state.fresh.has(t.task_id) ? 'flash' : ''} ${open ? 'open' : ''}`,
        },
        el('td', { title: t.updated_at }, clock(t.updated_at)),
        el('td', { class: 'id', title: t.task_id }, el('span', {}, t.task_id)),
        el('td', {}, t.task_type),
        el('td', { class: `p-${t.priority}` }, t.priority),
        el(
          'td',
          { 'data-field': 'status' },
          badge(`s-${t.status}`, t.status),
          t.waiting ? ' ' : null,
          t.waiting ? badge('s-stale', 'waiting', `${t.waiting.agent_id}: ${t.waiting.message}`) : null,
        ),
        el(
          'td',
          { 'data-field': 'decider' },
          d ? badge(`d-${d.decider}`, DECIDER_LABEL[d.decider] || d.decider, `${d.router} / ${d.path}`) : '',
        ),
        el(
          'td',
          { 'data-field': 'agents' },
          (t.assigned_agents.length ? t.assigned_agents : d ? d.target_agents : []).join(', '),
          ...(t.a2a_tasks || [])
            .filter((r) => r.a2a_task_id)
            .map((r) =>
              el(
                'span',
                {
                  class: 'chip',
                  'data-a2a-task': r.a2a_task_id,
                  title: `A2A task of ${r.agent_id}: ${r.state}`,
                },
                `A2A ${r.a2a_task_id.slice(0, 8)}`,
              ),
            ),
        ),
        el('td', { class: 'reason', title: reasonOf(t) }, el('span', {}, reasonOf(t))),
        el('td', {}, llmCell(t)),
      );
      rows.push(row);
      if (open) rows.push(el('tr', { class: 'detail' }, el('td', { colspan: '9' }, detailText(t))));
    }
    state.fresh.clear();
    fillBody($('tasks'), rows);
  }

  function detailText(t) {
    const d = t.decision;
    const lines = [
      `task ${t.task_id} (${t.task_type}, ${t.priority}) is ${t.status}; attempts ${t.attempts}`,
    ];
    if (t.requested_by) lines.push(`requested by ${t.requested_by}`);
    if (d) {
      lines.push(
        `decision: ${d.action} → ${d.target_agents.join(', ') || 'no agent'} by ${d.router} (${d.path}) at ${d.decided_at}`,
      );
      if (d.model)
        lines.push(
          `model ${d.model}${d.usage ? `, ${d.usage.input_tokens} input + ${d.usage.output_tokens} output tokens` : ''}${d.latency_ms !== undefined ? `, ${Math.round(d.latency_ms)} ms` : ''}`,
        );
      if (d.fallback_reason) lines.push(`fallback: ${d.fallback_reason}`);
      lines.push(`reasoning: ${d.reasoning || '(none)'}`);
    }
    for (const r of t.a2a_tasks || [])
      lines.push(`A2A task of ${r.agent_id}: ${r.a2a_task_id || '(being sent)'} (${r.state})`);
    if (t.waiting) lines.push(`waiting for input: ${t.waiting.agent_id} asks "${t.waiting.message}"`);
    if (t.error) lines.push(`error: ${t.error}`);
    if (t.reason) lines.push(`reason: ${t.reason}`);
    return lines.join('\n');
  }

  // ---------------------------------------------------------------- charts (SVG)

  function outcomesChart(stats) {
    const box = $('chart-outcomes');
    const buckets = stats.per_minute.slice(-30);
    const W = 600;
    const H = 150;
    const pad = { l: 28, r: 4, t: 6, b: 16 };
    const max = Math.max(1, ...buckets.map((b) => OUTCOMES.reduce((n, k) => n + b[k], 0)));
    const root = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'tasks per minute by outcome',
    });
    const iw = W - pad.l - pad.r;
    const ih = H - pad.t - pad.b;
    for (const f of [0, 0.5, 1]) {
      const y = pad.t + ih * (1 - f);
      root.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid' }));
      const label = svg('text', { x: pad.l - 4, y: y + 3, 'text-anchor': 'end' });
      label.textContent = String(Math.round(max * f));
      root.append(label);
    }
    const bw = iw / Math.max(buckets.length, 1);
    buckets.forEach((b, i) => {
      let y = pad.t + ih;
      for (const k of OUTCOMES) {
        if (!b[k]) continue;
        const h = (ih * b[k]) / max;
        y -= h;
        const rect = svg('rect', {
          x: pad.l + i * bw + 1,
          y,
          width: Math.max(1, bw - 2),
          height: h,
          style: `fill:var(--c-${k})`,
        });
        const title = svg('title');
        title.textContent = `${clock(b.t)}: ${b[k]} ${k}`;
        rect.append(title);
        root.append(rect);
      }
    });
    if (buckets.length) {
      for (const [i, anchor] of [
        [0, 'start'],
        [buckets.length - 1, 'end'],
      ]) {
        const t = svg('text', { x: anchor === 'start' ? pad.l : W - pad.r, y: H - 3, 'text-anchor': anchor });
        t.textContent = new Date(buckets[i].t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        root.append(t);
      }
    }
    box.replaceChildren(root);
    $('legend-outcomes').replaceChildren(
      ...OUTCOMES.map((k) => el('span', {}, el('i', { style: `background:var(--c-${k})` }), k)),
    );
  }

  function queueChart(stats) {
    const box = $('chart-queue');
    const cutoff = now() - 30 * 60_000;
    const points = stats.queue_depth.filter((p) => Date.parse(p.t) >= cutoff);
    const W = 450;
    const H = 150;
    const pad = { l: 28, r: 4, t: 6, b: 16 };
    const iw = W - pad.l - pad.r;
    const ih = H - pad.t - pad.b;
    const max = Math.max(1, ...points.map((p) => p.depth));
    const t0 = points.length ? Date.parse(points[0].t) : now();
    const t1 = Math.max(t0 + 1, points.length ? Date.parse(points[points.length - 1].t) : now());
    const x = (p) => pad.l + (iw * (Date.parse(p.t) - t0)) / (t1 - t0);
    const y = (p) => pad.t + ih * (1 - p.depth / max);
    const root = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'queue depth over time',
    });
    for (const f of [0, 0.5, 1]) {
      const gy = pad.t + ih * (1 - f);
      root.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: gy, y2: gy, class: 'grid' }));
      const label = svg('text', { x: pad.l - 4, y: gy + 3, 'text-anchor': 'end' });
      label.textContent = String(Math.round(max * f));
      root.append(label);
    }
    if (points.length > 0) {
      const line = points.map((p) => `${x(p).toFixed(1)},${y(p).toFixed(1)}`).join(' ');
      const base = pad.t + ih;
      root.append(
        svg('polygon', {
          points: `${pad.l},${base} ${line} ${x(points[points.length - 1]).toFixed(1)},${base}`,
          style: 'fill:var(--accent);fill-opacity:0.15',
        }),
      );
      root.append(
        svg('polyline', {
          points: line,
          style: 'fill:none;stroke:var(--accent);stroke-width:2',
          'vector-effect': 'non-scaling-stroke',
        }),
      );
      const last = svg('text', { x: W - pad.r, y: H - 3, 'text-anchor': 'end' });
      last.textContent = `now: ${points[points.length - 1].depth} queued`;
      root.append(last);
    }
    box.replaceChildren(root);
  }

  function decidersChart(stats) {
    const d = stats.deciders;
    const total = DECIDERS.reduce((n, k) => n + d[k], 0);
    const W = 300;
    const H = 60;
    const root = svg('svg', {
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'who decided',
    });
    let x = 0;
    if (total === 0)
      root.append(svg('rect', { x: 0, y: 14, width: W, height: 28, rx: 4, style: 'fill:var(--line)' }));
    for (const k of DECIDERS) {
      if (!d[k]) continue;
      const w = (W * d[k]) / total;
      const rect = svg('rect', { x, y: 14, width: w, height: 28, style: `fill:var(--d-${k})` });
      const title = svg('title');
      title.textContent = `${DECIDER_LABEL[k]}: ${d[k]} (${pct(d[k], total)})`;
      rect.append(title);
      root.append(rect);
      x += w;
    }
    $('chart-deciders').replaceChildren(root);
    $('legend-deciders').replaceChildren(
      ...DECIDERS.map((k) =>
        el(
          'span',
          { 'data-decider': k },
          el('i', { style: `background:var(--d-${k})` }),
          `${DECIDER_LABEL[k]} ${d[k]} (${pct(d[k], total)})`,
        ),
      ),
    );
    const llm = stats.llm;
    $('llm-usage').textContent = llm.decisions
      ? `LLM: ${llm.decisions} decisions, ${llm.input_tokens} input + ${llm.output_tokens} output tokens${llm.avg_latency_ms !== null ? `, ${llm.avg_latency_ms} ms average` : ''}`
      : '';
  }

  function render() {
    const s = state.snapshot;
    if (!s) return;
    renderHeader(s);
    renderCards(s);
    renderAgents(s);
    renderQueue(s);
    renderTasks();
    outcomesChart(s.stats);
    queueChart(s.stats);
    decidersChart(s.stats);
  }

  // A task row opens and closes its detail. Every render replaces the rows (once a second, and
  // on every update), so a click whose press and release straddle one has no row to land on:
  // the table's body, which renders keep, takes the press and the release, and a release on the
  // row of the task pressed toggles it.
  const taskOf = (target) => target.closest && target.closest('tr[data-task-id]')?.dataset.taskId;
  let pressed;
  const taskRows = $('tasks').tBodies[0];
  taskRows.addEventListener('pointerdown', (e) => (pressed = taskOf(e.target)));
  taskRows.addEventListener('pointerup', (e) => {
    const id = taskOf(e.target);
    if (id !== undefined && id === pressed) {
      if (state.open.has(id)) state.open.delete(id);
      else state.open.add(id);
      scheduleRender();
    }
    pressed = undefined;
  });

  // Ages ("12s ago", stale marks) move on between snapshots.
  setInterval(scheduleRender, 1000);
  window.addEventListener('online', connect);
  connect();
})();
