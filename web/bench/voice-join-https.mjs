// Voice join benchmark over HTTPS (not a test): one server serving HTTPS with a test CA's
// certificate for chat.test, the built-in relay and relay-only ICE; how long from clicking a
// voice channel until the first audio arrives through the relay when both clients may reach the
// relay only through `turns:` on the HTTPS port (TCP, then TLS), against only through TURN over
// UDP to the relay's port. Each case has a host and a guest of its own in a channel of its own;
// their joins alternate, so whatever else the machine does hits both alike. chat.test is mapped
// to 127.0.0.1 inside the browser, which the UDP URL cannot use (see `udpHost` in
// watchPeerConnections), so that one names 127.0.0.1: neither case waits for a DNS lookup.
// Run: node bench/voice-join-https.mjs (after `cargo build --release`; set CROMULENT_BIN to use it).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, launchBrowser, mapHost, peerStats, Server, testCertificates, trustingHome } from '../e2e/harness.mjs';
import { median, seatPair, summary, timeJoin, unseatPair } from './joins.mjs';

const JOINS = 20;
const HOST = 'chat.test';

const dir = mkdtempSync(join(tmpdir(), 'cromulent-bench-https-'));
const certificates = testCertificates(join(dir, 'certificates'), HOST);
// A port of our choosing, so the UDP case can be given exactly the UDP URL.
const turnPort = await freeUdpPort();
const server = await Server.start({
  CROMULENT_TLS_CERT: certificates.cert,
  CROMULENT_TLS_KEY: certificates.key,
  CROMULENT_TURN_PROVIDER: 'builtin',
  CROMULENT_TURN_LISTEN: `127.0.0.1:${turnPort}`,
  CROMULENT_VOICE_FORCE_RELAY: 'true',
});
const browser = await launchBrowser([mapHost(HOST)], { home: trustingHome(join(dir, 'home'), certificates.ca) });

/** After the clock stopped: the guest's one connection runs through the relay, reached over `protocol`. */
const reachedOver = (protocol) => async (guest) => {
  const stats = await peerStats(guest);
  const ok = stats.length === 1 && stats[0].local === 'relay' && stats[0].relayProtocol === protocol;
  if (!ok) throw new Error(`expected one connection through the relay over ${protocol}: ${JSON.stringify(stats)}`);
};

try {
  if (!server.https) throw new Error('the server does not serve HTTPS');
  const origin = server.origin(HOST);
  const cases = [
    { name: '`turns:` on the HTTPS port', onlyUrls: `turns:${HOST}:${server.port}?transport=tcp`, protocol: 'tls', channel: 'Lounge', joins: [] },
    // The same URL, naming 127.0.0.1 rather than chat.test (see `udpHost` in watchPeerConnections).
    { name: 'TURN over UDP', onlyUrls: `turn:127.0.0.1:${turnPort}?transport=udp`, udpHost: '127.0.0.1', protocol: 'udp', channel: 'Hall', joins: [] },
  ];
  const [tls, udp] = cases;

  // One channel per case, so neither pair hears the other. The first user (an admin) creates
  // the second one through the API with a bearer token.
  const setup = await browser.newPage();
  await setup.goto(`${origin}/healthz`);
  await setup.evaluate(async (name) => {
    const post = async (path, body, token) => {
      const headers = { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
      const response = await fetch(`/api/v1${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const { token } = await post('/auth/register', { username: 'admin', password: 'correct horse battery' });
    await post('/channels', { name, kind: 'voice', private: false }, token);
  }, udp.channel);
  await setup.close();
  for (const [c, prefix] of [[tls, 'tls'], [udp, 'udp']]) {
    const watch = { onlyUrls: c.onlyUrls, udpHost: c.udpHost ?? null };
    c.pair = await seatPair(browser, origin, { hostName: `${prefix}host`, guestName: `${prefix}guest`, channel: c.channel, watch });
  }

  /** The full ICE list the guest's client last passed in, before the filter above. */
  const offered = (c) => c.pair.guest.evaluate(() => window.__iceUrls);
  for (let n = 0; n < JOINS; n++) {
    for (const c of cases) {
      try {
        c.joins.push(await timeJoin(c.pair, reachedOver(c.protocol)));
      } catch (error) {
        const connections = { host: await peerStats(c.pair.host), guest: await peerStats(c.pair.guest) };
        const seen = `offered ${JSON.stringify(await offered(c))}, connections ${JSON.stringify(connections)}`;
        throw new Error(`${c.name}, join ${n + 1} (given only ${c.onlyUrls}; ${seen}): ${error.message}`);
      }
    }
  }
  const urls = await offered(tls);
  for (const c of cases) await unseatPair(c.pair);

  console.log(`voice join over HTTPS, click → first audio through the built-in relay, relay-only, ${JOINS} joins each, alternating:`);
  console.log(`  ICE list offered: ${urls.join(' ')}`);
  for (const c of cases) console.log(`  ${c.name.padEnd(26)} ${summary(c.joins)}`);
  console.log(`  median ratio turns: / UDP: ${(median(tls.joins) / median(udp.joins)).toFixed(2)} (target ≤ 1.5)`);
  console.log(`  joins in order, ms: turns: ${tls.joins.map((ms) => ms.toFixed(0)).join(' ')}; UDP: ${udp.joins.map((ms) => ms.toFixed(0)).join(' ')}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(server.dataDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
