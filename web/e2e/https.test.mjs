// HTTPS in a real browser that verifies it: a throwaway test CA that Chromium trusts through its
// own NSS database, a server with a certificate for chat.test, two people who chat over HTTP/2
// (a cookie-authenticated POST must pass the origin check there too) and talk relay-only
// through TURN over TLS on the HTTPS port (the one way through a network that lets only TLS to
// that port out), and the voice bar's explanation on plain HTTP under a name that is not
// localhost, where browsers give pages no microphone.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, mapHost, messages, peerStats, register, say, Server, testCertificates, trustingHome, watchPeerConnections, withScreenshots } from './harness.mjs';

const HOST = 'chat.test';

let dir;
let certificates;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cromulent-e2e-https-'));
  certificates = testCertificates(join(dir, 'certificates'), HOST);
  browser = await launchBrowser([mapHost(HOST)], { home: trustingHome(join(dir, 'home'), certificates.ca) });
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts a server, runs `body` with it, then stops it and removes its data. */
async function withServer(env, body) {
  const server = await Server.start(env);
  try {
    await body(server);
  } finally {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}

const bar = (page) => page.getByRole('region', { name: 'Voice connection' });
const joinButton = (page, channel) => page.getByRole('button', { name: `Join voice channel ${channel}` });

async function waitForBar(page, text, timeout = 20_000) {
  await bar(page).getByRole('status').filter({ hasText: text }).waitFor({ timeout });
}

/** The page's one peer connection is connected with a relay candidate on both ends, ours
 * reached over TLS, and audio keeps arriving on it. */
async function assertTalkingOverTurns(page) {
  let stats;
  for (let attempt = 0; attempt < 40; attempt++) {
    stats = await peerStats(page);
    if (stats.length === 1 && stats[0].state === 'connected' && stats[0].local && stats[0].bytes > 0) break;
    await page.waitForTimeout(250);
  }
  assert.equal(stats.length, 1, 'one peer connection');
  const [first] = stats;
  assert.equal(first.state, 'connected');
  assert.equal(first.local, 'relay', 'our side of the selected pair is the relay');
  assert.equal(first.relayProtocol, 'tls', 'we reach the relay over TLS');
  assert.equal(first.remote, 'relay', 'their side of the selected pair is the relay');
  await page.waitForTimeout(1500);
  const [second] = await peerStats(page);
  assert.equal(second.index, first.index, 'the same connection');
  assert.ok(second.bytes > first.bytes, 'audio bytes keep arriving');
}

test('two people on HTTPS talk relay-only through TURN over TLS on the HTTPS port', async () => {
  await withServer(
    {
      CROMULENT_TLS_CERT: certificates.cert,
      CROMULENT_TLS_KEY: certificates.key,
      CROMULENT_TURN_PROVIDER: 'builtin',
      CROMULENT_VOICE_FORCE_RELAY: 'true',
      // Test only: both browsers' relayed addresses are on 127.0.0.1.
      CROMULENT_TURN_ALLOW_LOOPBACK_PEERS: 'true',
    },
    async (server) => {
      assert.equal(server.https, true, 'the server says it serves HTTPS');
      const origin = server.origin(HOST);
      await withScreenshots('https-turns', async (pages) => {
        const person = async (name) => {
          const context = await browser.newContext();
          // The network lets only TLS to the HTTPS port through: no STUN, no TURN over UDP or TCP.
          await watchPeerConnections(context, { onlyUrls: 'turns:' });
          const page = await context.newPage();
          pages[name] = page;
          // No ignoreHTTPSErrors: the page loads only because the certificate verifies.
          await register(page, origin, name);
          return page;
        };
        const amy = await person('amy');
        const bob = await person('bob');
        assert.deepEqual(await amy.evaluate(() => [location.protocol, window.isSecureContext]), ['https:', true]);

        // A message posted with the session cookie over HTTP/2 reaches the other person.
        assert.equal(await amy.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2');
        await say(amy, 'hello over https');
        await messages(bob, 'hello over https').waitFor();

        await joinButton(amy, 'Lounge').click();
        await waitForBar(amy, 'Voice connected — Lounge');
        await joinButton(bob, 'Lounge').click();
        for (const page of [amy, bob]) await waitForBar(page, 'Voice connected — Lounge');
        // The bar reads connected from the real connection states, but amy's also reads it alone
        // in the channel, until bob's offer reaches her; the statistics are what prove the call.
        for (const page of [amy, bob]) await assertTalkingOverTurns(page);
        for (const page of [amy, bob]) await waitForBar(page, 'Voice connected — Lounge', 100);
        await bar(amy).getByText('via relay').waitFor();

        // What the server offered, before the network above filtered it.
        const urls = await bob.evaluate(() => window.__iceUrls);
        const udp = /^stun:chat\.test:(\d+)$/.exec(urls?.[0] ?? '')?.[1];
        assert.ok(udp, `the list starts with STUN on chat.test: ${JSON.stringify(urls)}`);
        assert.deepEqual(urls, [
          `stun:${HOST}:${udp}`,
          `turn:${HOST}:${udp}?transport=udp`,
          `turn:${HOST}:${server.port}?transport=tcp`,
          `turns:${HOST}:${server.port}?transport=tcp`,
        ]);
      });
    },
  );
});

test('a browser without the test CA refuses the page: the certificate really is checked', async () => {
  const home = mkdtempSync(join(dir, 'untrusting-home-'));
  const untrusting = await launchBrowser([mapHost(HOST)], { home });
  try {
    await withServer({ CROMULENT_TLS_CERT: certificates.cert, CROMULENT_TLS_KEY: certificates.key }, async (server) => {
      const page = await untrusting.newPage();
      await assert.rejects(page.goto(server.origin(HOST)), /ERR_CERT_AUTHORITY_INVALID/);
    });
  } finally {
    await untrusting.close();
  }
});

test('on plain HTTP under a real name, joining voice explains that it needs HTTPS, without a script error', async () => {
  await withServer({ CROMULENT_TURN_PROVIDER: 'builtin' }, async (server) => {
    assert.equal(server.https, false);
    await withScreenshots('https-needed', async (pages) => {
      const context = await browser.newContext();
      await watchPeerConnections(context);
      const amy = await context.newPage();
      pages.amy = amy;
      const errors = [];
      amy.on('pageerror', (error) => errors.push(error.message));
      await register(amy, server.origin(HOST), 'amy');
      assert.deepEqual(await amy.evaluate(() => [location.protocol, window.isSecureContext, navigator.mediaDevices === undefined]), ['http:', false, true]);

      await joinButton(amy, 'Lounge').click();
      const status = bar(amy).getByRole('status');
      await status.filter({ hasText: /^Voice needs HTTPS/ }).waitFor({ timeout: 5_000 });
      assert.equal(await status.textContent(), "Voice needs HTTPS — the server's admin can turn it on with tls.acme_domains");
      assert.equal(await status.locator('code').textContent(), 'tls.acme_domains');
      await bar(amy).locator('.dot.red').waitFor({ timeout: 100 });
      assert.equal(await amy.evaluate(() => window.__peerConnections.length), 0, 'no connection was even tried');

      await bar(amy).getByRole('button', { name: 'Dismiss' }).click();
      await bar(amy).waitFor({ state: 'detached' });
      assert.deepEqual(errors, [], 'no script errors');
    });
  });
});
