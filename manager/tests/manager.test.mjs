// Browser test of Portico Manager, run by e2e/manager_test.go against a
// running node: Playwright drives the system's Chromium through the pages
// the Kong docs walk through (log in as kong_admin, select a workspace,
// Consumers → New Consumer → Create, Teams → Admins → Invite Admin), an
// event hook's receiver (a local server here) gets the consumer's create
// event, and axe-core checks every page for serious or critical violations.
//
// Stage 2: plugins enabled through forms generated from their schemas
// (key-auth on a service, request-termination on a route, then requests
// through the proxy), a hook's delivery records with Retry and Redrive,
// Roles with endpoint permissions assigned to an admin, a read-only admin
// who sees no write buttons and gets the 403 explained, the Overview's live
// chart, phone (360×740) and desktop (1280×800) screenshots, keyboard use,
// and the first page's load time from the Navigation Timing API.
//
// Stage 3: a consumer's credentials from its page (a key-auth key made
// there passes key-auth through the proxy; basic-auth's password never
// shown) and an upstream's targets with their health, polled only while
// the page is open.
//
// Environment: MANAGER_URL, ADMIN_URL, PROXY_URL, ADMIN_PASSWORD (kong_admin's),
// ARTIFACTS (a directory for screenshots), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const MANAGER_URL = process.env.MANAGER_URL;
const ADMIN_URL = process.env.ADMIN_URL;
const PROXY_URL = process.env.PROXY_URL;
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
    if (req.url === '/fail') { res.writeHead(500, { 'Content-Type': 'text/plain' }); res.end('receiver is down'); return; }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ received: true, from: 'test receiver' }));
  });
});
receiver.keepAliveTimeout = 60000; // longer than the node keeps a connection idle
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

// admin calls the Admin API as kong_admin (its token is the password).
async function admin(method, p, body) {
  const res = await fetch(ADMIN_URL + p, { method, headers: { 'Kong-Admin-Token': PASSWORD, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// proxied polls the proxy until pred(status, body) holds.
async function proxied(p, pred, what, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    const res = await fetch(PROXY_URL + p);
    last = { status: res.status, body: await res.text() };
    if (pred(last.status, last.body)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the proxy did not answer ${what} on ${p}; last: ${JSON.stringify(last)}`);
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
  // The first page, from the embedded assets, loads in under 300 ms: the
  // login page loaded at least five times (up to ten while none is under
  // the budget) with the browser's cache off (every asset fetched again),
  // measured by the Navigation Timing API; the best load is asserted (the
  // machines this runs on share their cores, and a busy neighbour slows a
  // load without saying anything of the UI).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const loads = [];
  const budget = Number(process.env.LOAD_BUDGET_MS || 300);
  for (let i = 0; i < 10 && (i < 5 || Math.min(...loads) >= budget); i++) {
    if (i) await page.goto(MANAGER_URL + '?load=' + i);
    await page.getByLabel('Username').waitFor();
    await page.waitForFunction(() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0);
    loads.push(await page.evaluate(() => { const e = performance.getEntriesByType('navigation')[0]; return e.loadEventEnd - e.startTime; }));
  }
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  const best = Math.min(...loads);
  console.log(`first page load (ms): ${loads.map((x) => x.toFixed(1)).join(', ')}; best ${best.toFixed(1)}`);
  assert.ok(best > 0 && best < budget, `the first page loads in under ${budget} ms (best ${best} ms of ${loads.join(', ')})`);
  // Keyboard: the skip link comes before the (focused) Username, visibly
  // focused.
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none', 'focus is visible');
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
  await page.getByLabel('Workspace', { exact: true }).first().selectOption('team-a');
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
  await page.getByLabel('Workspace', { exact: true }).first().selectOption('team-a');
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

  // Plugins: key-auth on a service and request-termination on a route,
  // each through the form generated from /schemas/plugins/{name}, then
  // requests through the proxy.
  const svcKA = await admin('POST', '/services', { name: 'svc-ka', url: 'http://127.0.0.1:9/' });
  await admin('POST', '/services/svc-ka/routes', { name: 'route-ka', paths: ['/ka'] });
  const svcRT = await admin('POST', '/services', { name: 'svc-rt', url: 'http://127.0.0.1:9/' });
  const routeRT = await admin('POST', '/services/svc-rt/routes', { name: 'route-rt', paths: ['/rt'] });
  await page.goto(`${MANAGER_URL}#/default/services/${svcKA.id}`);
  await page.getByRole('heading', { name: 'Gateway Service: svc-ka' }).waitFor();
  await page.getByRole('link', { name: 'Add Plugin' }).click();
  await page.getByRole('heading', { name: 'New Plugin', exact: true }).waitFor();
  await check('plugin-picker');
  await page.getByRole('link', { name: 'key-auth', exact: true }).click();
  await page.getByRole('heading', { name: 'New Plugin: key-auth' }).waitFor();
  assert.equal(await page.getByLabel('Gateway Service').inputValue(), svcKA.id, 'the service scope is preset');
  assert.equal(await page.getByLabel('Consumer').count(), 0, 'key-auth cannot be scoped to a consumer (consumer: eq null)');
  assert.equal(await page.getByLabel(/^Key Names/).inputValue(), 'apikey', 'the default is filled in');
  assert.equal(await page.getByLabel('Hide Credentials').isChecked(), false);
  assert.equal(await page.getByRole('checkbox', { name: 'https' }).isChecked(), true, 'protocols: a set of choices');
  await check('plugin-key-auth-new');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Gateway Service: svc-ka' }).waitFor();
  await page.getByRole('link', { name: 'key-auth', exact: true }).waitFor();
  await check('service-with-plugin');
  await proxied('/ka', (st) => st === 401, '401 without a key');

  // request-termination from the route's page: a number out of range is
  // refused next to its field, then 418 with a message.
  await page.goto(`${MANAGER_URL}#/default/routes/${routeRT.id}`);
  await page.getByRole('heading', { name: 'Route: route-rt' }).waitFor();
  await page.getByRole('link', { name: 'Add Plugin' }).click();
  await page.getByRole('link', { name: 'request-termination', exact: true }).click();
  await page.getByRole('heading', { name: 'New Plugin: request-termination' }).waitFor();
  assert.equal(await page.getByLabel('Route').inputValue(), routeRT.id);
  assert.equal(await page.getByLabel(/^Status Code/).inputValue(), '503');
  await page.getByLabel(/^Status Code/).fill('42');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('[aria-invalid="true"]').first().waitFor();
  assert.equal(await page.getByLabel(/^Status Code/).getAttribute('aria-invalid'), 'true', 'the error is on Status Code');
  await check('plugin-refused');
  await page.getByLabel(/^Status Code/).fill('418');
  await page.getByLabel(/^Message/).fill('I am a teapot, says Portico');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Route: route-rt' }).waitFor();
  const rt = await proxied('/rt', (st) => st === 418, 'the termination answer');
  assert.match(rt.body, /I am a teapot, says Portico/);

  // Every plugin gets a form: nested records as fieldsets, enums as
  // selects, deprecated shorthands not shown.
  await page.goto(`${MANAGER_URL}#/default/plugins/new/rate-limiting`);
  await page.getByRole('heading', { name: 'New Plugin: rate-limiting' }).waitFor();
  assert.equal(await page.getByLabel('Policy').evaluate((e) => e.tagName), 'SELECT');
  assert.ok(await page.getByRole('group', { name: 'Redis' }).count() === 1, 'config.redis is a fieldset');
  assert.equal(await page.getByLabel('Redis Host').count(), 0, 'the deprecated shorthand is not shown');
  await check('plugin-rate-limiting-new');

  // The list, the toggle (disabling key-auth lets requests through to the
  // service), edit and delete.
  await page.goto(`${MANAGER_URL}#/default/plugins`);
  await page.getByRole('heading', { name: 'Plugins' }).waitFor();
  await check('plugins');
  await page.getByRole('switch', { name: 'Enabled: key-auth' }).uncheck();
  await proxied('/ka', (st) => st !== 401, 'no 401 once key-auth is disabled');
  await page.getByRole('switch', { name: 'Enabled: key-auth' }).check();
  await proxied('/ka', (st) => st === 401, '401 again once key-auth is enabled');

  // A consumer's credentials from its page: a key-auth key created with
  // the generic form (no Consumer field: it is the page's) lets a request
  // through key-auth on svc-ka; a basic-auth password is never shown.
  const grace = await admin('POST', '/consumers', { username: 'grace' });
  await page.goto(`${MANAGER_URL}#/default/consumers/${grace.id}`);
  await page.getByRole('heading', { name: 'Consumer: grace' }).waitFor();
  for (const s of ['Key Authentication', 'Basic Authentication', 'ACL Groups', 'JWT Credentials', 'HMAC Authentication']) {
    await page.getByRole('heading', { name: s, exact: true }).waitFor();
  }
  await check('consumer-credentials');
  await page.getByRole('link', { name: 'New Key Auth Credential' }).click();
  await page.getByRole('heading', { name: 'New Key Auth Credential' }).waitFor();
  assert.equal(await page.getByLabel('Consumer').count(), 0, 'the consumer is the page\'s, not a field');
  await check('key-auth-credential-new');
  await page.getByLabel(/^Key/).fill('grace-secret-key');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Consumer: grace' }).waitFor();
  await page.getByRole('cell', { name: 'grace-secret-key', exact: true }).waitFor();
  await proxied('/ka?apikey=grace-secret-key', (st) => st !== 401, 'the key created in the page passes key-auth');
  assert.equal((await fetch(`${PROXY_URL}/ka?apikey=wrong`)).status, 401, 'another key does not');
  // The same key again: the Admin API's 409 shows next to Key.
  await page.getByRole('link', { name: 'New Key Auth Credential' }).click();
  await page.getByLabel(/^Key/).fill('grace-secret-key');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(/UNIQUE violation detected on/).waitFor();
  assert.equal(await page.getByLabel(/^Key/).getAttribute('aria-invalid'), 'true', 'the error is on Key');
  await check('key-auth-credential-refused');
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.getByRole('heading', { name: 'Consumer: grace' }).waitFor();
  await page.getByRole('link', { name: 'New Basic Auth Credential' }).click();
  await page.getByLabel(/^Username/).fill('grace-basic');
  await page.getByLabel(/^Password/).fill('hunter2-basic');
  assert.equal(await page.getByLabel(/^Password/).getAttribute('type'), 'password');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'grace-basic', exact: true }).waitFor();
  const shown = await page.locator('main').textContent();
  assert.ok(!shown.includes('hunter2-basic'), 'the basic-auth password is not shown');
  const stored = (await admin('GET', `/consumers/${grace.id}/basic-auth`)).data[0].password;
  assert.ok(!shown.includes(stored), 'nor its hash');
  await page.getByRole('button', { name: 'Delete Basic Auth Credential grace-basic' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('cell', { name: 'grace-basic', exact: true }).waitFor({ state: 'detached' });
  await check('consumer-credentials-filled');

  // An upstream's targets and their health, polled while its page is open
  // and no longer once left.
  const up = await admin('POST', '/upstreams', { name: 'up-manager' });
  await page.goto(`${MANAGER_URL}#/default/upstreams/${up.id}`);
  await page.getByRole('heading', { name: 'Upstream: up-manager' }).waitFor();
  await page.getByRole('link', { name: 'New Target' }).click();
  await page.getByRole('heading', { name: 'New Target' }).waitFor();
  assert.equal(await page.getByLabel('Upstream').count(), 0, 'the upstream is the page\'s, not a field');
  await check('target-new');
  await page.getByLabel(/^Target/).fill('127.0.0.1:9');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Upstream: up-manager' }).waitFor();
  await page.getByRole('cell', { name: '127.0.0.1:9', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'HEALTHCHECKS_OFF' }).waitFor();
  let healthPolls = 0;
  const countHealth = (req) => { if (/\/upstreams\/[^/]+\/health/.test(req.url())) healthPolls++; };
  page.on('request', countHealth);
  await page.waitForTimeout(3500);
  assert.ok(healthPolls >= 1, `the health is refreshed while the page is open (${healthPolls} polls)`);
  await check('upstream-targets');
  await page.goto(`${MANAGER_URL}#/default/upstreams`);
  await page.getByRole('heading', { name: 'Upstreams' }).waitFor();
  const polled = healthPolls;
  await page.waitForTimeout(3500);
  page.off('request', countHealth);
  assert.equal(healthPolls, polled, 'no health polls once the page is left');
  await page.goto(`${MANAGER_URL}#/default/upstreams/${up.id}`);
  await page.getByRole('button', { name: 'Delete Target 127.0.0.1:9' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No Targets found').waitFor();
  await page.goto(`${MANAGER_URL}#/default/plugins`);
  await page.getByRole('heading', { name: 'Plugins' }).waitFor();
  await page.getByRole('link', { name: 'Edit request-termination' }).click();
  await page.getByRole('heading', { name: 'Edit Plugin: request-termination' }).waitFor();
  await page.getByLabel(/^Status Code/).fill('403');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Route: route-rt' }).waitFor();
  const rt2 = await proxied('/rt', (st) => st === 403, 'the edited status');
  assert.match(rt2.body, /I am a teapot/, 'the other fields are kept');
  await page.goto(`${MANAGER_URL}#/default/plugins`);
  await page.getByRole('button', { name: 'Delete request-termination' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Delete request-termination' }).waitFor({ state: 'detached' });
  await proxied('/rt', (st) => st !== 403, 'no termination once deleted');

  // Event hooks: delivery records, Retry and Redrive. A hook to a failing
  // receiver (the node gives up after two attempts a second apart here).
  const failing = await admin('POST', '/event-hooks', { source: 'crud', event: 'services', handler: 'webhook',
    config: { url: RECEIVER_URL.replace(/\/hook$/, '/fail') } });
  await page.goto(`${MANAGER_URL}#/event-hooks/${failing.id}?status=failed`);
  for (let i = 0; i < 50 && await page.getByRole('cell', { name: 'failed', exact: true }).count() === 0; i++) {
    await new Promise((r) => setTimeout(r, 200));
    await page.goto(`${MANAGER_URL}#/event-hooks/${failing.id}?status=failed&n=${i}`);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
  }
  await page.getByText('HTTP 500').first().waitFor();
  await check('event-hook-deliveries');
  const before = received.filter((r) => r.url === '/fail').length;
  await page.getByRole('button', { name: /^Retry delivery/ }).first().click();
  await waitFor(() => received.filter((r) => r.url === '/fail').length >= before + 2, 'the retried delivery (two attempts)');
  for (let i = 0; i < 50; i++) {
    const failed = await admin('GET', `/event-hooks/${failing.id}/deliveries?status=failed`);
    if (failed.data.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.goto(`${MANAGER_URL}#/event-hooks/${failing.id}`);
  await page.getByLabel('Status').selectOption('failed');
  await page.getByRole('cell', { name: 'failed', exact: true }).first().waitFor();
  const before2 = received.filter((r) => r.url === '/fail').length;
  await page.getByRole('button', { name: 'Redrive failed' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Redrive' }).click();
  await page.locator('#page-notice').filter({ hasText: /Redrive: [1-9]\d* failed deliveries queued again/ }).waitFor();
  await waitFor(() => received.filter((r) => r.url === '/fail').length > before2, 'the redriven delivery');

  // Overview: the node, its counters and the live chart.
  await page.goto(`${MANAGER_URL}#/default/overview`);
  await page.getByRole('heading', { name: 'Workspace default' }).waitFor();
  assert.match(await page.locator('#node-version').textContent(), /^3\.9/);
  for (let i = 0; i < 3; i++) await fetch(PROXY_URL + '/ka');
  await page.waitForFunction(() => {
    const l = document.querySelector('svg.chart polyline');
    return l && l.getAttribute('points').split(' ').length >= 2;
  }, null, { timeout: 8000 });
  await check('overview-live');

  // Small screens: a phone and a laptop, without a page-wide scroll.
  for (const [w, hgt] of [[360, 740], [1280, 800]]) {
    await page.setViewportSize({ width: w, height: hgt });
    for (const [hash, name] of [['#/default/overview', 'overview'], ['#/default/plugins', 'plugins'], [`#/default/plugins/new/key-auth`, 'plugin-form']]) {
      await page.goto(`${MANAGER_URL}${hash}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: path.join(ARTIFACTS, `${w}x${hgt}-${name}.png`), fullPage: w > 400 });
      const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(over <= 0, `${name} at ${w}px scrolls sideways by ${over}px`);
    }
    await check(`plugins-${w}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // The seed's Slack-style webhook-custom hook on admins, created as the seed
  // creates it through the Admin API; inviting an admin must fire it.
  await admin('POST', '/event-hooks', { source: 'crud', event: 'admins', handler: 'webhook-custom',
    config: { method: 'POST', url: RECEIVER_URL.replace(/\/hook$/, '/slack'), headers: { 'content-type': 'application/json' },
      payload: { text: 'Admin account `{{ entity.username }}` {{ operation}}d; email address set to `{{ entity.email }}`' } } });

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
  await waitFor((r) => r.url === '/slack' && r.body?.text === 'Admin account `arya` created; email address set to `arya@example.test`',
    "the webhook-custom hook's message about the invited admin");

  // Teams → Roles: a role with an endpoint permission, given to an admin.
  await page.getByRole('link', { name: 'Roles' }).click();
  await page.getByRole('heading', { name: 'Roles', exact: true }).waitFor();
  await check('roles');
  await page.getByRole('link', { name: 'New Role' }).click();
  await page.getByLabel('Name').fill('svc-reader');
  await page.getByLabel('Comment').fill('reads services');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Role: svc-reader' }).waitFor();
  await page.getByRole('button', { name: 'Add Endpoint Permission' }).click();
  await page.locator('#endpoints-endpoint[aria-invalid="true"]').waitFor();
  assert.match(await page.locator('#endpoints-endpoint-error').textContent(), /endpoint/, 'the error is next to Endpoint');
  await page.getByLabel('Workspace', { exact: true }).last().selectOption('default');
  await page.getByLabel('Endpoint', { exact: true }).fill('/services');
  await page.getByRole('button', { name: 'Add Endpoint Permission' }).click();
  await page.getByRole('cell', { name: '/services', exact: true }).waitFor();
  await check('role');
  await page.getByRole('link', { name: 'Admins' }).click();
  await page.getByRole('link', { name: 'arya', exact: true }).click();
  await page.getByRole('heading', { name: 'Admin: arya' }).waitFor();
  await page.getByLabel('svc-reader').check();
  await page.getByRole('button', { name: 'Save Roles' }).click();
  await page.getByText('svc-reader', { exact: true }).first().waitFor();
  const aryaRoles = await admin('GET', '/admins/arya/roles');
  assert.deepEqual(aryaRoles.roles.map((r) => r.name), ['svc-reader']);
  await check('admin-roles');

  // A read-only admin: no write buttons; a write tried anyway is refused
  // with the 403 explained in the page.
  await admin('POST', '/admins', { username: 'ro', email: 'ro@example.test' });
  const ro = await admin('GET', '/admins/ro');
  await admin('PATCH', `/rbac/users/${ro.rbac_user.id}`, { user_token: 'ro-pass' });
  await admin('POST', '/admins/ro/roles', { roles: 'read-only' });
  await page.getByRole('button', { name: 'Log Out' }).click();
  await page.getByLabel('Username').fill('ro');
  await page.getByLabel('Password').fill('ro-pass');
  await page.getByRole('button', { name: 'Log In' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New Workspace' }).count(), 0, 'no New Workspace');
  await page.goto(`${MANAGER_URL}#/default/services`);
  await page.getByRole('link', { name: 'svc-ka' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New Gateway Service' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0);
  await check('read-only-services');
  await page.goto(`${MANAGER_URL}#/default/plugins`);
  await page.getByRole('link', { name: 'key-auth', exact: true }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New Plugin' }).count(), 0);
  assert.equal(await page.getByRole('switch').count(), 0, 'no enable toggle');
  await page.goto(`${MANAGER_URL}#/event-hooks/${failing.id}`);
  await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /^(Retry delivery|Redrive)/ }).count(), 0);
  await page.goto(`${MANAGER_URL}#/default/services/new`);
  await page.getByLabel('Name').fill('not-allowed');
  await page.getByLabel('Host').fill('example.test');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'Your roles do not allow this' }).waitFor();
  await check('read-only-refused');

  // Log out: the session is gone on the server too.
  await page.getByRole('button', { name: 'Log Out' }).click();
  await page.getByRole('button', { name: 'Log In' }).waitFor();
  const after = await page.evaluate(async (u) => (await fetch(u + '/consumers', { credentials: 'include',
    headers: { 'Kong-Admin-User': 'ro' } })).status, process.env.ADMIN_URL);
  assert.equal(after, 401, 'the Admin API refuses the browser after logout');

  const unexpected = consoleErrors.filter((e) => !/the server responded with a status of 40[01349]/.test(e));
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
