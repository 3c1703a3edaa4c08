/* pacbench report.html and compare.html: draws the data embedded in the
 * page (the script element "pacbench-data") with uPlot. No network: everything is
 * inline. Every chart's element carries data-chart (its id), data-series
 * and data-points (what its last draw drew) and data-drawn, which the
 * browser test checks against the embedded data. */
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('pacbench-data').textContent);
  const app = document.getElementById('app');
  const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const ERR_COLORS = { timeout: '#d62728', unavailable: '#ff7f0e', read_timeout: '#9467bd', write_timeout: '#8c564b', conflict: '#e377c2', other: '#7f7f7f' };
  const dpr = window.devicePixelRatio || 1;

  // ---- DOM helpers ----
  function el(tag, attrs, kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (const c of kids || []) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  function section(title, sub) {
    app.appendChild(el('h2', {}, [title]));
    if (sub) app.appendChild(el('p', { class: 'sub' }, [sub]));
    const g = el('div', { class: 'grid' });
    app.appendChild(g);
    return g;
  }
  function fmtMs(v) {
    if (v == null) return '–';
    if (v >= 1000) return +(v / 1000).toPrecision(3) + ' s';
    if (v >= 10) return v.toFixed(0) + ' ms';
    if (v >= 1) return v.toFixed(2) + ' ms';
    return (v * 1000).toFixed(0) + ' µs';
  }
  function pct(v) {
    if (v == null) return '–';
    if (v === 0) return '0%';
    if (v < 0.001) return (v * 100).toFixed(3) + '%';
    if (v < 0.1) return (v * 100).toFixed(1) + '%';
    return (v * 100).toFixed(0) + '%';
  }
  function num(v) { return v == null ? '–' : (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)); }
  function color(i) { return COLORS[i % COLORS.length]; }

  // ---- charts ----
  function nonNull(ys) { let n = 0; for (const y of ys) if (y != null && isFinite(y)) n++; return n; }

  // count records what the chart drew: the shown series with points and
  // their points.
  function count(u, box) {
    let series = 0, points = 0;
    for (let i = 1; i < u.series.length; i++) {
      if (!u.series[i].show) continue;
      const n = nonNull(u.data[i]);
      if (n > 0) { series++; points += n; }
    }
    box.setAttribute('data-series', String(series));
    box.setAttribute('data-points', String(points));
    box.setAttribute('data-drawn', '1');
  }

  // chart draws one uPlot chart in a new card of parent.
  function chart(parent, id, title, opts, cols, caption) {
    const card = el('div', { class: 'card' }, [el('h3', {}, [title])]);
    const box = el('div', { class: 'chart', 'data-chart': id, 'data-series': '0', 'data-points': '0', 'data-drawn': '0' });
    card.appendChild(box);
    if (caption) card.appendChild(typeof caption === 'string' ? el('div', { class: 'caption' }, [caption]) : caption);
    parent.appendChild(card);
    let any = false;
    for (let i = 1; i < cols.length; i++) if (nonNull(cols[i]) > 0) any = true;
    if (!any) {
      box.appendChild(el('div', { class: 'empty' }, ['no data']));
      box.setAttribute('data-drawn', '1');
      return;
    }
    try {
      opts.width = Math.max(320, box.clientWidth || 560);
      opts.height = opts.height || 240;
      opts.legend = opts.legend || { live: true };
      opts.hooks = opts.hooks || {};
      opts.hooks.draw = (opts.hooks.draw || []).concat([function (u) { count(u, box); }]);
      new uPlot(opts, cols, box);
    } catch (e) {
      box.appendChild(el('div', { class: 'empty' }, ['chart failed: ' + e]));
      console.error('chart ' + id + ': ' + e);
    }
  }

  // phasePlugin shades the phases and marks each impairment window
  // (what, on which member and link) on a time chart.
  function phasePlugin(phases) {
    return {
      hooks: {
        drawClear: [function (u) {
          const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          ctx.beginPath();
          ctx.rect(u.bbox.left, top, u.bbox.width, h);
          ctx.clip();
          ctx.font = Math.round(11 * dpr) + 'px sans-serif';
          phases.forEach(function (ph, i) {
            const x0 = u.valToPos(ph.start_s, 'x', true), x1 = u.valToPos(ph.end_s, 'x', true);
            ctx.fillStyle = i % 2 ? 'rgba(30,40,60,0.06)' : 'rgba(30,40,60,0.0)';
            ctx.fillRect(x0, top, x1 - x0, h);
            ph.impairments.forEach(function (im, j) {
              const a = u.valToPos(im.start_s, 'x', true), b = u.valToPos(im.end_s == null ? ph.end_s : im.end_s, 'x', true);
              ctx.fillStyle = im.error ? 'rgba(120,120,120,0.12)' : 'rgba(214,39,40,0.09)';
              ctx.fillRect(a, top, b - a, h);
              ctx.fillStyle = '#b42318';
              ctx.fillText(im.what, a + 3 * dpr, top + (26 + 12 * j) * dpr, Math.max(0, b - a - 6 * dpr));
            });
            ctx.fillStyle = '#5b6470';
            ctx.fillText(ph.name, x0 + 3 * dpr, top + 12 * dpr, Math.max(0, x1 - x0 - 6 * dpr));
          });
          ctx.restore();
        }],
      },
    };
  }

  function impairmentCaption(phases) {
    const items = [];
    phases.forEach(function (ph) {
      ph.impairments.forEach(function (im) {
        items.push(ph.name + ': ' + im.what + ' (' + im.kind + ' on ' + im.member + ' ' + im.link +
          (im.direction ? ' ' + im.direction : '') + ', ' + im.start_s.toFixed(1) + '–' +
          (im.end_s == null ? 'end' : im.end_s.toFixed(1)) + ' s' + (im.error ? ', FAILED: ' + im.error : '') + ')');
      });
    });
    return items.length ? 'impairments — ' + items.join('; ') : 'no impairments';
  }

  function mids() { return data.time.start_s.map(function (s, i) { return (s + data.time.end_s[i]) / 2; }); }

  // timeScale spans every block and every phase.
  function timeScale() {
    const t = data.time;
    let lo = t.start_s.length ? t.start_s[0] : 0, hi = t.end_s.length ? t.end_s[t.end_s.length - 1] : 1;
    data.phases.forEach(function (ph) { lo = Math.min(lo, ph.start_s); hi = Math.max(hi, ph.end_s); });
    return { time: false, range: [lo, hi] };
  }
  const timeLegend = { label: 't', value: function (u, v) { return v == null ? '–' : v.toFixed(1) + ' s'; } };

  // decades returns the powers of ten within [min, max], for log axes.
  function decades(u, ai, min, max) {
    const out = [];
    for (let x = Math.pow(10, Math.floor(Math.log10(min))); x <= max * 1.0001; x *= 10) if (x >= min / 1.0001) out.push(x);
    return out;
  }

  const timeAxis = { label: 's since start', values: function (u, v) { return v.map(function (x) { return x.toFixed(0); }); } };
  const msAxis = { label: 'ms', size: 60, values: function (u, v) { return v.map(fmtMs); } };

  function latencyChart(parent, tl, phases) {
    const t = mids();
    const cols = [t, tl.response_ms.p50, tl.response_ms.p99, tl.response_ms.p999, tl.response_ms.max];
    const series = [timeLegend, { label: 'p50', stroke: COLORS[0], value: val(fmtMs) }, { label: 'p99', stroke: COLORS[4], value: val(fmtMs) },
      { label: 'p99.9', stroke: COLORS[1], value: val(fmtMs) }, { label: 'max', stroke: '#7f7f7f', width: 1, value: val(fmtMs) }];
    let what = 'response time';
    if (tl.service_ms) {
      what = 'response (solid) and service (dashed) time';
      ['p50', 'p99', 'p999', 'max'].forEach(function (k, i) {
        cols.push(tl.service_ms[k]);
        series.push({ label: 'service ' + k.replace('p999', 'p99.9'), stroke: series[i + 1].stroke, dash: [5, 4], width: 1, value: val(fmtMs) });
      });
    }
    chart(parent, 'latency:' + tl.scenario + ':' + tl.op, tl.scenario + ' · ' + tl.op + ' — ' + what + ' per interval',
      { scales: { x: timeScale(), y: { distr: 3 } }, axes: [timeAxis, msAxis], series: series, plugins: [phasePlugin(phases)] },
      cols, impairmentCaption(phases));
  }

  function val(f) { return function (u, v) { return f(v); }; }

  function throughputChart(parent, tl, phases) {
    const t = mids(), cols = [t, tl.ok_ops], series = [timeLegend, { label: 'ok', stroke: COLORS[2], value: val(num) }];
    const classes = Object.keys(tl.error_ops).sort();
    // Errors stacked by class: cumulative sums, the largest drawn first.
    const cum = [];
    let acc = t.map(function () { return null; });
    classes.forEach(function (c) {
      acc = tl.error_ops[c].map(function (v, i) { return v == null ? null : (acc[i] || 0) + v; });
      cum.push({ c: c, ys: acc });
    });
    cum.reverse().forEach(function (s) {
      cols.push(s.ys);
      const raw = tl.error_ops[s.c];
      series.push({ label: s.c, stroke: ERR_COLORS[s.c] || '#7f7f7f', fill: (ERR_COLORS[s.c] || '#7f7f7f') + '66', width: 1,
        value: function (u, v, si, di) { return di == null || raw[di] == null ? '–' : num(raw[di]); } });
    });
    chart(parent, 'throughput:' + tl.scenario + ':' + tl.op, tl.scenario + ' · ' + tl.op + ' — throughput and errors (stacked by class), ops/s',
      { scales: { x: timeScale() }, axes: [timeAxis, { label: 'ops/s', size: 60 }], series: series, plugins: [phasePlugin(phases)] }, cols);
  }

  // percentile axis: x = 1/(1−p) on a log scale, labelled as percentiles.
  function pLabel(x) {
    if (x <= 1) return '0%';
    const p = 100 * (1 - 1 / x);
    const d = Math.max(0, Math.round(Math.log10(x)) - 2);
    return p.toFixed(d) + '%';
  }
  const pAxis = {
    label: 'percentile (1/(1−p), log)',
    splits: decades,
    values: function (u, v) { return v.map(pLabel); },
  };

  function spectrumChart(parent, id, title, sp, unitAxis, fmt, caption) {
    const xs = sp.p.map(function (p) { return 1 / (1 - p); });
    const cols = [xs], series = [{ label: 'p', value: function (u, v) { return v == null ? '–' : pLabel(v); } }];
    sp.levels.forEach(function (l, i) {
      cols.push(l.values);
      const li = levelIndex(l.scenario);
      series.push({ label: l.scenario + ' (n=' + l.n + ')', stroke: color(li < 0 ? i : li), value: val(fmt), points: { show: false } });
    });
    chart(parent, id, title, { scales: { x: { time: false, distr: 3 }, y: { distr: 3 } }, axes: [pAxis, unitAxis], series: series }, cols, caption);
  }

  function levelIndex(name) {
    const scs = data.scenarios || [];
    for (let i = 0; i < scs.length; i++) if (scs[i].name === name) return i;
    return -1;
  }

  function staleRatioChart(parent, phases) {
    const t = mids(), cols = [t], series = [timeLegend];
    data.staleness.ratio.forEach(function (l) {
      cols.push(l.ratio);
      series.push({ label: l.scenario, stroke: color(Math.max(0, levelIndex(l.scenario))), value: val(pct) });
    });
    chart(parent, 'stale-ratio', 'stale reads per interval (fraction of checked reads)',
      { scales: { x: timeScale(), y: { range: [0, 1] } }, axes: [timeAxis, { label: 'stale', size: 50, values: function (u, v) { return v.map(pct); } }],
        series: series, plugins: [phasePlugin(phases)] }, cols, impairmentCaption(phases));
  }

  // visibilityChart draws P(consistent | t) per level; points from fewer
  // than min_n reads are drawn hollow (too small to trust).
  function visChart(parent, id, title, xs, levels, minN, xAxis, xScale) {
    const cols = [xs], series = [{ label: xAxis.label.split(' ')[0], value: function (u, v) { return v == null ? '–' : xAxis.fmt(v); } }];
    levels.forEach(function (l) {
      const c = color(Math.max(0, levelIndex(l.scenario)));
      const big = l.p.map(function (p, i) { return p != null && l.n[i] >= minN ? p : null; });
      const small = l.p.map(function (p, i) { return p != null && l.n[i] < minN ? p : null; });
      cols.push(big, small);
      series.push({ label: l.scenario, stroke: c, spanGaps: true, points: { show: true, size: 6, fill: c }, value: nval(l) },
        { label: l.scenario + ' (n<' + minN + ')', stroke: c, paths: function () { return null; }, points: { show: true, size: 9, fill: '#fff', width: 2 }, value: nval(l) });
    });
    const caption = nTable(xs, levels, minN, xAxis.fmt);
    chart(parent, id, title, { scales: { x: xScale, y: { range: [0, 1.02] } },
      axes: [{ label: xAxis.label, splits: xAxis.splits, values: function (u, v) { return v.map(xAxis.fmt); } },
        { label: 'P(consistent)', size: 50, values: function (u, v) { return v.map(pct); } }], series: series }, cols, caption);
  }

  function nval(l) { return function (u, v, si, di) { return v == null ? '–' : pct(v) + ' (n=' + l.n[di] + ')'; }; }

  // nTable shows the sample size behind every point.
  function nTable(xs, levels, minN, fmt) {
    const head = el('tr', {}, [el('th', {}, ['n'])].concat(xs.map(function (x) { return el('th', {}, [fmt(x)]); })));
    const rows = levels.map(function (l) {
      return el('tr', {}, [el('td', {}, [l.scenario])].concat(l.n.map(function (n) {
        return el('td', n > 0 && n < minN ? { class: 'small-n' } : {}, [n > 0 ? String(n) : '']);
      })));
    });
    return el('div', { class: 'nsize' }, [el('table', {}, [head].concat(rows)),
      el('div', {}, ['hollow points and red counts: fewer than ' + minN + ' reads, too few to trust'])]);
  }

  function tFmt(open) { return function (x) { return open && x >= 20000 ? '≥10 s' : fmtMs(x); }; }

  // ---- PACELC map (SVG) ----
  function svg(tag, attrs, kids) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    for (const c of kids || []) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }

  function pacelcMap(parent) {
    const pts = data.pacelc_map.filter(function (p) { return p.latency_cost != null && p.stale_ratio != null; });
    const W = 560, H = 360, L = 64, R = 20, T = 20, B = 52;
    const costs = pts.map(function (p) { return p.latency_cost; }).filter(function (c) { return c > 0; }).concat([1]);
    const minX = Math.pow(10, Math.floor(Math.log10(Math.min.apply(null, costs) / 1.6)));
    const maxX = Math.pow(10, Math.ceil(Math.log10(Math.max.apply(null, costs) * 1.6)));
    const maxY = Math.max(0.01, Math.max.apply(null, pts.map(function (p) { return p.stale_ratio; }).concat([0])) * 1.2);
    const x = function (v) { return L + (W - L - R) * Math.log10(Math.max(v, minX) / minX) / Math.log10(maxX / minX); };
    const y = function (v) { return H - B - (H - T - B) * v / maxY; };
    const g = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'data-chart': 'pacelc-map', role: 'img' });
    g.appendChild(svg('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fafbfc', stroke: '#d8dde3' }));
    for (let v = minX; v <= maxX * 1.0001; v *= 10) {
      g.appendChild(svg('line', { x1: x(v), x2: x(v), y1: T, y2: H - B, stroke: '#e4e7eb' }));
      g.appendChild(svg('text', { x: x(v), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11, fill: '#5b6470' }, ['×' + (+v.toPrecision(1))]));
    }
    for (let i = 0; i <= 4; i++) {
      const v = maxY * i / 4;
      g.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e4e7eb' }));
      g.appendChild(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6470' }, [pct(v)]));
    }
    g.appendChild(svg('text', { x: (L + W - R) / 2, y: H - 12, 'text-anchor': 'middle', 'font-size': 12 }, ['read p99 outside partitions ÷ strongest level of the same system (log)']));
    g.appendChild(svg('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', 'font-size': 12, transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, ['stale reads outside partitions']));
    const systems = {};
    pts.forEach(function (p) {
      systems[p.system] = true;
      const c = color(Math.max(0, levelIndex(p.scenario))), cx = x(p.latency_cost), cy = y(p.stale_ratio), a = p.partition_availability;
      let mark;
      if (a == null) mark = svg('rect', { x: cx - 6, y: cy - 6, width: 12, height: 12, fill: c, class: 'point' });
      else if (a >= 0.9) mark = svg('circle', { cx: cx, cy: cy, r: 7, fill: c, class: 'point' });
      else mark = svg('circle', { cx: cx, cy: cy, r: 7, fill: '#fff', stroke: c, 'stroke-width': 3, class: 'point' });
      mark.appendChild(svg('title', {}, [p.scenario + ': ×' + p.latency_cost.toFixed(2) + ' p99, ' + pct(p.stale_ratio) + ' stale, ' + (a == null ? 'no partition phase' : pct(a) + ' available in partition')]));
      g.appendChild(mark);
      const right = cx > W / 2;
      g.appendChild(svg('text', { x: right ? cx - 10 : cx + 10, y: cy - 10, 'text-anchor': right ? 'end' : 'start', 'font-size': 12, fill: c },
        [p.scenario + (a == null ? '' : ' · ' + pct(a) + ' available in P')]));
    });
    g.setAttribute('data-points', String(pts.length));
    g.setAttribute('data-series', String(Object.keys(systems).length));
    g.setAttribute('data-drawn', '1');
    const dl = el('dl', {}, []);
    data.pacelc_map.forEach(function (p) {
      const v = p.verdict || {};
      dl.appendChild(el('dt', {}, [p.scenario + ' (' + p.system + ') — ' + (v.partition || 'P: –') + ' / ' + (v.else || 'E: –')]));
      dl.appendChild(el('dd', {}, [v.evidence || 'no evidence (no reads)']));
      if (p.strongest && p.strongest !== p.scenario) dl.appendChild(el('dd', {}, ['latency cost measured against ' + p.strongest]));
    });
    const legend = el('p', { class: 'caption' }, ['● filled: available during the partition (≥ 90 % of reads ok, PA) · ○ hollow: refused (PC) · ■ square: no partition phase']);
    parent.appendChild(el('div', { class: 'map' }, [el('div', {}, [g, legend]), el('div', { class: 'verdicts' }, [el('h3', {}, ['verdicts and their evidence']), dl])]));
  }

  // ---- report page ----
  function header(title, lines) {
    app.appendChild(el('h1', {}, [title]));
    lines.forEach(function (l) { app.appendChild(el('p', { class: 'sub' }, l)); });
    if (data.notes && data.notes.length) {
      app.appendChild(el('ul', { class: 'notes' }, data.notes.map(function (n) { return el('li', {}, [n]); })));
    }
  }

  function scenarioTable(parent) {
    const rows = data.scenarios.map(function (s) {
      const lv = Object.keys(s.levels).sort().filter(function (k) { return s.levels[k]; }).map(function (k) { return k + '=' + s.levels[k]; }).join(' ');
      return el('tr', {}, [el('td', {}, [s.name]), el('td', { class: 'l' }, [s.system]), el('td', { class: 'l' }, [lv]),
        el('td', { class: 'l' }, [s.open_loop ? 'open loop: response time (service time dashed)' : 'closed loop: service time'])]);
    });
    parent.appendChild(el('table', {}, [el('tr', {}, [el('th', {}, ['level']), el('th', { class: 'l' }, ['system']), el('th', { class: 'l' }, ['settings']), el('th', { class: 'l' }, ['latency'])])].concat(rows)));
  }

  function renderReport() {
    const r = data.run, t = data.time;
    const step = t.per_block > 1 ? ' · long run: each point merges ' + t.per_block + ' intervals of ' + t.interval_s + ' s (exact histogram merge)' : (t.interval_s ? ' · one point per ' + t.interval_s + ' s interval' : '');
    header('pacbench report — ' + r.id, [
      [r.profile + ' · ' + (r.system || '') + ' · ' + r.mode + ' · ' + r.started_at + ' → ' + r.ended_at + step + (r.version ? ' · pacbench ' + r.version : '')].concat(r.partial ? [' ', el('span', { class: 'badge' }, ['partial run'])] : []),
    ]);
    scenarioTable(app);
    app.appendChild(el('h2', {}, ['PACELC map']));
    pacelcMap(app);
    const tg = section('Latency, throughput and errors over time', 'phases shaded; impairment windows in red with what was injected, on which member and link');
    data.timelines.forEach(function (tl) { latencyChart(tg, tl, data.phases); throughputChart(tg, tl, data.phases); });
    const sg = section('Percentile spectrum per phase', 'latency by percentile (HdrHistogram), levels overlaid; x = 1/(1−p) on a log axis');
    data.spectra.forEach(function (sp) {
      spectrumChart(sg, 'spectrum:' + sp.phase + ':' + sp.op, sp.phase + ' · ' + sp.op + ' — latency by percentile', sp, msAxis, fmtMs);
    });
    const st = section('Staleness', 'stale = a read that returned a version older than one already acknowledged when it was invoked');
    staleRatioChart(st, data.phases);
    data.staleness.behind.forEach(function (sp) {
      spectrumChart(st, 'stale-behind:' + sp.phase, sp.phase + ' — time staleness of stale reads', sp, msAxis, fmtMs, 'how long the returned value had been superseded');
    });
    data.staleness.versions.forEach(function (sp) {
      spectrumChart(st, 'stale-versions:' + sp.phase, sp.phase + ' — version staleness of stale reads', sp, { label: 'versions behind', size: 60 }, num);
    });
    const vg = section('t-visibility: P(consistent | t)', 'the PBS picture: the chance a read sees the newest acknowledged write, t after it was acknowledged');
    data.visibility.forEach(function (v) {
      if (v.levels.length) {
        const f = tFmt(v.open_last);
        visChart(vg, 'visibility:' + v.phase, v.phase + ' — P(consistent) by time since the newest acknowledged write', v.t_ms, v.levels, v.min_n,
          { label: 't since ack (log)', fmt: f, splits: decades }, { time: false, distr: 3 });
      }
      if (v.probes.length) {
        const xs = v.probe_ms.map(function (_, i) { return i; });
        const f = function (i) { const d = v.probe_ms[Math.round(i)]; return d == null ? '' : fmtMs(d).replace(' µs', 'µs'); };
        visChart(vg, 'probes:' + v.phase, v.phase + ' — probes: P(read sees a write acknowledged Δ earlier)', xs, v.probes, v.min_n,
          { label: 'Δ', fmt: f, splits: function () { return xs; } }, { time: false });
      }
    });
    app.appendChild(el('h2', {}, ['Linearizability']));
    if (!data.linearizability.length) app.appendChild(el('p', { class: 'sub' }, ['no phase was found non-linearizable (or none was checked); see summary.json "linearizable"']));
    else app.appendChild(el('ul', {}, data.linearizability.map(function (l) {
      const what = l.scenario + ' · ' + l.phase + ' — not linearizable (' + l.ops + ' ops on ' + l.keys + ' keys checked): ';
      return el('li', {}, [what, l.exists ? el('a', { href: l.file }, [l.file]) : l.file + ' (missing from the run directory)']);
    })));
  }

  // ---- compare page ----
  function renderCompare() {
    header('pacbench compare', data.runs.map(function (r) {
      return [r.label + ' = ' + r.dir + ' (' + r.run_id + ', ' + r.profile + ', ' + r.system + (r.scenario ? ', level ' + r.scenario : '') + (r.partial ? ', partial' : '') + ')'];
    }));
    app.appendChild(el('p', { class: 'sub' }, [data.method]));
    app.appendChild(compareTable());
    const g = section('Percentile spectra, runs overlaid', 'per matched series; x = 1/(1−p) on a log axis');
    data.spectra.forEach(function (sp) {
      spectrumChart(g, 'compare-spectrum:' + sp.series, sp.series + ' — latency by percentile', sp, msAxis, fmtMs);
    });
  }

  function compareTable() {
    const metrics = data.metrics;
    const head = el('tr', {}, [el('th', { class: 'l' }, ['series']), el('th', {}, ['run'])].concat(metrics.map(function (m) { return el('th', {}, [m.label]); })));
    const rows = [head];
    data.series.forEach(function (s) {
      s.runs.forEach(function (r, i) {
        const cells = [el('td', { class: 'l' }, [i === 0 ? s.name : '']), el('td', {}, [data.runs[r.run].label + ' · ' + r.scenario])];
        metrics.forEach(function (m) {
          const c = r.values[m.key];
          if (!c) { cells.push(el('td', {}, ['–'])); return; }
          let txt = m.unit === 'ratio' ? pct(c.value) : m.unit === 'ms' ? fmtMs(c.value) : num(c.value);
          let cls = '';
          if (c.delta != null) {
            const mark = c.flag === 'significant' ? ' *' : c.flag === 'noise' ? ' ~' : ' ?';
            txt += ' (' + (c.delta >= 0 ? '+' : '') + (m.relative ? (c.delta * 100).toFixed(0) + '%' : (c.delta * 100).toFixed(1) + ' pt') + mark + ')';
            cls = c.significant ? (c.worse ? 'sig-up' : 'sig-down') : 'noise';
          }
          cells.push(el('td', cls ? { class: cls } : {}, [txt]));
        });
        rows.push(el('tr', {}, cells));
      });
    });
    return el('div', { class: 'card', 'data-chart': 'compare-table', 'data-series': String(data.series.length), 'data-points': String(rows.length - 1), 'data-drawn': '1' },
      [el('table', {}, rows), el('p', { class: 'caption' }, ['Δ against A · * significant: the whole bootstrap interval lies beyond the noise band (red: worse, green: better) · ~ within noise · ? too few intervals to judge'])]);
  }

  // ---- sweep page ----
  function logRange(u, min, max) {
    if (min == null || max == null) return [1, 10];
    const lo = Math.pow(10, Math.floor(Math.log10(Math.max(min, 1e-3))));
    let hi = Math.pow(10, Math.ceil(Math.log10(Math.max(max, 1e-3))));
    if (hi <= lo) hi = lo * 10;
    return [lo, hi];
  }

  function sweepCurveChart(parent, c) {
    const knee = c.p99.map(function (v, i) { return i === c.knee_at ? v : null; });
    const cols = [c.throughput_ops, c.p50, c.p99, c.p999, knee];
    const at = function (u, v, si, di) { return v == null ? '–' : fmtMs(v) + ' (' + data.param + '=' + c.value[di] + (c.fell_behind[di] ? ', fell behind' : '') + ')'; };
    const series = [{ label: 'ok ops/s', value: function (u, v) { return v == null ? '–' : num(v); } },
      { label: 'p50', stroke: color(0), width: 2, points: { show: true }, value: at },
      { label: 'p99', stroke: color(1), width: 2, points: { show: true }, value: at },
      { label: 'p99.9', stroke: color(3), width: 2, points: { show: true }, value: at },
      { label: 'knee' + (c.knee == null ? ' (none)' : ' (' + data.param + '=' + c.knee + ')'), stroke: '#000', paths: function () { return null; },
        points: { show: true, size: 14, fill: 'rgba(0,0,0,0)', width: 3 }, value: at }];
    const caption = 'knee: ' + (c.knee == null ? 'none' : data.param + '=' + c.knee) + ' — ' + c.knee_reason +
      ' · points at ' + data.param + '=' + c.value.join(', ');
    chart(parent, 'sweep-curve:' + c.scenario + ':' + c.phase + ':' + c.op, c.scenario + ' · ' + c.phase + ' · ' + c.op + ' — response time against throughput',
      { scales: { x: { time: false }, y: { distr: 3, log: 10, range: logRange } },
        axes: [{ label: 'ok ops/s (achieved)' }, msAxis], series: series }, cols, caption);
  }

  function sweepStaleChart(parent, st) {
    const xs = data.values.map(function (_, i) { return i; });
    const cols = [xs], series = [{ label: data.param, value: function (u, v) { return v == null ? '–' : data.values[Math.round(v)]; } }];
    st.levels.forEach(function (l, i) {
      cols.push(l.ratio);
      series.push({ label: l.scenario, stroke: color(i), width: 2, points: { show: true }, value: function (u, v) { return pct(v); } });
    });
    chart(parent, 'sweep-stale:' + st.phase, st.phase + ' — stale ratio against ' + data.param,
      { scales: { x: { time: false }, y: { range: function (u, min, max) { return [0, Math.max(0.001, (max || 0) * 1.2)]; } } },
        axes: [{ label: data.param, splits: function () { return xs; }, values: function (u, v) { return v.map(function (x) { const s = data.values[Math.round(x)]; return s == null ? '' : s; }); } },
          { label: 'stale', size: 50, values: function (u, v) { return v.map(pct); } }], series: series }, cols,
      'stale = a read that returned a version older than one already acknowledged when it was invoked');
  }

  function sweepTable(parent) {
    const seen = {};
    const rows = [el('tr', {}, [el('th', { class: 'l' }, ['level']), el('th', { class: 'l' }, ['phase']), el('th', {}, ['knee']), el('th', { class: 'l' }, ['what ended it'])])];
    data.curves.forEach(function (c) {
      const k = c.scenario + '\u0000' + c.phase;
      if (seen[k]) return;
      seen[k] = true;
      rows.push(el('tr', {}, [el('td', { class: 'l' }, [c.scenario]), el('td', { class: 'l' }, [c.phase]),
        el('td', {}, [c.knee == null ? 'none' : data.param + '=' + c.knee]), el('td', { class: 'l' }, [c.knee_reason])]));
    });
    parent.appendChild(el('table', {}, rows));
    parent.appendChild(el('ul', {}, data.points.map(function (p) {
      const what = data.param + '=' + p.value + (p.error ? ' — failed: ' + p.error : '') + ': ';
      if (!p.report) return el('li', {}, [what + 'no results directory']);
      return el('li', {}, [what, p.exists ? el('a', { href: p.report }, [p.report]) : p.report + ' (missing from the sweep directory)']);
    })));
  }

  function renderSweep() {
    const r = data.run;
    header('pacbench sweep — ' + r.id, [
      [r.profile + ' · ' + r.mode + ' · ' + r.started_at + ' → ' + r.ended_at + ' · ' + data.param + ' over ' + data.values.join(', ')].concat(r.partial ? [' ', el('span', { class: 'badge' }, ['partial sweep'])] : []),
      ['knee: the highest value up to which the schedule kept up (not behind by more than ' + (100 * data.fell_behind_margin) + '%) and ' +
        (data.knee_op || 'every op kind') + "'s p99 stayed at or under " + fmtMs(data.knee_p99_ms) +
        (data.warmup_s ? ' · a ' + data.warmup_s + ' s warm-up before each value is recorded in its run, not in the curves' : '')],
    ]);
    sweepTable(app);
    const g = section('Latency against throughput', 'response time (from each op\'s intended start) p50, p99, p99.9 against the achieved ok ops/s, one point per swept value; the knee ringed');
    data.curves.forEach(function (c) { sweepCurveChart(g, c); });
    const st = section('Staleness against load', 'the E of PACELC as load grows: each level\'s stale ratio at each swept value');
    data.stale.forEach(function (s) { sweepStaleChart(st, s); });
    if (!data.stale.length) st.appendChild(el('p', { class: 'sub' }, ['no read was checked for staleness']));
  }

  if (data.schema === 'pacbench.compare/v1') renderCompare();
  else if (data.schema === 'pacbench.sweep-report/v1') renderSweep();
  else renderReport();
  app.setAttribute('data-rendered', '1');
})();
