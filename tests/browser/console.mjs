// Walks the console in Debian's Chromium as its people do: an agent logs
// in (after a wrong password), goes available and takes a break; a
// supervisor sees it on the floor; an admin opens the users page; an
// agent's attempt at the supervisor page is refused. Exits non-zero with
// the reason on the first thing that is not as it should be.
//
// Usage: node console.mjs CONFIG.json
//   { "url": "http://127.0.0.1:PORT", "password": "...",
//     "agent": "NAME", "supervisor": "NAME", "admin": "NAME",
//     "screenshots": "DIR or empty" }

import { readFileSync } from "node:fs";
import { check, launch, login as loginAs, shot as shotInto } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shot = (page, name) => shotInto(page, cfg.screenshots, name);
const login = (browser, name, password) =>
  loginAs(browser, cfg.url, name, password, { width: 1280, height: 760 });

const browser = await launch();
const results = {};
try {
  // Wrong password: the login page says so and stays.
  const wrong = await login(browser, cfg.agent, "not-the-password");
  await wrong.waitForSelector(".error");
  results.wrong_password_message = (await wrong.textContent(".error")).trim();
  check(wrong.url().endsWith("/login"), "a wrong password stays on /login");
  await wrong.fill('input[name="password"]', "");
  await shot(wrong, "login");
  await wrong.context().close();

  // The agent: desktop, available, then a break with a pause code.
  const agent = await login(browser, cfg.agent, cfg.password);
  check(agent.url().endsWith("/agent"), `agent lands on /agent, not ${agent.url()}`);
  check((await agent.textContent("#my-state")).includes("offline"), "a new agent starts offline");
  await Promise.all([agent.waitForURL("**/agent"), agent.click("#go-available")]);
  await agent.waitForSelector("#my-state.state-available");
  // The timer runs in the page.
  await agent.waitForFunction(() => document.querySelector("#my-state .elapsed")?.textContent.includes(":"));
  await shot(agent, "desktop-idle");
  results.agent_state = (await agent.textContent("#my-state")).trim();

  // An agent may not open the supervisor's floor.
  const refused = await agent.goto(`${cfg.url}/supervisor`);
  results.agent_on_supervisor_page = refused.status();
  check(refused.status() === 403, "an agent gets 403 on /supervisor");
  await agent.goto(`${cfg.url}/agent`);

  // The supervisor sees the agent available, then on a break when the
  // agent takes one (the floor refreshes itself).
  const sup = await login(browser, cfg.supervisor, cfg.password);
  check(sup.url().endsWith("/supervisor"), `supervisor lands on /supervisor, not ${sup.url()}`);
  const row = `#agents tr:has(td:text-is("${cfg.agent}"))`;
  await sup.waitForSelector(`${row} .state-available`);
  await agent.selectOption('select[name="code"]', "lunch");
  await Promise.all([agent.waitForURL("**/agent"), agent.click("#go-break")]);
  await sup.locator(row).filter({ hasText: "break: lunch" }).waitFor();
  results.floor_after_break = (await sup.textContent(row)).replace(/\s+/g, " ").trim();
  await shot(sup, "supervisor");

  // The admin's users page lists everyone.
  const admin = await login(browser, cfg.admin, cfg.password);
  check(admin.url().endsWith("/admin/users"), `admin lands on /admin/users, not ${admin.url()}`);
  for (const name of [cfg.agent, cfg.supervisor, cfg.admin]) {
    check((await admin.textContent("table")).includes(name), `users page lists ${name}`);
  }
  await shot(admin, "users");
  await admin.goto(`${cfg.url}/audit`);
  await shot(admin, "audit");
  results.audit_rows = await admin.locator("table tbody tr").count();
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
