// Preferences follow the user from device to device. Amy changes them on her laptop (browser
// contexts stand in for devices): push-to-talk on B, input sensitivity 80, the light theme and
// no message sound. Her desktop, already open, applies each at once (preferences_update): the
// voice settings show what its voice engine took, the page turns light, and a new message in a
// channel that is not open no longer plays the sound it played before. A phone that logs in
// afterwards starts with all of them. The microphone and speaker stay per browser.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, logIn, openMySettings, register, say, Server, withScreenshots } from './harness.mjs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** A page in a context of its own that counts the sounds it plays in `window.__sounds` (each
 * message sound starts oscillators; nothing else in the app does). */
async function device(pages, name) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    window.__sounds = 0;
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      window.__sounds++;
      return start.apply(this, args);
    };
  });
  const page = await context.newPage();
  pages[name] = page;
  return page;
}

const sounds = (page) => page.evaluate(() => window.__sounds);
const theme = (page) => page.evaluate(() => document.documentElement.dataset.theme ?? null);
const channelLink = (page, name) => page.getByRole('link', { name: new RegExp(name) });
const unread = (page, name) => page.waitForFunction((name) => [...document.querySelectorAll('a.channel.unread')].some((a) => a.textContent.includes(name)), name);

/** What Settings → Voice & audio, Appearance and Notifications show. */
async function shownPreferences(page) {
  await openMySettings(page, 'Voice & audio');
  const mode = await page.getByLabel('Input mode').inputValue();
  const key = mode === 'ptt' ? await page.getByRole('button', { name: 'Push-to-talk key' }).textContent() : null;
  const sensitivity = await page.getByLabel('Input sensitivity').inputValue();
  await page.getByRole('tab', { name: 'Appearance' }).click();
  const light = await page.getByLabel('Light').isChecked();
  await page.getByRole('tab', { name: 'Notifications' }).click();
  const sound = await page.getByLabel(/Play a sound/).isChecked();
  await page.keyboard.press('Escape');
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
  return { mode, key, sensitivity, light, sound };
}

test('preferences changed on one device apply live on another and at login on a third', async () => {
  const server = await Server.start();
  try {
    await withScreenshots('preferences', async (pages) => {
      const laptop = await device(pages, 'laptop');
      await register(laptop, server.url, 'amy');
      await laptop.getByRole('button', { name: 'Create text channel' }).click();
      const dialog = laptop.getByRole('dialog', { name: 'Create channel' });
      await dialog.getByLabel('Name').fill('random');
      await dialog.getByRole('button', { name: 'Create' }).click();

      const desktop = await device(pages, 'desktop');
      await desktop.goto(server.url);
      await logIn(desktop, 'amy');
      assert.equal(await theme(desktop), 'dark');
      assert.deepEqual(await shownPreferences(desktop), { mode: 'vad', key: null, sensitivity: '50', light: false, sound: true }, 'the defaults');

      // Bob writes in #random while Amy's desktop shows #general: the sound plays.
      const bob = await device(pages, 'bob');
      await register(bob, server.url, 'bob');
      await channelLink(bob, 'random').click();
      await say(bob, 'ding one');
      await unread(desktop, 'random');
      assert.equal(await sounds(desktop), 2, 'one message sound (two tones)');

      await openMySettings(laptop, 'Voice & audio');
      await laptop.getByLabel('Input mode').selectOption('ptt');
      const keyButton = laptop.getByRole('button', { name: 'Push-to-talk key' });
      await keyButton.click();
      await keyButton.getByText('Press a key…').waitFor();
      await laptop.keyboard.press('KeyB');
      await keyButton.getByText('B', { exact: true }).waitFor();
      await laptop.getByLabel('Input sensitivity').fill('80');
      await laptop.getByRole('tab', { name: 'Appearance' }).click();
      await laptop.getByLabel('Light').check();
      assert.equal(await theme(laptop), 'light', 'applied here at once');
      await laptop.getByRole('tab', { name: 'Notifications' }).click();
      await laptop.getByLabel(/Play a sound/).uncheck();
      await laptop.waitForFunction(async () => {
        const saved = await fetch('/api/v1/users/@me/preferences').then((r) => r.json());
        return saved.notification_sound === false;
      });
      const saved = await laptop.evaluate(() => fetch('/api/v1/users/@me/preferences').then((r) => r.json()));
      assert.deepEqual(saved, { voice_mode: 'ptt', ptt_key: 'KeyB', input_sensitivity: 80, notification_sound: false, theme: 'light' });

      // The desktop took every change without a reload.
      await desktop.waitForFunction(() => document.documentElement.dataset.theme === 'light');
      const expected = { mode: 'ptt', key: 'B', sensitivity: '80', light: true, sound: false };
      assert.deepEqual(await shownPreferences(desktop), expected);
      const pane = await desktop.locator('.pane').evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.equal(pane, 'rgb(255, 255, 255)', 'the light palette is in use');

      // No sound any more: the next message in #random marks it unread in silence.
      await channelLink(desktop, 'random').click();
      await channelLink(desktop, 'general').click();
      await say(bob, 'ding two');
      await unread(desktop, 'random');
      assert.equal(await sounds(desktop), 2, 'no sound once it is turned off');

      // A device that logs in afterwards starts with them.
      const phone = await device(pages, 'phone');
      await phone.goto(server.url);
      await logIn(phone, 'amy');
      await phone.waitForFunction(() => document.documentElement.dataset.theme === 'light');
      assert.deepEqual(await shownPreferences(phone), expected);
    });
  } finally {
    await server.stop();
  }
});
