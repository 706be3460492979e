// The system page's lag charts: one small line chart per follower of the
// entries it is behind its feed's head over the last minutes. It keeps the
// samples system.js takes from each context's /status (the "system-status"
// event, once a second) in memory and draws them as inline SVG: nothing is
// fetched or downloaded for it.
"use strict";
(function () {
  const WINDOW_MS = 5 * 60 * 1000;
  const W = 320, H = 70, PAD = 4;
  const series = new Map(); // follower key -> { label, points: [{t, lag}] }
  const SVG = "http://www.w3.org/2000/svg";

  function svgEl(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function record(detail) {
    const now = detail.at;
    detail.contexts.forEach((c, i) => {
      const r = detail.results[i];
      if (!r || !r.up || !r.data || !Array.isArray(r.data.followers)) return;
      for (const f of r.data.followers) {
        const key = c.key + " " + f.feed_url;
        let s = series.get(key);
        if (!s) {
          s = { label: `${c.label} ← ${f.feed_url}`, points: [] };
          series.set(key, s);
        }
        s.points.push({ t: now, lag: Number(f.lag) || 0 });
      }
    });
    for (const s of series.values())
      while (s.points.length && s.points[0].t < now - WINDOW_MS) s.points.shift();
  }

  function chart(key, s, now) {
    const fig = document.createElement("figure");
    fig.className = "chart lag-chart";
    fig.dataset.follower = key;
    const max = Math.max(1, ...s.points.map((p) => p.lag));
    const x = (t) => PAD + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (W - 2 * PAD);
    const y = (lag) => H - PAD - (lag / max) * (H - 2 * PAD);
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
                               "aria-label": `lag of ${s.label}` });
    svg.appendChild(svgEl("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, class: "axis" }));
    const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.lag).toFixed(1)}`).join(" ");
    if (s.points.length > 1)
      svg.appendChild(svgEl("polyline", { points: pts, class: "lag-line" }));
    const last = s.points[s.points.length - 1];
    if (last)
      svg.appendChild(svgEl("circle", { cx: x(last.t), cy: y(last.lag), r: 2.5, class: "bar" }));
    svg.appendChild(svgEl("text", { x: PAD, y: 11 }, `max ${max}`));
    fig.appendChild(svg);
    const cap = document.createElement("figcaption");
    cap.textContent = `${s.label}: lag ${last ? last.lag : 0} now, at most ${max} ` +
      `over the last ${Math.max(1, Math.round((now - s.points[0].t) / 1000))} s`;
    fig.appendChild(cap);
    return fig;
  }

  function draw(now) {
    const holder = document.getElementById("lag-charts");
    if (!holder) return;
    if (!series.size) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "no follower seen yet";
      holder.replaceChildren(p);
      return;
    }
    holder.replaceChildren(...Array.from(series.entries()).map(([k, s]) => chart(k, s, now)));
  }

  document.addEventListener("system-status", (e) => {
    record(e.detail);
    draw(e.detail.at);
  });
})();
