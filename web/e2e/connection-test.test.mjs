// The browser connection test in a real browser: before login on a healthy server (reached
// from the login screen) every check passes and the loopback call through the built-in relay
// reports its round trip with no loss; against a relay nobody answers the TURN checks and the
// call fail with their hints; a relay that refuses the server's credentials (Debian's coturn
// with another secret) is named as a misconfigured secret; a refused request (rate limit) is
// shown; and members reach the test from the chat through the settings.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Coturn, freeUdpPort, launchBrowser, register, Server, withScreenshots } from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Runs the test for the first time on an open page and returns every check as shown: id,
 * status, timing, detail and hint. The button says Run again once the run is over. */
async function runChecks(page) {
  await page.getByRole('button', { name: 'Run test' }).click();
  await page.getByRole('button', { name: 'Run again' }).waitFor({ timeout: 40_000 });
  return shownChecks(page);
}

async function shownChecks(page) {
  const checks = await page.getByRole('list', { name: 'Checks' }).getByRole('listitem').evaluateAll((items) =>
    items.map((item) => ({
      id: item.dataset.check,
      status: item.dataset.status,
      ms: item.querySelector('.check-ms')?.textContent ?? null,
      detail: item.querySelector('.check-detail')?.textContent ?? null,
      hint: item.querySelector('.check-hint')?.textContent ?? null,
    })),
  );
  return Object.fromEntries(checks.map((check) => [check.id, check]));
}

const summary = (page) => page.locator('.connection-summary');

test('before login, on a healthy server, every check passes and the call through the relay has no loss', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('connection-test-healthy', async (pages) => {
      const context = await browser.newContext();
      const page = (pages.page = await context.newPage());
      await page.goto(server.url);
      await page.getByRole('link', { name: 'Test your connection' }).click();
      await page.waitForURL(`${server.url}/connection-test`);
      await page.getByRole('heading', { name: 'Test your connection' }).waitFor();

      const checks = await runChecks(page);
      assert.deepEqual(Object.keys(checks), ['gateway', 'stun', 'turn-udp', 'turn-tcp', 'turn-tls', 'call']);
      for (const id of ['gateway', 'stun', 'turn-udp', 'turn-tcp', 'call']) {
        assert.equal(checks[id].status, 'pass', `${id}: ${JSON.stringify(checks[id])}`);
        assert.match(checks[id].ms, /^\d+ ms$/, `${id} shows its timing`);
        assert.equal(checks[id].hint, null, `${id} has nothing to explain`);
      }
      assert.equal(checks.gateway.detail, 'the server said hello');
      // The harness's relay and its STUN are on 127.0.0.1, so the server sees this machine's own address.
      assert.match(checks.stun.detail, /^(server-reflexive candidate \S+|no server-reflexive candidate: the server answered and saw this device’s own address \(no NAT in between\))$/);
      assert.match(checks['turn-udp'].detail, /^relay candidate 127\.0\.0\.1:\d+$/);
      assert.match(checks['turn-tcp'].detail, /^relay candidate 127\.0\.0\.1:\d+$/);
      assert.deepEqual(checks['turn-tls'], { id: 'turn-tls', status: 'skip', ms: null, detail: 'This server offers no TURN over TLS.', hint: null });
      assert.match(checks.call.detail, /^RTT [\d.]+ ms \(min [\d.]+, max [\d.]+\), 0% loss of 100 pings, over (UDP|TCP)$/);
      assert.equal(await summary(page).textContent(), 'Everything works: calls will connect from this network.');

      await page.getByRole('link', { name: 'Back to log in' }).click();
      await page.getByRole('button', { name: 'Log in' }).waitFor();
    });
  } finally {
    await server.stop();
  }
});

test('against a relay that nobody answers, the TURN checks and the call fail with hints, and a rate limit is shown', async () => {
  const port = await freeUdpPort();
  const server = await Server.start({
    CROMULENT_TURN_PROVIDER: 'coturn',
    CROMULENT_TURN_SECRET: 'x',
    CROMULENT_TURN_URLS: JSON.stringify([`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`]),
  });
  try {
    await withScreenshots('connection-test-unreachable', async (pages) => {
      const context = await browser.newContext();
      const page = (pages.page = await context.newPage());
      // An external relay's credentials go to logged-in people only (the built-in relay can
      // restrict a stranger's test to itself; coturn cannot be told to).
      await register(page, server.url, 'amy');
      await page.goto(`${server.url}/connection-test`);

      const checks = await runChecks(page);
      assert.equal(checks.gateway.status, 'pass');
      assert.deepEqual(checks.stun, { id: 'stun', status: 'skip', ms: null, detail: 'This server offers no STUN server.', hint: null });
      assert.equal(checks['turn-udp'].status, 'fail');
      assert.match(checks['turn-udp'].ms, /^\d+ ms$/);
      assert.equal(checks['turn-udp'].detail, `no answer from 127.0.0.1:${port} within 5 s`);
      assert.equal(checks['turn-udp'].hint, `Nothing gets through to 127.0.0.1:${port} over UDP: your network or the server's firewall blocks it, or no relay listens there.`);
      assert.equal(checks['turn-tcp'].status, 'fail');
      // Chromium reports the refused connection as error 701 with a text of its own.
      assert.match(checks['turn-tcp'].detail, new RegExp(`^could not reach 127\\.0\\.0\\.1:${port}\\b`));
      assert.equal(checks['turn-tcp'].hint, `Nothing gets through to 127.0.0.1:${port} over TCP: your network or the server's firewall blocks it, or no relay listens there.`);
      assert.equal(checks['turn-tls'].status, 'skip');
      assert.equal(checks.call.status, 'fail');
      assert.equal(checks.call.detail, 'the call got no relay address');
      assert.match(checks.call.hint, /^The relay cannot be reached from here/);
      assert.equal(await summary(page).textContent(), 'Calls that need the relay will not connect from this network.');

      // Six tests a minute per address: the run above and five more spend them.
      const statuses = await page.evaluate(() => Promise.all(Array.from({ length: 5 }, () => fetch('/api/v1/connection-test').then((r) => r.status))));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
      await page.getByRole('button', { name: 'Run again' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      await page.getByRole('button', { name: 'Run again' }).waitFor();
      const again = await shownChecks(page);
      assert.match(await alert.textContent(), /^Too many connection tests from your address \(rate_limited\): try again in \d+ s\.$/);
      assert.equal(again.gateway.status, 'pass', 'the gateway check runs anyway');
      for (const id of ['stun', 'turn-udp', 'turn-tcp', 'turn-tls', 'call']) assert.equal(again[id].status, 'skip');
      assert.equal(await summary(page).count(), 0, 'no verdict without a run');
    });
  } finally {
    await server.stop();
  }
});

test('a relay that refuses the server’s credentials is named as a misconfigured TURN secret', async () => {
  const coturn = await Coturn.start(randomBytes(16).toString('hex'));
  const server = await Server.start(coturn.serverEnv('not-the-secret'));
  try {
    await withScreenshots('connection-test-wrong-secret', async (pages) => {
      const page = (pages.page = await (await browser.newContext()).newPage());
      await register(page, server.url, 'amy');
      await page.goto(`${server.url}/connection-test`);
      const checks = await runChecks(page);
      assert.equal(checks['turn-udp'].status, 'fail');
      assert.equal(checks['turn-udp'].detail, 'credentials refused (401)');
      assert.match(checks['turn-udp'].hint, /^Credentials refused: the server's TURN secret is misconfigured/);
      assert.equal(checks.call.status, 'fail');
    });
  } finally {
    await server.stop();
    await coturn.stop();
  }
});

test('a member reaches the test from the chat, under Settings → Test connection', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('connection-test-member', async (pages) => {
      const amy = (pages.amy = await (await browser.newContext()).newPage());
      await register(amy, server.url, 'amy');
      const bob = (pages.bob = await (await browser.newContext()).newPage());
      await register(bob, server.url, 'bob');

      await bob.getByRole('button', { name: 'Test connection' }).click();
      await bob.waitForURL(`${server.url}/settings/connection`);
      await bob.getByRole('heading', { name: 'Test connection' }).waitFor();
      const tabs = await bob.getByRole('tab').allTextContents();
      assert.deepEqual(
        tabs,
        ['Profile', 'Password', 'Sessions', 'Voice & audio', 'Notifications', 'Appearance', 'Test connection'],
        'a member sees only the tabs everyone gets',
      );
      await bob.getByRole('button', { name: 'Run test' }).waitFor();
      await bob.goto(`${server.url}/settings/people`);
      await bob.waitForURL(/\/channels\/\d+$/);

      await amy.getByRole('button', { name: 'Test connection' }).click();
      await amy.getByRole('heading', { name: 'Test connection' }).waitFor();
      assert.ok((await amy.getByRole('tab').allTextContents()).includes('People'), 'an admin sees every tab');
    });
  } finally {
    await server.stop();
  }
});
