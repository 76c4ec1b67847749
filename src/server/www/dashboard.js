// The tide dashboard: polls GET /jobs every second, keeps a few minutes of
// history per job version in memory, draws it on <canvas> charts, and shows
// the selected job's results (GET /jobs/NAME/results).  No libraries: the
// page ships inside the tide binary.
"use strict";

(function () {
  const POLL_MS = 1000;
  const RESULTS_MS = 2000;
  const KEEP_MS = 5 * 60 * 1000;     // history shown on the charts
  const MAX_RESULT_ROWS = 500;
  const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7ea4", "#cf222e", "#57606a"];

  // A token given in the page's address (?token=...) goes with every request.
  const token = new URLSearchParams(window.location.search).get("token");
  const headers = token ? { Authorization: "Bearer " + token } : {};

  const state = {
    polls: 0,          // successful polls of /jobs
    failures: 0,
    jobs: [],          // the last /jobs answer
    series: new Map(), // "job vN" -> {color, points: [{t, rate, lag, wm}]}
    checkpoints: [],   // [{job, version, id, time, bytes, duration_ms}], newest first
    draws: 0,          // charts drawn with data
    results: null,     // the last results answer {job, columns, rows}
  };
  window.tide = state; // for the browser test and for the curious

  const $ = (id) => document.getElementById(id);

  function fmtInt(n) {
    if (n === null || n === undefined) return "–";
    return Number(n).toLocaleString("en-US");
  }
  function fmtRate(r) {
    if (r === null || r === undefined) return "–";
    return r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);
  }
  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "–";
    const a = Math.abs(ms);
    const s = a < 1000 ? a + " ms" : a < 60000 ? (a / 1000).toFixed(1) + " s" :
      a < 3600000 ? (a / 60000).toFixed(1) + " min" : a < 86400000 * 2 ? (a / 3600000).toFixed(1) + " h" :
      (a / 86400000).toFixed(1) + " d";
    return (ms < 0 ? "-" : "") + s;
  }
  function fmtBytes(b) {
    if (b === null || b === undefined) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0, v = b;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + " " + u[i];
  }
  function fmtTime(ms) {
    if (ms === null || ms === undefined) return "–";
    const d = new Date(ms);
    if (isNaN(d.getTime())) return String(ms);
    return d.toISOString().replace("T", " ").replace("Z", "");
  }
  function clockTime(ms) {
    const d = new Date(ms);
    const p = (x) => String(x).padStart(2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function seriesFor(key) {
    let s = state.series.get(key);
    if (!s) {
      s = { color: COLORS[state.series.size % COLORS.length], points: [] };
      state.series.set(key, s);
    }
    return s;
  }

  // ---- the jobs table ----
  function renderJobs(now) {
    const tbody = $("jobs").tBodies[0];
    tbody.replaceChildren();
    let n = 0;
    for (const job of state.jobs) {
      for (const v of job.versions || []) {
        n++;
        const tr = el("tr");
        if (job.live === v.version) tr.className = "live";
        tr.dataset.job = job.name;
        tr.dataset.version = v.version;
        tr.append(el("td", job.name), el("td", "v" + v.version + (job.live === v.version ? " (live)" : "")));
        const st = el("td");
        st.append(el("span", v.state, "state " + v.state));
        if (v.error) st.append(el("div", v.error, "err"));
        tr.append(st, el("td", v.output || ""));
        tr.append(el("td", fmtInt(v.records_in), "num"), el("td", fmtInt(v.records_out), "num"),
          el("td", fmtRate(v.rate), "num"), el("td", fmtInt(v.lag_records), "num"),
          el("td", fmtMs(v.lag_ms), "num"), el("td", fmtTime(v.watermark)),
          el("td", v.watermark === null || v.watermark === undefined ? "–" : fmtMs(now - v.watermark), "num"),
          el("td", fmtInt(v.late), "num"), el("td", fmtInt(v.bad), "num"), el("td", fmtInt(v.restarts), "num"));
        const c = v.checkpoint;
        tr.append(el("td", c ? "#" + c.id + ", " + fmtMs(now - c.time) + " ago, " + fmtBytes(c.bytes) : "none"));
        tbody.append(tr);
      }
    }
    $("nojobs").hidden = n > 0;
  }

  function renderCheckpoints() {
    const tbody = $("ckpts").tBodies[0];
    tbody.replaceChildren();
    for (const c of state.checkpoints.slice(0, 12)) {
      const tr = el("tr");
      tr.append(el("td", c.job), el("td", "v" + c.version), el("td", c.id, "num"), el("td", fmtTime(c.time)),
        el("td", fmtBytes(c.bytes), "num"), el("td", fmtMs(c.duration_ms), "num"));
      tbody.append(tr);
    }
  }

  function renderResultChoices() {
    const sel = $("result-job");
    const names = state.jobs.map((j) => j.name);
    const have = Array.from(sel.options).map((o) => o.value);
    if (names.join("\n") === have.join("\n")) return;
    const cur = sel.value;
    sel.replaceChildren();
    for (const name of names) sel.append(new Option(name, name));
    if (names.includes(cur)) sel.value = cur;
  }

  function renderResults() {
    const r = state.results;
    const table = $("results");
    const thead = table.tHead, tbody = table.tBodies[0];
    thead.replaceChildren();
    tbody.replaceChildren();
    if (!r) return;
    if (r.error) {
      $("result-info").textContent = r.error;
      return;
    }
    const hr = el("tr");
    for (const c of r.columns || []) hr.append(el("th", c));
    thead.append(hr);
    const rows = r.rows || [];
    for (const row of rows.slice(0, MAX_RESULT_ROWS)) {
      const tr = el("tr");
      for (const cell of row) {
        const num = typeof cell === "number";
        tr.append(el("td", cell === null ? "NULL" : cell, num ? "num" : undefined));
      }
      tbody.append(tr);
    }
    $("result-info").textContent = rows.length + " rows" + (r.version ? " from v" + r.version : "") +
      (rows.length > MAX_RESULT_ROWS ? " (first " + MAX_RESULT_ROWS + " shown)" : "");
  }

  // ---- charts ----
  function niceStep(range, ticks) {
    const raw = range / Math.max(1, ticks);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  // lines: [{label, color, points: [[x, y], ...]}]; fmtY formats a y tick
  function drawChart(canvas, lines, now, fmtY) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "11px system-ui, sans-serif";
    const L = 70, R = 10, T = 8, B = 36;
    // from the first point (at least a minute back) to now, at most KEEP_MS
    let first = now;
    for (const s of lines) if (s.points.length) first = Math.min(first, s.points[0][0]);
    const x0 = Math.max(now - KEEP_MS, Math.min(first, now - 60000)), x1 = now;
    let ymin = Infinity, ymax = -Infinity, npoints = 0;
    for (const s of lines) for (const [x, y] of s.points) {
      if (x < x0 || y === null || !isFinite(y)) continue;
      ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); npoints++;
    }
    canvas.dataset.points = npoints;
    if (!npoints) {
      g.fillStyle = "#6b7378";
      g.fillText("no data yet", L + 8, T + 16);
      return;
    }
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    if (ymin > 0 && ymin < (ymax - ymin)) ymin = 0;
    const step = niceStep(ymax - ymin, 4);
    ymin = Math.floor(ymin / step) * step;
    ymax = Math.ceil(ymax / step) * step;
    const px = (x) => L + (x - x0) / (x1 - x0) * (w - L - R);
    const py = (y) => T + (1 - (y - ymin) / (ymax - ymin)) * (h - T - B);
    g.strokeStyle = "#e6e9ea"; g.fillStyle = "#6b7378"; g.lineWidth = 1;
    g.textAlign = "right"; g.textBaseline = "middle";
    for (let y = ymin; y <= ymax + step / 2; y += step) {
      g.beginPath(); g.moveTo(L, py(y)); g.lineTo(w - R, py(y)); g.stroke();
      g.fillText(fmtY(y), L - 6, py(y));
    }
    g.textAlign = "center"; g.textBaseline = "top";
    const tstep = x1 - x0 > 150000 ? 60000 : x1 - x0 > 60000 ? 30000 : 15000;
    for (let t = Math.ceil(x0 / tstep) * tstep; t <= x1; t += tstep) {
      g.beginPath(); g.moveTo(px(t), T); g.lineTo(px(t), h - B); g.stroke();
      const tw = g.measureText(clockTime(t)).width / 2;
      g.fillText(clockTime(t), Math.min(Math.max(px(t), L + tw), w - R - tw), h - B + 4);
    }
    let lx = L;
    for (const s of lines) {
      g.strokeStyle = s.color; g.lineWidth = 1.6; g.beginPath();
      let started = false;
      for (const [x, y] of s.points) {
        if (x < x0 || y === null || !isFinite(y)) { started = false; continue; }
        if (started) g.lineTo(px(x), py(y)); else { g.moveTo(px(x), py(y)); started = true; }
      }
      g.stroke();
      g.fillStyle = s.color; g.textAlign = "left"; g.textBaseline = "bottom";
      g.fillRect(lx, h - 12, 10, 3);
      g.fillText(s.label, lx + 14, h - 2);
      lx += 24 + g.measureText(s.label).width;
    }
    state.draws++;
  }

  function drawCharts(now) {
    const pick = (f) => Array.from(state.series, ([label, s]) =>
      ({ label, color: s.color, points: s.points.map((p) => [p.t, f(p)]) }));
    drawChart($("chart-rate"), pick((p) => p.rate), now, (y) => fmtRate(y));
    drawChart($("chart-lag"), pick((p) => p.lag), now, (y) => fmtInt(y));
    drawChart($("chart-wm"), pick((p) => p.wm), now, (y) => {
      const d = new Date(y);
      return isNaN(d.getTime()) ? String(y) : d.toISOString().slice(11, 19);
    });
  }

  // ---- polling ----
  function setStatus(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.className = bad ? "status bad" : "status";
  }

  async function getJSON(path) {
    const r = await fetch(path, { headers, cache: "no-store" });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || (r.status + " " + r.statusText));
    return body;
  }

  async function poll() {
    const now = Date.now();
    try {
      const data = await getJSON("/jobs");
      state.jobs = data.jobs || [];
      state.polls++;
      for (const job of state.jobs) for (const v of job.versions || []) {
        const s = seriesFor(job.name + " v" + v.version);
        s.points.push({ t: now, rate: v.rate, lag: v.lag_records, wm: v.watermark });
        while (s.points.length && s.points[0].t < now - KEEP_MS) s.points.shift();
        const c = v.checkpoint;
        if (c && !state.checkpoints.some((x) => x.job === job.name && x.version === v.version && x.id === c.id)) {
          state.checkpoints.unshift(Object.assign({ job: job.name, version: v.version }, c));
          state.checkpoints.sort((a, b) => b.time - a.time);
          state.checkpoints.length = Math.min(state.checkpoints.length, 50);
        }
      }
      renderJobs(now);
      renderCheckpoints();
      renderResultChoices();
      setStatus("updated " + clockTime(now) + " \u00b7 " + state.jobs.length + " job" +
        (state.jobs.length === 1 ? "" : "s"), false);
    } catch (e) {
      state.failures++;
      setStatus("cannot reach the server: " + e.message, true);
    }
    drawCharts(now);
  }

  async function pollResults() {
    const name = $("result-job").value;
    if (!name) return;
    try {
      const r = await getJSON("/jobs/" + encodeURIComponent(name) + "/results");
      state.results = Object.assign({ job: name }, r);
    } catch (e) {
      state.results = { job: name, error: e.message };
    }
    renderResults();
  }

  function loop(f, ms) {
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try { await f(); } finally { busy = false; }
    };
    tick();
    setInterval(tick, ms);
  }

  $("result-job").addEventListener("change", () => { pollResults(); });
  window.addEventListener("resize", () => drawCharts(Date.now()));
  loop(poll, POLL_MS);
  loop(pollResults, RESULTS_MS);
})();
