// Browser tests of sending against the real server: a message sent while the server is down
// waits as pending and arrives once when it is back; a send whose answer is lost is retried
// with its nonce and never shows twice; a double Enter sends once; rate-limited sends wait and
// keep their order; a refused send shows the server's reason and can be discarded.

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
  await bob.getByRole('list', { name: 'Online members' }).getByText('amy').waitFor();
  return { amy, bob, close: () => Promise.all([amyContext.close(), bobContext.close()]) };
}

/** Records the nonce of every message POST the page makes, whatever became of it. */
function recordSends(page) {
  const sends = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/api\/v1\/channels\/\d+\/messages$/.test(request.url())) sends.push(request.postDataJSON());
  });
  return sends;
}

/** From now on, keeps the largest number of list items showing `text` at once, pending or not:
 * a copy that flashed up for one render counts too. */
async function watchCopies(page, text) {
  await page.evaluate((text) => {
    window.__copies ??= {};
    const count = () => [...document.querySelectorAll('li.message')].filter((li) => li.textContent.includes(text)).length;
    window.__copies[text] = count();
    new MutationObserver(() => (window.__copies[text] = Math.max(window.__copies[text], count()))).observe(document.body, {
      childList: true,
      subtree: true,
      characterData: true,
    });
  }, text);
}

const mostCopies = (page, text) => page.evaluate((text) => window.__copies[text], text);

/** How many messages of the channel the server holds with exactly this content. */
async function storedCopies(page, server, content) {
  const channels = await (await page.request.get(`${server.url}/api/v1/channels`)).json();
  const general = channels.find((c) => c.name === 'general').id;
  const stored = await (await page.request.get(`${server.url}/api/v1/channels/${general}/messages?limit=100`)).json();
  return stored.filter((m) => m.content === content).length;
}

test('a message sent while the server is down waits as pending and arrives once for both', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('send-while-down', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      const text = 'sent while the server was down';
      await watchCopies(amy, text);
      await watchCopies(bob, text);
      const sends = recordSends(amy);

      await server.stop();
      await amy.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
      await say(amy, text);
      const pending = amy.getByRole('listitem', { name: `amy: ${text} (sending)` });
      await pending.waitFor();
      assert.match(await pending.innerText(), /Sending…/);
      assert.equal(await amy.getByRole('textbox', { name: /^Message #/ }).inputValue(), '', 'the composer is free for the next message');
      // Attempts fail while the server is away; the message stays pending through them.
      const deadline = Date.now() + 10_000;
      while (sends.length < 2) {
        assert.ok(Date.now() < deadline, 'the client retries while the server is down');
        await amy.waitForTimeout(50);
      }
      assert.ok(await pending.isVisible(), 'still pending after failed attempts');

      await server.launch();
      await messages(bob, text).waitFor({ timeout: 20_000 });
      await pending.waitFor({ state: 'detached', timeout: 20_000 });
      await messages(amy, text).waitFor();
      assert.equal(await messages(amy, text).count(), 1);
      assert.equal(await messages(bob, text).count(), 1);
      assert.equal(await mostCopies(amy, text), 1, 'amy never saw it twice');
      assert.equal(await mostCopies(bob, text), 1, 'bob never saw it twice');
      assert.equal(new Set(sends.map((s) => s.nonce)).size, 1, 'every attempt carried the same nonce');
      assert.equal(await storedCopies(amy, server, text), 1, 'the server holds it once');
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('a send whose answer was lost is retried with its nonce and shown once; a double Enter sends once', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('lost-answer', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      const text = 'the answer to this one is lost';
      await watchCopies(amy, text);
      await watchCopies(bob, text);
      const sends = recordSends(amy);
      const statuses = [];
      amy.on('response', (response) => {
        if (response.request().method() === 'POST' && response.url().endsWith('/messages')) statuses.push(response.status());
      });
      // The first POST reaches the server, which posts the message and announces it; the
      // connection then drops before the answer gets back, as on a flaky network.
      let lost = false;
      await amy.route('**/api/v1/channels/*/messages', async (route) => {
        if (route.request().method() !== 'POST' || lost) return route.continue();
        lost = true;
        const answer = await route.fetch();
        statuses.push(answer.status());
        await route.abort('connectionreset');
      });

      // The aborted attempt has no response in the page, so this is the retry's.
      const answered = amy.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/messages'));
      await say(amy, text);
      await messages(bob, text).waitFor();
      await answered;
      await amy.locator('li.message.pending').waitFor({ state: 'detached' });
      await messages(amy, text).waitFor();
      assert.deepEqual(statuses, [201, 200], 'the retry found the first message');
      assert.equal(sends.length, 2);
      assert.equal(sends[0].nonce, sends[1].nonce);
      assert.equal(await mostCopies(amy, text), 1, 'amy never saw it twice');
      assert.equal(await mostCopies(bob, text), 1, 'bob never saw it twice');
      assert.equal(await storedCopies(amy, server, text), 1);

      const twice = 'enter pressed twice';
      await watchCopies(amy, twice);
      const composer = amy.getByRole('textbox', { name: /^Message #/ });
      await composer.fill(twice);
      // Both key presses land before the composer re-renders.
      await composer.evaluate((box) => {
        for (let i = 0; i < 2; i++) box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      });
      await messages(bob, twice).waitFor();
      await amy.locator('li.message.pending').waitFor({ state: 'detached' });
      // Time for a second send to show up, had the second Enter made one.
      await amy.waitForTimeout(300);
      assert.equal(sends.filter((s) => s.content === twice).length, 1, 'one send');
      assert.equal(await mostCopies(amy, twice), 1);
      assert.equal(await storedCopies(amy, server, twice), 1);
      await close();
    });
  } finally {
    await server.stop();
  }
});

test('rate-limited sends wait as pending and arrive in order; a refused one can be discarded', async () => {
  const server = await Server.start({ CROMULENT_CHAT_MESSAGE_BURST: '2', CROMULENT_CHAT_MESSAGES_PER_10S: '10' });
  try {
    await withScreenshots('rate-limited', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      const statuses = [];
      amy.on('response', (response) => {
        if (response.request().method() === 'POST' && response.url().endsWith('/messages')) statuses.push(response.status());
      });
      for (let n = 1; n <= 4; n++) await say(amy, `burst ${n}`);
      // Two go through at once; the third waits out Retry-After, and the fourth behind it.
      await amy.getByRole('listitem', { name: 'amy: burst 4 (sending)' }).waitFor();
      await messages(bob, 'burst 4').waitFor({ timeout: 10_000 });
      await amy.locator('li.message.pending').waitFor({ state: 'detached' });
      assert.ok(statuses.includes(429), `the server limited the burst (${statuses})`);
      const order = (page) => page.locator('li.message', { hasText: 'burst' }).locator('.markdown').allInnerTexts();
      assert.deepEqual(await order(bob), ['burst 1', 'burst 2', 'burst 3', 'burst 4']);
      assert.deepEqual(await order(amy), ['burst 1', 'burst 2', 'burst 3', 'burst 4']);

      const tooLong = 'long '.repeat(801);
      await say(amy, tooLong);
      const failed = amy.getByRole('listitem', { name: /\(not sent\)$/ });
      await failed.getByRole('alert').filter({ hasText: 'Messages are at most 4000 characters long.' }).waitFor();
      await failed.getByRole('button', { name: 'Discard message' }).click();
      await failed.waitFor({ state: 'detached' });
      assert.equal(await messages(bob, 'long long').count(), 0);
      await close();
    });
  } finally {
    await server.stop();
  }
});
