// Huikuan agent desktop: the softphone. One WebSocket to the console
// (offers, transcript, signalling), one WebRTC connection per call that
// offers PCMU only, so the debtor's telephone audio passes through as it
// is. With auto-answer, one standing connection to the console instead,
// kept between calls, so an accepted call has audio at once (the console
// relays it; the call is joined directly when the standing line is not
// up). No framework, no build step.
"use strict";

(function () {
  const desk = document.getElementById("desk");
  if (!desk) return;
  const csrf = window.huikuan.csrfToken();
  const $ = (id) => document.getElementById(id);
  // Audio that fails is joined again this many times in a row.
  const MAX_REJOINS = 5;
  const state = { ws: null, call: null, pc: null, mic: null, muted: false, held: false,
    level: 0, peak: 0, packets: 0, acceptedAt: null, firstAudioMs: null, onPackets: null, rejoins: 0,
    wrapTimer: null, ringTimer: null, relayed: false };
  // The standing line (auto-answer) and what it has heard: packets count
  // from its opening, so a relayed call's are those past `base`.
  const standing = { pc: null, level: 0, peak: 0, packets: 0, base: 0, onPackets: null };
  const AUTO_ANSWER_KEY = "huikuan.autoAnswer";

  function show(panel) {
    for (const id of ["pop", "incall", "wrapup"]) $(id).hidden = id !== panel;
  }

  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
  }

  function say(text, cls) {
    const p = $("desk-status");
    p.textContent = text;
    p.className = "desk-status " + (cls || "");
  }

  const { fillFacts, addLine, fillTranscript } = window.huikuan;

  function onOffer(c) {
    state.call = c;
    fillFacts($("pop-facts"), c);
    $("pop-summary").textContent = c.summary || "(no summary)";
    fillTranscript($("pop-transcript"), c.transcript);
    show("pop");
    let left = c.ring_s;
    $("pop-ring").textContent = left + " s";
    clearInterval(state.ringTimer);
    state.ringTimer = setInterval(() => {
      left = Math.max(0, left - 1);
      $("pop-ring").textContent = left + " s";
    }, 1000);
    say("Incoming call", "ringing");
    if ($("auto-answer").checked) accept();
  }

  function standingUp() {
    return standing.pc !== null && standing.pc.connectionState === "connected";
  }

  function accept() {
    state.acceptedAt = performance.now();
    state.firstAudioMs = null;
    standing.base = standing.packets;
    standing.peak = 0;
    if (state.call) send({ t: "accept", call: state.call.call, standing: standingUp() });
  }

  async function getMic() {
    if (!state.mic) state.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    return state.mic;
  }

  /** Opens the standing line (auto-answer on), replacing a dead one. */
  async function openStanding() {
    if (!$("auto-answer").checked || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    if (standing.pc && ["new", "connecting", "connected"].includes(standing.pc.connectionState)) return;
    closeStanding(false);
    let mic;
    try { mic = await getMic(); } catch (e) { say("Microphone unavailable: " + e.message, "error"); return; }
    $("standing-state").textContent = "line: connecting";
    const pc = await window.huikuan.pcmuPeer(mic, !state.muted, (track) => {
      window.huikuan.measure(track, $("standing-speaker"), $("call-level"), standing, () => standing.pc);
    }, (connection) => {
      if (standing.pc !== pc) return;
      $("standing-state").textContent = "line: " + connection;
      if (connection === "failed" || connection === "closed") {
        // A relayed call is joined directly; the line is opened again.
        if (state.relayed && state.call) { state.relayed = false; startAudio(); }
        standing.pc = null;
        setTimeout(openStanding, 1000);
      }
    });
    if (standing.pc !== null || !$("auto-answer").checked) { pc.close(); return; }
    standing.pc = pc;
    standing.packets = 0;
    send({ t: "standing_offer", sdp: pc.localDescription.sdp });
  }

  function closeStanding(tell) {
    if (standing.pc) { standing.pc.close(); standing.pc = null; }
    $("standing-state").textContent = "";
    if (tell) send({ t: "standing_close" });
  }

  async function onCall(c) {
    clearInterval(state.ringTimer);
    state.rejoins = 0;
    state.call = c;
    fillFacts($("call-facts"), c);
    $("call-summary").textContent = c.summary || "";
    fillTranscript($("call-transcript"), c.transcript);
    if (c.ended !== null && c.ended !== undefined) { onEnded(); return; }
    show("incall");
    say("On call", "oncall");
    if (c.relayed && standingUp()) {
      // The console carries the call's audio on the standing line.
      closeAudio();
      state.relayed = true;
      $("call-audio").textContent = "standing line";
      standing.onPackets = () => { if (standing.packets > standing.base) heardFirst(); };
      return;
    }
    await startAudio();
  }

  async function startAudio() {
    closeAudio();
    state.peak = 0; state.packets = 0; state.firstAudioMs = null; state.onPackets = heardFirst;
    state.relayed = false;
    $("call-audio").textContent = "connecting";
    try { await getMic(); } catch (e) { say("Microphone unavailable: " + e.message, "error"); return; }
    const pc = await window.huikuan.pcmuPeer(state.mic, !state.muted, (track) => {
      // The remote track unmutes with its first RTP packet.
      track.addEventListener("unmute", heardFirst);
      window.huikuan.measure(track, $("call-speaker"), $("call-level"), state, () => state.pc);
    }, (connection) => {
      $("call-audio").textContent = connection;
      if (connection === "connected") state.rejoins = 0;
      if (connection === "failed") {
        // The debtor is held meanwhile; a new offer replaces this leg.
        say("Audio failed: the call is held for you; joining again", "error");
        const call = state.call;
        setTimeout(() => {
          if (state.call === call && state.pc && state.pc.connectionState === "failed"
            && state.rejoins < MAX_REJOINS) {
            state.rejoins += 1;
            startAudio();
          }
        }, 1000);
      }
    });
    // Another start won the race while this one gathered candidates.
    if (state.pc !== null) { pc.close(); return; }
    state.pc = pc;
    send({ t: "offer", call: state.call.call, sdp: pc.localDescription.sdp });
  }

  function heardFirst() {
    if (state.firstAudioMs === null && state.acceptedAt !== null) {
      state.firstAudioMs = Math.round(performance.now() - state.acceptedAt);
    }
  }

  function closeAudio() {
    if (state.pc) { state.pc.close(); state.pc = null; }
    state.relayed = false;
    standing.onPackets = null;
  }

  function onEnded() {
    closeAudio();
    clearInterval(state.wrapTimer);
    show("wrapup");
    say("Wrap-up", "wrapup");
    $("wrap-call").value = state.call ? state.call.call : "";
    let left = Number(desk.dataset.wrapUpSeconds);
    $("wrap-left").textContent = left + " s";
    state.wrapTimer = setInterval(() => {
      left = Math.max(0, left - 1);
      $("wrap-left").textContent = left + " s";
    }, 1000);
  }

  function idle() {
    clearInterval(state.ringTimer);
    clearInterval(state.wrapTimer);
    closeAudio();
    state.call = null;
    show(null);
    say("Waiting for calls", "");
  }

  function onMessage(m) {
    switch (m.t) {
      case "presence": {
        const p = m.presence;
        const el = $("my-state");
        const labels = { available: "available", on_call: "on call", wrap_up: "wrap-up", break: "break" };
        el.className = "state state-" + (p ? p.state : "offline");
        if (!p) { el.replaceChildren("offline"); break; }
        const since = document.createElement("span");
        since.className = "elapsed";
        since.dataset.sinceMs = p.since_ms;
        el.replaceChildren((labels[p.state] || p.state) + (p.code ? ": " + p.code : "") + " ", since);
        break;
      }
      case "offer": onOffer(m.call); break;
      case "withdrawn": if (state.call && state.call.call === m.call) idle(); break;
      case "call": onCall(m.call); break;
      case "answer":
        if (state.pc) state.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        break;
      case "standing_answer":
        if (standing.pc) standing.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        break;
      case "line":
        addLine($("call-transcript"), m.line);
        break;
      case "leg_failed": say("Audio could not be joined: " + m.why, "error"); break;
      case "ended": onEnded(); break;
      case "error": say(m.t + " " + m.what + ": " + m.error, "error"); break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/agent/ws?csrf=${encodeURIComponent(csrf)}`);
    state.ws = ws;
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onopen = () => { $("desk-link").textContent = "connected"; openStanding(); };
    ws.onclose = () => {
      $("desk-link").textContent = "reconnecting";
      setTimeout(connect, 1000);
    };
  }

  $("pop-accept").addEventListener("click", accept);
  $("auto-answer").checked = localStorage.getItem(AUTO_ANSWER_KEY) === "1";
  $("auto-answer").addEventListener("change", () => {
    const on = $("auto-answer").checked;
    localStorage.setItem(AUTO_ANSWER_KEY, on ? "1" : "0");
    if (on) openStanding(); else closeStanding(true);
  });
  $("pop-decline").addEventListener("click", () => {
    if (state.call) send({ t: "decline", call: state.call.call });
    idle();
  });
  $("call-mute").addEventListener("click", () => {
    state.muted = !state.muted;
    if (state.mic) state.mic.getAudioTracks().forEach((t) => { t.enabled = !state.muted; });
    $("call-mute").textContent = state.muted ? "Unmute" : "Mute";
  });
  $("call-hold").addEventListener("click", () => {
    state.held = !state.held;
    send({ t: "hold", call: state.call.call, on: state.held });
    $("call-hold").textContent = state.held ? "Resume" : "Hold";
  });
  $("call-hangup").addEventListener("click", () => send({ t: "hangup", call: state.call.call }));
  $("wrap-disposition").addEventListener("change", () => {
    const d = $("wrap-disposition").value;
    $("wrap-promise").hidden = d !== "promise_to_pay";
    $("wrap-callback").hidden = d !== "callback_requested";
  });
  $("wrap-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData($("wrap-form"));
    const body = Object.fromEntries(f.entries());
    const res = await fetch("/agent/wrapup", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
    if (res.ok) { $("wrap-error").textContent = ""; idle(); return; }
    $("wrap-error").textContent = await res.text();
  });

  // For the browser tests: what the page hears.
  window.huikuanDesk = {
    heard: () => (state.relayed
      ? { level: standing.level, peak: standing.peak, packets: standing.packets - standing.base,
        first_audio_ms: state.firstAudioMs, relayed: true }
      : { level: state.level, peak: state.peak, packets: state.packets,
        first_audio_ms: state.firstAudioMs, relayed: false }),
  };
  idle();
  connect();
})();
