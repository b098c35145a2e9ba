// Huikuan console: small helpers shared by every page. No framework, no
// build step; served from this origin only (the CSP allows nothing else).
"use strict";

(function () {
  /** The page's CSRF token, for requests made from scripts. */
  function csrfToken() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  window.huikuan = { csrfToken };

  /** "m:ss" or "h:mm:ss" since an epoch-ms instant. */
  function elapsed(sinceMs) {
    let s = Math.max(0, Math.floor((Date.now() - sinceMs) / 1000));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  function tick() {
    for (const el of document.querySelectorAll("[data-since-ms]")) {
      el.textContent = elapsed(Number(el.dataset.sinceMs));
    }
  }

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  /** Rebuilds the supervisor's agent table from /api/floor. */
  async function refreshFloor(table) {
    let res;
    try {
      res = await fetch(table.dataset.refresh, { credentials: "same-origin" });
    } catch (_) { return; }
    if (res.redirected || res.status === 401) { location.href = "/login"; return; }
    if (!res.ok) return;
    const floor = await res.json();
    const q = floor.queue;
    const figures = {
      waiting: q.waiting, longest_wait: floor.longest_wait_s + "s",
      answered: q.answered, answered_within_target: q.answered_within_target,
      abandoned: q.abandoned, given_up: q.given_up,
    };
    for (const [k, v] of Object.entries(figures)) {
      const el = document.querySelector(`[data-figure="${k}"]`);
      if (el) el.textContent = v;
    }
    const body = table.tBodies[0];
    body.replaceChildren(...floor.agents.map((a) => {
      const tr = document.createElement("tr");
      tr.append(text("td", a.name), text("td", a.role), text("td", a.skills));
      const state = document.createElement("td");
      state.append(text("span", a.state, "state state-" + a.state.replace(/ /g, "-").replace(/:/g, "")));
      const since = document.createElement("td");
      if (a.since_ms) { const s = text("span", "", "elapsed"); s.dataset.sinceMs = a.since_ms; since.append(s); }
      tr.append(state, since);
      return tr;
    }));
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    const floor = document.querySelector("table[data-refresh]");
    if (floor) setInterval(() => refreshFloor(floor), 2000);
  });
})();
