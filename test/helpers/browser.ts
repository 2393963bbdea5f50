import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.VIGIL_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = process.env.VIGIL_SCREENSHOT_DIR ?? '/tmp/vigil-screenshots';

let built = false;

/** Builds web/dist once per test process when it is missing or older than its sources. */
export function ensureWebBuilt(): void {
  if (built) return;
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'start.mjs'), '--build-only'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the web console failed:\n${r.stdout}\n${r.stderr}`);
  built = true;
}

/** The system Chromium (Debian `chromium`), headless. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Everything a page says that a test should fail on: CSP violations, uncaught errors, dialogs. */
export interface PageWatch {
  csp: string[];
  errors: string[];
  dialogs: string[];
}

export function watchPage(page: Page): PageWatch {
  const w: PageWatch = { csp: [], errors: [], dialogs: [] };
  page.on('console', (m) => {
    const text = m.text();
    if (/content security policy/i.test(text)) w.csp.push(text);
  });
  page.on('pageerror', (e) => w.errors.push(e.message));
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return w;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
