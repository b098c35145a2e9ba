// For scripts/bench-handoff.sh: N agents at once in one headless Chromium,
// each logged in on its own, available, with auto-answer on (the agent's
// microphone is the WAV given to Chromium). In each of `rounds` rounds
// every agent takes one call; once all N calls of the round have audio
// (or no more have joined for `settle_s`: a call may fail under load), the
// script prints `WINDOW_START <epoch ms> <calls>`, keeps them bridged for
// `talk_s` seconds, prints `WINDOW_END <epoch ms>`, then every agent hangs
// up and files `disposition`. Prints READY when every agent is on the
// floor and, last, one JSON line: per call the agent and what its page
// received (packets, peak level, accept to first packet).
//
// Usage: node bench_agents.mjs CONFIG.json
//   { "url": "...", "agents": ["a1", ...], "password": "...", "wav": "...",
//     "rounds": 1, "talk_s": 30, "settle_s": 60, "disposition": "refused",
//     "limit_s": 900 }

import { readFileSync } from "node:fs";
import { launch, login } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const limitMs = cfg.limit_s * 1000;

const browser = await launch(cfg.wav);

async function agentOnFloor(name) {
  const page = await login(browser, cfg.url, name, cfg.password);
  page.setDefaultTimeout(60000);
  await Promise.all([page.waitForURL("**/agent"), page.click("#go-available")]);
  await page.waitForSelector("#my-state.state-available");
  await page.check("#auto-answer");
  await page.waitForFunction(() => document.getElementById("desk-link").textContent === "connected");
  return page;
}

const isBridged = (page) => page.evaluate(() => !document.getElementById("incall").hidden
  && window.huikuanDesk.heard().packets > 0);

// Waits until every agent has a call with audio, or no more calls have
// joined for `settle_s` (a call can fail on an overloaded machine);
// returns the pages that are bridged.
async function roundBridged(pages) {
  let count = 0;
  let since = Date.now();
  const until = Date.now() + limitMs;
  for (;;) {
    const on = [];
    for (const entry of pages) if (await isBridged(entry[1])) on.push(entry);
    if (on.length === pages.length || Date.now() > until) return on;
    if (on.length !== count) { count = on.length; since = Date.now(); }
    if (count > 0 && Date.now() - since > cfg.settle_s * 1000) return on;
    await new Promise((done) => setTimeout(done, 500));
  }
}

async function hangUpAndFile(page) {
  await page.click("#call-hangup");
  await page.waitForSelector("#wrapup:not([hidden])", { timeout: limitMs });
  await page.selectOption("#wrap-disposition", cfg.disposition);
  await page.click("#wrap-submit");
  await page.waitForSelector("#wrapup", { state: "hidden" });
}

const calls = [];
try {
  const pages = [];
  for (const name of cfg.agents) pages.push([name, await agentOnFloor(name)]);
  console.log("READY");
  for (let round = 0; round < cfg.rounds; round++) {
    const on = await roundBridged(pages);
    console.log(`WINDOW_START ${Date.now()} ${on.length}`);
    await new Promise((done) => setTimeout(done, cfg.talk_s * 1000));
    console.log(`WINDOW_END ${Date.now()}`);
    for (const [name, page] of on) {
      calls.push({ agent: name, round, ...(await page.evaluate(() => window.huikuanDesk.heard())) });
    }
    await Promise.all(on.map(([, page]) => hangUpAndFile(page)));
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ calls }));
