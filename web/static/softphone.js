// Huikuan agent desktop: the softphone. One WebSocket to the console
// (offers, transcript, signalling), one WebRTC connection per call that
// offers PCMU only, so the debtor's telephone audio passes through as it
// is. No framework, no build step.
"use strict";

(function () {
  const desk = document.getElementById("desk");
  if (!desk) return;
  const csrf = window.huikuan.csrfToken();
  const $ = (id) => document.getElementById(id);
  const state = { ws: null, call: null, pc: null, mic: null, muted: false, held: false,
    level: 0, peak: 0, packets: 0, acceptedAt: null, firstAudioMs: null,
    wrapTimer: null, ringTimer: null };

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

  function fillFacts(el, c) {
    const facts = [["Debtor", c.name], ["Phone", c.phone], ["Overdue", "¥" + c.overdue_amount],
      ["Days past due", String(c.days_past_due)], ["Dialect", c.dialect], ["Product", c.product],
      ["Why handed over", c.reason]];
    el.replaceChildren(...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      return [dt, dd];
    }));
  }

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

  function accept() {
    state.acceptedAt = performance.now();
    if (state.call) send({ t: "accept", call: state.call.call });
  }

  async function onCall(c) {
    clearInterval(state.ringTimer);
    state.call = c;
    fillFacts($("call-facts"), c);
    $("call-summary").textContent = c.summary || "";
    fillTranscript($("call-transcript"), c.transcript);
    if (c.ended !== null && c.ended !== undefined) { onEnded(); return; }
    show("incall");
    say("On call", "oncall");
    await startAudio();
  }

  async function startAudio() {
    closeAudio();
    state.peak = 0; state.packets = 0; state.firstAudioMs = null;
    $("call-audio").textContent = "connecting";
    try {
      if (!state.mic) state.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) { say("Microphone unavailable: " + e.message, "error"); return; }
    const pc = new RTCPeerConnection();
    state.pc = pc;
    const track = state.mic.getAudioTracks()[0];
    track.enabled = !state.muted;
    const tr = pc.addTransceiver(track, { direction: "sendrecv", streams: [state.mic] });
    const pcmu = RTCRtpReceiver.getCapabilities("audio").codecs.filter((c) => c.mimeType === "audio/PCMU");
    tr.setCodecPreferences(pcmu);
    pc.ontrack = (ev) => {
      // The remote track unmutes with its first RTP packet.
      ev.track.addEventListener("unmute", heardFirst);
      listen(new MediaStream([ev.track]));
    };
    pc.onconnectionstatechange = () => {
      $("call-audio").textContent = pc.connectionState;
      if (pc.connectionState === "failed") say("Audio failed: the call is held for you", "error");
    };
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise((done) => {
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") done();
        });
      });
    }
    send({ t: "offer", call: state.call.call, sdp: pc.localDescription.sdp });
  }

  function heardFirst() {
    if (state.firstAudioMs === null && state.acceptedAt !== null) {
      state.firstAudioMs = Math.round(performance.now() - state.acceptedAt);
    }
  }

  function listen(stream) {
    const audio = $("call-speaker");
    audio.srcObject = stream;
    audio.play().catch(() => {});
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const meter = $("call-level");
    const measure = async () => {
      if (!state.pc) { ctx.close(); return; }
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      state.level = Math.max(state.level * 0.95, rms);
      state.peak = Math.max(state.peak, rms);
      meter.value = Math.min(1, rms * 4);
      const stats = await state.pc.getStats();
      stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") state.packets = s.packetsReceived; });
      if (state.packets > 0) heardFirst();
      setTimeout(measure, 100);
    };
    measure();
  }

  function closeAudio() {
    if (state.pc) { state.pc.close(); state.pc = null; }
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
    ws.onopen = () => { $("desk-link").textContent = "connected"; };
    ws.onclose = () => {
      $("desk-link").textContent = "reconnecting";
      setTimeout(connect, 1000);
    };
  }

  $("pop-accept").addEventListener("click", accept);
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
    heard: () => ({ level: state.level, peak: state.peak, packets: state.packets,
      first_audio_ms: state.firstAudioMs }),
  };
  idle();
  connect();
})();
