// The Admin Portal in a real browser (Chromium through playwright-core) against one in-process
// region: sign-in, the API Credentials area for admins and supervisors (create, the one-time
// secret, token, edit, rotate, delete), what agents and switched-off accounts see, deprecated
// account-level credentials, the audit log, and a keyboard-only pass.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { hashPassword } from '../../src/auth/secrets.js';
import type { Account } from '../../src/domain/model.js';
import type { License } from '../../src/domain/licenses.js';
import { inCI } from '../support/env.js';
import { type TestRegion, startRegion, tokenRequest } from '../support/region.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const PASSWORD = 'correct horse battery staple';
const haveChromium = existsSync(CHROMIUM);
const skip = !haveChromium && !inCI ? `no Chromium at ${CHROMIUM}` : false;

interface Person {
  email: string;
  name: string;
}

describe('Admin Portal in a browser', { skip, timeout: 240_000 }, () => {
  let t: TestRegion;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let north: Account;
  let admin: Person;
  let supervisor: Person;
  let agent: Person;
  let offAdmin: Person;
  let legacy: Account;
  let legacyAdmin: Person;

  async function person(account: Account, license: License, name: string, local: string): Promise<Person> {
    const email = `${local}@${account.name.toLowerCase().replace(/[^a-z]+/g, '-')}.example`;
    await t.region.store.users.create({ accountId: account.id, email, name, license, passwordHash: await hashPassword(PASSWORD) });
    return { email, name };
  }

  before(async () => {
    assert.ok(haveChromium, `Chromium is required at ${CHROMIUM} (CI)`);
    assert.ok(existsSync(join(process.cwd(), 'dist', 'portal', 'index.html')), 'the portal is not built: run `npm run build` first');
    mkdirSync(SHOTS, { recursive: true });
    t = await startRegion();
    north = await t.region.store.accounts.create({ name: 'Northwind Support', apiCredentialsEnabled: true });
    const off = await t.region.store.accounts.create({ name: 'Contoso Care', apiCredentialsEnabled: false });
    legacy = await t.region.store.accounts.create({ name: 'Fabrikam Contact', apiCredentialsEnabled: true });
    [admin, supervisor, agent, offAdmin, legacyAdmin] = await Promise.all([
      person(north, 'admin', 'Ada Admin', 'ada'),
      person(north, 'supervisor', 'Sam Supervisor', 'sam'),
      person(north, 'agent', 'Alex Agent', 'alex'),
      person(off, 'admin', 'Olga Owner', 'olga'),
      person(legacy, 'admin', 'Lee Legacy', 'lee'),
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, locale: 'en-GB', timezoneId: 'UTC', reducedMotion: 'reduce' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.baseUrl });
    context.setDefaultTimeout(30_000);
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('[portal page error]', error.message));
    return page;
  }

  const signedIn = new Map<string, Page>();

  /** The page of someone who signed in in an earlier test, reloaded on the list (sign-in is slow on purpose: scrypt). */
  async function again(who: Person): Promise<Page> {
    const page = signedIn.get(who.email);
    if (!page) return signIn(who);
    await page.goto(`${t.baseUrl}/admin/#/credentials`);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
    return page;
  }

  async function signIn(who: Person): Promise<Page> {
    const page = await newPage();
    await page.goto(`${t.baseUrl}/admin/`);
    try {
      await page.getByLabel('Email').waitFor();
    } catch (e) {
      await shot(page, 'debug-signin');
      console.error(await page.content());
      throw e;
    }
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('banner').getByText(who.name).waitFor();
    signedIn.set(who.email, page);
    return page;
  }

  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
  }

  function row(page: Page, name: string): Locator {
    return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  }

  /** A short name of the focused element: its aria-label, its label's text or its own text. */
  async function focusedName(page: Page): Promise<string> {
    return String(
      await page.evaluate(`(() => {
        const el = document.activeElement;
        if (!el) return '';
        return (el.getAttribute('aria-label') ?? (el.labels && el.labels[0] ? el.labels[0].textContent : null) ?? el.textContent ?? '').trim();
      })()`),
    );
  }

  /** Opens a row's actions menu and picks an item. */
  async function act(page: Page, name: string, item: 'Edit' | 'Rotate secret' | 'Delete'): Promise<void> {
    await row(page, name).getByRole('button', { name: `Actions for ${name}` }).click();
    await page.getByRole('menu', { name: `Actions for ${name}` }).getByRole('menuitem', { name: item }).click();
  }

  function token(clientId: string, clientSecret: string, scope: string) {
    return tokenRequest(t.baseUrl, { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
  }

  /** Reads the one-time dialog, checks its words, its copy button and that Escape does not close it; then OK. */
  async function readSuccess(page: Page, screenshot?: string): Promise<{ clientId: string; clientSecret: string }> {
    const dialog = page.getByRole('dialog', { name: 'Success' });
    await dialog.waitFor();
    await dialog.getByText('Copy and save your client ID and secret; you cannot retrieve them later.').waitFor();
    const clientId = await dialog.getByLabel('Client ID', { exact: true }).inputValue();
    const clientSecret = await dialog.getByLabel('Client secret', { exact: true }).inputValue();
    assert.match(clientId, /\S{8,}/);
    assert.match(clientSecret, /^[A-Za-z0-9_-]{43,}$/);
    await dialog.getByRole('button', { name: 'Copy client ID' }).waitFor();
    await dialog.getByRole('button', { name: 'Copy client secret' }).click();
    await dialog.getByRole('status').filter({ hasText: 'Client secret copied' }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), clientSecret);
    if (screenshot) await shot(page, screenshot);
    await page.keyboard.press('Escape');
    assert.equal(await dialog.isVisible(), true, 'Escape must not close the one-time secret dialog');
    await dialog.getByRole('button', { name: 'OK', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    // The secret is gone from the page, the URL and storage.
    assert.equal((await page.content()).includes(clientSecret), false);
    assert.equal(page.url().includes(clientSecret), false);
    const stored = String(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie'));
    assert.equal(stored.includes(clientSecret), false);
    return { clientId, clientSecret };
  }

  /** Create, token, edit (rename + add a scope), rotate (old secret fails), delete (token fails). */
  async function lifecycle(page: Page, o: { name: string; first: { description: string; value: string }; added: { description: string; value: string }; screenshots: boolean }) {
    await page.getByRole('button', { name: 'Create New' }).click();
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.waitFor();
    await create.getByLabel('Name', { exact: true }).fill(o.name);
    await create.getByRole('button', { name: /^Scopes/ }).click();
    await create.getByRole('button', { name: new RegExp(`^${o.first.description}`) }).click();
    await create.getByRole('button', { name: new RegExp(`^${o.added.description}`) }).click();
    await create.getByRole('button', { name: `Remove ${o.added.description}` }).click();
    assert.equal(await create.getByRole('list', { name: 'Selected scopes' }).getByRole('listitem').count(), 1);
    if (o.screenshots) {
      // The list stays open while scopes are added and removed.
      await create.getByRole('list', { name: 'Available scopes' }).waitFor();
      await shot(page, 'create-dialog');
    }
    await create.getByRole('button', { name: 'Save API credential' }).click();
    const first = await readSuccess(page, o.screenshots ? 'success-dialog' : undefined);
    await row(page, o.name).waitFor();
    await row(page, o.name).getByText(first.clientId).waitFor();
    await row(page, o.name).getByText(o.first.description).waitFor();
    await row(page, o.name).getByText('Never').waitFor();

    const issued = await token(first.clientId, first.clientSecret, o.first.value);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(typeof issued.body.access_token, 'string');
    if (o.screenshots) {
      await page.reload();
      await row(page, o.name).waitFor();
    }

    // Edit: rename and add a scope.
    const renamed = `${o.name} v2`;
    // The name leads to the credential's own page; Edit is in the actions menu.
    await act(page, o.name, 'Edit');
    const edit = page.getByRole('dialog', { name: 'Edit API Credentials' });
    await edit.getByLabel('Name', { exact: true }).fill(renamed);
    await edit.getByRole('button', { name: /^Scopes/ }).click();
    await edit.getByRole('button', { name: new RegExp(`^${o.added.description}`) }).click();
    await edit.getByRole('button', { name: 'Save API credential' }).click();
    await edit.waitFor({ state: 'detached' });
    await row(page, renamed).getByText(o.added.description).waitFor();
    assert.equal((await token(first.clientId, first.clientSecret, o.added.value)).status, 200);

    // Rotate: a new one-time secret; the old one stops working.
    await act(page, renamed, 'Rotate secret');
    const rotate = page.getByRole('dialog', { name: 'Rotate client secret' });
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    const second = await readSuccess(page);
    assert.equal(second.clientId, first.clientId);
    assert.notEqual(second.clientSecret, first.clientSecret);
    assert.equal((await token(second.clientId, second.clientSecret, o.first.value)).status, 200);
    assert.equal((await token(first.clientId, first.clientSecret, o.first.value)).status, 401);

    // Delete, with confirmation: Cancel keeps it, Delete removes it.
    await act(page, renamed, 'Delete');
    const confirm = page.getByRole('alertdialog', { name: 'Delete API credential' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    await row(page, renamed).waitFor();
    await act(page, renamed, 'Delete');
    await confirm.getByText(renamed).waitFor();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row(page, renamed).waitFor({ state: 'detached' });
    const refused = await token(second.clientId, second.clientSecret, o.first.value);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
  }

  it('admin: create with the one-time secret, token, edit, rotate, delete', async () => {
    const page = await signIn(admin);
    await page.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
    await page.getByRole('banner').getByText('Northwind Support').waitFor();
    await page.getByRole('link', { name: 'Audit log' }).waitFor();
    // Admins may grant every scope of the catalogue.
    await page.getByRole('button', { name: 'Create New' }).click();
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.getByRole('button', { name: /^Scopes/ }).click();
    assert.equal(await create.getByRole('list', { name: 'Available scopes' }).getByRole('button').count(), 8);
    // Saving with nothing filled in explains what is missing, in the dialog.
    await create.getByRole('button', { name: 'Save API credential' }).click();
    await create.getByText('Enter a name for the credentials.').waitFor();
    await create.getByText('Select at least one scope.').waitFor();
    assert.equal(await create.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await create.getByRole('button', { name: 'Cancel' }).click();
    await create.waitFor({ state: 'detached' });

    await lifecycle(page, {
      name: 'Wallboard integration',
      first: { description: 'View agent availability', value: 'agents-availability:read' },
      added: { description: 'View Insights stats', value: 'stats' },
      screenshots: true,
    });
  });

  it('supervisor: only grantable scopes; create, token, edit, rotate, delete', async () => {
    const page = await signIn(supervisor);
    await page.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
    assert.equal(await page.getByRole('radio', { name: 'All Credentials' }).count(), 0);
    await page.getByRole('button', { name: 'Create New' }).click();
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.getByRole('button', { name: /^Scopes/ }).click();
    const offered = await create.getByRole('list', { name: 'Available scopes' }).getByRole('button').allInnerTexts();
    assert.equal(offered.length, 2, offered.join(' | '));
    assert.ok(offered.some((text) => text.includes('Read or download interaction content')));
    assert.ok(offered.some((text) => text.includes('Read VCC user details, settings, and presences')));
    assert.equal(await create.getByText('View Insights stats').count(), 0);
    assert.equal(await create.getByText('Update VCC user details, settings, and presences').count(), 0);
    // Escape closes the open scope list first, then this dialog (nothing is lost); focus returns to Create New.
    await page.keyboard.press('Escape');
    await create.getByRole('list', { name: 'Available scopes' }).waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');
    await create.waitFor({ state: 'detached' });
    assert.equal(await focusedName(page), '+Create New');

    await lifecycle(page, {
      name: 'QA transcripts export',
      first: { description: 'Read or download interaction content', value: 'interaction-content:read' },
      added: { description: 'Read VCC user details, settings, and presences', value: 'users:read' },
      screenshots: false,
    });

    // One that stays, for the admin's filter below.
    await page.getByRole('button', { name: 'Create New' }).click();
    await create.getByLabel('Name', { exact: true }).fill('Supervisor dashboard');
    await create.getByRole('button', { name: /^Scopes/ }).click();
    await create.getByRole('button', { name: /^Read VCC user details/ }).click();
    await create.getByRole('button', { name: 'Save API credential' }).click();
    await readSuccess(page);
    await row(page, 'Supervisor dashboard').waitFor();
  });

  it('admin: All Credentials / My Credentials filter; another user’s credential can be deleted but not edited', async () => {
    const page = await again(admin);
    await page.getByRole('button', { name: 'Create New' }).click();
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.getByLabel('Name', { exact: true }).fill('Payments gateway');
    await create.getByRole('button', { name: /^Scopes/ }).click();
    await create.getByRole('button', { name: /^Create secure payment sessions/ }).click();
    await create.getByRole('button', { name: /^View Insights stats/ }).click();
    await create.getByRole('button', { name: 'Save API credential' }).click();
    await readSuccess(page);

    const all = page.getByRole('radio', { name: 'All Credentials' });
    const mine = page.getByRole('radio', { name: 'My Credentials' });
    assert.equal(await all.isChecked(), true);
    const theirs = row(page, 'Supervisor dashboard');
    await theirs.waitFor();
    await theirs.getByText(supervisor.email).waitFor();
    // Its name leads to its page (anyone who sees it may look), and its actions menu offers only Delete.
    assert.equal(await theirs.getByRole('link', { name: 'Supervisor dashboard', exact: true }).count(), 1);
    await shot(page, 'credentials-list');
    await theirs.getByRole('button', { name: 'Actions for Supervisor dashboard' }).click();
    const menu = page.getByRole('menu', { name: 'Actions for Supervisor dashboard' });
    assert.deepEqual(await menu.getByRole('menuitem').allInnerTexts(), ['Delete']);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    await mine.check();
    await theirs.waitFor({ state: 'detached' });
    await row(page, 'Payments gateway').waitFor();
    await all.check();
    await theirs.waitFor();
  });

  it('keyboard only: Create New, name, scopes, save, OK', async () => {
    const page = await again(admin);
    const heading = page.getByRole('heading', { level: 1, name: 'API Credentials' });
    await heading.waitFor();
    const focused = () => focusedName(page);
    await heading.focus();
    await page.keyboard.press('Tab');
    assert.equal(await focused(), '+Create New');
    await page.keyboard.press('Enter');
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.waitFor();
    assert.equal(await focused(), 'Name');
    await page.keyboard.type('Keyboard made');
    await page.keyboard.press('Tab');
    assert.match(await focused(), /Select scopes/);
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    assert.match(await focused(), /^View agent availability/);
    await page.keyboard.press('Enter');
    // Focus stays in the list, on the next scope.
    assert.match(await focused(), /^Read VCC user details/);
    await page.keyboard.press('ArrowDown');
    assert.match(await focused(), /^Update VCC user details/);
    await page.keyboard.press('Space');
    await page.keyboard.press('Escape');
    assert.equal(await create.isVisible(), true, 'Escape in the scope list closes only the list');
    assert.match(await focused(), /Add another scope/);
    assert.equal(await create.getByRole('list', { name: 'Selected scopes' }).getByRole('listitem').count(), 2);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Cancel');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Save API credential');
    await page.keyboard.press('Enter');
    const success = page.getByRole('dialog', { name: 'Success' });
    await success.waitFor();
    const clientId = await success.getByLabel('Client ID', { exact: true }).inputValue();
    // Focus starts inside the dialog and Tab stays inside it until OK.
    for (let i = 0; i < 40 && (await focused()) !== 'OK'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'OK');
    await page.keyboard.press('Enter');
    await success.waitFor({ state: 'detached' });
    assert.equal(await focused(), '+Create New');
    const created = row(page, 'Keyboard made');
    await created.getByText(clientId).waitFor();
    await created.getByText('View agent availability').waitFor();
    await created.getByText('Update VCC user details, settings, and presences').waitFor();
    // The row's actions menu: Enter opens it on its first item, arrows move, Escape returns to the button.
    await created.getByRole('button', { name: 'Actions for Keyboard made' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await focused(), 'Edit');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(), 'Rotate secret');
    await page.keyboard.press('Escape');
    assert.equal(await focused(), 'Actions for Keyboard made');
    await page.keyboard.press('ArrowUp');
    assert.equal(await focused(), 'Delete');
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('alertdialog', { name: 'Delete API credential' });
    await confirm.waitFor();
    assert.equal(await focused(), 'Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await focused(), 'Actions for Keyboard made');
  });

  it('agent license: no API Credentials area', async () => {
    const page = await signIn(agent);
    await page.getByRole('heading', { level: 1, name: 'You don’t have access to this area' }).waitFor();
    await page.getByText('admin or supervisor license').waitFor();
    assert.equal(await page.getByRole('link', { name: 'API Credentials' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Create New' }).count(), 0);
    assert.equal(await page.getByRole('heading', { name: 'API Credentials' }).count(), 0);
    await shot(page, 'no-access-agent');
    // The hash of another page changes nothing.
    await page.goto(`${t.baseUrl}/admin/#/audit`);
    await page.getByRole('heading', { level: 1, name: 'You don’t have access to this area' }).waitFor();
  });

  it('account with the switch off: a page that says to contact support', async () => {
    const page = await signIn(offAdmin);
    await page.getByRole('heading', { level: 1, name: 'API access is not enabled for your account' }).waitFor();
    await page.getByText(/contact support/i).waitFor();
    assert.equal(await page.getByRole('link', { name: 'API Credentials' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Create New' }).count(), 0);
    await shot(page, 'switch-off');
    // Sign out goes back to the sign-in page, and a reload stays signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('account-level credentials: deprecated, Users/Accounts tabs, editable, none can be created', async () => {
    const imported = await t.region.issuer.importAccountLevel(legacy.id, { name: 'Legacy CRM sync', scopes: ['stats', 'users:read'] }, { id: null, email: null });
    const page = await signIn(legacyAdmin);
    const usersTab = page.getByRole('tab', { name: /^Users/ });
    const accountsTab = page.getByRole('tab', { name: /^Accounts/ });
    await usersTab.waitFor();
    assert.equal(await usersTab.getAttribute('aria-selected'), 'true');
    await accountsTab.click();
    assert.equal(await accountsTab.getAttribute('aria-selected'), 'true');
    const panel = page.getByRole('tabpanel');
    await panel.getByText('Account-level API credentials are deprecated.').waitFor();
    const legacyRow = row(page, 'Legacy CRM sync');
    await legacyRow.getByText('Deprecated').waitFor();
    await legacyRow.getByText(imported.credential.clientId).waitFor();
    await shot(page, 'account-level');
    // Admins edit it.
    await act(page, 'Legacy CRM sync', 'Edit');
    const edit = page.getByRole('dialog', { name: 'Edit API Credentials' });
    await edit.getByText(/deprecated/).waitFor();
    await edit.getByLabel('Name', { exact: true }).fill('Legacy CRM sync (old)');
    await edit.getByRole('button', { name: 'Save API credential' }).click();
    await row(page, 'Legacy CRM sync (old)').waitFor();
    assert.equal((await token(imported.credential.clientId, imported.clientSecret, 'stats')).status, 200);
    // Create New only ever makes user-level credentials: no level choice anywhere.
    await page.getByRole('button', { name: 'Create New' }).click();
    const create = page.getByRole('dialog', { name: 'Create API Credentials' });
    await create.waitFor();
    assert.equal(await create.getByText(/account/i).count(), 0);
    assert.equal(await create.getByRole('radio').count(), 0);
    assert.equal(await create.getByRole('combobox').count(), 0);
    await create.getByRole('button', { name: 'Cancel' }).click();
    // The arrow keys move between the tabs.
    await accountsTab.focus();
    await page.keyboard.press('ArrowLeft');
    assert.equal(await usersTab.getAttribute('aria-selected'), 'true');
  });

  it('audit log: lists sign-ins, creations, edits, rotations and deletions', async () => {
    const page = await again(admin);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    const table = page.getByRole('table');
    for (const label of ['Signed in', 'Credential created', 'Credential updated', 'Secret rotated', 'Credential deleted']) {
      await table.getByText(label, { exact: true }).first().waitFor();
    }
    await table.getByRole('row').filter({ hasText: 'Wallboard integration v2' }).first().waitFor();
    await table.getByText(supervisor.email).first().waitFor();
    const text = await table.innerText();
    assert.equal(/client.?secret["':\s]+[A-Za-z0-9_-]{40,}/i.test(text), false);
    await shot(page, 'audit-log');
    await shot(page, 'audit-log-full', true);
    // Supervisors have no audit page: the hash falls back to their list.
    const sam = await again(supervisor);
    await sam.goto(`${t.baseUrl}/admin/#/audit`);
    await sam.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
  });

  it('sign-in: a wrong password is refused with a message; a reload keeps the session', async () => {
    const page = await newPage();
    await page.goto(`${t.baseUrl}/admin/`);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The email address or password is incorrect.').waitFor();
    await shot(page, 'sign-in');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'API Credentials' }).waitFor();
    // After a reload the CSRF token still works: a change succeeds.
    await act(page, 'Payments gateway', 'Edit');
    const edit = page.getByRole('dialog', { name: 'Edit API Credentials' });
    await edit.getByRole('button', { name: 'Remove View Insights stats' }).click();
    await edit.getByRole('button', { name: 'Save API credential' }).click();
    await edit.waitFor({ state: 'detached' });
    await row(page, 'Payments gateway').getByText('View Insights stats').waitFor({ state: 'detached' });
    await row(page, 'Payments gateway').getByText('Create secure payment sessions').waitFor();
  });
});
