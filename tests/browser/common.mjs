// What the browser scripts share: Debian's Chromium (with a WAV as every
// page's microphone when asked), logging a user in, checks that stop the
// script with the reason, and screenshots into a directory when one is
// given.

import { chromium } from "playwright-core";
import { join } from "node:path";

export const STEP_MS = 15000;

export function check(cond, what) {
  if (!cond) throw new Error(`not as expected: ${what}`);
}

/** Headless Chromium; with `microphone` (a WAV) fake media devices play it. */
export function launch(microphone) {
  const media = microphone ? [
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${microphone}`,
    "--autoplay-policy=no-user-gesture-required",
  ] : [];
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
      ...media,
    ],
  });
}

/** A full-page screenshot DIR/NAME.png, when `dir` is set. */
export async function shot(page, dir, name) {
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** A new context logged in as `name` (the page after the login form). */
export async function login(browser, url, name, password, viewport) {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => { if (m.type() === "error") console.error(`page (${name}):`, m.text()); });
  await page.goto(`${url}/login`);
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState("load"), page.click('button[type="submit"]')]);
  return page;
}
