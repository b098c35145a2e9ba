// A collection manager's morning in Debian's Chromium: the day's plans,
// the draft plan with its chart and reasons, the account it left off and
// why, one account excluded (with
// why), the plan approved (refused first without a reason), and the live
// dashboard as the robot's calls come in. Prints APPROVED once the plan is
// approved (the test then starts the dialer), and its results as JSON
// last. Exits non-zero with the reason on the first thing that is not as
// it should be.
//
// Usage: node manager.mjs CONFIG.json
//   { "url": "http://127.0.0.1:PORT", "manager": "NAME", "password": "...",
//     "accounts": N (planned), "exclude": "ACCOUNT", "skipped": "ACCOUNT" (left off),
//     "calls": N (robot calls to wait for on the dashboard),
//     "wait_ms": N, "screenshots": "DIR or empty" }

import { readFileSync } from "node:fs";
import { check, launch, login, shot as shotInto } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shot = (page, name) => shotInto(page, cfg.screenshots, name);
const chartLoaded = (page, selector) => page.waitForFunction(
  (sel) => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0; },
  selector,
);

const browser = await launch();
const results = {};
try {
  const page = await login(browser, cfg.url, cfg.manager, cfg.password, { width: 1280, height: 900 });
  check(page.url().endsWith("/plans"), `a manager lands on /plans, not ${page.url()}`);
  const row = page.locator("table.plans tbody tr").filter({ hasText: "draft" });
  check(await row.count() === 1, "one draft plan listed");
  results.plans_row = (await row.textContent()).replace(/\s+/g, " ").trim();
  await shot(page, "plans");

  // The draft: the chart of planned calls against capacity, every
  // account with its reasons.
  await Promise.all([page.waitForURL(/\/plans\/[^/?]+$/), row.locator("a").click()]);
  const planUrl = page.url();
  await chartLoaded(page, "img.chart");
  const calls = page.locator("#planned-calls tbody tr[data-account]");
  check(await calls.count() === cfg.accounts, `${cfg.accounts} planned calls listed`);
  results.first_reasons = (await calls.first().locator(".reasons").textContent()).trim();
  check(results.first_reasons.length > 10, "a planned call says why");
  check((await page.textContent("#plan-status")).trim() === "draft", "the plan is a draft");
  await shot(page, "plan-draft");

  // The account left off, with its rule and why.
  await Promise.all([page.waitForURL(/\/skipped$/), page.click("#skips a:text('Each account and why')")]);
  const skippedRow = page.locator(`#skipped tr[data-account="${cfg.skipped}"]`);
  results.skipped_row = (await skippedRow.textContent()).replace(/\s+/g, " ").trim();
  await shot(page, "plan-skipped");
  await page.goto(planUrl);

  // Exclude one account, saying why.
  await Promise.all([
    page.waitForURL(/\/calls\//),
    page.locator(`tr[data-account="${cfg.exclude}"] a`, { hasText: "Change" }).click(),
  ]);
  await page.fill('#edit-exclude input[name="why"]', "家属来电：债务人住院，今天不打");
  await shot(page, "plan-call");
  await Promise.all([page.waitForURL(/\?account=/), page.click("#edit-exclude button")]);
  const excluded = page.locator(`tr[data-account="${cfg.exclude}"] .call-state`);
  check((await excluded.textContent()).trim() === "excluded", "the account shows as excluded");

  // Approve: the form wants a reason first.
  await page.goto(planUrl);
  await page.click('#plan-action button[value="approve"]');
  check(await page.$eval('#plan-action input[name="why"]', (el) => el.validity.valueMissing),
    "the browser asks for a reason before approving");
  check((await page.textContent("#plan-status")).trim() === "draft", "still a draft");
  await page.fill('#plan-action input[name="why"]', "reviewed: one account excluded");
  await Promise.all([page.waitForLoadState("load"), page.click('#plan-action button[value="approve"]')]);
  await page.waitForSelector("#plan-status.plan-approved");
  await chartLoaded(page, "img.chart");
  await shot(page, "plan-approved");
  console.log("APPROVED");

  // The dashboard fills as the robot's calls end.
  await page.goto(`${cfg.url}/dashboard`);
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-kpi="calls"] .kpi-value').textContent) >= n,
    cfg.calls,
    { timeout: cfg.wait_ms },
  );
  // The chart after the figures: it is refreshed in the same round.
  await page.waitForFunction(() => {
    const i = document.getElementById("hours-chart");
    return i.src.includes("?at=") && i.complete && i.naturalWidth > 0;
  });
  results.kpis = await page.$$eval(".kpi", (els) => Object.fromEntries(els.map((e) => [
    e.dataset.kpi, e.querySelector(".kpi-value").textContent.trim(),
  ])));
  results.dispositions = (await page.textContent("#dispositions tbody")).replace(/\s+/g, " ").trim();
  await shot(page, "dashboard");
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
