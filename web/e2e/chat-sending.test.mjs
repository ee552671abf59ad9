// Browser tests of sending against the real server: a message sent while the server is down
// waits as pending and arrives once when it is back; a send whose answer is lost is settled by
// its event, or retried with its nonce when the event is lost too, and never shows twice; a
// double Enter sends once; a pending send is settled by the event carrying its nonce, not by the
// same text sent from another tab; rate-limited sends wait and keep their order; a refused send
// shows the server's reason and can be discarded.

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

/** Amy and Bob, registered and online; `prepare` gets Amy's page before it opens the app. */
async function twoPeople(server, pages, prepare = async () => {}) {
  const amyContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const amy = await amyContext.newPage();
  const bob = await bobContext.newPage();
  pages.amy = amy;
  pages.bob = bob;
  await prepare(amy);
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

test('a send whose answer was lost is shown once: settled by its event, or retried with its nonce when the event is lost too; a double Enter sends once', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('lost-answer', async (pages) => {
      // Amy's gateway frames pass through here, so that the test can hold them back.
      let toAmy = null;
      let held = null;
      const { amy, bob, close } = await twoPeople(server, pages, (page) =>
        page.routeWebSocket('**/api/v1/gateway', (ws) => {
          toAmy = ws;
          ws.connectToServer().onMessage((frame) => (held ? held.push(frame) : ws.send(frame)));
        }),
      );
      const sends = recordSends(amy);
      const statuses = [];
      amy.on('response', (response) => {
        if (response.request().method() === 'POST' && response.url().endsWith('/messages')) statuses.push(response.status());
      });
      // The next POST reaches the server, which posts the message and announces it; the
      // connection then drops before the answer gets back, as on a flaky network.
      let loseNext = false;
      let beforeLoss = async () => {};
      await amy.route('**/api/v1/channels/*/messages', async (route) => {
        if (route.request().method() !== 'POST' || !loseNext) return route.continue();
        loseNext = false;
        const answer = await route.fetch();
        statuses.push(answer.status());
        await beforeLoss();
        await route.abort('connectionreset');
      });

      // The event brings the message first: it settles the send, which is not sent again.
      const text = 'the answer to this one is lost';
      await watchCopies(amy, text);
      await watchCopies(bob, text);
      loseNext = true;
      beforeLoss = () => amy.locator('li.message:not(.pending)', { hasText: text }).waitFor();
      await say(amy, text);
      await messages(bob, text).waitFor();
      await amy.locator('li.message.pending').waitFor({ state: 'detached' });
      // Longer than the first retry's backoff (at most 500 ms).
      await amy.waitForTimeout(1_000);
      assert.deepEqual(statuses, [201]);
      assert.equal(sends.length, 1, 'a send its event settled is not sent again');
      assert.equal(await mostCopies(amy, text), 1, 'amy never saw it twice');
      assert.equal(await mostCopies(bob, text), 1, 'bob never saw it twice');
      assert.equal(await storedCopies(amy, server, text), 1);

      // Neither the answer nor the event gets through: the send is retried with its nonce, and
      // the server answers with the first message.
      const unheard = 'neither the answer nor the event of this one arrives';
      await watchCopies(amy, unheard);
      await watchCopies(bob, unheard);
      statuses.length = 0;
      held = [];
      loseNext = true;
      beforeLoss = async () => {};
      // The aborted attempt has no response in the page, so this is the retry's.
      const answered = amy.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/messages'));
      await say(amy, unheard);
      await messages(bob, unheard).waitFor();
      await answered;
      await amy.locator('li.message.pending').waitFor({ state: 'detached' });
      await messages(amy, unheard).waitFor();
      assert.deepEqual(statuses, [201, 200], 'the retry found the first message');
      const retries = sends.filter((s) => s.content === unheard);
      assert.equal(retries.length, 2);
      assert.equal(retries[0].nonce, retries[1].nonce);
      // The event comes after all, and changes nothing.
      const late = held;
      held = null;
      for (const frame of late) toAmy.send(frame);
      assert.ok(late.some((frame) => String(frame).includes(unheard)), 'the event was held back');
      await amy.waitForTimeout(300);
      assert.equal(await mostCopies(amy, unheard), 1, 'amy never saw it twice');
      assert.equal(await mostCopies(bob, unheard), 1, 'bob never saw it twice');
      assert.equal(await storedCopies(amy, server, unheard), 1);

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

test('a pending send is settled by the event with its nonce before the answer, not by the same text from another tab', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('nonce-two-tabs', async (pages) => {
      const { amy, bob, close } = await twoPeople(server, pages);
      // A second tab of amy's, signed in by the same cookie.
      const tab = await amy.context().newPage();
      pages.tab = tab;
      await tab.goto(server.url);
      await tab.getByRole('textbox', { name: /^Message #/ }).waitFor();
      const text = 'the same words from two tabs';
      for (const page of [amy, tab, bob]) await watchCopies(page, text);
      const sends = recordSends(amy);

      // Amy's first tab holds its send before it reaches the server, then holds the answer.
      let releaseRequest;
      let releaseAnswer;
      const requestHeld = new Promise((done) => (releaseRequest = done));
      const answerHeld = new Promise((done) => (releaseAnswer = done));
      await amy.route('**/api/v1/channels/*/messages', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        await requestHeld;
        const answer = await route.fetch();
        await answerHeld;
        await route.fulfill({ response: answer });
      });
      const posted = (page) => page.locator('li.message:not(.pending)', { hasText: text });

      await say(amy, text);
      const pending = amy.getByRole('listitem', { name: `amy: ${text} (sending)` });
      await pending.waitFor();
      // The same words from the other tab: amy's own message, but not the copy of this send.
      await say(tab, text);
      await posted(amy).waitFor();
      assert.ok(await pending.isVisible(), 'the send is still pending beside the other tab\'s message');
      assert.equal(await messages(amy, text).count(), 2);

      // The send reaches the server; its event settles it while the answer is still held.
      releaseRequest();
      await pending.waitFor({ state: 'detached' });
      assert.equal(await posted(amy).count(), 2);
      const answered = amy.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/messages'));
      releaseAnswer();
      await answered;
      await posted(tab).nth(1).waitFor();
      await posted(bob).nth(1).waitFor();
      // Time for a duplicate to show up, had the answer added one.
      await amy.waitForTimeout(300);
      for (const page of [amy, tab, bob]) {
        assert.equal(await messages(page, text).count(), 2);
        assert.equal(await mostCopies(page, text), 2, 'never three copies');
      }
      assert.equal(sends.length, 1);
      assert.equal(await storedCopies(amy, server, text), 2);
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
