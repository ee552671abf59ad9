// What the voice join benchmarks share: a host sitting in a voice channel and a guest who joins
// it again and again, timed from the click to the first audio the guest receives (relay-only
// ICE, so through the relay), and the percentiles they print.

import { register, watchPeerConnections } from '../e2e/harness.mjs';

/** The value at fraction `p` of an ascending list (nearest rank). */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

/** One line of figures for a list of milliseconds: median, p90, min and max. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const ms = (v) => `${v.toFixed(0)} ms`;
  return `median ${ms(percentile(sorted, 0.5))}, p90 ${ms(percentile(sorted, 0.9))}, min ${ms(sorted[0])}, max ${ms(sorted.at(-1))}`;
}

/** The median of a list of milliseconds. */
export const median = (values) => percentile([...values].sort((a, b) => a - b), 0.5);

export const joinButton = (page, channel) => page.getByRole('button', { name: `Join voice channel ${channel}` });

/** The voice bar's status once it says connected. */
export const connectedBar = (page) => page.getByRole('region', { name: 'Voice connection' }).getByRole('status').filter({ hasText: 'Voice connected' });

/** Waits until audio bytes arrive on one of the page's open peer connections, polling every 10 ms. */
async function firstAudio(page, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const bytes = await page.evaluate(async () => {
      let total = 0;
      for (const pc of window.__peerConnections.filter((p) => p.connectionState !== 'closed')) {
        (await pc.getStats()).forEach((s) => s.type === 'inbound-rtp' && (total += s.bytesReceived ?? 0));
      }
      return total;
    });
    if (bytes > 0) return;
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`no audio within ${timeoutMs / 1000} s`);
}

/** Registers `hostName` and `guestName` at `origin`, each in a context of its own whose peer
 * connections are watched with the options `watch` (see `watchPeerConnections`: `onlyUrls`
 * limits which ICE servers they get), and seats the host in `channel`. */
export async function seatPair(browser, origin, { hostName = 'host', guestName = 'guest', channel = 'Lounge', watch = {} } = {}) {
  const pages = [];
  for (const name of [hostName, guestName]) {
    const context = await browser.newContext();
    await watchPeerConnections(context, watch);
    const page = await context.newPage();
    await register(page, origin, name);
    pages.push(page);
  }
  const [host, guest] = pages;
  await joinButton(host, channel).click();
  await connectedBar(host).waitFor();
  return { host, guest, guestName, channel };
}

/** Times one join of the pair's guest: milliseconds from the click to the first received audio.
 * `check(guest)`, if given, runs after the clock stopped and before the guest leaves. The guest
 * then leaves, and the host sees them go, so the next join starts from the same place. */
export async function timeJoin({ host, guest, guestName, channel }, check = null) {
  const started = performance.now();
  await joinButton(guest, channel).click();
  await firstAudio(guest);
  const ms = performance.now() - started;
  if (check) await check(guest);
  await guest.getByRole('button', { name: 'Leave voice' }).click();
  await host.locator('.participant', { hasText: guestName }).waitFor({ state: 'detached' });
  return ms;
}

/** The host leaves and both pages close. */
export async function unseatPair({ host, guest }) {
  await host.getByRole('button', { name: 'Leave voice' }).click();
  for (const page of [host, guest]) await page.context().close();
}
