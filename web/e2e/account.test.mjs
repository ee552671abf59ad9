// Settings → Password and Sessions in a real browser. Amy is logged in on two "devices" (browser
// contexts with their own cookies and user agents): changing her password on one logs the other
// out at once (its gateway closes with 4011 and it shows the login screen), and only the new
// password works from then on. The sessions list names both devices with "This device" on the
// right one, and logging out the other, or everywhere else, sends that device to the login
// screen. Refused changes show their errors where they belong, up to the rate limit; members
// reach the tabs too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openMySettings, register, Server, withScreenshots } from './harness.mjs';

const CHROME_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple the battery horse';
const PASSWORD_CHANGED = 'Password changed. You stay logged in here; every other session was logged out.';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A page in a browser context of its own that passes for another device: its own cookies and
 * user agent, and `window.__gatewayCloses`, the close code of every WebSocket it had, in order. */
async function device(userAgent) {
  const context = await browser.newContext({ userAgent });
  await context.addInitScript(() => {
    const closes = (window.__gatewayCloses = []);
    const NativeWebSocket = window.WebSocket;
    window.WebSocket = class extends NativeWebSocket {
      constructor(...args) {
        super(...args);
        this.addEventListener('close', (event) => closes.push(event.code));
      }
    };
  });
  return context.newPage();
}

const gatewayCloses = (page) => page.evaluate(() => window.__gatewayCloses);

/** The login form is shown (after a logout, the page stays where it was). */
const loginScreen = (page) => page.getByRole('button', { name: 'Log in', exact: true });

/** Submits the login form (the caller waits for what it expects next). */
async function submitLogin(page, username, password) {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await loginScreen(page).click();
}

/** Logs in from the login screen on the chat's address and waits for the chat. */
async function logIn(page, username, password) {
  await submitLogin(page, username, password);
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

/** Goes to another of the user's settings tabs, from within the settings. */
async function switchTab(page, tab) {
  await page.getByRole('tab', { name: tab, exact: true }).click();
  await page.getByRole('heading', { name: tab, exact: true }).waitFor();
}

/** Fills the password form and submits it. */
async function submitPasswordChange(page, { current, next, confirm = next }) {
  await page.getByLabel('Current password', { exact: true }).fill(current);
  await page.getByLabel('New password', { exact: true }).fill(next);
  await page.getByLabel('Confirm new password', { exact: true }).fill(confirm);
  await page.getByRole('button', { name: 'Change password' }).click();
}

/** The error the field named `label` points to (aria-describedby), or null. */
const fieldError = (page, label) =>
  page.getByLabel(label, { exact: true }).evaluate((input) => {
    const id = input.getAttribute('aria-describedby');
    return id ? (document.getElementById(id)?.textContent ?? null) : null;
  });

const sessionRows = (page) => page.getByRole('list', { name: 'Sessions' }).getByRole('listitem');

/** Each row of the sessions list as shown: client, badge, address, last activity, buttons. */
const shownSessions = (page) =>
  sessionRows(page).evaluateAll((rows) =>
    rows.map((row) => ({
      client: row.querySelector('.session-who strong')?.textContent,
      badge: row.querySelector('.badge')?.textContent ?? null,
      ip: row.querySelector('.session-ip')?.textContent,
      lastActive: row.querySelector('time')?.textContent,
      buttons: [...row.querySelectorAll('button')].map((button) => button.textContent),
    })),
  );

/** Waits until the list has settled on "logged in only here" with this device's row alone. */
async function onlyThisDeviceListed(page) {
  await page.getByText('You are logged in only here.').waitFor();
  assert.deepEqual(
    (await shownSessions(page)).map((s) => [s.client, s.badge]),
    [['Chrome on Linux', 'This device']],
  );
}

test('changing the password logs every other device out at once, and only the new password works', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('account-password-change', async (pages) => {
      const laptop = (pages.laptop = await device(CHROME_ON_LINUX));
      await register(laptop, server.url, 'amy', OLD_PASSWORD);
      const desktop = (pages.desktop = await device(FIREFOX_ON_WINDOWS));
      await desktop.goto(server.url);
      await logIn(desktop, 'amy', OLD_PASSWORD);

      await openMySettings(laptop, 'Sessions');
      await sessionRows(laptop).nth(1).waitFor();
      await switchTab(laptop, 'Password');
      await submitPasswordChange(laptop, { current: OLD_PASSWORD, next: NEW_PASSWORD });
      const changed = laptop.getByRole('status');
      await changed.waitFor();
      assert.equal(await changed.textContent(), PASSWORD_CHANGED);
      assert.equal(await laptop.getByLabel('New password', { exact: true }).inputValue(), '', 'the form is cleared');

      // The other device: its gateway closes with 4011, identifying again is refused (4004),
      // and it shows the login screen.
      await loginScreen(desktop).waitFor();
      assert.deepEqual(await gatewayCloses(desktop), [4011, 4004]);

      // This device stays logged in, its gateway untouched, and its list now shows it alone.
      await switchTab(laptop, 'Sessions');
      await onlyThisDeviceListed(laptop);
      assert.deepEqual(await gatewayCloses(laptop), []);
      await laptop.keyboard.press('Escape');
      await laptop.getByRole('textbox', { name: /^Message #/ }).waitFor();

      await submitLogin(desktop, 'amy', OLD_PASSWORD);
      const refused = desktop.getByRole('alert');
      await refused.waitFor();
      assert.equal(await refused.textContent(), 'Wrong username or password.');
      await logIn(desktop, 'amy', NEW_PASSWORD);
    });
  } finally {
    await server.stop();
  }
});

test('the sessions list marks this device; logging out the other device, or everywhere else, ends it', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('account-sessions', async (pages) => {
      const laptop = (pages.laptop = await device(CHROME_ON_LINUX));
      await register(laptop, server.url, 'amy', OLD_PASSWORD);
      const desktop = (pages.desktop = await device(FIREFOX_ON_WINDOWS));
      await desktop.goto(server.url);
      await logIn(desktop, 'amy', OLD_PASSWORD);

      await openMySettings(laptop, 'Sessions');
      await sessionRows(laptop).nth(1).waitFor();
      assert.deepEqual(await shownSessions(laptop), [
        { client: 'Chrome on Linux', badge: 'This device', ip: '127.0.0.1', lastActive: 'just now', buttons: [] },
        { client: 'Firefox on Windows', badge: null, ip: '127.0.0.1', lastActive: 'just now', buttons: ['Log out'] },
      ]);
      // The other device sees the same two sessions the other way round.
      await openMySettings(desktop, 'Sessions');
      await sessionRows(desktop).nth(1).waitFor();
      assert.deepEqual(
        (await shownSessions(desktop)).map((s) => [s.client, s.badge, s.buttons]),
        [
          ['Firefox on Windows', 'This device', []],
          ['Chrome on Linux', null, ['Log out']],
        ],
      );

      await sessionRows(laptop).filter({ hasText: 'Firefox on Windows' }).getByRole('button', { name: 'Log out' }).click();
      await loginScreen(desktop).waitFor();
      assert.deepEqual(await gatewayCloses(desktop), [4011, 4004]);
      await onlyThisDeviceListed(laptop);
      assert.equal(await laptop.getByRole('button', { name: 'Log out everywhere else' }).count(), 0, 'nothing else to log out');

      // Back on the desktop (it lands on Sessions again), then out everywhere else at once.
      await submitLogin(desktop, 'amy', OLD_PASSWORD);
      await desktop.getByText('Firefox on Windows').waitFor();
      await switchTab(laptop, 'Test connection');
      await switchTab(laptop, 'Sessions');
      await sessionRows(laptop).nth(1).waitFor();
      await laptop.getByRole('button', { name: 'Log out everywhere else' }).click();
      await loginScreen(desktop).waitFor();
      assert.deepEqual(await gatewayCloses(desktop), [4011, 4004, 4011, 4004]);
      await onlyThisDeviceListed(laptop);
      assert.deepEqual(await gatewayCloses(laptop), []);
    });
  } finally {
    await server.stop();
  }
});

test('a member reaches their own settings; refused changes show under the right field, then the rate limit', async () => {
  // Two password-change attempts a minute, so the third is refused.
  const server = await Server.start({ CROMULENT_AUTH_ATTEMPTS_PER_ACCOUNT_PER_MINUTE: '2' });
  try {
    await withScreenshots('account-refusals', async (pages) => {
      const amy = (pages.amy = await device(CHROME_ON_LINUX));
      await register(amy, server.url, 'amy', OLD_PASSWORD);
      const bob = (pages.bob = await device(CHROME_ON_LINUX));
      await register(bob, server.url, 'bob', OLD_PASSWORD);

      await openMySettings(bob, 'Sessions');
      assert.deepEqual(
        await bob.getByRole('tab').allTextContents(),
        ['Profile', 'Password', 'Sessions', 'Voice & audio', 'Notifications', 'Appearance', 'Test connection'],
        'a member gets the tabs everyone has, and none of the server\'s',
      );
      await bob.getByText('You are logged in only here.').waitFor();
      await switchTab(bob, 'Password');

      // Checked here, not sent: otherwise the server's limit would be spent one attempt sooner.
      await submitPasswordChange(bob, { current: OLD_PASSWORD, next: NEW_PASSWORD, confirm: 'staple the battery horsf' });
      await bob.getByRole('alert').filter({ hasText: 'The new passwords do not match.' }).waitFor();
      assert.equal(await fieldError(bob, 'Confirm new password'), 'The new passwords do not match.');

      await submitPasswordChange(bob, { current: OLD_PASSWORD, next: 'short' });
      await bob.getByRole('alert').filter({ hasText: 'Passwords are 8 to 128 characters long.' }).waitFor();
      assert.equal(await fieldError(bob, 'New password'), 'Passwords are 8 to 128 characters long.');
      assert.equal(await fieldError(bob, 'Confirm new password'), null);

      await submitPasswordChange(bob, { current: 'not my password', next: NEW_PASSWORD });
      await bob.getByRole('alert').filter({ hasText: 'The current password is wrong.' }).waitFor();
      assert.equal(await fieldError(bob, 'Current password'), 'The current password is wrong.');
      assert.equal(await fieldError(bob, 'New password'), null);

      await submitPasswordChange(bob, { current: OLD_PASSWORD, next: NEW_PASSWORD });
      const limited = bob.getByRole('alert').filter({ hasText: 'Too many attempts' });
      await limited.waitFor();
      assert.match(await limited.textContent(), /^Too many attempts: try again in \d+ s\.$/);
      assert.equal(await fieldError(bob, 'Current password'), null);
      assert.equal(await bob.getByRole('status').count(), 0, 'no success is claimed');
    });
  } finally {
    await server.stop();
  }
});
