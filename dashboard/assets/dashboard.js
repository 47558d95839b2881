// The dashboard's script: polls the JSON API once a second and draws the runs, the selected
// run's timeline, the functions and the throughput. Every value from the API enters the page
// as text (textContent, attributes), never as markup. Opened as /?token=T, it sends
// `Authorization: Bearer T` with every call.
'use strict';
(() => {
  const PAGE_SIZE = 25;
  const REFRESH_MS = 1000;
  const SVG = 'http://www.w3.org/2000/svg';
  const token = new URLSearchParams(location.search).get('token');

  const state = {
    cursors: [0],  // the `before` of each page visited; [page] is the current one
    page: 0,
    next: 0,
    selected: 0,
    selectedFinished: false,
    rows: new Map(),  // run id -> its <tr>, reused so rows stay put between refreshes
    functionIds: new Set(),
    busy: false,
  };

  const $ = (sel) => document.querySelector(sel);

  // An element with attributes and children (strings become text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(path, method = 'GET', body = undefined) {
    const headers = {};
    if (token) headers['Authorization'] = 'Bearer ' + token;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON: reported below */ }
    if (!res.ok) throw new Error((data && data.error) || 'HTTP ' + res.status);
    return data;
  }

  // --- formatting ---
  function fmtTime(ms) {
    if (!ms) return '';
    const d = new Date(ms);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function fmtDuration(ms) {
    if (ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
    return (ms / 3600000).toFixed(1) + ' h';
  }
  function fmtValue(v) {
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
  }
  const isFinished = (s) =>
    s === 'completed' || s === 'failed' || s === 'cancelled' || s === 'skipped';
  function statusBadge(status) {
    return el('span', { class: 'status', 'data-status': status }, status);
  }
  function setConnection(ok, message) {
    const c = $('#connection');
    c.dataset.state = ok ? 'ok' : 'error';
    c.textContent = ok ? 'live' : message;
    c.title = ok ? '' : message;
  }

  // --- the runs list ---
  function runsQuery() {
    const q = new URLSearchParams({ limit: PAGE_SIZE });
    const fn = $('#filter-function').value;
    const status = $('#filter-status').value;
    const since = $('#filter-since').value;
    if (fn) q.set('function', fn);
    if (status) q.set('status', status);
    if (since) {
      const ms = new Date(since).getTime();
      if (!Number.isNaN(ms)) q.set('since', String(ms));
    }
    const before = state.cursors[state.page];
    if (before) q.set('before', String(before));
    return q;
  }

  function fillRow(tr, run) {
    tr.dataset.runId = String(run.id);
    tr.dataset.status = run.status;
    tr.dataset.function = run.function;
    tr.classList.toggle('selected', run.id === state.selected);
    const end = run.finished_at || Date.now();
    const cells = [
      el('td', { class: 'id' }, String(run.id)),
      el('td', {}, run.function),
      el('td', {}, statusBadge(run.status)),
      el('td', {}, run.event ? run.event.name : ''),
      el('td', { class: 'num' }, String(run.steps)),
      el('td', { class: 'when' }, fmtTime(run.created_at)),
      el('td', { class: 'num' }, (run.finished_at ? '' : '… ') + fmtDuration(end - run.created_at)),
      el('td', { class: 'error', title: run.error || '' }, run.error || ''),
    ];
    tr.replaceChildren(...cells);
  }

  function renderRuns(runs) {
    const body = $('#runs tbody');
    const seen = new Set();
    const ordered = [];
    for (const run of runs) {
      seen.add(run.id);
      let tr = state.rows.get(run.id);
      if (!tr) {
        tr = el('tr', { class: 'run' });
        tr.addEventListener('click', () => selectRun(Number(tr.dataset.runId)));
        state.rows.set(run.id, tr);
      }
      fillRow(tr, run);
      ordered.push(tr);
      state.functionIds.add(run.function);
    }
    for (const [id, tr] of state.rows) {
      if (!seen.has(id)) { tr.remove(); state.rows.delete(id); }
    }
    const empty = body.querySelector('tr.empty');
    if (empty) empty.remove();
    ordered.forEach((tr, i) => {
      if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
    });
    if (runs.length === 0) {
      body.append(el('tr', { class: 'empty' }, el('td', { colspan: 8 }, 'No runs match.')));
    }
    $('#prev-page').disabled = state.page === 0;
    $('#next-page').disabled = !state.next;
    $('#page-label').textContent = 'page ' + (state.page + 1);
  }

  async function refreshRuns() {
    const data = await api('/api/runs?' + runsQuery());
    state.next = data.next;
    renderRuns(data.runs);
  }

  function resetPaging() {
    state.cursors = [0];
    state.page = 0;
  }

  // --- functions, stats, throughput ---
  function refreshFunctionFilter() {
    const select = $('#filter-function');
    const have = new Set([...select.options].map((o) => o.value));
    [...state.functionIds].sort().forEach((id) => {
      if (!have.has(id)) select.append(el('option', { value: id }, id));
    });
  }

  async function refreshFunctions() {
    const functions = await api('/api/functions');
    const body = $('#functions tbody');
    const rows = functions.map((f) => {
      state.functionIds.add(f.id);
      return el('tr', { 'data-function': f.id },
        el('td', {}, f.id),
        el('td', { class: 'triggers' }, f.triggers.join(', ') || (f.registered ? '—' : 'not registered here')),
        el('td', { class: 'num' }, String(f.queued)),
        el('td', { class: 'num' }, String(f.running)),
        el('td', { class: 'num' }, String(f.sleeping)),
        el('td', { class: 'num' }, String(f.waiting)));
    });
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 6 }, 'No functions yet.')));
    body.replaceChildren(...rows);
    refreshFunctionFilter();
  }

  async function refreshStats() {
    const s = await api('/api/stats');
    $('#served-notice').hidden = s.functions_registered !== 0;
    const summary = $('#engine-summary');
    summary.replaceChildren(
      el('b', {}, String(s.runs_active)), ' active · ',
      el('b', {}, String(s.runs_finished)), ' finished · ',
      el('b', {}, String(s.steps_completed)), ' steps · ',
      el('b', {}, String(s.step_failures)), ' step failures');
    const facts = [
      ['runs created', s.runs_created], ['runs active', s.runs_active],
      ['runs finished', s.runs_finished], ['steps completed', s.steps_completed],
      ['step failures', s.step_failures], ['sends deferred (no room)', s.sends_deferred],
      ['events', s.events], ['timers armed', s.timers],
      ['waiting for events', s.waiting_for_events], ['event ids held (dedup)', s.dedup_ids],
      ['dispatch p50', s.dispatch.samples ? s.dispatch.p50_us.toFixed(0) + ' µs' : '—'],
      ['dispatch p99', s.dispatch.samples ? s.dispatch.p99_us.toFixed(0) + ' µs' : '—'],
      ['log records', s.log.records_durable], ['log batches', s.log.batches],
      ['log I/O', s.log.io_queue + (s.log.direct_io ? ', direct' : '')],
      ['snapshots written', s.snapshots.written],
    ];
    $('#stats').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  }

  async function refreshThroughput() {
    const t = await api('/api/throughput');
    const svg = $('#throughput');
    const W = 360, H = 140, P = 24;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const samples = t.samples;
    const max = Math.max(1, ...samples.map((s) => s.steps));
    const now = samples.length ? samples[samples.length - 1].t : Date.now();
    const from = now - t.window_s * 1000;
    const x = (ms) => P + ((ms - from) / (now - from)) * (W - P - 4);
    const y = (v) => H - 16 - (v / max) * (H - 28);
    const parts = [
      svgEl('line', { class: 'grid', x1: P, x2: W - 4, y1: y(0), y2: y(0) }),
      svgEl('line', { class: 'grid', x1: P, x2: W - 4, y1: y(max), y2: y(max) }),
      svgEl('text', { x: 2, y: y(max) + 4 }, String(max)),
      svgEl('text', { x: 2, y: y(0) + 4 }, '0'),
      svgEl('text', { x: P, y: H - 2 }, '-' + Math.round(t.window_s / 60) + ' min'),
      svgEl('text', { x: W - 26, y: H - 2 }, 'now'),
    ];
    if (samples.length > 1) {
      const pts = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.steps).toFixed(1)}`);
      parts.push(svgEl('polygon', { class: 'area', points: `${x(samples[0].t)},${y(0)} ${pts.join(' ')} ${x(now)},${y(0)}` }));
      parts.push(svgEl('polyline', { class: 'line', points: pts.join(' ') }));
    }
    svg.replaceChildren(...parts);
    const last = samples.length ? samples[samples.length - 1] : null;
    $('#throughput-label').textContent = last
      ? `last second: ${last.steps} steps, ${last.runs_finished} runs finished · peak ${max} steps/s`
      : 'collecting (one sample a second)…';
  }

  // --- the selected run ---
  function selectRun(id) {
    if (state.selected !== id) $('#action-result').hidden = true;
    state.selected = id;
    const section = $('#run-detail');
    section.hidden = false;
    section.dataset.runId = String(id);
    // A link to this run: /#run=ID (the token, if any, stays in the query).
    history.replaceState(null, '', '#run=' + id);
    for (const [rid, tr] of state.rows) tr.classList.toggle('selected', rid === id);
    refreshDetail().catch((e) => showDetailError(e));
  }

  function showDetailError(e) {
    $('#detail-title').textContent = 'Run ' + state.selected;
    $('#detail-facts').replaceChildren(el('dt', {}, 'error'), el('dd', {}, e.message));
  }

  async function refreshDetail() {
    if (!state.selected) return;
    const id = state.selected;
    const run = await api('/api/runs/' + id);
    if (state.selected !== id) return;  // another run was selected meanwhile
    renderDetail(run);
  }

  function renderDetail(run) {
    const section = $('#run-detail');
    section.dataset.runId = String(run.id);
    section.dataset.status = run.status;
    state.selectedFinished = isFinished(run.status);
    $('#detail-title').replaceChildren('Run ' + run.id + ' · ' + run.function + ' ', statusBadge(run.status));
    const facts = [
      ['event', run.event.name + (run.event.id ? '  (id ' + run.event.id + ')' : '')],
      ['created', fmtTime(run.created_at)],
      ['finished', run.finished_at ? fmtTime(run.finished_at) + ' · took ' + fmtDuration(run.finished_at - run.created_at) : '—'],
      ['steps', String(run.steps)],
    ];
    if (run.parent) facts.push(['invoked by', 'run ' + run.parent]);
    const replayOf = run.history.find((h) => h.kind === 'created' && typeof h.value === 'string' && h.value);
    if (replayOf) facts.push(['note', replayOf.value]);
    $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    showValue($('#detail-event'), fmtValue(run.event.data), run.event.data_truncated);
    showValue($('#detail-output'), run.status === 'completed' ? fmtValue(run.output) || '(none)' : '—',
      run.output_truncated);
    $('#detail-error-box').hidden = !run.error;
    showValue($('#detail-error'), run.error || '', run.error_truncated);
    section.querySelector('[data-action="replay"]').hidden = run.status !== 'failed';
    section.querySelector('[data-action="replay-start"]').hidden = !isFinished(run.status);
    section.querySelector('[data-action="cancel"]').hidden = isFinished(run.status);
    drawTimeline(run);
    renderHistory(run);
  }

  // A value the API cut (past DashboardOptions::run_detail_value_bytes_max) is marked as cut: its
  // text ends with a note of its full size, and a box's last lines may be scrolled out of view.
  const CUT_TITLE = 'cut by the dashboard: only the start of this value is shown';
  function cutMark(truncated) {
    return truncated ? [el('span', { class: 'cut', title: CUT_TITLE }, 'cut'), ' '] : [];
  }
  function showValue(pre, text, truncated) {
    pre.replaceChildren(...cutMark(truncated), text);
    pre.dataset.truncated = truncated ? 'true' : 'false';
  }

  function renderHistory(run) {
    const rows = run.history.map((h) => el('tr', { class: 'kind-' + h.kind.replace(/ /g, '-') },
      el('td', { class: 'num' }, String(h.lsn)),
      el('td', { class: 'kind' }, h.kind),
      el('td', {}, h.step_id || (h.event ? h.event.name : '')),
      el('td', { class: 'num' }, h.attempt ? String(h.attempt) : ''),
      el('td', { class: 'when' }, fmtTime(h.at)),
      el('td', { class: 'num' }, h.finished_at ? fmtDuration(h.finished_at - h.at) : ''),
      el('td', { class: 'value', title: fmtValue(h.value), 'data-truncated': h.value_truncated ? 'true' : null },
        ...cutMark(h.value_truncated), fmtValue(h.value))));
    $('#history tbody').replaceChildren(...rows);
    // Entries left out: more than the API returns, or more than fit its answer's size limit.
    const note = $('#history-truncated');
    if (run.history_removed) {  // retention took the run's first records (history_window)
      note.hidden = false;
      note.dataset.truncatedBy = 'retention';
      note.textContent = 'No history to show: ' + run.history_removed;
      return;
    }
    note.hidden = !run.history_truncated;
    note.dataset.truncatedBy = run.history_truncated_by || '';
    note.textContent = !run.history_truncated ? '' :
      'Showing the first ' + run.history.length + ' entries: ' +
      (run.history_truncated_by === 'bytes'
        ? 'the rest would take this answer past its size limit (run_detail_bytes_max)'
        : 'the run has more than the dashboard returns') +
      '. `cairn runs show ' + run.id + '` prints them all.';
  }

  // One bar per step attempt (red when it failed, grey when a replay copied its result), one per
  // sleep and wait, and one per wait of a send for room (from when it found none to its next try),
  // on a shared time axis from the run's creation to its end (or now).
  function timelineBars(run) {
    const h = run.history;
    const bars = [];
    const endOf = (i, position) => {
      for (let j = i + 1; j < h.length; ++j) {
        if (h[j].position === position && (h[j].kind === 'resumed' || h[j].kind === 'wait matched')) return h[j].at;
      }
      return 0;
    };
    h.forEach((e, i) => {
      if (e.kind === 'step completed' || e.kind === 'step failed') {
        const failed = e.kind === 'step failed';
        bars.push({
          label: e.step_id + (e.attempt > 1 ? ' #' + e.attempt : ''),
          from: e.at, to: e.finished_at || e.at,
          cls: e.attempt === 0 ? 'bar-copied' : failed ? 'bar-failed' : 'bar-ok',
          kind: failed ? 'failed' : 'completed', attempt: e.attempt,
          tip: `${e.step_id} attempt ${e.attempt || '(copied)'}: ${failed ? 'failed' : 'completed'}` +
               (e.finished_at ? ' in ' + fmtDuration(e.finished_at - e.at) : '') +
               (failed ? ' — ' + fmtValue(e.value) : ''),
        });
      } else if (e.kind === 'send deferred') {
        bars.push({
          label: e.step_id + ' (no room)', from: e.at, to: e.deadline || e.at,
          cls: e.deadline ? 'bar-wait' : 'bar-failed', kind: 'send deferred', attempt: e.attempt,
          tip: `send ${e.step_id} attempt ${e.attempt}: no room — ${fmtValue(e.value)}` +
               (e.deadline ? '; tried again at ' + fmtTime(e.deadline) : '; not tried again'),
        });
      } else if (e.kind === 'sleep' || e.kind === 'wait') {
        const to = endOf(i, e.position) || e.deadline || 0;
        bars.push({
          label: e.step_id, from: e.at, to: to || null,
          cls: e.kind === 'sleep' ? 'bar-sleep' : 'bar-wait', kind: e.kind, attempt: 0,
          tip: e.kind + ' ' + e.step_id + (e.deadline ? ' until ' + fmtTime(e.deadline) : ''),
        });
      }
    });
    return bars;
  }

  function drawTimeline(run) {
    const svg = $('#timeline');
    const bars = timelineBars(run);
    const start = run.created_at;
    let end = run.finished_at || Date.now();
    for (const b of bars) end = Math.max(end, b.to || b.from);
    const span = Math.max(1, end - start);
    const W = 760, LABEL = 170, ROW = 22, TOP = 8, AXIS = 22;
    const H = TOP + Math.max(1, bars.length) * ROW + AXIS;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('height', String(H));
    const x = (ms) => LABEL + ((ms - start) / span) * (W - LABEL - 12);
    const parts = [];
    const axis = svgEl('g', { class: 'axis' });
    for (let k = 0; k <= 4; ++k) {
      const t = start + (span * k) / 4;
      axis.append(svgEl('line', { x1: x(t), x2: x(t), y1: TOP, y2: H - AXIS + 4 }));
      axis.append(svgEl('text', { x: x(t), y: H - 6, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' },
        '+' + fmtDuration(t - start)));
    }
    parts.push(axis);
    if (bars.length === 0) {
      parts.push(svgEl('text', { x: LABEL, y: TOP + 15 }, 'no steps recorded yet'));
    }
    bars.forEach((b, i) => {
      const y = TOP + i * ROW;
      const to = b.to || end;
      const rect = svgEl('rect', {
        class: 'bar ' + b.cls, x: x(b.from), y: y + 4, rx: 3,
        width: Math.max(3, x(to) - x(b.from)), height: ROW - 8,
        'data-kind': b.kind, 'data-attempt': b.attempt,
      });
      rect.append(svgEl('title', {}, b.tip));
      parts.push(svgEl('text', { x: 4, y: y + 15 }, b.label.length > 26 ? b.label.slice(0, 25) + '…' : b.label));
      parts.push(rect);
    });
    svg.replaceChildren(...parts);
  }

  // --- actions ---
  function showActionResult(text, newRunId, isError) {
    const box = $('#action-result');
    box.hidden = false;
    box.classList.toggle('error', !!isError);
    if (newRunId) box.dataset.newRunId = String(newRunId); else delete box.dataset.newRunId;
    box.replaceChildren(text);
    if (newRunId) {
      const link = el('a', { role: 'button' }, 'open run ' + newRunId);
      link.addEventListener('click', () => selectRun(newRunId));
      box.append(' ', link);
    }
  }

  async function act(action) {
    const id = state.selected;
    try {
      if (action === 'cancel') {
        await api(`/api/runs/${id}/cancel`, 'POST', { reason: 'cancelled from the dashboard' });
        showActionResult(`Run ${id} cancelled.`, 0, false);
      } else {
        const from = action === 'replay' ? 'failed_step' : 'start';
        const r = await api(`/api/runs/${id}/replay`, 'POST', { from });
        // The new run is the newest: show the first page, every status, to follow it.
        $('#filter-status').value = '';
        resetPaging();
        showActionResult(`Replay of run ${id} queued as run ${r.run}` +
          (from === 'start' ? ' (from the start).' : ' (from its failed step).'), r.run, false);
      }
    } catch (e) {
      showActionResult(`Could not ${action.replace('-', ' from ')} run ${id}: ${e.message}`, 0, true);
    }
    await tick();
  }

  // --- wiring ---
  async function tick() {
    if (state.busy) return;
    state.busy = true;
    try {
      const jobs = [refreshRuns(), refreshFunctions(), refreshStats(), refreshThroughput()];
      if (state.selected) jobs.push(refreshDetail().catch(showDetailError));
      const results = await Promise.allSettled(jobs);
      const failed = results.find((r) => r.status === 'rejected');
      setConnection(!failed, failed ? failed.reason.message : '');
    } finally {
      state.busy = false;
    }
  }

  function onFilterChange() {
    resetPaging();
    tick();
  }

  function init() {
    $('#filter-function').addEventListener('change', onFilterChange);
    $('#filter-status').addEventListener('change', onFilterChange);
    $('#filter-since').addEventListener('change', onFilterChange);
    $('#next-page').addEventListener('click', () => {
      if (!state.next) return;
      state.cursors = state.cursors.slice(0, state.page + 1);
      state.cursors.push(state.next);
      state.page += 1;
      tick();
    });
    $('#prev-page').addEventListener('click', () => {
      if (state.page === 0) return;
      state.page -= 1;
      tick();
    });
    $('#detail-close').addEventListener('click', () => {
      state.selected = 0;
      $('#run-detail').hidden = true;
      history.replaceState(null, '', location.pathname + location.search);
      for (const tr of state.rows.values()) tr.classList.remove('selected');
    });
    for (const b of document.querySelectorAll('#run-detail [data-action]')) {
      b.addEventListener('click', () => act(b.dataset.action));
    }
    // Links: #run=ID opens that run; #status=S (e.g. failed) filters the list.
    const link = new URLSearchParams(location.hash.slice(1));
    const status = link.get('status');
    if (status && [...$('#filter-status').options].some((o) => o.value === status)) {
      $('#filter-status').value = status;
    }
    tick();
    if (/^[0-9]{1,20}$/.test(link.get('run') || '')) selectRun(Number(link.get('run')));
    setInterval(tick, REFRESH_MS);
  }

  init();
})();
