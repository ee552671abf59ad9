// Browser tests of the server settings against the real server: registration by invite link
// while a stranger without a code is refused; a ban that shows the member the "disabled" screen
// at once and removes their last hour of messages; a timeout that closes the member's composer
// at once and opens it again when it is removed or runs out; a promotion and a demotion that
// show and take away the settings live; a member who finds nothing admin, by button, address or
// history, but sees an admin's channel rules (admins-only posting, slow mode) live; and the
// Voice & relay tab, whose Save & Test refuses to save a coturn nobody runs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freeUdpPort, launchBrowser, messages, openSettings, personRow, register, say, Server, withScreenshots } from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const PASSWORD = 'correct horse battery';

/** A fresh browser context and page, registered as `pages[name]` for failure screenshots. */
async function newPage(pages, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  pages[name] = page;
  return page;
}

/** Amy (the first account, so the admin) and Bob (a member), both with the app open. */
async function adminAndMember(server, pages) {
  const amy = await newPage(pages, 'amy');
  const bob = await newPage(pages, 'bob');
  await register(amy, server.url, 'amy');
  await register(bob, server.url, 'bob');
  return { amy, bob, close: () => Promise.all([amy.context().close(), bob.context().close()]) };
}

const composer = (page) => page.getByRole('textbox', { name: /^Message #/ });

/** Fills the registration form (on whatever page is open) and submits it. */
async function submitRegistration(page, username) {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
}

test('registration by invite: the link fills in the code, a stranger without one is refused', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-invite', async (pages) => {
      const amy = await newPage(pages, 'amy');
      await register(amy, server.url, 'amy');
      await openSettings(amy, 'Invites & registration');
      const saved = amy.waitForResponse((r) => r.url().endsWith('/api/v1/settings') && r.request().method() === 'PATCH');
      await amy.getByLabel('Only people with an invite').check();
      assert.equal((await (await saved).json()).registration, 'invite');

      const form = amy.getByRole('form', { name: 'Create invite' });
      await form.getByLabel('Max uses').fill('1');
      await form.getByRole('button', { name: 'Create invite' }).click();
      const link = amy.getByRole('textbox', { name: 'Invite link' });
      await link.waitFor();
      const url = await link.inputValue();
      const code = /\/invite\/([A-Za-z0-9_-]+)$/.exec(url)?.[1];
      assert.ok(code, `the invite link ends in its code: ${url}`);
      assert.ok(url.startsWith(server.url), `the link names the address the admin used: ${url}`);
      await amy.getByRole('listitem', { name: `Invite ${code}` }).getByText('0 / 1 uses').waitFor();

      const stranger = await newPage(pages, 'stranger');
      await stranger.goto(server.url);
      await stranger.getByRole('tab', { name: 'Register' }).click();
      await submitRegistration(stranger, 'stranger');
      const refusal = stranger.locator('#invite-error');
      await refusal.waitFor();
      assert.match(await refusal.textContent(), /invite is not valid/);
      assert.equal(await composer(stranger).count(), 0, 'no chat without an invite');

      const newbie = await newPage(pages, 'newbie');
      await newbie.goto(url);
      assert.equal(await newbie.getByRole('tab', { name: 'Register' }).getAttribute('aria-selected'), 'true', 'the link opens registration');
      assert.equal(await newbie.getByLabel('Invite code').inputValue(), code, 'with the code filled in');
      await submitRegistration(newbie, 'newbie');
      await composer(newbie).waitFor();
      await newbie.waitForURL(/\/channels\/\d+$/);
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await amy.getByRole('list', { name: 'Online members' }).getByText('newbie').waitFor();

      // The invite allowed one registration: the same link now fails, next to the form.
      const late = await newPage(pages, 'late');
      await late.goto(url);
      await submitRegistration(late, 'latecomer');
      await late.locator('#invite-error').waitFor();
      assert.equal(await composer(late).count(), 0);
      await Promise.all([amy, stranger, newbie, late].map((page) => page.context().close()));
    });
  } finally {
    await server.stop();
  }
});

test('a ban shows the member the disabled screen at once and deletes their last hour of messages', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-ban', async (pages) => {
      const { amy, bob, close } = await adminAndMember(server, pages);
      await say(amy, 'welcome, bob');
      await say(bob, 'buy cheap watches');
      await say(bob, 'really cheap watches');
      await messages(amy, 'really cheap watches').waitFor();

      await openSettings(amy, 'People');
      await personRow(amy, 'bob').getByRole('button', { name: 'Ban' }).click();
      const dialog = amy.getByRole('dialog', { name: 'Ban bob' });
      await dialog.getByLabel('Reason').fill('spam');
      await dialog.getByLabel(/Delete messages from the last N hours/).fill('1');
      await dialog.getByRole('button', { name: 'Ban' }).click();
      await personRow(amy, 'bob').getByText('banned').waitFor();

      await bob.getByText('An admin disabled your account.').waitFor();
      assert.equal(await composer(bob).count(), 0, 'the chat is gone from the banned member');

      // Demoting the only admin is refused, with the server's sentence on that row.
      await personRow(amy, 'amy').getByRole('button', { name: 'Demote' }).click();
      await personRow(amy, 'amy').getByRole('alert').filter({ hasText: 'The server must keep at least one enabled admin.' }).waitFor();

      await amy.getByRole('tab', { name: 'Audit log' }).click();
      const entry = amy.locator('tr[data-action="user.disable"]');
      await entry.waitFor();
      const cells = await entry.locator('td').allTextContents();
      assert.deepEqual(cells.slice(1, 5), ['amy', 'banned', 'bob', 'spam']);
      assert.match(cells[5], /deleted 2 messages of the last 1 h/);

      await amy.getByRole('button', { name: 'Close settings' }).click();
      await messages(amy, 'welcome, bob').waitFor();
      assert.equal(await messages(amy, 'cheap watches').count(), 0, "the member's recent messages are deleted");

      await bob.getByRole('button', { name: 'Back to login' }).click();
      await bob.getByLabel('Username or email').fill('bob');
      await bob.getByLabel('Password').fill(PASSWORD);
      await bob.getByRole('button', { name: 'Log in' }).last().click();
      await bob.getByRole('alert').filter({ hasText: 'An admin disabled your account.' }).waitFor();
      await close();
    });
  } finally {
    await server.stop();
  }
});

test("a timeout closes the member's composer at once, without a post, and opens it again live when lifted or over", async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-timeout', async (pages) => {
      const { amy, bob, close } = await adminAndMember(server, pages);
      await openSettings(amy, 'People');
      await personRow(amy, 'bob').getByRole('button', { name: 'Timeout' }).click();
      const dialog = amy.getByRole('dialog', { name: 'Time out bob' });
      await dialog.getByLabel('Duration').selectOption({ label: '5 minutes' });
      await dialog.getByLabel('Reason').fill('cool off');
      await dialog.getByRole('button', { name: 'Time out' }).click();
      await personRow(amy, 'bob').getByText(/timed out until/).waitFor();

      // Bob has not posted or typed: the server's timeout_update closes his composer by itself.
      const notice = bob.locator('.composer-notice');
      await notice.filter({ hasText: /^You are timed out until .+/ }).waitFor();
      assert.equal(await composer(bob).isDisabled(), true, 'the composer is closed while the timeout runs');
      assert.equal(await bob.getByRole('button', { name: 'Check again' }).count(), 0, 'nothing to check: the server says when it ends');
      assert.equal(await bob.locator('li.message.pending').count(), 0, 'nothing was posted to learn of it');

      const channels = await (await bob.request.get(`${server.url}/api/v1/channels`)).json();
      const general = channels.find((c) => c.name === 'general').id;
      const refused = await bob.request.post(`${server.url}/api/v1/channels/${general}/messages`, {
        data: { content: 'sneaking one in' },
        headers: { Origin: server.url },
      });
      assert.equal(refused.status(), 403);
      assert.equal((await refused.json()).error.code, 'timed_out');
      const stored = await (await amy.request.get(`${server.url}/api/v1/channels/${general}/messages`)).json();
      assert.ok(!stored.some((m) => m.author.username === 'bob'), 'nothing of the member was posted');

      // A page opened during the timeout knows of it from the start (ready's timeout_until).
      await bob.reload();
      await notice.filter({ hasText: /^You are timed out until .+/ }).waitFor();
      assert.equal(await composer(bob).isDisabled(), true);

      // The admin lifts it: the composer opens again live, without a click or a reload.
      await personRow(amy, 'bob').getByRole('button', { name: 'Remove timeout' }).click();
      await personRow(amy, 'bob').getByRole('button', { name: 'Timeout' }).waitFor();
      await notice.waitFor({ state: 'detached' });
      assert.equal(await composer(bob).isDisabled(), false);
      await say(bob, 'sorry, I will behave');
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await messages(amy, 'sorry, I will behave').waitFor();

      // A short timeout (set through the API: the dialog's shortest is a minute) closes the
      // composer and opens it again by itself when it runs out, with no event from the server.
      const users = await (await amy.request.get(`${server.url}/api/v1/admin/users`)).json();
      const bobId = users.find((u) => u.username === 'bob').id;
      const until = Date.now() + 3_000;
      const timedOut = await amy.request.post(`${server.url}/api/v1/admin/users/${bobId}/timeout`, { data: { until }, headers: { Origin: server.url } });
      assert.equal(timedOut.status(), 200);
      await notice.filter({ hasText: /^You are timed out until .+/ }).waitFor();
      await notice.waitFor({ state: 'detached', timeout: 10_000 });
      assert.ok(Date.now() >= until - 500, 'the composer stayed closed until the timeout ended');
      assert.equal(await composer(bob).isDisabled(), false);
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('promoting a member gives them the server settings at once, demoting takes them away', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-role-change', async (pages) => {
      const { amy, bob, close } = await adminAndMember(server, pages);
      const settingsButton = bob.getByRole('button', { name: 'Server settings' });
      assert.equal(await settingsButton.count(), 0);
      await openSettings(amy, 'People');
      await personRow(amy, 'bob').getByRole('button', { name: 'Promote' }).click();
      await personRow(amy, 'bob').getByRole('button', { name: 'Demote' }).waitFor();
      // The server closes bob's gateway with 4014; his client identifies afresh and gets the new rights.
      await settingsButton.waitFor();
      await bob.locator('.user-panel').getByText('admin', { exact: true }).waitFor();
      await settingsButton.click();
      await bob.getByRole('tab', { name: 'People' }).waitFor();

      await personRow(amy, 'bob').getByRole('button', { name: 'Demote' }).click();
      await personRow(amy, 'bob').getByRole('button', { name: 'Promote' }).waitFor();
      // The settings he had open give way to the chat, and the button goes.
      await composer(bob).waitFor();
      await settingsButton.waitFor({ state: 'detached' });
      assert.equal(await bob.getByRole('tab', { name: 'People' }).count(), 0);
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('a member finds nothing admin but sees the channel rules an admin sets, live', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-member', async (pages) => {
      const { amy, bob, close } = await adminAndMember(server, pages);
      assert.equal(await amy.getByRole('button', { name: 'Server settings' }).count(), 1);
      assert.equal(await bob.getByRole('button', { name: 'Server settings' }).count(), 0, 'members get no settings button');

      await bob.goto(`${server.url}/settings/people`);
      await composer(bob).waitFor();
      await bob.waitForURL(/\/channels\/\d+$/);
      assert.equal(await bob.getByRole('tablist').count(), 0, 'the settings address shows a member the chat');
      await bob.evaluate(() => {
        history.pushState(null, '', '/settings/audit');
        dispatchEvent(new PopStateEvent('popstate'));
      });
      await bob.waitForURL(/\/channels\/\d+$/);
      assert.equal(await bob.getByRole('heading', { name: 'Server settings' }).count(), 0, 'nor does a history entry');
      assert.equal(await bob.getByRole('tab', { name: 'People' }).count(), 0);
      assert.equal((await bob.request.get(`${server.url}/api/v1/admin/users`)).status(), 403);

      await openSettings(amy, 'Channels');
      const general = amy.getByRole('listitem', { name: '#general' });
      await general.getByLabel('Only admins can post').check();
      await bob.locator('.composer-notice').filter({ hasText: 'Only admins can post in this channel' }).waitFor();
      assert.equal(await composer(bob).isDisabled(), true, 'members cannot post in an admins-only channel');
      await general.getByLabel('Only admins can post').uncheck();
      await bob.locator('.composer-notice').waitFor({ state: 'detached' });
      await general.getByLabel('Slow mode').selectOption({ label: '10 s' });
      await bob.getByText('Slow mode is on: one message every 10 s.').waitFor();

      await say(bob, 'first post');
      await bob.locator('.composer-notice').filter({ hasText: /^Slow mode: you can post again in (10|9|8) s$/ }).waitFor();
      await say(bob, 'too soon');
      assert.equal(await composer(bob).inputValue(), 'too soon', 'the text waits in the box');
      assert.equal(await messages(bob, 'too soon').count(), 0, 'nothing is sent during the countdown');
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await messages(amy, 'first post').waitFor();
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('Voice & relay: the built-in relay tests fine, a coturn nobody runs fails its test and is not saved', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('admin-voice-relay', async (pages) => {
      const amy = await newPage(pages, 'amy');
      await register(amy, server.url, 'amy');
      await openSettings(amy, 'Voice & relay');
      await amy.waitForURL(/\/settings\/voice$/);
      const form = amy.getByRole('form', { name: 'TURN provider' });
      const provider = form.getByLabel('Provider');
      assert.equal(await provider.inputValue(), 'builtin', 'the server runs the built-in relay');
      assert.equal(await amy.getByLabel('Voice channels').isChecked(), true);
      assert.equal(await amy.getByLabel("Force relay (hide everyone's IP address)").isChecked(), false);
      const patches = [];
      amy.on('request', (r) => r.method() === 'PATCH' && r.url().endsWith('/api/v1/settings') && patches.push(r.postData()));

      // Test only: every server the built-in relay hands out answers.
      const tested = amy.waitForResponse((r) => r.url().endsWith('/api/v1/admin/ice/test'));
      await form.getByRole('button', { name: 'Test', exact: true }).click();
      const report = await (await tested).json();
      assert.equal(report.ok, true, JSON.stringify(report));
      await form.getByText('Every check passed.').waitFor();
      const checks = form.getByRole('list', { name: 'Checks' }).getByRole('listitem');
      assert.ok((await checks.count()) > 0, 'the checks are listed');
      assert.equal(await checks.count(), report.checks.length);
      for (const check of report.checks) {
        await form.getByRole('listitem', { name: check.name, exact: true }).getByText('ok', { exact: true }).waitFor();
      }

      // A coturn on a loopback UDP port nobody listens on: the test names the failure and nothing is saved.
      const port = await freeUdpPort();
      const url = `turn:127.0.0.1:${port}?transport=udp`;
      await provider.selectOption({ label: 'coturn' });
      await form.getByLabel('TURN URLs (one per line)').fill(`  ${url}  \n`);
      await form.getByLabel('Shared secret').fill('not-the-secret');
      const failed = amy.waitForResponse((r) => r.url().endsWith('/api/v1/admin/ice/test'), { timeout: 30_000 });
      await form.getByRole('button', { name: 'Save & Test' }).click();
      const failure = await (await failed).json();
      assert.equal(failure.ok, false, JSON.stringify(failure));
      const turnCheck = failure.checks.find((check) => check.name === url);
      assert.ok(turnCheck && !turnCheck.ok && turnCheck.hint, `the TURN URL is a failed check with a hint: ${JSON.stringify(failure)}`);
      await form.getByText('Some checks failed.').waitFor();
      const row = form.getByRole('listitem', { name: url, exact: true });
      await row.getByText('failed', { exact: true }).waitFor();
      await row.getByText(turnCheck.hint, { exact: true }).waitFor();
      assert.match(turnCheck.hint, new RegExp(`Port unreachable or blocked.*127\\.0\\.0\\.1:${port}`));
      await form.getByRole('button', { name: 'Save anyway' }).waitFor();
      await form.getByText('Not saved: fix what failed, or save anyway.').waitFor();

      assert.deepEqual(patches, [], 'Save & Test saved nothing');
      const settings = await (await amy.request.get(`${server.url}/api/v1/settings`)).json();
      assert.equal(settings.ice.provider, 'builtin', 'the settings still say built-in');
      assert.equal(settings.ice.secret_set, false);
      await amy.reload();
      assert.equal(await amy.getByRole('form', { name: 'TURN provider' }).getByLabel('Provider').inputValue(), 'builtin', 'and so does the tab after a reload');
      await amy.context().close();
    });
  } finally {
    await server.stop();
  }
});
