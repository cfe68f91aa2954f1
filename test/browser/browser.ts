import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Browser tests drive Debian's Chromium through playwright-core; no test tool downloads a browser.
 * KEYPORT_TEST_CHROMIUM points elsewhere (another Chromium build) if needed.
 */
export const CHROMIUM = process.env.KEYPORT_TEST_CHROMIUM ?? '/usr/bin/chromium';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PORTAL_SOURCE = join(ROOT, 'src', 'portal');
const PORTAL_BUILD = join(ROOT, 'dist', 'portal', 'index.html');

/** Where every main screen is saved, for a reviewer to look at (git-ignored). */
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

/**
 * Whether the browser tests can run: a reason to skip them, or null. Under CI a missing Chromium
 * is a failure, never a skip.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const reason = `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set KEYPORT_TEST_CHROMIUM.`;
  if (process.env.CI === 'true') throw new Error(`${reason} CI must run the browser tests.`);
  process.stderr.write(`\n*** SKIPPING THE BROWSER TESTS ***\n*** ${reason}\n\n`);
  return reason;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The server serves the portal from dist/portal. Tests run from source, so build the portal when
 * the build is missing or older than its sources (a fresh `npm ci` has built it already).
 */
export function ensurePortalBuilt(): void {
  if (existsSync(PORTAL_BUILD) && statSync(PORTAL_BUILD).mtimeMs >= newestMtime(PORTAL_SOURCE)) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(PORTAL_SOURCE, 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Everything the pages logged as errors, and CSP violations: the test asserts there are none. */
  problems: string[];
  close(): Promise<void>;
}

/** A fresh Chromium profile with clipboard access granted for `origin`, so copy buttons can be checked. */
export async function launch(origin: string, viewport = { width: 1280, height: 860 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'keyport-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Empties the screenshot folder, so it shows this run only. */
export function clearScreenshots(): void {
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
}

/** Saves a full-window screenshot of the current screen as `<name>.png`. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? false, animations: 'disabled' });
}

/**
 * Controls a screen reader could not name: every visible button, link, field and menu item needs
 * a label (text, <label>, aria-label or aria-labelledby). Returns a short description of each
 * offender; the tests expect none.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  // Sent as text: the TypeScript loader would otherwise add helpers the page does not have.
  return page.evaluate(`(() => {
    const scope = document.querySelector('dialog[open]') ?? document.body;
    const named = (el) => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (el.labels && [...el.labels].some((l) => l.textContent?.trim())) return true;
      if (el.matches('button, a, [role="tab"], [role="menuitem"]') && el.textContent?.trim()) return true;
      return !!el.getAttribute('title')?.trim();
    };
    return [...scope.querySelectorAll('button, a[href], input:not([type="hidden"]), select, textarea, [role="tab"], [role="menuitem"], [role="switch"]')]
      .filter((el) => el.offsetParent !== null || el.closest('.segment, .env-option'))
      .filter((el) => !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  })()`);
}

/** What the clipboard holds now (what the last copy button copied). */
export const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());
