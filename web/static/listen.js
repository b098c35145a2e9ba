// Huikuan supervisor floor: listening in on an agent's call, and
// whispering to the agent. One WebSocket to the console (signalling, the
// call's live transcript); one WebRTC connection per listened call that
// offers PCMU only. The microphone is sent only while whispering, and only
// the agent hears it. No framework, no build step.
"use strict";

(function () {
  const panel = document.getElementById("listen");
  if (!panel) return;
  const { csrfToken, fillFacts, addLine, fillTranscript, pcmuPeer, measure } = window.huikuan;
  const $ = (id) => document.getElementById(id);
  const state = { ws: null, call: null, pc: null, mic: null, whisper: false,
    level: 0, peak: 0, packets: 0 };

  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
  }

  function problem(text) { $("listen-error").textContent = text; }

  function close() {
    if (state.pc) { state.pc.close(); state.pc = null; }
  }

  async function listen(call) {
    if (state.call && state.call !== call) send({ t: "stop", call: state.call });
    close();
    state.call = call; state.whisper = false;
    state.level = 0; state.peak = 0; state.packets = 0;
    problem("");
    $("listen-audio").textContent = "connecting";
    $("listen-whisper").setAttribute("aria-pressed", "false");
    $("listen-whisper").textContent = "Whisper to the agent";
    try {
      if (!state.mic) state.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) { problem("Microphone unavailable: " + e.message); return; }
    const pc = await pcmuPeer(state.mic, false,
      (track) => measure(track, $("listen-speaker"), $("listen-level"), state, () => state.pc),
      (connection) => {
        $("listen-audio").textContent = connection;
        // A failed connection is joined again, once a second at most.
        if (connection === "failed") {
          setTimeout(() => {
            if (state.call === call && state.pc && state.pc.connectionState === "failed") listen(call);
          }, 1000);
        }
      });
    if (state.call !== call || state.pc !== null) { pc.close(); return; }
    state.pc = pc;
    send({ t: "listen", call, sdp: pc.localDescription.sdp });
  }

  function whisper(on) {
    state.whisper = on;
    if (state.mic) state.mic.getAudioTracks().forEach((t) => { t.enabled = on; });
    $("listen-whisper").setAttribute("aria-pressed", String(on));
    $("listen-whisper").textContent = on ? "Stop whispering" : "Whisper to the agent";
    send({ t: "whisper", call: state.call, on });
  }

  function stop() {
    if (state.call) send({ t: "stop", call: state.call });
    if (state.mic) state.mic.getAudioTracks().forEach((t) => { t.enabled = false; });
    close();
    state.call = null;
    panel.hidden = true;
  }

  function onMessage(m) {
    if (m.call !== undefined && typeof m.call === "string" && m.call !== state.call) return;
    switch (m.t) {
      case "listening":
        if (m.call.call !== state.call) return;
        fillFacts($("listen-facts"), m.call, [["Agent", m.call.agent]]);
        fillTranscript($("listen-transcript"), m.call.transcript);
        panel.hidden = false;
        break;
      case "answer": if (state.pc) state.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }); break;
      case "line": addLine($("listen-transcript"), m.line); break;
      case "flag": {
        const li = document.createElement("li");
        li.className = "line qa-flag";
        const tag = document.createElement("span");
        tag.className = "tag bad";
        tag.textContent = m.flag.type + " · " + m.flag.rule;
        li.append(tag, " " + m.flag.evidence);
        $("listen-transcript").append(li);
        break;
      }
      case "listen_failed": problem("Could not listen in: " + m.why); close(); break;
      case "ended":
        $("listen-audio").textContent = "the call has ended";
        if (state.mic) state.mic.getAudioTracks().forEach((t) => { t.enabled = false; });
        close();
        break;
      case "error": problem(m.what + ": " + m.error); break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/supervisor/ws?csrf=${encodeURIComponent(csrfToken())}`);
    state.ws = ws;
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    // After a dropped socket (the console stopped this page's listening
    // with it), listen again to the same call.
    ws.onopen = () => { if (state.call && state.pc === null) listen(state.call); };
    ws.onclose = () => {
      close();
      setTimeout(connect, 1000);
    };
  }

  // Listen buttons come and go with the floor's refresh.
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.listen");
    if (b) listen(b.dataset.call);
  });
  $("listen-whisper").addEventListener("click", () => whisper(!state.whisper));
  $("listen-stop").addEventListener("click", stop);

  // For the browser tests: what the listener hears.
  window.huikuanListen = { heard: () => ({ level: state.level, peak: state.peak, packets: state.packets }) };
  connect();
})();
