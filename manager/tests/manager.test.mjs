// Browser test of Portico Manager, run by e2e/manager_test.go against a
// running node: Playwright drives the system's Chromium through the pages
// the Kong docs walk through (log in as kong_admin, select a workspace,
// Consumers → New Consumer → Create, Teams → Admins → Invite Admin), an
// event hook's receiver (a local server here) gets the consumer's create
// event, and axe-core checks every page for serious or critical violations.
//
// Environment: MANAGER_URL, ADMIN_URL, ADMIN_PASSWORD (kong_admin's),
// ARTIFACTS (a directory for screenshots), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const MANAGER_URL = process.env.MANAGER_URL;
const PASSWORD = process.env.ADMIN_PASSWORD;
const ARTIFACTS = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'portico-manager-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
console.log(`screenshots: ${ARTIFACTS}`);

// The receiver of the webhook event hook.
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let json = null;
    try { json = JSON.parse(body); } catch { /* not JSON */ }
    received.push({ method: req.method, url: req.url, headers: req.headers, body: json ?? body });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ received: true, from: 'test receiver' }));
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const RECEIVER_URL = `http://127.0.0.1:${receiver.address().port}/hook`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(10000);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

let shot = 0;
const checked = [];
// check runs axe-core on the page and saves a screenshot.
async function check(name) {
  await page.waitForLoadState('networkidle');
  const file = path.join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  checked.push(name);
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `axe-core on ${name}: serious or critical violations`);
}

async function waitFor(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const hit = received.find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the receiver did not get ${what}; it got ${JSON.stringify(received.map((r) => r.body))}`);
}

try {
  // Log in: a wrong password is refused with Kong's message.
  await page.goto(MANAGER_URL);
  await page.getByLabel('Username').waitFor();
  await check('login');
  await page.getByLabel('Username').fill('kong_admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log In' }).click();
  await page.getByRole('alert').filter({ hasText: 'Unauthorized' }).waitFor();
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password field is emptied');
  await check('login-refused');

  await page.getByLabel('Username').fill('kong_admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log In' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  // The session is an HttpOnly cookie: no page script sees it.
  assert.equal(await page.evaluate(() => document.cookie), '', 'document.cookie is empty');
  assert.ok(!JSON.stringify(await page.evaluate(() => ({ ...sessionStorage, ...localStorage }))).includes(PASSWORD),
    'the password is not stored');
  await check('workspaces');

  // A workspace, created and selected.
  await page.getByRole('link', { name: 'New Workspace' }).click();
  await page.getByLabel('Name').fill('team-a');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'team-a' }).waitFor();
  await page.getByLabel('Workspace').selectOption('team-a');
  await page.getByRole('heading', { name: 'Workspace team-a' }).waitFor();
  await check('overview');

  // A webhook event hook on consumers, its form from the handler's schema.
  await page.getByRole('link', { name: 'Event Hooks' }).click();
  await page.getByRole('heading', { name: 'Event Hooks' }).waitFor();
  await check('event-hooks');
  await page.getByRole('link', { name: 'New Event Hook' }).click();
  await page.getByLabel('Source').selectOption('crud');
  await page.getByLabel('Event', { exact: true }).selectOption('consumers');
  await page.getByLabel('Handler').selectOption('webhook');
  await page.getByLabel(/^URL/).waitFor();
  await check('event-hook-new');
  // The Admin API's error shows next to the field it names.
  await page.getByLabel(/^URL/).fill('not a url');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('[aria-invalid="true"]').first().waitFor();
  assert.equal(await page.getByLabel(/^URL/).getAttribute('aria-invalid'), 'true', 'the URL error is on the URL field');
  await page.getByLabel(/^URL/).fill(RECEIVER_URL);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('button', { name: 'Ping' }).waitFor();
  await page.getByRole('button', { name: 'Ping' }).click();
  await page.getByRole('heading', { name: 'Ping sent' }).waitFor();
  await waitFor((r) => r.body && r.body.event === 'ping', 'a ping');
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByRole('heading', { name: "Receiver's answer" }).waitFor();
  assert.match(await page.locator('#hook-result pre').textContent(), /test receiver/, "the receiver's answer is shown");
  await check('event-hook');

  // Consumers → New Consumer → Username → Create, in team-a.
  await page.getByLabel('Workspace').selectOption('team-a');
  await page.getByRole('heading', { name: 'Workspace team-a' }).waitFor();
  await page.getByRole('link', { name: 'Consumers', exact: true }).click();
  await page.getByRole('heading', { name: 'Consumers' }).waitFor();
  await check('consumers');
  await page.getByRole('link', { name: 'New Consumer' }).click();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'at least one of' }).waitFor(); // Kong's entity check
  await check('consumer-new-refused');
  await page.getByLabel('Username').fill('Ada Lovelace');
  await page.getByLabel('Custom ID').fill('ada-1815');
  await page.getByLabel('Tags').fill('math, pioneers');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Consumer: Ada Lovelace' }).waitFor();
  await check('consumer');
  const created = await waitFor((r) => r.body && r.body.operation === 'create' && r.body.entity && r.body.entity.username === 'Ada Lovelace',
    'the consumers create event');
  assert.equal(created.body.event, 'consumers');
  assert.equal(created.body.source, 'crud');

  // The same username again: the 409 shows next to Username.
  await page.goto(`${MANAGER_URL}#/team-a/consumers/new`);
  await page.getByLabel('Username').fill('Ada Lovelace');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(/UNIQUE violation detected on/).waitFor();
  assert.equal(await page.getByLabel('Username').getAttribute('aria-invalid'), 'true');

  // The list, searched and filtered by tag.
  await page.goto(`${MANAGER_URL}#/team-a/consumers`);
  await page.getByRole('link', { name: 'Ada Lovelace', exact: true }).waitFor();
  await page.getByLabel('Filter by tags').fill('nobody');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('No consumers found').waitFor();
  await page.getByLabel('Filter by tags').fill('');
  await page.getByLabel('Search').fill('ada-1815');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('No consumers found').waitFor(); // search is by ID or username
  await page.getByLabel('Search').fill('Ada Lovelace');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('link', { name: 'Ada Lovelace', exact: true }).waitFor();

  // Teams → Admins → Invite Admin.
  await page.getByRole('link', { name: 'Teams' }).click();
  await page.getByRole('heading', { name: 'Admins' }).waitFor();
  await check('admins');
  await page.getByRole('link', { name: 'Invite Admin' }).click();
  await page.getByLabel('Email').fill('arya@example.test');
  await page.getByLabel('Username').fill('arya');
  await check('invite-admin');
  await page.getByRole('button', { name: 'Invite Admin' }).click();
  await page.getByRole('cell', { name: 'arya', exact: true }).waitFor();
  assert.ok(await page.getByRole('cell', { name: 'invited' }).count() > 0, 'the new admin is invited');
  await waitFor(() => true, 'anything'); // keeps the receiver list printed on failure

  // Log out: the session is gone on the server too.
  await page.getByRole('button', { name: 'Log Out' }).click();
  await page.getByRole('button', { name: 'Log In' }).waitFor();
  const after = await page.evaluate(async (u) => (await fetch(u + '/consumers', { credentials: 'include',
    headers: { 'Kong-Admin-User': 'kong_admin' } })).status, process.env.ADMIN_URL);
  assert.equal(after, 401, 'the Admin API refuses the browser after logout');

  const unexpected = consoleErrors.filter((e) => !/the server responded with a status of 40[0149]/.test(e));
  assert.deepEqual(unexpected, [], 'console errors');
  console.log(`ok: ${checked.length} pages checked with axe-core (${checked.join(', ')})`);
} catch (e) {
  await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`page: ${page.url()}`);
  throw e;
} finally {
  await context.close();
  receiver.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
