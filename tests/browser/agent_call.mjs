// An agent takes a live handed-over call in Debian's Chromium: logs in,
// goes available, and prints READY; the test then starts the dialer. The
// screen pop arrives; the agent turns auto-answer on (its standing audio
// line to the console comes up) and accepts, and the call's audio comes
// over the standing line (a supervisor then listens in from the
// floor and whispers to the agent), and the page's microphone (a WAV given
// to Chromium as its fake capture device) talks to the simulated debtor
// while the debtor's voice is measured in the page. When the debtor's
// answer shows in the live transcript the agent reloads the page (it comes
// back to the call, audio joined again, directly), hangs up,
// tries a promise above the debt (refused with the field named), then
// files the promise the test asked for. Prints one JSON line of what it
// saw; exits non-zero with the reason on the first thing that is not as it
// should be.
//
// Usage: node agent_call.mjs CONFIG.json
//   { "url": "http://127.0.0.1:PORT", "agent": "NAME", "supervisor": "NAME",
//     "password": "... (both users')",
//     "wav": "agent's voice, 48 kHz mono", "promise_date": "YYYY-MM-DD",
//     "promise_amount": "3000.00", "too_much": "99999.00",
//     "call_ms": how long to wait for the call and each step of it,
//     "standing_line": true: accept on auto-answer's standing line,
//     "screenshots": "DIR or empty" }

import { readFileSync } from "node:fs";
import { check, launch, login as loginAs, shot as shotInto } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shot = (page, name) => shotInto(page, cfg.screenshots, name);

const lines = async (page, list) =>
  page.$$eval(`#${list} li`, (items) =>
    items.map((li) => ({ speaker: li.className.replace(/^line line-/, ""), text: li.lastChild.textContent })));

const browser = await launch(cfg.wav);
const login = (name) => loginAs(browser, cfg.url, name, cfg.password, { width: 1280, height: 900 });
const results = {};
try {
  const page = await login(cfg.agent);
  check(page.url().endsWith("/agent"), `agent lands on /agent, not ${page.url()}`);
  await Promise.all([page.waitForURL("**/agent"), page.click("#go-available")]);
  await page.waitForSelector("#my-state.state-available");
  await page.waitForFunction(() => document.getElementById("desk-link").textContent === "connected");
  console.log("READY");

  // The robot hands the call over: the screen pop.
  await page.waitForSelector("#pop:not([hidden])", { timeout: cfg.call_ms });
  results.pop_facts = (await page.textContent("#pop-facts")).replace(/\s+/g, " ").trim();
  results.pop_summary = (await page.textContent("#pop-summary")).trim();
  results.pop_transcript = await lines(page, "pop-transcript");
  await shot(page, "screen-pop");

  // With `standing_line`, the agent turns auto-answer on while the call
  // rings (its standing line to the console comes up) and then accepts:
  // the call's audio comes over the standing line.
  if (cfg.standing_line) {
    await page.check("#auto-answer");
    await page.waitForFunction(() => document.getElementById("standing-state").textContent === "line: connected",
      null, { timeout: cfg.call_ms });
  }
  await page.click("#pop-accept");
  await page.waitForSelector("#incall:not([hidden])");
  results.call_facts = (await page.textContent("#call-facts")).replace(/\s+/g, " ").trim();
  const joined = cfg.standing_line ? "standing line" : "connected";
  await page.waitForFunction((j) => document.getElementById("call-audio").textContent === j,
    joined, { timeout: cfg.call_ms });

  // A supervisor listens in from the floor, hears the call, and whispers
  // to the agent (with the same fake microphone).
  const sup = await login(cfg.supervisor);
  check(sup.url().endsWith("/supervisor"), `supervisor lands on /supervisor, not ${sup.url()}`);
  const listenButton = `#agents tr:has(td:text-is("${cfg.agent}")) button.listen`;
  await sup.waitForSelector(listenButton, { timeout: cfg.call_ms });
  await sup.click(listenButton);
  await sup.waitForSelector("#listen:not([hidden])", { timeout: cfg.call_ms });
  await sup.waitForFunction(() => document.getElementById("listen-audio").textContent === "connected",
    null, { timeout: cfg.call_ms });
  await sup.waitForFunction(() => window.huikuanListen.heard().packets >= 50, null, { timeout: cfg.call_ms });
  await sup.click("#listen-whisper");
  results.listen_facts = (await sup.textContent("#listen-facts")).replace(/\s+/g, " ").trim();
  results.floor_row = (await sup.textContent(`#agents tr:has(td:text-is("${cfg.agent}"))`)).replace(/\s+/g, " ").trim();

  // The agent's voice reaches the debtor, who answers; the dialer
  // transcribes the answer onto the agent's screen.
  const before = await page.locator("#call-transcript li.line-debtor").count();
  await page.waitForFunction((n) => document.querySelectorAll("#call-transcript li.line-debtor").length > n,
    before, { timeout: cfg.call_ms });
  results.heard = await page.evaluate(() => window.huikuanDesk.heard());
  results.call_transcript = await lines(page, "call-transcript");
  await shot(page, "in-call");
  results.listen_heard = await sup.evaluate(() => window.huikuanListen.heard());
  results.listen_transcript = await lines(sup, "listen-transcript");
  await shot(sup, "supervisor-listening");

  // A reload mid-call: the page comes back to the same call and its audio
  // is joined again; the debtor stays on the line meanwhile.
  await page.reload();
  await page.waitForSelector("#incall:not([hidden])", { timeout: cfg.call_ms });
  await page.waitForFunction(() => document.getElementById("call-audio").textContent === "connected",
    null, { timeout: cfg.call_ms });
  await page.waitForFunction(() => window.huikuanDesk.heard().packets >= 50, null, { timeout: cfg.call_ms });
  results.after_reload = await page.evaluate(() => window.huikuanDesk.heard());
  results.after_reload_transcript = await lines(page, "call-transcript");

  await page.click("#call-hangup");
  await page.waitForSelector("#wrapup:not([hidden])", { timeout: cfg.call_ms });
  await sup.waitForFunction(() => document.getElementById("listen-audio").textContent === "the call has ended",
    null, { timeout: cfg.call_ms });
  await page.selectOption("#wrap-disposition", "promise_to_pay");
  await page.fill("#wrap-promise-date", cfg.promise_date);
  await page.fill("#wrap-promise-amount", cfg.too_much);
  await page.fill("#wrap-notes", "Promised on the phone; asked for an SMS reminder.");
  await page.click("#wrap-submit");
  await page.waitForFunction(() => document.getElementById("wrap-error").textContent.length > 0);
  results.too_much_error = (await page.textContent("#wrap-error")).trim();
  await shot(page, "wrap-up");
  await page.fill("#wrap-promise-amount", cfg.promise_amount);
  await page.click("#wrap-submit");
  await page.waitForSelector("#wrapup", { state: "hidden" });
  results.after_wrap_up = (await page.textContent("#desk-status")).trim();
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
