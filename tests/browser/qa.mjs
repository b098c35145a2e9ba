// A supervisor reviews the quality inspection in Debian's Chromium: the
// hourly reports (and one as CSV), the inspected calls filtered by flag
// type, then one call: its flags, the transcript with the flags inline,
// the pitch and loudness chart, and the recording, played from a flag.
// An agent may not open the quality pages. Prints its results as JSON
// last; exits non-zero with the reason on the first thing that is not as
// it should be.
//
// Usage: node qa.mjs CONFIG.json
//   { "url": "http://127.0.0.1:PORT", "supervisor": "NAME", "agent": "NAME",
//     "password": "...", "calls": N (inspected), "flagged": N (with forbidden
//     wording), "screenshots": "DIR or empty" }

import { readFileSync } from "node:fs";
import { check, launch, login, shot as shotInto } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shot = (page, name) => shotInto(page, cfg.screenshots, name);

const browser = await launch();
const results = {};
try {
  const page = await login(browser, cfg.url, cfg.supervisor, cfg.password, { width: 1280, height: 900 });
  await Promise.all([page.waitForURL(/\/qa$/), page.click("nav a:text('Quality')")]);
  const hours = page.locator("#hour-reports tbody tr[data-hour]");
  check(await hours.count() >= 1, "an hourly report is listed");
  results.hour_row = (await hours.first().textContent()).replace(/\s+/g, " ").trim();
  const csv = await page.request.get(cfg.url + (await hours.first().locator("a[download]").getAttribute("href")));
  check(csv.ok(), `the hour's CSV: ${csv.status()}`);
  results.csv = await csv.text();
  results.csv_type = csv.headers()["content-type"];
  const calls = page.locator("#inspected-calls tbody tr[data-attempt]");
  check(await calls.count() === cfg.calls, `${cfg.calls} inspected calls listed`);
  await shot(page, "qa-list");

  // Only the calls with forbidden wording.
  await page.selectOption('#qa-filters select[name="kind"]', "forbidden_wording");
  await Promise.all([page.waitForURL(/kind=forbidden_wording/), page.click("#qa-filters button")]);
  check(await calls.count() === cfg.flagged, `${cfg.flagged} call(s) with forbidden wording`);
  results.filtered_row = (await calls.first().textContent()).replace(/\s+/g, " ").trim();

  // The call.
  await Promise.all([page.waitForURL(/\/qa\/call\?id=/), calls.first().locator("a").click()]);
  await page.waitForFunction(() => { const i = document.getElementById("voice-chart"); return i && i.complete && i.naturalWidth > 0; });
  results.chart_width = await page.$eval("#voice-chart", (i) => i.naturalWidth);
  results.score = (await page.textContent("#score")).trim();
  results.flags = await page.$$eval("#flags tbody tr.flag", (rows) => rows.map((r) => r.textContent.replace(/\s+/g, " ").trim()));
  results.lines = await page.$$eval("#qa-transcript li.line", (rows) => rows.map((r) => ({
    channel: r.classList.contains("line-agent") ? "agent" : "debtor",
    text: r.querySelector(".words").textContent,
    flags: [...r.querySelectorAll(".inline-flag")].map((f) => f.textContent.trim()),
  })));
  // The recording's metadata, then play from the inline flag.
  await page.waitForFunction(() => { const p = document.getElementById("player"); return p && p.readyState >= 1 && p.duration > 0; });
  results.duration_s = await page.$eval("#player", (p) => p.duration);
  const inline = page.locator("#qa-transcript .inline-flag", { hasText: "forbidden_wording" }).first();
  const seekMs = Number(await inline.getAttribute("data-seek-ms"));
  await inline.click();
  await page.waitForFunction((s) => {
    const p = document.getElementById("player");
    return p && Math.abs(p.currentTime - s) < 1.5;
  }, Math.max(0, seekMs / 1000 - 0.5));
  results.seek_ms = seekMs;
  results.played_from_s = await page.$eval("#player", (p) => p.currentTime);
  results.marked = await page.$eval(".playing-from", (el) => el.textContent.replace(/\s+/g, " ").trim());
  await shot(page, "qa-call");

  // An agent is refused.
  const agent = await login(browser, cfg.url, cfg.agent, cfg.password);
  const refused = await agent.goto(`${cfg.url}/qa`);
  results.agent_status = refused.status();
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
