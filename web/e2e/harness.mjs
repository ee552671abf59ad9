// End-to-end harness: runs the real `cromulent` binary on a loopback port with a temp data dir,
// and Debian's Chromium through playwright-core, optionally trusting a throwaway test CA.
// Screenshots of every open page are written to a temp folder when a test fails.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');

/** The server binary: $CROMULENT_BIN, else the debug build. */
export const serverBinary = process.env.CROMULENT_BIN ?? join(root, 'target/debug/cromulent');

/** Chromium: $CHROMIUM_PATH, else Debian's. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A running server; `restart()` brings it back on the same port and data. */
export class Server {
  constructor(dataDir) {
    this.dataDir = dataDir;
    this.port = 0;
    this.child = null;
    this.url = '';
    this.https = false;
  }

  /** Starts a server; `env` adds CROMULENT_* settings. */
  static async start(env = {}) {
    const server = new Server(mkdtempSync(join(tmpdir(), 'cromulent-e2e-data-')));
    server.env = env;
    await server.launch();
    return server;
  }

  async launch() {
    const child = spawn(serverBinary, ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--log', 'info'], {
      env: { ...process.env, CROMULENT_LOG_FORMAT: 'json', CROMULENT_TURN_LISTEN: '127.0.0.1:0', ...(this.env ?? {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    const lines = createInterface({ input: child.stderr });
    const listening = await new Promise((resolveListening, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not start within 20 s')), 20_000);
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line);
          if (entry.fields?.message === 'listening') {
            clearTimeout(timer);
            resolveListening(entry.fields);
          }
        } catch {
          // Not a log line of ours.
        }
      });
    });
    this.port = Number(listening.addr.split(':').pop());
    this.https = listening.https === true;
    this.url = this.origin('127.0.0.1');
  }

  /** The server's address under another name, e.g. one mapped to 127.0.0.1 with `mapHost`. */
  origin(host) {
    return `${this.https ? 'https' : 'http'}://${host}:${this.port}`;
  }

  /** Stops with SIGTERM and waits for the process to exit. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }

  async restart() {
    await this.stop();
    await this.launch();
  }
}

/** Launches headless Chromium with flags that keep it off the network, and a fake microphone.
 * `home` gives the browser its own HOME, whose NSS database (see `trustingHome`) holds the
 * certificate authorities it trusts besides the system's. */
export function launchBrowser(extraArgs = [], { home } = {}) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    ...(home ? { env: { ...process.env, HOME: home } } : {}),
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** Runs a command-line tool from a Debian package, saying which package when it is missing. */
function runTool(tool, debianPackage, args) {
  try {
    execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error(`${tool} is missing: apt-get install ${debianPackage}`);
    throw new Error(`${tool} ${args.join(' ')}: ${error.stderr ?? error.message}`);
  }
}

/** The Chromium flag that resolves `name` to 127.0.0.1, for pages, the gateway and TURN URLs alike. */
export const mapHost = (name) => `--host-resolver-rules=MAP ${name} 127.0.0.1`;

/** Makes a throwaway certificate authority and a server certificate it signs for `name` in
 * `dir` with openssl: ca.pem, cert.pem (the leaf, then the CA) and key.pem. */
export function testCertificates(dir, name) {
  mkdirSync(dir, { recursive: true });
  const file = (f) => join(dir, f);
  const openssl = (...args) => runTool('openssl', 'openssl', args);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const caExtensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca-key.pem'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Cromulent test CA', ...caExtensions);
  openssl('req', '-new', ...ec, '-keyout', file('key.pem'), '-out', file('leaf.csr'), '-subj', `/CN=${name}`);
  const leafExtensions = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', `subjectAltName=DNS:${name}`];
  writeFileSync(file('leaf.ext'), leafExtensions.join('\n') + '\n');
  const signer = ['-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-CAcreateserial'];
  openssl('x509', '-req', '-in', file('leaf.csr'), ...signer, '-days', '2', '-sha256', '-extfile', file('leaf.ext'), '-out', file('leaf.pem'));
  writeFileSync(file('cert.pem'), Buffer.concat([readFileSync(file('leaf.pem')), readFileSync(file('ca.pem'))]));
  return { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') };
}

/** Makes `home` a HOME whose NSS database trusts the CA in `caPem` for websites, the way
 * someone adds a private CA to Chromium on Linux (needs `certutil` from libnss3-tools). */
export function trustingHome(home, caPem) {
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  const certutil = (...args) => runTool('certutil', 'libnss3-tools', ['-d', `sql:${db}`, ...args]);
  certutil('-N', '--empty-password');
  certutil('-A', '-t', 'C,,', '-n', 'cromulent-test-ca', '-i', caPem);
  return home;
}

/** Writes a mono 16-bit 48 kHz WAV to a temp file for `--use-file-for-fake-audio-capture`, which
 * Chromium loops: someone who talks for `talkMs` in 200 ms syllables of a 440 Hz tone, 150 ms
 * apart, then is silent for `pauseMs`. A steady tone would not do: the microphone's noise
 * suppression takes it for background noise and turns it down to barely above the speaking
 * threshold within two seconds. */
export function writeTalkingWav({ talkMs = 3000, pauseMs = 3000, amplitude = 0.3 } = {}) {
  const rate = 48_000;
  const samples = Math.round((rate * (talkMs + pauseMs)) / 1000);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    const ms = (1000 * i) / rate;
    const voiced = ms < talkMs && ms % 350 < 200;
    const value = voiced ? amplitude * Math.sin((2 * Math.PI * 440 * i) / rate) : 0;
    wav.writeInt16LE(Math.round(value * 32767), 44 + i * 2);
  }
  const path = join(mkdtempSync(join(tmpdir(), 'cromulent-e2e-audio-')), 'talking.wav');
  writeFileSync(path, wav);
  return path;
}

/** Writes a screenshot of each page to a fresh temp folder and returns the folder. */
export async function screenshots(name, pages) {
  const dir = join(tmpdir(), `cromulent-e2e-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  for (const [label, page] of Object.entries(pages)) {
    try {
      await page.screenshot({ path: join(dir, `${name.replace(/\W+/g, '-')}-${label}.png`), fullPage: true });
    } catch {
      // A page that is already closed has nothing to show.
    }
  }
  return dir;
}

/** Runs `body` and, if it throws, saves screenshots of the pages it registered before rethrowing. */
export async function withScreenshots(name, body) {
  const pages = {};
  try {
    await body(pages);
  } catch (error) {
    const dir = await screenshots(name, pages);
    console.error(`screenshots of the failed test are in ${dir}`);
    throw error;
  }
}

/** Registers through the UI and waits for the chat to appear. */
export async function register(page, url, username, password = 'correct horse battery') {
  await page.goto(url);
  await page.getByRole('tab', { name: 'Register' }).click();
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

/** Logs in from the login screen (already shown) and waits for the chat. */
export async function logIn(page, username, password = 'correct horse battery') {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).last().click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

/** Opens one of the user's own settings tabs (Profile, Password, Sessions, Voice & audio…)
 * from the chat, as anyone logged in does. */
export async function openMySettings(page, tab) {
  await page.getByRole('button', { name: 'My account' }).click();
  await page.getByRole('tab', { name: tab, exact: true }).click();
  await page.getByRole('heading', { name: tab, exact: true }).waitFor();
}

/** The caller's own account as the server has it (`GET /users/@me`, with the page's cookie). */
export function whoAmI(page) {
  return page.evaluate(() => fetch('/api/v1/users/@me').then((r) => r.json()));
}

/** Sends a message through the composer. */
export async function say(page, text) {
  const composer = page.getByRole('textbox', { name: /^Message #/ });
  await composer.fill(text);
  await composer.press('Enter');
}

/** The message list items whose text includes `text`. */
export function messages(page, text) {
  return page.locator('li.message', { hasText: text });
}

/** Opens the server settings on a tab (admins). */
export async function openSettings(page, tab) {
  await page.getByRole('button', { name: 'Server settings' }).click();
  await page.getByRole('tab', { name: tab, exact: true }).click();
  await page.getByRole('heading', { name: tab, exact: true }).waitFor();
}

/** Someone's row in the People tab of the server settings. */
export const personRow = (page, username) => page.getByRole('listitem', { name: username, exact: true });

/** A UDP port nothing listens on right now. */
export async function freeUdpPort() {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise((done) => socket.bind(0, '127.0.0.1', done));
  const { port } = socket.address();
  await new Promise((done) => socket.close(done));
  return port;
}

/** A TCP port nothing listens on right now, e.g. for `CROMULENT_METRICS_LISTEN`. */
export async function freeTcpPort() {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Debian's coturn on loopback with a shared secret; `restart()` keeps its port. */
export class Coturn {
  constructor(secret, port, dir) {
    this.secret = secret;
    this.port = port;
    this.dir = dir;
    this.child = null;
  }

  static async start(secret) {
    const dir = mkdtempSync(join(tmpdir(), 'cromulent-e2e-turn-'));
    const turn = new Coturn(secret, await freeUdpPort(), dir);
    await turn.launch();
    return turn;
  }

  async launch() {
    const { writeFileSync } = await import('node:fs');
    const relayBase = 30000 + (this.port % 300) * 100;
    const config = [
      'listening-ip=127.0.0.1',
      `listening-port=${this.port}`,
      'relay-ip=127.0.0.1',
      `min-port=${relayBase}`,
      `max-port=${relayBase + 99}`,
      'realm=cromulent.test',
      'use-auth-secret',
      `static-auth-secret=${this.secret}`,
      'fingerprint',
      'no-tls',
      'no-dtls',
      'no-cli',
      // Test only: both browsers' relay addresses are on 127.0.0.1.
      'allow-loopback-peers',
      `pidfile=${join(this.dir, 'turn.pid')}`,
      `userdb=${join(this.dir, 'turndb')}`,
      `log-file=${join(this.dir, 'turn.log')}`,
      'simple-log',
    ].join('\n');
    writeFileSync(join(this.dir, 'turnserver.conf'), config + '\n');
    this.child = spawn('turnserver', ['-c', join(this.dir, 'turnserver.conf')], { stdio: 'ignore' });
    for (let attempt = 0; attempt < 30; attempt++) {
      if (await this.answers()) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`coturn did not start on 127.0.0.1:${this.port}`);
  }

  /** Whether coturn answers a STUN binding request. */
  async answers() {
    const { execFile } = await import('node:child_process');
    return new Promise((done) => {
      const probe = execFile('turnutils_stunclient', ['-p', String(this.port), '127.0.0.1'], { timeout: 500 }, (_error, stdout) =>
        done(String(stdout).includes('reflexive addr')),
      );
      probe.on('error', () => done(false));
    });
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  /** Settings that make a Cromulent server hand out this coturn, relay only. */
  serverEnv(secret = this.secret) {
    return {
      CROMULENT_TURN_PROVIDER: 'coturn',
      CROMULENT_TURN_SECRET: secret,
      CROMULENT_TURN_URLS: JSON.stringify([`turn:127.0.0.1:${this.port}?transport=udp`]),
      CROMULENT_VOICE_FORCE_RELAY: 'true',
    };
  }
}

/** Someone whose client joins a voice channel over the raw gateway protocol (hello, identify,
 * voice_join, heartbeats) and then never answers a signal: a broken client, or a dead tab the
 * server keeps for its grace period. The server announces them in the channel, so everyone
 * who joins after them offers to them and waits for an answer that never comes. The socket
 * lives in a page of its own because Node 20 has no WebSocket; the page is on the server's
 * origin so the gateway accepts it. `offersFrom()` lists who offered to them. */
export async function silentVoiceParticipant(browser, server, username, channelName, password = 'correct horse battery') {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.evaluate(
    async ({ username, password, channelName }) => {
      const registered = await fetch('/api/v1/auth/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (!registered.ok) throw new Error(`register ${username}: ${registered.status} ${await registered.text()}`);
      const { token } = await registered.json();
      const silent = (window.__silent = { offersFrom: [], socket: new WebSocket(`ws://${location.host}/api/v1/gateway`) });
      const send = (frame) => silent.socket.send(JSON.stringify(frame));
      await new Promise((joined, fail) => {
        silent.socket.onclose = (event) => fail(new Error(`the gateway closed with ${event.code}`));
        silent.socket.onmessage = ({ data }) => {
          const frame = JSON.parse(data);
          if (frame.t === 'hello') {
            // Heartbeats keep the session (and so the voice session) alive however long the test runs.
            setInterval(() => send({ op: 'heartbeat' }), frame.d.heartbeat_interval_ms / 2);
            send({ op: 'identify', d: { token } });
          } else if (frame.t === 'ready') {
            const channel = frame.d.channels.find((c) => c.name === channelName && c.kind === 'voice');
            send({ op: 'voice_join', id: 'join', d: { channel_id: channel.id } });
          } else if (frame.id === 'join') {
            if (frame.t === 'reply') joined();
            else fail(new Error(`voice_join: ${JSON.stringify(frame.d)}`));
          } else if (frame.t === 'voice_signal' && frame.d.signal.description?.type === 'offer') {
            // Noted, never answered.
            silent.offersFrom.push(frame.d.from);
          }
        };
      });
    },
    { username, password, channelName },
  );
  return {
    page,
    /** The user ids that sent this participant an offer, once each. */
    offersFrom: () => page.evaluate(() => [...new Set(window.__silent.offersFrom)]),
    close: () => context.close(),
  };
}

/** Records every RTCPeerConnection a page creates, so tests can read their statistics. With
 * `onlyUrls` (a URL prefix such as 'turns:'), the connections get only the ICE server URLs that
 * start with it, as if the network let nothing else through; `window.__iceUrls` keeps the last
 * full list the client passed in. With `udpHost` (an IP address), the STUN and TURN-over-UDP
 * URLs name that address instead of their host, before `onlyUrls` is applied: Chromium looks
 * up the host of those URLs without the `mapHost` rules, so a mapped name fails there (TURN
 * over TCP and TLS follow the rules). */
export async function watchPeerConnections(context, { onlyUrls = null, udpHost = null } = {}) {
  await context.addInitScript(({ onlyUrls, udpHost }) => {
    const Original = window.RTCPeerConnection;
    window.__peerConnections = [];
    window.__iceUrls = null;
    const overUdp = (url) => url.startsWith('stun:') || (url.startsWith('turn:') && !/[?&]transport=tcp/.test(url));
    const address = (url) => (udpHost !== null && overUdp(url) ? url.replace(/^(stun|turn):(\[[^\]]*\]|[^:?]+)/, `$1:${udpHost}`) : url);
    const filter = (config) => {
      if (!config?.iceServers) return config;
      window.__iceUrls = config.iceServers.flatMap((server) => [server.urls].flat());
      if (onlyUrls === null && udpHost === null) return config;
      const iceServers = config.iceServers
        .map((server) => ({ ...server, urls: [server.urls].flat().map(address).filter((url) => onlyUrls === null || url.startsWith(onlyUrls)) }))
        .filter((server) => server.urls.length > 0);
      return { ...config, iceServers };
    };
    const setConfiguration = Original.prototype.setConfiguration;
    Original.prototype.setConfiguration = function (config) {
      return setConfiguration.call(this, filter(config));
    };
    window.RTCPeerConnection = function (config, ...rest) {
      const pc = new Original(filter(config), ...rest);
      window.__peerConnections.push(pc);
      return pc;
    };
    window.RTCPeerConnection.prototype = Original.prototype;
  }, { onlyUrls, udpHost });
}

/** For each open peer connection of a page: selected pair types, how our side reaches the
 * relay, and inbound audio counters. */
export function peerStats(page) {
  return page.evaluate(async () => {
    const result = [];
    for (const [index, pc] of window.__peerConnections.entries()) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      const byId = new Map();
      stats.forEach((s) => byId.set(s.id, s));
      let pair;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
      });
      let bytes = 0;
      let energy = 0;
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          bytes += s.bytesReceived ?? 0;
          energy += s.totalAudioEnergy ?? 0;
        }
      });
      result.push({
        index,
        state: pc.connectionState,
        local: pair ? byId.get(pair.localCandidateId)?.candidateType : null,
        /** How our side reaches the relay ('udp', 'tcp' or 'tls') when it is a relay candidate. */
        relayProtocol: pair ? (byId.get(pair.localCandidateId)?.relayProtocol ?? null) : null,
        remote: pair ? byId.get(pair.remoteCandidateId)?.candidateType : null,
        bytes,
        energy,
      });
    }
    return result;
  });
}
