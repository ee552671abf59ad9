// End-to-end harness: runs the real `cromulent` binary on a loopback port with a temp data dir,
// and Debian's Chromium through playwright-core. Screenshots of every open page are written to
// a temp folder when a test fails.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
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
  }

  static async start() {
    const server = new Server(mkdtempSync(join(tmpdir(), 'cromulent-e2e-data-')));
    await server.launch();
    return server;
  }

  async launch() {
    const child = spawn(serverBinary, ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--log', 'info'], {
      env: { ...process.env, CROMULENT_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    const lines = createInterface({ input: child.stderr });
    const address = await new Promise((resolveAddress, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not start within 20 s')), 20_000);
      child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line);
          if (entry.fields?.message === 'listening') {
            clearTimeout(timer);
            resolveAddress(entry.fields.addr);
          }
        } catch {
          // Not a log line of ours.
        }
      });
    });
    this.port = Number(address.split(':').pop());
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** Stops with SIGTERM and waits for the process to exit. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }

  async restart() {
    await this.stop();
    await this.launch();
  }
}

/** Launches headless Chromium with flags that keep it off the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
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
