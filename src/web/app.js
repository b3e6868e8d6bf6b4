/* autoresearch dashboard. Everything an agent or experiment wrote is shown with textContent. */
(function () {
  'use strict';
  var $ = function (id) {
    return document.getElementById(id);
  };
  var S = {
    tag: null,
    summary: null,
    rows: [],
    selected: null,
    sort: { key: 'id', dir: 1 },
    filter: '',
    plot: null,
    es: null,
    skew: 0,
  };
  var COLUMNS = [
    ['id', 'id'],
    ['parent', 'parent'],
    ['status', 'status'],
    ['value', 'value'],
    ['n_runs', 'n'],
    ['spread', 'spread'],
    ['holdout_value', 'holdout'],
    ['title', 'title'],
    ['reason', 'reason'],
    ['tokens', 'tokens'],
    ['cost', 'cost'],
    ['recorded_at', 'recorded'],
  ];
  var OTHER = { crash: 1, timeout: 1, invalid: 1, failed: 1, skipped: 1, interrupted: 1 };
  window.dashboard = { state: S, points: 0 };

  function api(path, opts) {
    return fetch(path, Object.assign({ credentials: 'same-origin' }, opts || {})).then(
      function (r) {
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (!r.ok) throw new Error(body.error || body.message || 'HTTP ' + r.status);
            return body;
          });
      },
    );
  }
  function runUrl(suffix) {
    return '/api/runs/' + encodeURIComponent(S.tag) + (suffix || '');
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
    return Number(v.toPrecision(digits || 6)).toString();
  }
  function usd(v) {
    return v === null || v === undefined ? '–' : '$' + v.toFixed(v < 1 ? 4 : 2);
  }
  function dur(s) {
    if (s === null || s === undefined) return '–';
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600),
      m = Math.floor((s % 3600) / 60),
      sec = s % 60;
    return h
      ? h + 'h' + String(m).padStart(2, '0') + 'm'
      : m
        ? m + 'm' + String(sec).padStart(2, '0') + 's'
        : sec + 's';
  }
  function when(ms) {
    return ms ? new Date(ms).toLocaleTimeString() : '–';
  }

  // ---------- header ----------
  function renderSummary() {
    var s = S.summary;
    if (!s) return;
    $('run-tag').textContent = s.tag + ' · ' + s.metric + ' (' + s.goal + ')';
    var st = $('run-state');
    st.textContent =
      s.state +
      (s.stopReason && s.state !== 'running' && s.state !== 'paused' ? ': ' + s.stopReason : '');
    st.className = 'badge ' + s.state.replace(/\s+/g, '-');
    var sb = $('sandbox');
    sb.hidden = !s.sandbox;
    if (s.sandbox) {
      sb.textContent = s.sandbox.sealed ? 'sealed' : 'UNSEALED';
      sb.title = s.sandbox.text;
      sb.className = 'badge ' + (s.sandbox.sealed ? 'sealed' : 'unsealed');
    }
    $('best').textContent =
      num(s.best) + (s.bestExperiment !== null ? ' (#' + s.bestExperiment + ')' : '');
    $('improvement').textContent =
      s.improvementPct === null
        ? '–'
        : (s.improvementPct >= 0 ? '+' : '') +
          s.improvementPct.toFixed(2) +
          '% (baseline ' +
          num(s.baseline) +
          ')';
    $('rate').textContent = s.experimentsPerHour === null ? '–' : s.experimentsPerHour.toFixed(1);
    $('spend').textContent =
      usd(s.spend.usd) +
      (s.spend.projectedUsd !== null ? ' (+' + usd(s.spend.projectedUsd) + ' projected)' : '') +
      (s.spend.tokens ? ' · ' + s.spend.tokens + ' tok' : '');
    $('elapsed').textContent = dur(s.elapsedSeconds);
    var left = [];
    if (s.left && s.left.experiments !== null) left.push(s.left.experiments + ' exp');
    if (s.left && s.left.seconds !== null) left.push(dur(s.left.seconds));
    $('left').textContent = left.length ? left.join(' · ') : 'no limit';
    $('noise').textContent = s.noise === null ? '–' : '±' + num(s.noise, 3);
    // The drift watch: while the incumbent drifts beyond the noise, its sentence under the stats.
    var d = s.drift,
      banner = $('drift-banner');
    $('drift').textContent = !d ? '–' : d.drifting ? 'drifting' : 'none';
    $('drift').className = d && d.drifting ? 'on' : '';
    banner.hidden = !(d && d.drifting);
    banner.textContent = d && d.drifting ? d.sentence : '';
    S.skew = s.now - Date.now();
    renderControls(s.state);
    document.title = 'autoresearch · ' + s.tag + ' · ' + s.state;
    renderProgress();
  }
  // What each control can do in each state (loop/control.ts refuses the rest): a finished run has
  // no harness to pause, stop or abort; a dead one may leave jobs behind that a stop cancels.
  var ENABLED = {
    running: ['pause', 'stop', 'stop-now', 'abort'],
    paused: ['resume', 'stop', 'stop-now', 'abort'],
    'not running': ['stop'],
  };
  function renderControls(state) {
    var on = ENABLED[state] || [];
    ['pause', 'resume', 'stop', 'stop-now', 'abort'].forEach(function (verb) {
      $('btn-' + verb).disabled = on.indexOf(verb) < 0;
    });
    $('controls-off').textContent =
      state === 'running' || state === 'paused'
        ? ''
        : state === 'not running'
          ? 'its harness ended: autoresearch run --tag ' + S.tag + ' resumes it'
          : 'not running: autoresearch run --tag ' + S.tag + ' continues it';
  }
  function renderProgress() {
    var s = S.summary,
      box = $('inflight');
    var f = s && s.inFlight && s.inFlight.length ? s.inFlight[0] : null;
    if (!f || (s.state !== 'running' && s.state !== 'paused')) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    var label =
      '#' +
      f.id +
      ' ' +
      f.state +
      (f.title ? ': ' + f.title : '') +
      (s.inFlight.length > 1 ? ' (+' + (s.inFlight.length - 1) + ' more)' : '');
    $('inflight-text').textContent = label;
    var bar = $('inflight-bar');
    if (f.started_at && f.budgetSeconds) {
      var el_s = (Date.now() + S.skew - f.started_at) / 1000;
      $('inflight-time').textContent = dur(el_s) + ' / ' + dur(f.budgetSeconds);
      bar.style.width = Math.min(100, (100 * el_s) / f.budgetSeconds) + '%';
      bar.className = el_s > f.budgetSeconds ? 'over' : '';
    } else {
      $('inflight-time').textContent = f.started_at
        ? dur((Date.now() + S.skew - f.started_at) / 1000)
        : 'for ' + dur((Date.now() + S.skew - f.proposed_at) / 1000);
      bar.style.width = '0%';
    }
  }
  setInterval(renderProgress, 500);

  // ---------- chart ----------
  function chartData() {
    var rows = S.rows.filter(function (r) {
      return r.state === 'recorded';
    });
    var xs = [],
      keep = [],
      discard = [],
      other = [],
      best = [],
      base = [],
      hold = [],
      meta = [];
    var cur = null,
      hasHold = false;
    rows.forEach(function (r) {
      // The best line is the current value of the incumbent this experiment was judged against
      // (the server's incumbentValues): measured again, the incumbent moves, and the line with it.
      if (r.best !== null && r.best !== undefined) cur = r.best;
      var y = r.value !== null ? r.value : cur;
      xs.push(r.id);
      keep.push(r.status === 'keep' ? y : null);
      discard.push(r.status === 'discard' ? y : null);
      other.push(r.status !== 'keep' && r.status !== 'discard' ? y : null);
      best.push(cur);
      base.push(S.summary ? S.summary.baseline : null);
      hold.push(r.holdout_value);
      if (r.holdout_value !== null) hasHold = true;
      meta.push(r);
    });
    // The noise band: the running best plus and minus the measured noise (when the run has repeats).
    var noise =
      S.summary && typeof S.summary.noise === 'number' && S.summary.noise > 0
        ? S.summary.noise
        : null;
    var hi = best.map(function (b) {
      return noise === null || b === null ? null : b + noise;
    });
    var lo = best.map(function (b) {
      return noise === null || b === null ? null : b - noise;
    });
    return {
      data: [
        xs,
        keep,
        discard,
        other,
        best,
        base,
        hasHold
          ? hold
          : hold.map(function () {
              return null;
            }),
        hi,
        lo,
      ],
      meta: meta,
    };
  }
  function chartWidth() {
    return Math.max(200, $('chart').clientWidth);
  }
  function chartHeight() {
    return window.innerWidth < 600 ? 220 : 320;
  }
  function renderChart() {
    var cd = chartData(),
      node = $('chart');
    S.meta = cd.meta;
    node.setAttribute('data-points', String(cd.meta.length));
    window.dashboard.points = cd.meta.length;
    if (S.plot) {
      S.plot.setData(cd.data);
      return;
    }
    var dots = function (color) {
      return {
        stroke: color,
        fill: color,
        paths: function () {
          return null;
        },
        points: { show: true, size: 8, stroke: color, fill: color },
      };
    };
    var opts = {
      width: chartWidth(),
      height: chartHeight(),
      scales: { x: { time: false } },
      legend: { show: false },
      cursor: { points: { size: 10 }, drag: { x: false, y: false } },
      axes: [
        { label: 'experiment', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
        { size: 60 },
      ],
      series: [
        { label: 'id' },
        Object.assign({ label: 'kept' }, dots('#1f8a4c')),
        Object.assign({ label: 'discarded' }, dots('#95a0b4')),
        Object.assign({ label: 'other' }, dots('#d63031')),
        {
          label: 'best',
          stroke: '#1f8a4c',
          width: 2,
          paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false },
          spanGaps: true,
        },
        {
          label: 'baseline',
          stroke: '#555',
          width: 1,
          dash: [6, 4],
          points: { show: false },
          spanGaps: true,
        },
        {
          label: 'holdout',
          stroke: '#8e44ad',
          width: 2,
          points: { show: true, size: 5 },
          spanGaps: true,
        },
        {
          label: 'noise+',
          stroke: 'rgba(31,138,76,0.25)',
          width: 1,
          paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false },
          spanGaps: true,
        },
        {
          label: 'noise-',
          stroke: 'rgba(31,138,76,0.25)',
          width: 1,
          paths: uPlot.paths.stepped({ align: 1 }),
          points: { show: false },
          spanGaps: true,
        },
      ],
      bands: [{ series: [7, 8], fill: 'rgba(31,138,76,0.10)' }],
      hooks: { setCursor: [showTip] },
    };
    S.plot = new uPlot(opts, cd.data, node);
    window.dashboard.plot = S.plot;
    S.plot.over.addEventListener('click', function () {
      var i = S.plot.cursor.idx;
      if (i !== null && i !== undefined && S.meta[i]) openExperiment(S.meta[i].id);
    });
    S.plot.over.addEventListener('mouseleave', function () {
      $('tooltip').hidden = true;
    });
    new ResizeObserver(function () {
      if (S.plot) S.plot.setSize({ width: chartWidth(), height: chartHeight() });
    }).observe(node);
  }
  function showTip(u) {
    var tip = $('tooltip'),
      i = u.cursor.idx;
    if (i === null || i === undefined || !S.meta || !S.meta[i] || u.cursor.left < 0) {
      tip.hidden = true;
      return;
    }
    var r = S.meta[i];
    tip.textContent = '';
    tip.appendChild(
      el('div', null, '#' + r.id + ' · ' + (r.status || r.state) + ' · ' + num(r.value)),
    );
    if (r.title) tip.appendChild(el('div', null, r.title));
    tip.hidden = false;
    var box = u.over.getBoundingClientRect(),
      card = $('chart').parentNode.getBoundingClientRect();
    var left = box.left - card.left + u.cursor.left + 12;
    left = Math.min(left, card.width - tip.offsetWidth - 4);
    tip.style.left = Math.max(4, left) + 'px';
    tip.style.top = box.top - card.top + u.cursor.top + 12 + 'px';
  }

  // ---------- table ----------
  function renderTableHead() {
    var tr = document.querySelector('#experiments thead tr');
    tr.textContent = '';
    COLUMNS.forEach(function (c) {
      var th = el(
        'th',
        S.sort.key === c[0] ? 'sorted ' + (S.sort.dir > 0 ? 'asc' : 'desc') : '',
        c[1],
      );
      th.dataset.key = c[0];
      th.addEventListener('click', function () {
        S.sort = { key: c[0], dir: S.sort.key === c[0] ? -S.sort.dir : 1 };
        renderTableHead();
        renderTable();
      });
      tr.appendChild(th);
    });
  }
  function renderFilter() {
    var sel = $('filter'),
      have = {};
    S.rows.forEach(function (r) {
      have[r.status || r.state] = 1;
    });
    var cur = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    Object.keys(have)
      .sort()
      .forEach(function (k) {
        var o = el('option', null, k);
        o.value = k;
        sel.appendChild(o);
      });
    sel.value = have[cur] ? cur : '';
    S.filter = sel.value;
  }
  function renderTable() {
    var body = document.querySelector('#experiments tbody'),
      k = S.sort.key,
      d = S.sort.dir;
    var rows = S.rows.filter(function (r) {
      return !S.filter || (r.status || r.state) === S.filter;
    });
    rows.sort(function (a, b) {
      var x = a[k],
        y = b[k];
      if (x === y) return a.id - b.id;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * d;
    });
    body.textContent = '';
    rows.forEach(function (r) {
      var tr = el('tr', r.id === S.selected ? 'selected' : '');
      tr.dataset.id = String(r.id);
      var cells = [
        r.id,
        parentText(r),
        r.status || r.state,
        num(r.value),
        r.n_runs === null ? '–' : r.n_runs,
        num(r.spread, 3),
        num(r.holdout_value),
        r.title || '',
        r.reason || '',
        r.tokens === null ? '–' : r.tokens,
        usd(r.cost),
        when(r.recorded_at),
      ];
      cells.forEach(function (v, i) {
        var key = COLUMNS[i][0];
        var cls = key === 'title' || key === 'reason' ? 'text' : '';
        var td = el('td', key === 'status' ? 'st-' + (r.status || '') : cls, v);
        // On a phone each row is a card of "column: value" lines; empty ones are left out.
        td.dataset.label = COLUMNS[i][1];
        if (v === '' || v === '–') td.classList.add('empty');
        tr.appendChild(td);
      });
      tr.addEventListener('click', function () {
        openExperiment(r.id);
      });
      body.appendChild(tr);
    });
  }
  // The experiment it was built on (and its island), so a run under parents: tree | islands reads as one.
  function parentText(r) {
    if (r.parent === null || r.parent === undefined) return '–';
    return '#' + r.parent + (r.island !== null && r.island !== undefined ? ' · i' + r.island : '');
  }
  function renderTree() {
    var strategy = S.summary && S.summary.strategy,
      on = !!strategy && strategy !== 'greedy';
    $('tree-card').hidden = !on;
    if (!on) return;
    $('tree-strategy').textContent = '(parents: ' + strategy + ')';
    window.experimentTree($('tree'), S.rows, S.summary.bestExperiment, openExperiment);
  }
  // Pareto mode: the front as a scatter of its first two metrics; hidden in the scalar mode.
  function renderFront() {
    var metrics = S.summary && S.summary.pareto;
    $('front-card').hidden = !metrics;
    if (!metrics) return Promise.resolve();
    $('front-metrics').textContent =
      '(' +
      metrics
        .map(function (m) {
          return m.name + ' ' + (m.goal === 'minimize' ? '↓' : '↑');
        })
        .join(', ') +
      ')';
    return api(runUrl('/front')).then(function (data) {
      window.frontScatter($('front'), data, openExperiment);
    });
  }
  $('filter').addEventListener('change', function () {
    S.filter = $('filter').value;
    renderTable();
  });

  // ---------- experiment panel ----------
  function meta(dl, pairs) {
    dl.textContent = '';
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      dl.appendChild(el('dt', null, p[0]));
      dl.appendChild(el('dd', null, typeof p[1] === 'object' ? JSON.stringify(p[1]) : p[1]));
    });
  }
  function codeInto(pre, text, diff) {
    pre.textContent = '';
    if (!text) {
      pre.textContent = '(none)';
      return;
    }
    if (!diff) {
      pre.textContent = text;
      return;
    }
    text.split('\n').forEach(function (line) {
      var cls = /^\+(?!\+\+)/.test(line)
        ? 'add'
        : /^-(?!--)/.test(line)
          ? 'del'
          : /^@@/.test(line)
            ? 'hunk'
            : '';
      pre.appendChild(el('span', cls, line + '\n'));
    });
  }
  function openExperiment(id) {
    S.selected = id;
    $('detail-msg').textContent = '';
    renderTable();
    return api(runUrl('/experiments/' + id))
      .then(function (e) {
        if (S.selected !== id) return;
        $('detail').hidden = false;
        $('detail-title').textContent = '#' + e.id + ' ' + (e.title || '(untitled)');
        meta($('detail-meta'), [
          ['status', (e.status || '–') + ' (' + e.state + ')'],
          ['reason', e.reason],
          ['value', num(e.value)],
          ['runs', e.n_runs],
          ['spread', num(e.spread, 3)],
          ['holdout', e.holdout_value === null ? null : num(e.holdout_value)],
          ['incumbent', e.incumbent_value === null ? null : num(e.incumbent_value)],
          ['agent', e.agent],
          [
            'tokens',
            e.input_tokens === null
              ? null
              : e.input_tokens +
                ' in / ' +
                e.output_tokens +
                ' out' +
                (e.cached_tokens ? ' (' + e.cached_tokens + ' cached)' : '') +
                (e.cache_write_tokens
                  ? ' (' + e.cache_write_tokens + ' written to the cache)'
                  : ''),
          ],
          ['cost', e.cost === null ? null : usd(e.cost)],
          ['wall', e.wall_seconds === null ? null : dur(e.wall_seconds)],
          [
            'change',
            e.files_changed === null
              ? null
              : e.files_changed + ' file(s) +' + e.lines_added + ' −' + e.lines_deleted,
          ],
          ['commit', e.candidate_commit ? e.candidate_commit.slice(0, 12) : null],
          ['metrics', e.metrics],
        ]);
        $('detail-hypothesis').textContent = e.hypothesis || '(none)';
        var dec =
          e.decision && typeof e.decision === 'object'
            ? Object.keys(e.decision).map(function (k) {
                return [k, typeof e.decision[k] === 'number' ? num(e.decision[k]) : e.decision[k]];
              })
            : [];
        if (e.penalty) dec.push(['penalty', num(e.penalty)]);
        meta($('detail-decision'), dec.length ? dec : [['decision', '(none)']]);
        codeInto($('detail-diff'), e.diff, true);
        codeInto(
          $('detail-log'),
          e.log
            ? (e.log.truncated ? '… (last 64 KB of ' + e.log.size + ' bytes)\n' : '') + e.log.tail
            : '',
          false,
        );
        var logPre = $('detail-log');
        logPre.scrollTop = logPre.scrollHeight;
        $('detail-log-link').href = runUrl('/experiments/' + e.id + '/log');
        $('detail-brief').textContent = e.brief || '(none)';
      })
      .catch(function (err) {
        $('detail').hidden = false;
        $('detail-title').textContent = 'error: ' + err.message;
      });
  }
  $('detail-close').addEventListener('click', function () {
    S.selected = null;
    $('detail').hidden = true;
    renderTable();
  });

  // ---------- data + live ----------
  function refresh(changedIds) {
    if (!S.tag) return Promise.resolve();
    return Promise.all([api(runUrl()), api(runUrl('/experiments'))]).then(function (res) {
      S.summary = res[0];
      S.rows = res[1].experiments;
      renderSummary();
      renderChart();
      renderFilter();
      renderTable();
      renderTree();
      renderFront();
      if (S.selected !== null && changedIds && changedIds.indexOf(S.selected) >= 0)
        openExperiment(S.selected);
    });
  }
  function connect() {
    if (S.es) S.es.close();
    S.es = new EventSource(runUrl('/events'));
    S.es.addEventListener('hello', function () {
      $('live').className = 'live on';
      refresh();
    });
    S.es.addEventListener('change', function (ev) {
      var d = {};
      try {
        d = JSON.parse(ev.data);
      } catch (e) {
        /* ignore */
      }
      refresh(d.experiments || []);
    });
    S.es.addEventListener('heartbeat', function () {
      $('live').className = 'live on';
    });
    S.es.onerror = function () {
      $('live').className = 'live';
    };
  }
  function selectRun(tag) {
    S.tag = tag;
    S.selected = null;
    S.rows = [];
    $('detail').hidden = true;
    if (S.plot) {
      S.plot.destroy();
      S.plot = null;
    }
    refresh().then(connect);
  }
  function post(verb, body) {
    return api(runUrl('/' + verb), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body || {}),
    });
  }
  $('detail-rerun').addEventListener('click', function () {
    if (S.selected === null || S.selected === undefined) return;
    post('experiments/' + S.selected + '/rerun')
      .then(function (r) {
        $('detail-msg').textContent = r.message || 'ok';
      })
      .catch(function (err) {
        $('detail-msg').textContent = err.message;
      });
  });
  ['pause', 'resume', 'stop', 'stop-now', 'abort'].forEach(function (verb) {
    $('btn-' + verb).addEventListener('click', function () {
      if (verb === 'stop' && !window.confirm('Stop the run after the experiment in flight?'))
        return;
      if (
        verb === 'stop-now' &&
        !window.confirm(
          'Stop the run now? The experiments in flight are killed and run again when the run resumes.',
        )
      )
        return;
      if (
        verb === 'abort' &&
        !window.confirm(
          'Kill the experiments in flight? They are recorded as interrupted; the loop goes on.',
        )
      )
        return;
      $('control-msg').textContent = verb + '…';
      post(verb)
        .then(function (r) {
          $('control-msg').textContent = r.message || 'ok';
          refresh();
        })
        .catch(function (err) {
          $('control-msg').textContent = err.message;
        });
    });
  });
  $('note-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('note-text').value.trim();
    if (!text) return;
    post('note', { text: text })
      .then(function (r) {
        $('note-text').value = '';
        $('note-msg').textContent =
          'note added (' + r.notes.length + ' in all); the next brief includes it';
      })
      .catch(function (err) {
        $('note-msg').textContent = err.message;
      });
  });

  renderTableHead();
  api('/api/runs')
    .then(function (r) {
      var runs = r.runs,
        sel = $('run-select');
      if (!runs.length) {
        $('run-tag').textContent = 'no runs yet';
        return;
      }
      if (runs.length > 1) {
        sel.hidden = false;
        runs.forEach(function (x) {
          var o = el('option', null, x.tag + ' (' + x.state + ')');
          o.value = x.tag;
          sel.appendChild(o);
        });
        sel.addEventListener('change', function () {
          selectRun(sel.value);
        });
      }
      var want = new URLSearchParams(location.search).get('run');
      selectRun(
        runs.some(function (x) {
          return x.tag === want;
        })
          ? want
          : runs[0].tag,
      );
    })
    .catch(function (err) {
      $('run-tag').textContent = 'error: ' + err.message;
    });
})();
