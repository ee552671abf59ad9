// Links by mail in a real browser, against a real SMTP server (Debian's aiosmtpd on loopback,
// which keeps every mail). Amy forgot her password: "Forgot password?" mails her a link; it
// opens a page that sets a new one, the login screen says so, and only the new password works.
// The same link opened again is spent and offers to ask for a new one. A server that cannot
// send mail says to ask an admin instead. Where addresses must be confirmed, registering asks
// for one and ends with "check your inbox"; logging in first is refused with a button that
// mails the link again, and the link confirms the address so the login works.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, logIn, Server, withScreenshots } from './harness.mjs';
import { linkIn, MailSink } from './mail.mjs';

const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple the battery horse';
const RESET_LINK_SENT = 'If an account uses this address, we sent it a link (valid for one hour).';

let browser;
let mail;

before(async () => {
  browser = await launchBrowser();
  mail = await MailSink.start();
});

after(async () => {
  await browser?.close();
  await mail?.stop();
});

/** Registers through the UI with an email address, then logs out to the login screen. */
async function registerWithEmail(page, url, username, email) {
  await page.goto(url);
  await page.getByRole('tab', { name: 'Register' }).click();
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel(/^Email/).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(OLD_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Forgot password?' }).waitFor();
}

/** Asks for a reset link from the login screen. */
async function askForLink(page, email) {
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send link' }).click();
  await page.getByRole('status').filter({ hasText: RESET_LINK_SENT }).waitFor();
}

test('a mailed link sets a new password once; the spent link says so and offers another', async () => {
  const server = await Server.start(mail.serverEnv());
  try {
    await withScreenshots('password-reset', async (pages) => {
      const page = (pages.amy = await (await browser.newContext()).newPage());
      await registerWithEmail(page, server.url, 'amy', 'amy@chat.test');

      // An address nobody uses gets the same answer, and no mail.
      await askForLink(page, 'nobody@chat.test');
      await page.getByRole('button', { name: 'Back to login' }).click();

      await askForLink(page, 'amy@chat.test');
      const link = linkIn(await mail.nextMail('amy@chat.test'), '/reset-password');
      assert.equal(mail.mails.filter((m) => /nobody@chat\.test/.test(m)).length, 0, 'no mail to an unknown address');

      await page.goto(server.url + link);
      await page.getByRole('heading', { name: 'Set a new password' }).waitFor();
      // Checked here before anything is sent: the link stays good.
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Confirm new password').fill('staple the battery hose');
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByRole('alert').filter({ hasText: 'The new passwords do not match.' }).waitFor();
      // A weak password is refused by the server under its field.
      await page.getByLabel('New password', { exact: true }).fill('short');
      await page.getByLabel('Confirm new password').fill('short');
      await page.getByRole('button', { name: 'Set password' }).click();
      const weak = page.locator('#reset-new-password-error');
      await weak.waitFor();
      assert.match(await weak.textContent(), /8 to 128 characters/);

      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByRole('status').filter({ hasText: 'Password changed; log in.' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/', 'the login screen, on its own address');

      await page.getByLabel('Username or email').fill('amy');
      await page.getByLabel('Password', { exact: true }).fill(OLD_PASSWORD);
      await page.getByRole('button', { name: 'Log in', exact: true }).last().click();
      await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
      await logIn(page, 'amy@chat.test', NEW_PASSWORD);
      await page.getByRole('button', { name: 'Log out' }).click();

      // The link is spent.
      await page.goto(server.url + link);
      await page.getByLabel('New password', { exact: true }).fill('yet another password');
      await page.getByLabel('Confirm new password').fill('yet another password');
      await page.getByRole('button', { name: 'Set password' }).click();
      await page.getByRole('alert').filter({ hasText: 'This link was already used or has expired; ask for a new one.' }).waitFor();
      await page.getByRole('button', { name: 'Ask for a new link' }).click();
      await page.getByRole('button', { name: 'Send link' }).waitFor();
      await page.getByRole('button', { name: 'Back to login' }).click();
      await logIn(page, 'amy', NEW_PASSWORD);
    });
  } finally {
    await server.stop();
  }
});

test('where addresses must be confirmed, the mailed link lets a new account in', async () => {
  const server = await Server.start({ ...mail.serverEnv(), CROMULENT_AUTH_REQUIRE_EMAIL_VERIFICATION: 'true' });
  try {
    await withScreenshots('email-verification', async (pages) => {
      // The first account is the admin, who is never held back.
      const amy = (pages.amy = await (await browser.newContext()).newPage());
      await amy.goto(server.url);
      await amy.getByRole('tab', { name: 'Register' }).click();
      await amy.getByLabel('Username', { exact: true }).fill('amy');
      await amy.getByLabel('Email', { exact: true }).fill('amy@chat.test');
      await amy.getByLabel('Password', { exact: true }).fill(OLD_PASSWORD);
      await amy.getByRole('button', { name: 'Create account' }).click();
      await amy.getByRole('textbox', { name: /^Message #/ }).waitFor();

      const bob = (pages.bob = await (await browser.newContext()).newPage());
      await bob.goto(server.url);
      await bob.getByRole('tab', { name: 'Register' }).click();
      const email = bob.getByLabel('Email', { exact: true });
      assert.equal(await email.evaluate((input) => input.required), true, 'the address is required here');
      await bob.getByLabel('Username', { exact: true }).fill('bob');
      await email.fill('bob@chat.test');
      await bob.getByLabel('Password', { exact: true }).fill(OLD_PASSWORD);
      await bob.getByRole('button', { name: 'Create account' }).click();
      await bob.getByRole('status').filter({ hasText: 'Check your inbox: we sent a link to confirm your address.' }).waitFor();
      const first = linkIn(await mail.nextMail('bob@chat.test'), '/verify-email');

      // Logging in before confirming is refused, with a way to have the link sent again.
      await bob.getByRole('tab', { name: 'Log in' }).click();
      await bob.getByLabel('Username or email').fill('bob');
      await bob.getByLabel('Password', { exact: true }).fill(OLD_PASSWORD);
      await bob.getByRole('button', { name: 'Log in', exact: true }).last().click();
      await bob.getByRole('button', { name: 'Send the link again' }).waitFor();
      await bob.getByLabel('Your email address').fill('bob@chat.test');
      await bob.getByRole('button', { name: 'Send the link again' }).click();
      await bob.getByRole('status').filter({ hasText: 'We sent the link again; check your inbox.' }).waitFor();
      const again = linkIn(await mail.nextMail('bob@chat.test'), '/verify-email');
      assert.notEqual(again, first, 'a new link');

      await bob.goto(server.url + again);
      await bob.getByRole('status').filter({ hasText: 'Address confirmed; log in.' }).waitFor();
      await bob.getByRole('button', { name: 'Log in' }).click();
      await bob.getByRole('status').filter({ hasText: 'Address confirmed; log in.' }).waitFor();
      await logIn(bob, 'bob', OLD_PASSWORD);
      await bob.getByRole('button', { name: 'Log out' }).click();

      // A link that did its work says so when opened again.
      await bob.goto(server.url + again);
      await bob.getByRole('alert').filter({ hasText: 'This link was already used or has expired' }).waitFor();
    });
  } finally {
    await server.stop();
  }
});

test('a server that cannot send mail says to ask an admin', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('password-reset-no-mail', async (pages) => {
      const page = (pages.page = await browser.newPage());
      await page.goto(server.url);
      await page.getByRole('button', { name: 'Forgot password?' }).click();
      await page.getByText('This server cannot send email; ask an admin of this server to set a new password for you.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Send link' }).count(), 0);
      await page.getByRole('button', { name: 'Back to login' }).click();
      await page.getByLabel('Username or email').waitFor();
    });
  } finally {
    await server.stop();
  }
});
