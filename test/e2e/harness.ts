// Shared pieces of the browser tests: one Chromium (playwright-core, Debian's /usr/bin/chromium),
// people with a password, signing in, and the checks every page gets (no horizontal scroll).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { hashPassword } from '../../src/auth/secrets.js';
import type { License } from '../../src/domain/licenses.js';
import type { Account, User } from '../../src/domain/model.js';
import { inCI } from '../support/env.js';
import type { TestRegion } from '../support/region.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
export const PASSWORD = 'correct horse battery staple';
export const haveChromium = existsSync(CHROMIUM);
export const skip = !haveChromium && !inCI ? `no Chromium at ${CHROMIUM}` : false;

export interface Person {
  email: string;
  name: string;
  user: User;
}

export async function person(t: TestRegion, account: Account, license: License, name: string, local: string): Promise<Person> {
  const email = `${local}@${account.name.toLowerCase().replace(/[^a-z]+/g, '-')}.example`;
  const user = await t.region.store.users.create({ accountId: account.id, email, name, license, passwordHash: await hashPassword(PASSWORD) });
  return { email, name, user };
}

export async function launch(): Promise<Browser> {
  assert.ok(haveChromium, `Chromium is required at ${CHROMIUM} (CI)`);
  assert.ok(existsSync(join(process.cwd(), 'dist', 'portal', 'index.html')), 'the portal is not built: run `npm run build` first');
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function newContext(browser: Browser, t: TestRegion, viewport = { width: 1360, height: 860 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'UTC', reducedMotion: 'reduce', isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.baseUrl });
  // Waits are for conditions, so a long bound only matters on a slow machine: a CI run with three
  // test files at once once took more than 10 s for a debounced search to reach the URL.
  context.setDefaultTimeout(30_000);
  return context;
}

export async function signIn(context: BrowserContext, t: TestRegion, who: Person): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('[portal page error]', error.message));
  await page.goto(`${t.baseUrl}/admin/`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('banner').getByText(who.name).waitFor({ state: 'attached' });
  return page;
}

export async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** SPEC/issue 9: no horizontal page scroll at this width. */
export async function assertNoHorizontalScroll(page: Page, where: string): Promise<void> {
  const { scrollWidth, innerWidth } = (await page.evaluate('({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })')) as { scrollWidth: number; innerWidth: number };
  assert.ok(scrollWidth <= innerWidth, `${where}: the page scrolls sideways (scrollWidth ${scrollWidth} > innerWidth ${innerWidth})`);
}
