// A real SMTP server for tests (smtp-server) that parses every message (mailparser) and hands
// out the sign-in link. `down` makes it refuse mail, as a failing mail service would.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The sign-in link in the mail. */
  link: string;
}

export interface SmtpSink {
  url: string;
  mails: CapturedMail[];
  /** Refuse mail (SMTP 421) while true. */
  down: boolean;
  /** The next mail to `to` not taken yet (waits for it). */
  next(to: string, timeoutMs?: number): Promise<CapturedMail>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: CapturedMail[] = [];
  const taken = new Set<CapturedMail>();
  const waiters: Array<() => void> = [];
  const sink: SmtpSink = {
    url: '',
    mails,
    down: false,
    async next(to, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mails.find((m) => m.to.toLowerCase() === to.toLowerCase() && !taken.has(m));
        if (mail) {
          taken.add(mail);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const refuse = (callback: (err?: Error | null) => void) => {
    const error = Object.assign(new Error('Service not available'), { responseCode: 421 });
    callback(error);
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onMailFrom(_address, _session, callback) {
      if (sink.down) refuse(callback);
      else callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((parsed) => {
        const text = parsed.text ?? '';
        const to = Array.isArray(parsed.to) ? (parsed.to[0]?.text ?? '') : (parsed.to?.text ?? '');
        mails.push({
          to,
          subject: parsed.subject ?? '',
          text,
          html: typeof parsed.html === 'string' ? parsed.html : '',
          link: /https?:\/\/\S+\/link\?token=[\w-]+/.exec(text)?.[0] ?? '',
        });
        for (const wake of waiters.splice(0)) wake();
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  return sink;
}
