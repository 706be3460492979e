// The system page: polls /status of the three contexts and draws them with
// the feeds between them. A context that does not answer is drawn as down;
// a follower behind its feed's head, or failing, is drawn in colour.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const host = location.hostname || "127.0.0.1";
  const ctx = [
    { key: "subscriptions", label: "Subscriptions", port: 8081, x: 40, y: 40 },
    { key: "cloud-api", label: "Cloud API", port: 8082, x: 460, y: 40 },
    { key: "product1", label: "Product 1", port: 8083, x: 250, y: 250 },
  ];
  for (const c of ctx) {
    c.url = (params.get(c.key) || `http://${host}:${c.port}`).replace(/\/+$/, "");
    const input = document.getElementById("addr-" + c.key);
    if (input) input.value = c.url;
  }
  // Which context serves a feed, by the feed's name.
  const producerOf = { subscriptions: "subscriptions", usage: "cloud-api", product1: "product1" };

  // More Cloud API nodes (make run CLOUD_API_NODES=N): Subscriptions follows
  // the usage feed of each, so each origin it follows that is not a known
  // context is another node, drawn below the first.
  function addNodes(results) {
    const sub = results[0];
    if (!sub || !sub.up) return;
    for (const f of sub.data.followers) {
      if (feedName(f.feed_url) !== "usage") continue;
      let origin;
      try { origin = new URL(f.feed_url).origin; } catch (e) { continue; }
      if (ctx.some((c) => c.url === origin)) continue;
      const n = ctx.filter((c) => c.node).length + 2;
      ctx.push({ key: "cloud-api@" + origin, label: "Cloud API :" + new URL(origin).port,
                 node: true, url: origin, x: 470, y: 40 + 100 * (n - 1) });
    }
  }

  // The context that serves the feed at url: by origin, else by name.
  function producer(box, url) {
    let origin = "";
    try { origin = new URL(url).origin; } catch (e) { /* by name */ }
    const c = ctx.find((x) => x.url === origin);
    return c ? box[c.key] : box[producerOf[feedName(url)]];
  }

  function el(name, attrs, text) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A follower is failing when its last error is newer than its last success
  // (error_resolved says so; older programs leave it out).
  function failing(f) {
    if ("error_resolved" in f) return !!f.last_error && !f.error_resolved;
    return !!f.last_error && (!f.last_success || f.last_error_at > f.last_success);
  }

  function feedName(url) {
    const m = /\/feeds\/([a-z0-9_-]+)/.exec(url || "");
    return m ? m[1] : "?";
  }

  async function status(c) {
    try {
      const r = await fetch(c.url + "/status", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!r.ok) return { up: false, error: "HTTP " + r.status };
      return { up: true, data: await r.json() };
    } catch (e) {
      return { up: false, error: "not answering" };
    }
  }

  function draw(results) {
    const height = Math.max(360, ...ctx.map((c) => c.y + 100));
    const svg = el("svg", { viewBox: `0 0 700 ${height}`, width: "100%", role: "img",
                            "aria-label": "the three contexts and their feeds" });
    const box = {};
    ctx.forEach((c, i) => {
      const r = results[i];
      box[c.key] = c;
      const g = el("g", { class: "context" });
      g.appendChild(el("rect", { x: c.x, y: c.y, width: 200, height: 70, rx: 8,
        fill: r.up ? "#dafbe1" : "#ffebe9", stroke: r.up ? "#1a7f37" : "#b42318" }));
      const a = el("a", { href: c.url + "/" });
      a.appendChild(el("text", { x: c.x + 100, y: c.y + 30, "text-anchor": "middle",
        "font-weight": "700" }, c.label));
      g.appendChild(a);
      const heads = r.up ? r.data.feeds.map((f) => `${f.name}: ${f.head}`).join(", ") : r.error;
      g.appendChild(el("text", { x: c.x + 100, y: c.y + 52, "text-anchor": "middle",
        "font-size": "12" }, r.up ? (heads || "no feeds") : "DOWN (" + r.error + ")"));
      svg.appendChild(g);
    });
    const rows = [];
    ctx.forEach((consumer, i) => {
      const r = results[i];
      if (!r.up) return;
      for (const f of r.data.followers) {
        const name = feedName(f.feed_url);
        const from = producer(box, f.feed_url);
        rows.push({ consumer: consumer.label, f });
        if (!from) continue;
        const bad = failing(f);
        const colour = bad ? "#b42318" : f.lag > 0 ? "#9a6700" : "#1a7f37";
        // Side by side: from the facing edges, one lane per direction;
        // otherwise from the bottom of the producer to the top of the consumer.
        const sameRow = from.y === consumer.y;
        const rightward = from.x < consumer.x;
        const lane = rightward ? 15 : 45;
        const x1 = sameRow ? (rightward ? from.x + 200 : from.x) : from.x + 100;
        const y1 = sameRow ? from.y + lane : from.y + 70;
        const x2 = sameRow ? (rightward ? consumer.x : consumer.x + 200) : consumer.x + 100;
        const y2 = sameRow ? consumer.y + lane : consumer.y;
        const p = `M${x1},${y1} L${x2},${y2}`;
        svg.appendChild(el("path", { d: p, stroke: colour, "stroke-width": 3, fill: "none",
          "marker-end": "url(#arrow)" }));
        const mx = (x1 + x2) / 2;
        const my = sameRow ? y1 + (rightward ? -6 : 16) : (y1 + y2) / 2;
        svg.appendChild(el("text", { x: mx, y: my, "text-anchor": "middle", "font-size": "12",
          fill: colour }, `/feeds/${name} lag ${f.lag}${bad ? " (failing)" : ""}`));
      }
    });
    const defs = el("defs", {});
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5b6570" }));
    defs.appendChild(marker);
    svg.insertBefore(defs, svg.firstChild);
    const holder = document.getElementById("system-diagram");
    holder.replaceChildren(svg);

    const tbody = document.querySelector("#system-followers tbody");
    tbody.replaceChildren();
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 7;
      td.textContent = "no follower seen yet";
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    for (const { consumer, f } of rows) {
      const tr = document.createElement("tr");
      for (const [v, cls] of [[consumer], [f.feed_url], [f.position, "num"], [f.head, "num"],
                              [f.lag, f.lag > 0 ? "num behind" : "num"], [f.last_poll || f.last_success],
                              [f.last_error ? `${f.last_error} (${f.last_error_at})` : "",
                               failing(f) ? "error" : "muted"]]) {
        const td = document.createElement("td");
        if (cls) td.className = cls;
        td.textContent = v;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
  }

  async function tick() {
    let results = await Promise.all(ctx.map(status));
    const known = ctx.length;
    addNodes(results);
    if (ctx.length > known) results = results.concat(await Promise.all(ctx.slice(known).map(status)));
    draw(results);
    // Other scripts of the page (lag_chart.js) draw from the same samples.
    document.dispatchEvent(new CustomEvent("system-status",
      { detail: { at: Date.now(), contexts: ctx, results } }));
    setTimeout(tick, 1000);
  }
  tick();
})();
