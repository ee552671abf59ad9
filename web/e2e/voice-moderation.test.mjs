// Browser tests of an admin's hand on voice, relay-only through the built-in relay: turning
// voice off ends every call and hides the voice channels from members until it is turned on
// again; a ban ends the member's call and drops them from the others' view; a server mute stops
// the member sending, cannot be undone by them and shows to everyone until lifted; and
// disconnecting a member from voice says so on their screen. Each checks the real call: peer
// connections closed and the microphone released, or the outgoing track disabled.

import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { launchBrowser, openSettings, personRow, register, Server, watchPeerConnections, withScreenshots } from './harness.mjs';

let browser;
/** The contexts of the running test, closed after it so that no call of it lingers into the next. */
let contexts = [];

before(async () => {
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  contexts = [];
});

after(async () => {
  await browser?.close();
});

/** The built-in relay, relay-only, as in voice.test.mjs. */
const builtinRelay = { CROMULENT_TURN_PROVIDER: 'builtin', CROMULENT_VOICE_FORCE_RELAY: 'true' };

/** Records every microphone stream a page opens in `window.__microphones`. */
async function watchMicrophones(context) {
  await context.addInitScript(() => {
    window.__microphones = [];
    const devices = navigator.mediaDevices;
    const open = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const stream = await open(constraints);
      window.__microphones.push(stream);
      return stream;
    };
  });
}

/** Someone registered with the app open, their peer connections and microphones watched. */
async function person(server, name, pages) {
  const context = await browser.newContext();
  contexts.push(context);
  await watchPeerConnections(context);
  await watchMicrophones(context);
  const page = await context.newPage();
  pages[name] = page;
  await register(page, server.url, name);
  return page;
}

const bar = (page) => page.getByRole('region', { name: 'Voice connection' });
const joinButton = (page, channel) => page.getByRole('button', { name: `Join voice channel ${channel}` });
const endedNotice = (page) => page.getByRole('alert', { name: 'Voice ended' });
const participant = (page, name) => page.getByRole('list', { name: 'In voice' }).locator('.participant', { hasText: name });

async function waitForBar(page, text, timeout = 20_000) {
  await bar(page).getByRole('status').filter({ hasText: text }).waitFor({ timeout });
}

/** amy (the admin) and bob (a member) talking in Lounge. */
async function inACall(server, pages) {
  const amy = await person(server, 'amy', pages);
  const bob = await person(server, 'bob', pages);
  await joinButton(amy, 'Lounge').click();
  await waitForBar(amy, 'Voice connected — Lounge');
  await joinButton(bob, 'Lounge').click();
  for (const page of [amy, bob]) await waitForBar(page, 'Voice connected — Lounge');
  return { amy, bob };
}

/** Whether the page's call is over for real: every peer connection it made closed, and every
 * microphone it opened released. */
function callEnded(page) {
  return page.evaluate(
    () =>
      window.__peerConnections.every((pc) => pc.connectionState === 'closed') &&
      window.__microphones.length > 0 &&
      window.__microphones.every((stream) => stream.getTracks().every((track) => track.readyState === 'ended')),
  );
}

/** Whether the page sends audio on any of its open peer connections. */
function sending(page) {
  return page.evaluate(() =>
    window.__peerConnections.filter((pc) => pc.connectionState !== 'closed').some((pc) => pc.getSenders().some((s) => s.track && s.track.enabled)),
  );
}

/** Opens People and clicks one of `username`'s buttons. */
async function moderate(page, username, button) {
  await openSettings(page, 'People');
  await personRow(page, username).getByRole('button', { name: button }).click();
}

test('voice off ends the call, hides the voice channels from members and refuses joins; voice on brings them back', async () => {
  const server = await Server.start(builtinRelay);
  try {
    await withScreenshots('voice-off', async (pages) => {
      const { amy, bob } = await inACall(server, pages);
      await openSettings(amy, 'Voice & relay');
      const voiceSwitch = amy.getByLabel('Voice channels');
      const saved = () => amy.waitForResponse((r) => r.url().endsWith('/api/v1/settings') && r.request().method() === 'PATCH' && r.ok());
      const off = saved();
      await voiceSwitch.uncheck();
      assert.equal((await (await off).json()).voice_enabled, false);

      await endedNotice(bob).getByText('An admin turned voice off').waitFor();
      await bar(bob).waitFor({ state: 'detached' });
      assert.ok(await callEnded(bob), "bob's peer connections are closed and his microphone released");
      await joinButton(bob, 'Lounge').waitFor({ state: 'detached' });
      assert.equal(await bob.getByRole('button', { name: /^Join voice channel/ }).count(), 0, 'no voice channel is left for a member');

      // The admin still sees the channel (to turn voice back on), was taken out too, and a join is refused.
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await endedNotice(amy).getByText('An admin turned voice off').waitFor();
      assert.ok(await callEnded(amy), "amy's call ended as well");
      await joinButton(amy, 'Lounge').click();
      await waitForBar(amy, 'Disconnected: An admin turned voice off');
      assert.equal(await participant(amy, 'amy').count(), 0, 'the refused join put nobody in the channel');
      await bar(amy).getByRole('button', { name: 'Dismiss' }).click();

      await openSettings(amy, 'Voice & relay');
      const on = saved();
      await voiceSwitch.check();
      assert.equal((await (await on).json()).voice_enabled, true);
      await joinButton(bob, 'Lounge').click();
      await waitForBar(bob, 'Voice connected — Lounge');
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await joinButton(amy, 'Lounge').click();
      for (const page of [amy, bob]) await waitForBar(page, 'Voice connected — Lounge');
      await participant(bob, 'amy').waitFor();
    });
  } finally {
    await server.stop();
  }
});

test('a ban ends the member\'s call and takes them off the other participant\'s list', async () => {
  const server = await Server.start(builtinRelay);
  try {
    await withScreenshots('voice-ban', async (pages) => {
      const { amy, bob } = await inACall(server, pages);
      await participant(amy, 'bob').waitFor();
      await moderate(amy, 'bob', 'Ban');
      await amy.getByRole('dialog', { name: 'Ban bob' }).getByRole('button', { name: 'Ban' }).click();
      await personRow(amy, 'bob').getByText('banned').waitFor();

      await bob.getByText('An admin disabled your account.').waitFor();
      assert.equal(await bar(bob).count(), 0, 'no voice bar on the disabled screen');
      await bob.waitForFunction(() => window.__peerConnections.every((pc) => pc.connectionState === 'closed'));
      assert.ok(await callEnded(bob), "bob's call is over, his microphone released");

      await amy.getByRole('button', { name: 'Close settings' }).click();
      await participant(amy, 'bob').waitFor({ state: 'detached' });
      await participant(amy, 'amy').waitFor();
      await amy.waitForFunction(() => window.__peerConnections.every((pc) => pc.connectionState === 'closed'));
      await waitForBar(amy, 'Voice connected — Lounge');
    });
  } finally {
    await server.stop();
  }
});

test('a server mute silences the member, who cannot unmute, shows to everyone, and lifting it restores their voice', async () => {
  const server = await Server.start(builtinRelay);
  try {
    await withScreenshots('voice-server-mute', async (pages) => {
      const { amy, bob } = await inACall(server, pages);
      assert.equal(await sending(bob), true, 'bob talks');
      await moderate(amy, 'bob', 'Server mute');
      await personRow(amy, 'bob').getByRole('button', { name: 'Server unmute' }).waitFor();

      const serverMuted = bar(bob).getByRole('button', { name: 'Server muted' });
      await serverMuted.waitFor();
      assert.equal(await serverMuted.isDisabled(), true, 'the member cannot unmute');
      await bar(bob).getByText('An admin muted you. Only an admin can unmute you.').waitFor();
      assert.equal(await bar(bob).getByRole('button', { name: /^(Mute|Unmute)$/ }).count(), 0, 'no mute button to undo it');
      assert.equal(await sending(bob), false, "bob's outgoing track is disabled");
      await participant(bob, 'bob').getByText('server muted').waitFor();
      await waitForBar(bob, 'Voice connected — Lounge');

      await amy.getByRole('button', { name: 'Close settings' }).click();
      await participant(amy, 'bob').getByText('server muted').waitFor();
      assert.equal(await participant(amy, 'amy').getByText('server muted').count(), 0);

      await moderate(amy, 'bob', 'Server unmute');
      await bar(bob).getByRole('button', { name: 'Mute' }).waitFor();
      assert.equal(await serverMuted.count(), 0);
      assert.equal(await sending(bob), true, 'bob is heard again');
      await participant(bob, 'bob').getByText('server muted').waitFor({ state: 'detached' });
      await amy.getByRole('button', { name: 'Close settings' }).click();
      await participant(amy, 'bob').waitFor();
      assert.equal(await participant(amy, 'bob').getByText('server muted').count(), 0);
    });
  } finally {
    await server.stop();
  }
});

test('disconnecting a member from voice ends their call and tells them a moderator did it', async () => {
  const server = await Server.start(builtinRelay);
  try {
    await withScreenshots('voice-disconnect', async (pages) => {
      const { amy, bob } = await inACall(server, pages);
      await moderate(amy, 'bob', 'Disconnect from voice');
      await endedNotice(bob).getByText('Disconnected by a moderator').waitFor();
      await bar(bob).waitFor({ state: 'detached' });
      assert.ok(await callEnded(bob), "bob's peer connections are closed and his microphone released");
      await personRow(amy, 'bob').getByRole('button', { name: 'Disconnect from voice' }).waitFor({ state: 'detached' });

      // They may join again; the notice gives way to the bar.
      await joinButton(bob, 'Lounge').click();
      await waitForBar(bob, 'Voice connected — Lounge');
      assert.equal(await endedNotice(bob).count(), 0);
    });
  } finally {
    await server.stop();
  }
});
