// Browser tests: two people in two browser contexts against the real server.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, messages, register, say, Server, withScreenshots } from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function twoPeople(server, pages) {
  const amyContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const amy = await amyContext.newPage();
  const bob = await bobContext.newPage();
  pages.amy = amy;
  pages.bob = bob;
  await register(amy, server.url, 'amy');
  await register(bob, server.url, 'bob');
  return { amy, bob, close: () => Promise.all([amyContext.close(), bobContext.close()]) };
}

test('registration errors appear next to the field', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('registration-errors', async (pages) => {
      const page = await browser.newPage();
      pages.page = page;
      await page.goto(server.url);
      await page.getByRole('tab', { name: 'Register' }).click();
      await page.getByLabel('Username', { exact: true }).fill('x');
      await page.getByLabel('Password').fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      const usernameError = page.locator('#username-error');
      await usernameError.waitFor();
      assert.match(await usernameError.textContent(), /2 to 32 characters/);
      assert.equal(await page.getByLabel('Username', { exact: true }).getAttribute('aria-invalid'), 'true');
      await page.getByLabel('Username', { exact: true }).fill('valid_name');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.locator('#password-error').waitFor();

      await page.getByLabel('Password').fill('a good password');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('button', { name: 'Log in' }).last().waitFor();
      const me = await page.request.get(`${server.url}/api/v1/users/@me`);
      assert.equal(me.status(), 401, 'logging out ends the session');
      await page.getByLabel('Username or email').fill('VALID_NAME');
      await page.getByLabel('Password').fill('wrong password');
      await page.getByRole('button', { name: 'Log in' }).last().click();
      await page.getByText('Wrong username or password.').waitFor();
      await page.getByLabel('Password').fill('a good password');
      await page.getByRole('button', { name: 'Log in' }).last().click();
      await page.getByRole('textbox', { name: 'Message #general' }).waitFor();
      await page.close();
    });
  } finally {
    await server.stop();
  }
});

test('two people chat live, see typing and presence, edit and delete', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('chat', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);

      const online = (page) => page.getByRole('list', { name: 'Online members' });
      await online(amy).getByText('bob').waitFor();
      await online(bob).getByText('amy').waitFor();

      const composer = amy.getByRole('textbox', { name: /^Message #/ });
      await composer.fill('first line');
      await composer.press('Shift+Enter');
      await composer.pressSequentially('second line');
      await composer.press('Enter');
      const twoLines = messages(bob, 'first line');
      await twoLines.waitFor();
      assert.match(await twoLines.locator('.markdown').innerText(), /first line\nsecond line/, 'Shift+Enter adds a line');

      await say(amy, 'hello **bob**');
      await messages(bob, 'hello bob').waitFor();
      assert.equal(await messages(bob, 'hello bob').locator('strong', { hasText: 'bob' }).count(), 1, 'markdown is rendered');
      await say(bob, 'hi amy <script>window.pwned = 1</script>');
      await messages(amy, 'hi amy').waitFor();
      assert.equal(await amy.evaluate(() => window.pwned), undefined, 'no script from a message runs');
      assert.equal(await messages(amy, 'hi amy').locator('script').count(), 0);

      await bob.getByRole('textbox', { name: /^Message #/ }).pressSequentially('typing slowly', { delay: 20 });
      await amy.locator('.typing', { hasText: 'bob is typing…' }).waitFor();
      await bob.getByRole('textbox', { name: /^Message #/ }).press('Enter');
      await amy.locator('.typing', { hasText: 'bob is typing…' }).waitFor({ state: 'detached' }).catch(() => {});
      await messages(amy, 'typing slowly').waitFor();
      assert.equal(await amy.locator('.typing').textContent(), '', 'the indicator clears when the message arrives');

      const mine = messages(amy, 'hello bob');
      await mine.hover();
      await mine.getByRole('button', { name: 'Edit message' }).click();
      const editor = amy.getByRole('textbox', { name: 'Edit message' });
      await editor.fill('hello again, bob');
      await editor.press('Enter');
      await messages(bob, 'hello again, bob').locator('.edited').waitFor();

      amy.once('dialog', (dialog) => dialog.accept());
      const edited = messages(amy, 'hello again, bob');
      await edited.hover();
      await edited.getByRole('button', { name: 'Delete message' }).click();
      await messages(bob, 'hello again, bob').waitFor({ state: 'detached' });

      const theirs = messages(bob, 'typing slowly');
      await theirs.hover();
      assert.equal(await theirs.getByRole('button', { name: 'Edit message' }).count(), 1);
      const other = messages(bob, 'hi amy');
      assert.equal(await other.getByRole('button', { name: 'Edit message' }).count(), 0, 'only your own messages are editable');

      await bob.context().close();
      await online(amy).getByText('bob').waitFor({ state: 'detached' });
      await amy.getByRole('list', { name: 'Offline members' }).getByText('bob').waitFor();
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('a private channel is invisible to a non-member', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('private-channel', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      assert.equal(await bob.getByRole('button', { name: 'Create text channel' }).count(), 0, 'members get no admin controls');
      await amy.getByRole('button', { name: 'Create text channel' }).click();
      const dialog = amy.getByRole('dialog', { name: 'Create channel' });
      await dialog.getByLabel('Name').fill('staff-room');
      await dialog.getByLabel(/Private/).check();
      await dialog.getByRole('button', { name: 'Create' }).click();
      const staffRoom = amy.getByRole('link', { name: /staff-room/ });
      await staffRoom.click();
      await say(amy, 'secret plans');
      await messages(amy, 'secret plans').waitFor();

      await say(bob, 'anyone here?');
      await messages(amy, 'anyone here?').count();
      await bob.reload();
      await bob.getByRole('link', { name: /general/ }).waitFor();
      assert.equal(await bob.getByRole('link', { name: /staff-room/ }).count(), 0);
      const response = await bob.request.get(`${server.url}/api/v1/channels`);
      const channels = await response.json();
      assert.ok(!channels.some((c) => c.name === 'staff-room'));
      assert.equal(await messages(bob, 'secret plans').count(), 0);
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('history survives a restart and the UI recovers from one mid-session', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('restart', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      await say(amy, 'before the restart');
      await messages(bob, 'before the restart').waitFor();

      await server.restart();
      await amy.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor({ state: 'detached', timeout: 20_000 });
      await bob.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor({ state: 'detached', timeout: 20_000 });

      await say(bob, 'after the restart');
      await messages(amy, 'after the restart').waitFor();
      assert.equal(await messages(amy, 'before the restart').count(), 1, 'history is there once, not duplicated');
      assert.equal(await messages(amy, 'after the restart').count(), 1);

      await amy.reload();
      await messages(amy, 'before the restart').waitFor();
      await messages(amy, 'after the restart').waitFor();
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('the banner shows while the server is down', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('banner', async (pages) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      pages.page = page;
      await register(page, server.url, 'carol');
      await server.stop();
      await page.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
      await server.launch();
      await page.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor({ state: 'detached', timeout: 20_000 });
      await say(page, 'back online');
      await messages(page, 'back online').waitFor();
      await context.close();
    });
  } finally {
    await server.stop();
  }
});

test('scrolling up loads older pages in place; jump to present; unread channels are bold', async () => {
  // 120 messages posted at once would meet the per-user rate limit.
  const server = await Server.start({ CROMULENT_CHAT_MESSAGE_BURST: '1000' });
  try {
    await withScreenshots('history', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      const channels = await (await amy.request.get(`${server.url}/api/v1/channels`)).json();
      const general = channels.find((c) => c.name === 'general').id;
      for (let n = 1; n <= 120; n++) {
        const response = await amy.request.post(`${server.url}/api/v1/channels/${general}/messages`, {
          data: { content: `numbered message ${String(n).padStart(3, '0')}` },
          headers: { Origin: server.url },
        });
        assert.equal(response.status(), 201);
      }
      await bob.reload();
      await messages(bob, 'numbered message 120').waitFor();
      assert.equal(await messages(bob, 'numbered message 070').count(), 0, 'only the latest page is loaded at first');

      const log = bob.getByRole('log', { name: 'Messages' });
      await log.evaluate((el) => (el.scrollTop = 0));
      await messages(bob, 'numbered message 070').waitFor({ state: 'attached' });
      // What the reader saw at the top (071, the oldest loaded) stays at the top: without
      // anchoring, 50 prepended messages would push it far below the visible area.
      const box = await log.boundingBox();
      const anchor = await messages(bob, 'numbered message 071').boundingBox();
      assert.ok(anchor.y >= box.y - 60 && anchor.y < box.y + 300, `the view stayed put (anchor at ${anchor.y}, log at ${box.y})`);
      await bob.getByRole('button', { name: 'Jump to present' }).click();
      await bob.getByRole('button', { name: 'Jump to present' }).waitFor({ state: 'detached' });
      assert.ok(await messages(bob, 'numbered message 120').isVisible());
      await log.evaluate((el) => (el.scrollTop = 0));
      await messages(bob, 'numbered message 001').waitFor({ state: 'attached' });
      await bob.getByText('This is the beginning of the channel.').waitFor();

      await amy.getByRole('button', { name: 'Create text channel' }).click();
      const dialog = amy.getByRole('dialog', { name: 'Create channel' });
      await dialog.getByLabel('Name').fill('random');
      await dialog.getByRole('button', { name: 'Create' }).click();
      const randomLink = (page) => page.getByRole('link', { name: /random/ });
      await randomLink(bob).waitFor();
      await randomLink(amy).click();
      await say(amy, 'over here');
      await bob.waitForFunction(() => document.querySelector('a.channel.unread')?.textContent?.includes('random'));
      await randomLink(bob).click();
      await messages(bob, 'over here').waitFor();
      assert.equal(await bob.locator('a.channel.unread').count(), 0, 'opening the channel clears unread');
      await close();
    });
  } finally {
    await server.stop();
  }
});
