// Voice in real browsers with relay-only ICE, through the server's built-in relay and through
// Debian's coturn on loopback: who connects, through which path (the built-in relay hands the
// audio between its own allocations, as its metrics count), whether audio arrives,
// whether the voice bar tells the truth (also about a participant who never answers), and
// whether the speaking ring follows the voice.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { Coturn, freeTcpPort, launchBrowser, peerStats, register, Server, silentVoiceParticipant, watchPeerConnections, withScreenshots, writeTalkingWav } from './harness.mjs';

let browser;
let coturn;

before(async () => {
  browser = await launchBrowser();
  coturn = await Coturn.start(randomBytes(16).toString('hex'));
});

after(async () => {
  await browser?.close();
  await coturn?.stop();
});

async function person(server, name, pages) {
  const context = await browser.newContext();
  await watchPeerConnections(context);
  const page = await context.newPage();
  pages[name] = page;
  await register(page, server.url, name);
  return page;
}

const bar = (page) => page.getByRole('region', { name: 'Voice connection' });
const joinButton = (page, channel) => page.getByRole('button', { name: `Join voice channel ${channel}` });

async function waitForBar(page, text, timeout = 20_000) {
  await bar(page).getByRole('status').filter({ hasText: text }).waitFor({ timeout });
}

/** Every open peer connection of `page` is relayed on both ends, and audio with energy keeps
 * arriving on each. Connections are matched by identity across the two samples, and the check
 * starts over if the set changed in between (a peer renegotiated after a takeover). */
async function assertRelayedAudio(page, peers) {
  for (let round = 0; round < 5; round++) {
    let first;
    for (let attempt = 0; attempt < 40; attempt++) {
      first = await peerStats(page);
      if (first.length === peers && first.every((s) => s.state === 'connected' && s.local && s.bytes > 0)) break;
      await page.waitForTimeout(250);
    }
    assert.equal(first.length, peers, `${peers} peer connections`);
    for (const s of first) {
      assert.equal(s.state, 'connected');
      assert.equal(s.local, 'relay', 'our side of the selected pair is the relay');
      assert.equal(s.remote, 'relay', 'their side of the selected pair is the relay');
    }
    await page.waitForTimeout(1500);
    const second = await peerStats(page);
    const same = second.length === first.length && second.every((s, i) => s.index === first[i].index);
    if (!same) continue;
    for (let i = 0; i < peers; i++) {
      assert.ok(second[i].bytes > first[i].bytes, 'audio bytes keep arriving');
      assert.ok(second[i].energy > first[i].energy, 'the audio has energy (not silence)');
    }
    return;
  }
  assert.fail('the set of peer connections never settled');
}

/** Records on `page` each phase its voice bar goes through (the section's data-phase, 'idle'
 * while there is none), with the states of the page's open peer connections at that moment,
 * in `window.__phases`. */
async function recordPhases(page) {
  await page.evaluate(() => {
    const log = (window.__phases = []);
    const record = () => {
      const phase = document.querySelector('.voice-bar')?.dataset.phase ?? 'idle';
      if (log.at(-1)?.phase === phase) return;
      const peers = window.__peerConnections.filter((pc) => pc.connectionState !== 'closed').map((pc) => pc.connectionState);
      log.push({ phase, peers });
    };
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
  });
}

const phases = (page) => page.evaluate(() => window.__phases);

/** The built-in relay, relay-only; loopback peers stay refused, so relayed calls rely on the
 * relay reaching its own relayed addresses. */
const builtinRelay = { CROMULENT_TURN_PROVIDER: 'builtin', CROMULENT_VOICE_FORCE_RELAY: 'true' };

/** The built-in relay's count of packets it handed from one of its allocations to another,
 * scraped from the server's metrics listener on `port`. */
async function internalDeliveries(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sample = /^cromulent_turn_internal_deliveries_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  assert.ok(sample, 'the metrics have cromulent_turn_internal_deliveries_total');
  return Number(sample[1]);
}

for (const [relay, env, builtin] of [
  ['the built-in relay', () => builtinRelay, true],
  ['coturn', () => coturn.serverEnv(), false],
]) test(`three people talk through ${relay} and every voice bar shows connected, only once it is`, async () => {
  // The built-in relay also serves metrics, to show that it relays the call between its own
  // allocations, without a socket in between.
  const metricsPort = builtin ? await freeTcpPort() : null;
  const server = await Server.start({ ...env(), ...(builtin ? { CROMULENT_METRICS_LISTEN: `127.0.0.1:${metricsPort}` } : {}) });
  try {
    await withScreenshots(`voice-three-${relay.replaceAll(' ', '-')}`, async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      const carol = await person(server, 'carol', pages);
      for (const page of [amy, bob]) await recordPhases(page);
      if (builtin) assert.equal(await internalDeliveries(metricsPort), 0, 'nothing relayed before the call');

      await joinButton(amy, 'Lounge').click();
      await waitForBar(amy, 'Voice connected — Lounge');
      await joinButton(bob, 'Lounge').click();
      await waitForBar(bob, 'Voice connected — Lounge');
      await waitForBar(amy, 'Voice connected — Lounge');
      await assertRelayedAudio(amy, 1);
      await assertRelayedAudio(bob, 1);
      if (builtin) assert.ok((await internalDeliveries(metricsPort)) > 0, 'the relay handed the audio between its own allocations');
      await bar(amy).getByText('via relay').waitFor();
      // While a join is under way the bar says connecting: amy, alone, is connected only once
      // the server accepted her join; bob only once his connection to amy is up.
      const amys = await phases(amy);
      assert.deepEqual(amys.slice(0, 3), [{ phase: 'idle', peers: [] }, { phase: 'connecting', peers: [] }, { phase: 'connected', peers: [] }]);
      const bobs = await phases(bob);
      assert.deepEqual(bobs.slice(0, 2).map((p) => p.phase), ['idle', 'connecting']);
      const bobConnected = bobs.filter((p) => p.phase === 'connected');
      assert.ok(bobConnected.length > 0, "bob's bar went connected");
      for (const { peers } of bobConnected) assert.deepEqual(peers, ['connected'], "bob's bar is connected only with his connection to amy up");

      await joinButton(carol, 'Lounge').click();
      for (const page of [amy, bob, carol]) await waitForBar(page, 'Voice connected — Lounge');
      for (const page of [amy, bob, carol]) await assertRelayedAudio(page, 2);
      const inLounge = amy.getByRole('list', { name: 'In voice' });
      for (const name of ['amy', 'bob', 'carol']) await inLounge.getByText(name, { exact: true }).waitFor();

      await bar(carol).getByRole('button', { name: 'Mute' }).click();
      await amy.locator('.participant', { hasText: 'carol' }).getByText('muted').waitFor();
      const carolTrackEnabled = await carol.evaluate(() =>
        window.__peerConnections.filter((p) => p.connectionState !== 'closed').every((p) => p.getSenders().every((s) => !s.track || !s.track.enabled)),
      );
      assert.ok(carolTrackEnabled, 'a muted microphone sends nothing');
      await bar(carol).getByRole('button', { name: 'Deafen' }).click();
      await amy.locator('.participant', { hasText: 'carol' }).getByText('deafened').waitFor();
      await bar(carol).getByRole('button', { name: 'Undeafen' }).click();
      await amy.locator('.participant', { hasText: 'carol' }).getByText('muted').waitFor();

      await bar(bob).getByRole('button', { name: 'Leave voice' }).click();
      await inLounge.getByText('bob', { exact: true }).waitFor({ state: 'detached' });
      await waitForBar(amy, 'Voice connected — Lounge');
    });
  } finally {
    await server.stop();
  }
});

test('a second tab is refused, Move here takes over, and switching channels leaves the first', async () => {
  const server = await Server.start(coturn.serverEnv());
  try {
    await withScreenshots('voice-tabs', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await amy.getByRole('button', { name: 'Create voice channel' }).click();
      const dialog = amy.getByRole('dialog', { name: 'Create channel' });
      await dialog.getByLabel('Name').fill('Games');
      await dialog.getByRole('button', { name: 'Create' }).click();

      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      await waitForBar(amy, 'Voice connected — Lounge');

      const secondTab = await amy.context().newPage();
      pages.secondTab = secondTab;
      await secondTab.goto(server.url);
      await joinButton(secondTab, 'Lounge').click();
      await waitForBar(secondTab, 'You are in this channel in another tab');
      await bar(secondTab).getByRole('button', { name: 'Move here' }).click();
      await waitForBar(secondTab, 'Voice connected — Lounge');
      await waitForBar(amy, 'You joined voice from another tab');
      await waitForBar(bob, 'Voice connected — Lounge');
      await assertRelayedAudio(bob, 1);

      await joinButton(bob, 'Games').click();
      await waitForBar(bob, 'Voice connected — Games');
      const lounge = secondTab.locator('li', { has: joinButton(secondTab, 'Lounge') });
      await lounge.getByText('bob', { exact: true }).waitFor({ state: 'detached' });
      const games = secondTab.locator('li', { has: joinButton(secondTab, 'Games') });
      await games.getByText('bob', { exact: true }).waitFor();
    });
  } finally {
    await server.stop();
  }
});

test('a wrong TURN secret turns the bar red with a reason instead of spinning', async () => {
  const server = await Server.start(coturn.serverEnv('not-the-secret'));
  try {
    await withScreenshots('voice-wrong-secret', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      await waitForBar(bob, 'Disconnected: the relay refused our credentials (401)');
      await bar(bob).locator('.dot.red').waitFor();
    });
  } finally {
    await server.stop();
  }
});

/** The client's negotiation timeout, read from its source so the waits below follow it. */
const NEGOTIATION_TIMEOUT_MS = Number(
  /export const NEGOTIATION_TIMEOUT_MS = ([\d_]+);/.exec(readFileSync(new URL('../src/voice/status.ts', import.meta.url), 'utf8'))[1].replaceAll('_', ''),
);

test('a participant who never answers is named as unreachable while the others talk under a green bar', async () => {
  const server = await Server.start(builtinRelay);
  let carol;
  try {
    await withScreenshots('voice-silent-peer', async (pages) => {
      carol = await silentVoiceParticipant(browser, server, 'carol', 'Lounge');
      pages.carol = carol.page;
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await amy.getByRole('list', { name: 'In voice' }).getByText('carol', { exact: true }).waitFor();

      const joinedAt = Date.now();
      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      // amy and bob reach each other within seconds; until the timeout the bar still waits for carol.
      await amy.waitForFunction(() => window.__peerConnections.some((pc) => pc.connectionState === 'connected'), null, { timeout: NEGOTIATION_TIMEOUT_MS });
      assert.ok(Date.now() - joinedAt < NEGOTIATION_TIMEOUT_MS, 'amy and bob connected before the negotiation timeout');
      for (const page of [amy, bob]) assert.equal(await bar(page).getByRole('status').textContent(), 'Connecting…');

      for (const page of [amy, bob]) {
        await waitForBar(page, "Voice connected — Loungecan't reach carol", NEGOTIATION_TIMEOUT_MS + 10_000);
        await bar(page).locator('.dot.green').waitFor({ timeout: 100 });
      }
      assert.ok(Date.now() - joinedAt > NEGOTIATION_TIMEOUT_MS, 'carol is given the whole negotiation timeout');
      assert.equal((await carol.offersFrom()).length, 2, 'both offered to carol, who never answered');
      const amysConnections = await peerStats(amy);
      assert.deepEqual(amysConnections.map((s) => s.state).sort(), ['connected', 'new'], "amy's connection to bob is up, the one to carol never started");
      assert.ok(amysConnections.find((s) => s.state === 'connected').bytes > 0, 'audio from bob arrives');

      // With bob gone nobody is connected: back to Connecting…, still naming carol.
      await bar(bob).getByRole('button', { name: 'Leave voice' }).click();
      await waitForBar(amy, "Connecting…can't reach carol");
      await bar(amy).locator('.dot.yellow').waitFor({ timeout: 100 });
    });
  } finally {
    await carol?.close();
    await server.stop();
  }
});

test('when the relay restarts mid-call the bar goes Reconnecting and then connected again', async () => {
  const server = await Server.start(coturn.serverEnv());
  try {
    await withScreenshots('voice-relay-restart', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      await waitForBar(amy, 'Voice connected — Lounge');
      await assertRelayedAudio(amy, 1);

      await coturn.stop();
      await waitForBar(amy, 'Reconnecting…', 30_000);
      await amy.waitForTimeout(5_000);
      await waitForBar(amy, 'Reconnecting…', 100);
      await bar(amy).locator('.dot.yellow').waitFor({ timeout: 100 });
      await coturn.launch();
      await waitForBar(amy, 'Voice connected — Lounge', 30_000);
      await waitForBar(bob, 'Voice connected — Lounge', 30_000);
      await assertRelayedAudio(amy, 1);
    });
  } finally {
    await server.stop();
  }
});

test('push-to-talk sends only while the key is held, never while typing, and the choice is saved', async () => {
  const server = await Server.start(coturn.serverEnv());
  try {
    await withScreenshots('voice-ptt', async (pages) => {
      const amy = await person(server, 'amy', pages);
      const bob = await person(server, 'bob', pages);
      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      await waitForBar(amy, 'Voice connected — Lounge');
      await assertRelayedAudio(bob, 1);
      const sending = () =>
        amy.evaluate(() =>
          window.__peerConnections
            .filter((p) => p.connectionState !== 'closed')
            .some((p) => p.getSenders().some((s) => s.track && s.track.enabled)),
        );
      assert.equal(await sending(), true, 'voice activity mode sends');

      await bar(amy).getByRole('button', { name: 'Voice settings' }).click();
      await bar(amy).getByLabel('Input mode').selectOption('ptt');
      // Saved with the account (it follows Amy to her other devices), not in this browser.
      await amy.waitForFunction(() => fetch('/api/v1/users/@me/preferences').then((r) => r.json()).then((p) => p.voice_mode === 'ptt'));
      assert.equal(await sending(), false, 'push-to-talk is closed until the key is held');

      await amy.locator('body').click({ position: { x: 640, y: 300 } });
      await amy.keyboard.down('KeyV');
      assert.equal(await sending(), true, 'holding V opens the microphone');
      await amy.keyboard.up('KeyV');
      assert.equal(await sending(), false, 'releasing V closes it');

      const composer = amy.getByRole('textbox', { name: /^Message #/ });
      await composer.click();
      await amy.keyboard.down('KeyV');
      assert.equal(await sending(), false, 'typing a V in the composer does not transmit');
      await amy.keyboard.up('KeyV');
      assert.equal(await composer.inputValue(), 'v');

      await bar(amy).getByRole('button', { name: 'Mute' }).click();
      await amy.locator('body').click({ position: { x: 640, y: 300 } });
      await amy.keyboard.down('KeyV');
      assert.equal(await sending(), false, 'muted beats push-to-talk');
      await amy.keyboard.up('KeyV');
    });
  } finally {
    await server.stop();
  }
});

test('credentials are refreshed before they expire, so someone joining later still gets a relay', async () => {
  // 60 s credentials: without the refresh at 80 % of their life, amy's connection to a peer
  // who joins after 65 s would be refused by the relay (401) and the bar would turn red.
  const server = await Server.start({ ...coturn.serverEnv(), CROMULENT_TURN_CREDENTIAL_TTL_SECS: '60' });
  try {
    await withScreenshots('voice-refresh', async (pages) => {
      const amy = await person(server, 'amy', pages);
      await joinButton(amy, 'Lounge').click();
      await waitForBar(amy, 'Voice connected — Lounge');
      await amy.waitForTimeout(65_000);
      const bob = await person(server, 'bob', pages);
      await joinButton(bob, 'Lounge').click();
      await waitForBar(bob, 'Voice connected — Lounge');
      await waitForBar(amy, 'Voice connected — Lounge');
      await assertRelayedAudio(amy, 1);
    });
  } finally {
    await server.stop();
  }
});

/** Records on `page` each time `name`'s entry in the voice list gains or loses the speaking
 * ring, as [ms on the page's clock, speaking] in `window.__speaking`. */
async function recordSpeaking(page, name) {
  await page.evaluate((name) => {
    const log = (window.__speaking = []);
    const record = () => {
      const entry = [...document.querySelectorAll('.participant')].find((e) => e.querySelector('.name')?.textContent === name);
      const speaking = entry?.classList.contains('speaking') ?? false;
      if (log.at(-1)?.[1] !== speaking) log.push([performance.now(), speaking]);
    };
    record();
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
  }, name);
}

const speakingLog = (page) => page.evaluate(() => window.__speaking);

/** Waits until the ring has changed `count` times since recording started. */
async function waitForSpeakingChanges(page, count, timeout = 30_000) {
  await page.waitForFunction((count) => window.__speaking.length > count, count, { timeout });
}

test('the speaking ring follows the voice: lit while someone talks, off when they pause, mute, or unmute in silence', async () => {
  const talkMs = 3000;
  const pauseMs = 4000;
  const talking = await launchBrowser([`--use-file-for-fake-audio-capture=${writeTalkingWav({ talkMs, pauseMs })}`]);
  const server = await Server.start(builtinRelay);
  try {
    await withScreenshots('voice-speaking', async (pages) => {
      const context = await talking.newContext();
      await watchPeerConnections(context);
      const amy = await context.newPage();
      pages.amy = amy;
      await register(amy, server.url, 'amy');
      const bob = await person(server, 'bob', pages);
      await joinButton(amy, 'Lounge').click();
      await joinButton(bob, 'Lounge').click();
      for (const page of [amy, bob]) await waitForBar(page, 'Voice connected — Lounge');
      const amyOnBobsScreen = bob.locator('.participant', { hasText: 'amy' });
      await recordSpeaking(bob, 'amy');

      await waitForSpeakingChanges(bob, 4);
      const changes = (await speakingLog(bob)).slice(1, 5);
      for (let i = 0; i + 1 < changes.length; i++) {
        const [at, speaking] = changes[i];
        const ms = changes[i + 1][0] - at;
        // Lit for the phrase plus the 400 ms hangover, without going out between syllables;
        // out for the rest of the pause.
        if (speaking) assert.ok(ms > talkMs - 1000 && ms < talkMs + 1500, `lit for a whole phrase, not ${Math.round(ms)} ms`);
        else assert.ok(ms > pauseMs - 2000 && ms < pauseMs + 1000, `out for the pause, not ${Math.round(ms)} ms`);
      }

      const seen = (await speakingLog(bob)).length;
      await bob.waitForFunction((seen) => window.__speaking.slice(seen).some(([, speaking]) => speaking), seen, { timeout: 15_000 });
      const [phraseLitAt] = (await speakingLog(bob)).findLast(([, speaking]) => speaking);
      await bar(amy).getByRole('button', { name: 'Mute' }).click();
      await amyOnBobsScreen.getByText('muted').waitFor();
      await bob.waitForFunction(() => !window.__speaking.at(-1)[1], null, { timeout: 2_000 });
      // Unmute in the pause: the ring must not flash for silence the detector heard before the mute.
      await bob.waitForFunction((until) => performance.now() >= until, phraseLitAt + talkMs + 1000, { timeout: 10_000 });
      await bar(amy).getByRole('button', { name: 'Unmute' }).click();
      await amyOnBobsScreen.getByText('muted').waitFor({ state: 'detached' });
      await bob.waitForFunction((until) => performance.now() >= until, phraseLitAt + talkMs + pauseMs - 1000, { timeout: 10_000 });
      const muteToPauseEnd = (await speakingLog(bob)).filter(([at]) => at > phraseLitAt && at < phraseLitAt + talkMs + pauseMs - 1000);
      assert.deepEqual(
        muteToPauseEnd.map(([, speaking]) => speaking),
        [false],
        'the ring went out on mute and stayed out while muted and after unmuting in silence',
      );
      await amyOnBobsScreen.and(bob.locator('.speaking')).waitFor({ timeout: 5_000 });
    });
  } finally {
    await talking.close();
    await server.stop();
  }
});
