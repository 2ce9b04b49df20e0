// The person's side, in Chromium: the authorization page Claude opened, the email, the link from
// the mail (opened in a second tab, as from a mail app; or on another device, where the code the
// first tab shows is typed in), the confirm button, back in the first tab which carries on by
// itself, then the consent page. Optionally saves each page as a screenshot:
// a test artifact under e2e/test-results/screenshots/ on every run; with UPDATE_SCREENSHOTS=1 into
// e2e/screenshots/, the committed copies the README shows (the product's face: looked at).
import path from 'node:path';
import { expect, type BrowserContext, type Page } from '@playwright/test';
import type { SmtpSink } from '../../auth-server/test/support/smtp-sink.ts';

export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(import.meta.dirname, '..', 'screenshots')
  : path.join(import.meta.dirname, '..', 'test-results', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

export interface AuthorizeOptions {
  email: string;
  sink: SmtpSink;
  /** The app name the pages show. Default "Claude". */
  appName?: string;
  /** Permissions (scopes) left ticked on the consent page; default every one offered. */
  approve?: string[];
  /** Save the sign-in, check-your-email, confirm and consent pages as screenshots. */
  screenshots?: boolean;
  /** Whether the browser must sign in (false when its session is still alive). Default true. */
  signIn?: boolean;
  /** Open the mailed link here (another browser or device) instead of a second tab of the same browser. */
  linkContext?: BrowserContext;
  /** Runs on the consent page before Allow (to check what it shows). */
  onConsent?: (page: Page) => Promise<void>;
}

export interface AuthorizeResult {
  /** The tab that went through the flow, left on wherever consent sent it (the client's callback). */
  page: Page;
  /** The scopes the consent page offered. */
  offered: string[];
  /** Sign-in mails received during this authorization. */
  mails: number;
}

/** Opens `authorizationUrl` in `context` and does what a person does until consent is given. */
export async function authorize(context: BrowserContext, authorizationUrl: string, o: AuthorizeOptions): Promise<AuthorizeResult> {
  const appName = o.appName ?? 'Claude';
  const mailsBefore = o.sink.mails.length;
  const page = await context.newPage();
  await page.goto(authorizationUrl);

  if (o.signIn ?? true) {
    await expect(page.getByRole('heading', { name: 'Sign in to Pictor' })).toBeVisible();
    await expect(page.getByText(`${appName} wants to connect to your Pictor account.`)).toBeVisible();
    if (o.screenshots) await screenshot(page, '1-sign-in');
    await page.getByLabel('Email').fill(o.email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();

    await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
    await expect(page.getByText(o.email)).toBeVisible();
    const code = (await page.getByLabel('Sign-in code').innerText()).trim();
    if (o.screenshots) await screenshot(page, '2-check-your-email');

    const mail = await o.sink.next(o.email);
    expect(`${mail.subject}\n${mail.text}\n${mail.html}`, 'the mail never shows the code').not.toContain(code);
    expect(mail.link).toMatch(/\/link\?token=/);
    const linkTab = await (o.linkContext ?? context).newPage();
    await linkTab.goto(mail.link);
    await expect(linkTab.getByRole('heading', { name: `Sign in as ${o.email}?` })).toBeVisible();
    await expect(linkTab.getByText('If you did not just try to sign in somewhere, close this page.')).toBeVisible();
    await expect(linkTab.getByLabel('Sign-in code'), 'the confirm page never shows the code').toHaveCount(0);
    // The browser that asked confirms as is; another one must type the code the first tab shows.
    const codeField = linkTab.getByLabel('Code from the other window');
    await expect(codeField).toHaveCount(o.linkContext ? 1 : 0);
    if (o.linkContext) await codeField.fill(code);
    if (o.screenshots) await screenshot(linkTab, '3-confirm');
    await linkTab.getByRole('button', { name: 'Sign in' }).click();
    await expect(linkTab.getByRole('heading', { name: /You're signed in/ })).toBeVisible();
    await linkTab.close();
  }

  // The first tab polls and continues by itself once the link is confirmed.
  await expect(page.getByRole('heading', { name: `Connect ${appName} to Pictor` })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText(`Signed in as ${o.email}`)).toBeVisible();
  const boxes = page.locator('input[type="checkbox"][name="scope"]');
  const offered = await boxes.evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
  if (o.approve) {
    for (const scope of offered) {
      const box = page.locator(`input[type="checkbox"][name="scope"][value="${scope}"]`);
      if (await box.isDisabled()) continue; // read access: needed to connect
      if (o.approve.includes(scope)) await box.check();
      else await box.uncheck();
    }
  }
  await o.onConsent?.(page);
  if (o.screenshots) await screenshot(page, '4-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => !url.href.startsWith(new URL(authorizationUrl).origin));
  return { page, offered, mails: o.sink.mails.length - mailsBefore };
}
