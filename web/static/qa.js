// The quality page of a call: anything with data-seek-ms (a flag, a
// transcript line, an inline flag) plays the recording from that moment.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const player = document.getElementById("player");
    if (!player) return;
    document.addEventListener("click", (ev) => {
      const el = ev.target.closest("[data-seek-ms]");
      if (!el) return;
      ev.preventDefault();
      const seconds = Math.max(0, Number(el.dataset.seekMs) / 1000 - 0.5);
      const play = () => {
        player.currentTime = seconds;
        player.play().catch(() => {});
      };
      if (player.readyState >= 1) play();
      else player.addEventListener("loadedmetadata", play, { once: true });
      for (const on of document.querySelectorAll(".playing-from")) on.classList.remove("playing-from");
      const line = el.closest("li, tr");
      if (line) line.classList.add("playing-from");
    });
  });
})();
