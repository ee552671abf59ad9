// Voice join benchmark (not a test): with relay-only ICE, how long from clicking a voice channel
// until the first audio arrives through the relay, over 10 joins, through the built-in relay and
// through Debian's coturn in one run; and how long after coturn comes back until a call is
// connected again.
// Run: node bench/voice-join.mjs (after `cargo build --release`; set CROMULENT_BIN to use it).
// The same join over HTTPS, through `turns:` on the HTTPS port against UDP: voice-join-https.mjs.

import { randomBytes } from 'node:crypto';
import { Coturn, launchBrowser, register, Server, watchPeerConnections } from '../e2e/harness.mjs';
import { connectedBar as connected, joinButton, percentile, seatPair, timeJoin, unseatPair } from './joins.mjs';

const JOINS = 10;

const coturn = await Coturn.start(randomBytes(16).toString('hex'));
const builtin = await Server.start({ CROMULENT_TURN_PROVIDER: 'builtin', CROMULENT_VOICE_FORCE_RELAY: 'true' });
const server = await Server.start(coturn.serverEnv());
const browser = await launchBrowser();
const join = (page) => joinButton(page, 'Lounge');

/** Milliseconds from a guest's click to its first received audio, `JOINS` times, sorted. */
async function measureJoins(target) {
  const pair = await seatPair(browser, target.url);
  const joins = [];
  for (let n = 0; n < JOINS; n++) joins.push(await timeJoin(pair));
  await unseatPair(pair);
  return joins.sort((a, b) => a - b);
}

try {
  const viaBuiltin = await measureJoins(builtin);
  const viaCoturn = await measureJoins(server);

  // Recovery, with a fresh pair so the figure is not coloured by the join loops above.
  const pair = [];
  for (const name of ['left', 'right']) {
    const context = await browser.newContext();
    await watchPeerConnections(context);
    const page = await context.newPage();
    await register(page, server.url, name);
    await join(page).click();
    pair.push(page);
  }
  for (const page of pair) await page.waitForFunction(() => window.__peerConnections.some((p) => p.connectionState === 'connected'));
  for (const page of pair) await connected(page).waitFor();
  const reconnecting = pair[0].getByRole('region', { name: 'Voice connection' }).getByRole('status').filter({ hasText: 'Reconnecting' });

  /** Stops coturn, starts it again `outageMs` after the bar says Reconnecting, and times how
   * long from starting it until both bars are connected (and how long coturn took to answer). */
  const outage = async (outageMs) => {
    await coturn.stop();
    await reconnecting.waitFor({ timeout: 60_000 });
    await new Promise((done) => setTimeout(done, outageMs));
    const back = performance.now();
    await coturn.launch();
    const answering = performance.now() - back;
    for (const page of pair) await connected(page).waitFor({ timeout: 60_000 });
    return [performance.now() - back, answering];
  };
  // A blip shorter than the 3 s a peer may stay disconnected before the engine restarts ICE,
  // then an outage longer than it: the first waits out that grace, the second shows how fast
  // the call comes back once restarts are under way.
  const [blip, blipAnswer] = await outage(0);
  const [long, longAnswer] = await outage(5_000);

  console.log(`voice join, click → first audio through the relay, ${JOINS} joins each:`);
  for (const [relay, joins] of [['built-in', viaBuiltin], ['coturn', viaCoturn]]) {
    console.log(`  ${relay.padEnd(8)} median ${percentile(joins, 0.5).toFixed(0)} ms, p95 ${percentile(joins, 0.95).toFixed(0)} ms, min ${joins[0].toFixed(0)} ms, max ${joins.at(-1).toFixed(0)} ms`);
  }
  console.log(`  median ratio built-in / coturn: ${(percentile(viaBuiltin, 0.5) / percentile(viaCoturn, 0.5)).toFixed(2)}`);
  console.log(`relay restart, relay started → both voice bars connected (of which coturn's own start-up):`);
  console.log(`  restarted at once: ${blip.toFixed(0)} ms (${blipAnswer.toFixed(0)} ms); after 5 s down: ${long.toFixed(0)} ms (${longAnswer.toFixed(0)} ms)`);
} finally {
  await browser.close();
  await builtin.stop();
  await server.stop();
  await coturn.stop();
}
