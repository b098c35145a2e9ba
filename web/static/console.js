// Huikuan console: small helpers shared by every page. No framework, no
// build step; served from this origin only (the CSP allows nothing else).
"use strict";

(function () {
  /** The page's CSRF token, for requests made from scripts. */
  function csrfToken() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  /** A call's facts as a definition list (plus `extra` [label, value] pairs). */
  function fillFacts(el, c, extra) {
    const facts = [["Debtor", c.name], ["Phone", c.phone], ["Overdue", "¥" + c.overdue_amount],
      ["Days past due", String(c.days_past_due)], ["Dialect", c.dialect], ["Product", c.product],
      ["Why handed over", c.reason], ...(extra || [])];
    el.replaceChildren(...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      return [dt, dd];
    }));
  }

  /** One transcript line at the end of a list, scrolled into view. */
  function addLine(list, line) {
    const li = document.createElement("li");
    li.className = "line line-" + line.speaker;
    const who = document.createElement("span");
    who.className = "speaker"; who.textContent = line.speaker;
    const words = document.createElement("span");
    words.textContent = line.text;
    li.append(who, words);
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }

  function fillTranscript(list, lines) {
    list.replaceChildren();
    for (const l of lines || []) addLine(list, l);
  }

  /**
   * A peer connection that sends `mic` and offers PCMU only (the telephone
   * codec, so the call's audio passes through as it is), with its offer
   * complete (every candidate gathered) before it is sent.
   */
  async function pcmuPeer(mic, enabled, onTrack, onState) {
    const pc = new RTCPeerConnection();
    const track = mic.getAudioTracks()[0];
    track.enabled = enabled;
    const tr = pc.addTransceiver(track, { direction: "sendrecv", streams: [mic] });
    const pcmu = RTCRtpReceiver.getCapabilities("audio").codecs.filter((c) => c.mimeType === "audio/PCMU");
    tr.setCodecPreferences(pcmu);
    pc.ontrack = (ev) => onTrack(ev.track);
    pc.onconnectionstatechange = () => onState(pc.connectionState);
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise((done) => {
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") done();
        });
      });
    }
    return pc;
  }

  /**
   * Plays a received track and measures it into `into` (level: a decaying
   * maximum, peak, packets received) and onto `meter`, every 100 ms while
   * `pc()` is still the connection it came on.
   */
  function measure(track, audio, meter, into, pc) {
    const stream = new MediaStream([track]);
    audio.srcObject = stream;
    audio.play().catch(() => {});
    const mine = pc();
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const step = async () => {
      if (pc() !== mine) { ctx.close(); return; }
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      into.level = Math.max(into.level * 0.95, rms);
      into.peak = Math.max(into.peak, rms);
      meter.value = Math.min(1, rms * 4);
      const stats = await mine.getStats();
      stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") into.packets = s.packetsReceived; });
      if (into.onPackets && into.packets > 0) into.onPackets();
      setTimeout(step, 100);
    };
    step();
  }

  window.huikuan = { csrfToken, fillFacts, addLine, fillTranscript, pcmuPeer, measure };

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
      abandoned: q.abandoned, given_up: q.given_up, calls_in_progress: floor.calls_in_progress,
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
      const call = document.createElement("td");
      if (a.call) {
        call.append(a.call.account + " · " + a.call.dialect);
        if (!a.call.ended && document.getElementById("listen")) {
          const b = text("button", "Listen", "listen");
          b.type = "button"; b.dataset.call = a.call.call;
          call.append(" ", b);
        }
      }
      tr.append(state, since, call);
      return tr;
    }));
    const waiting = document.querySelector("#waiting tbody");
    if (waiting) {
      const rows = floor.waiting.map((c) => {
        const tr = document.createElement("tr");
        const since = document.createElement("td");
        const s = text("span", "", "elapsed"); s.dataset.sinceMs = c.since_ms; since.append(s);
        tr.append(text("td", c.account), text("td", c.dialect), text("td", c.reason), since);
        return tr;
      });
      if (!rows.length) {
        const tr = document.createElement("tr");
        const td = text("td", "No call is waiting.", "muted"); td.colSpan = 4; tr.append(td);
        rows.push(tr);
      }
      waiting.replaceChildren(...rows);
    }
    const flags = document.querySelector("#live-flags tbody");
    if (flags) {
      const rows = floor.flags.map((f) => {
        const tr = document.createElement("tr");
        tr.className = "qa-flag"; tr.dataset.call = f.call;
        const raised = document.createElement("td"); raised.className = "nowrap";
        const s = text("span", "", "elapsed"); s.dataset.sinceMs = f.raised_at_ms;
        raised.append(s, " ago");
        const kind = document.createElement("td");
        kind.append(text("span", f.type, "tag bad"), " ", text("span", f.rule, "muted small"));
        tr.append(raised, text("td", f.agent), text("td", f.account), kind, text("td", f.channel), text("td", f.evidence));
        return tr;
      });
      if (!rows.length) {
        const tr = document.createElement("tr");
        const td = text("td", "No flag on the calls in progress.", "muted"); td.colSpan = 6; tr.append(td);
        rows.push(tr);
      }
      flags.replaceChildren(...rows);
    }
    tick();
  }

  /** Refreshes the managers' dashboard: its figures, outcomes and chart. */
  async function refreshDashboard(section) {
    let res;
    try {
      res = await fetch(section.dataset.refresh, { credentials: "same-origin" });
    } catch (_) { return; }
    if (res.redirected || res.status === 401) { location.href = "/login"; return; }
    if (!res.ok) return;
    const dash = await res.json();
    for (const k of dash.kpis) {
      const el = document.querySelector(`[data-kpi="${k.key}"]`);
      if (!el) continue;
      el.querySelector(".kpi-value").textContent = k.value;
      el.querySelector(".kpi-detail").textContent = k.detail;
    }
    const body = document.querySelector("#dispositions tbody");
    if (body && dash.dispositions.length) {
      body.replaceChildren(...dash.dispositions.map(([d, n]) => {
        const tr = document.createElement("tr");
        tr.append(text("td", d), text("td", String(n)));
        return tr;
      }));
    }
    // The chart swaps in once loaded, so it never flashes empty.
    const chart = document.getElementById("hours-chart");
    if (chart) {
      const next = new Image();
      next.onload = () => { chart.src = next.src; };
      next.src = "/dashboard/hours.svg?at=" + Date.now();
    }
    const stamp = document.getElementById("refreshed");
    if (stamp) stamp.textContent = new Date().toLocaleTimeString();
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    const floor = document.querySelector("table[data-refresh]");
    if (floor) setInterval(() => refreshFloor(floor), 2000);
    const dashboard = document.querySelector("#dashboard[data-refresh]");
    if (dashboard) setInterval(() => refreshDashboard(dashboard), 5000);
  });
})();
