// Outgoing mail. With SMTP_URL, nodemailer sends it; without (development only, the config
// refuses that in production) it lands in a dev outbox: printed on the console and listed at
// /dev/outbox, so sign-in works with no mail server at all.
import nodemailer from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface OutboxMail extends Mail {
  at: Date;
}

export interface Mailer {
  /** Rejects when the mail could not be handed to the mail server. */
  send(mail: Mail): Promise<void>;
  /** The dev outbox, newest first; undefined when mail really goes out. */
  outbox?(): OutboxMail[];
  close(): void;
}

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  // Fail fast: the person is waiting on the page that says whether the mail went out.
  const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
    },
    close: () => transport.close(),
  };
}

const OUTBOX_SIZE = 50;

export function createDevOutbox(print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Mailer {
  const mails: OutboxMail[] = [];
  return {
    async send(mail) {
      mails.unshift({ ...mail, at: new Date() });
      mails.length = Math.min(mails.length, OUTBOX_SIZE);
      print(`\n── dev outbox ── to ${mail.to}: ${mail.subject}\n${mail.text}\n──────────────`);
    },
    outbox: () => [...mails],
    close: () => undefined,
  };
}
