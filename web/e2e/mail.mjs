// Mail for browser tests: Debian's aiosmtpd on loopback as the server Cromulent sends to, which
// keeps every mail it is given, and the text and links of those mails as a person reads them.

import { spawn } from 'node:child_process';
import { freeTcpPort } from './harness.mjs';

/** The text of a mail as a person reads it: the headers, then each text part decoded from
 * quoted-printable or base64 (a multipart mail's parts one after the other). */
export function readableMail(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  const header = (name, text) => new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(text)?.[1].replace(/\r?\n[ \t]+/g, ' ') ?? '';
  const decode = (headers, text) => {
    const encoding = header('Content-Transfer-Encoding', headers).trim().toLowerCase();
    if (encoding === 'base64') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (encoding === 'quoted-printable') {
      const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    return text;
  };
  const boundary = /boundary="?([^";\s]+)"?/i.exec(header('Content-Type', head))?.[1];
  if (!boundary) return `${head}\n\n${decode(head, body)}`;
  const parts = body.split(`--${boundary}`).slice(1, -1);
  const texts = parts.map((part) => {
    const [partHead, ...partBody] = part.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
    return /multipart\//i.test(header('Content-Type', partHead)) ? readableMail(part.replace(/^\r?\n/, '')) : decode(partHead, partBody.join('\n\n'));
  });
  return [head, ...texts].join('\n\n');
}

/** Debian's aiosmtpd (python3-aiosmtpd) as a mail server on loopback that takes every mail and
 * prints it; `nextMail(to)` waits for the next one to that address, decoded (`readableMail`). */
export class MailSink {
  constructor(port, child) {
    this.port = port;
    this.child = child;
    this.mails = [];
    this.waiting = [];
  }

  static async start() {
    for (let attempt = 0; ; attempt++) {
      const port = await freeTcpPort();
      // Unbuffered, so each mail shows up on stdout as soon as it is taken.
      const child = spawn('/usr/bin/python3', ['-u', '-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const sink = new MailSink(port, child);
      sink.collect();
      if (await sink.answers()) return sink;
      await sink.stop();
      // The port was taken meanwhile (or aiosmtpd is missing: then say so).
      if (attempt === 4) throw new Error('aiosmtpd did not start: apt-get install python3-aiosmtpd');
    }
  }

  /** Splits what aiosmtpd prints into mails. */
  collect() {
    let buffer = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        const start = buffer.indexOf('---------- MESSAGE FOLLOWS ----------\n');
        const end = buffer.indexOf('------------ END MESSAGE ------------\n');
        if (start < 0 || end < start) return;
        const raw = buffer.slice(start + 38, end);
        buffer = buffer.slice(end + 38);
        const mail = readableMail(raw);
        this.mails.push(mail);
        for (const waiter of [...this.waiting]) waiter(mail);
      }
    });
  }

  /** Whether the server greets an SMTP client within a few seconds. */
  async answers() {
    const { connect } = await import('node:net');
    for (let i = 0; i < 50; i++) {
      if (this.child.exitCode !== null) return false;
      const greeted = await new Promise((done) => {
        const socket = connect(this.port, '127.0.0.1');
        socket.once('data', (data) => {
          socket.end('QUIT\r\n');
          done(String(data).startsWith('220'));
        });
        socket.once('error', () => done(false));
      });
      if (greeted) return true;
      await new Promise((done) => setTimeout(done, 100));
    }
    return false;
  }

  /** The first mail to `to` not yet taken, waiting up to `timeoutMs` for it. */
  nextMail(to, timeoutMs = 15_000) {
    const addressed = (mail) => new RegExp(`^To:.*${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'im').test(mail);
    const index = this.mails.findIndex(addressed);
    if (index >= 0) return Promise.resolve(this.mails.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no mail to ${to} within ${timeoutMs} ms`)), timeoutMs);
      const waiter = (mail) => {
        if (!addressed(mail)) return;
        clearTimeout(timer);
        this.waiting = this.waiting.filter((w) => w !== waiter);
        this.mails.splice(this.mails.indexOf(mail), 1);
        resolve(mail);
      };
      this.waiting.push(waiter);
    });
  }

  /** Settings that make a Cromulent server send its mail here. */
  serverEnv() {
    return {
      CROMULENT_SMTP_HOST: '127.0.0.1',
      CROMULENT_SMTP_PORT: String(this.port),
      CROMULENT_SMTP_TLS: 'none',
      CROMULENT_SMTP_FROM: 'chat@chat.test',
    };
  }

  async stop() {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
}

/** The first link in a mail to a page of the app (e.g. `/reset-password`), as a path with its
 * query, so it can be opened on the test server whatever origin the mail names. */
export function linkIn(mail, page) {
  const match = new RegExp(`(?:https?://[^/\\s"'<>]+)?(${page}\\?token=[^\\s"'<>]+)`).exec(mail);
  if (!match) throw new Error(`no ${page} link in the mail:\n${mail}`);
  return match[1].replace(/&amp;/g, '&');
}
