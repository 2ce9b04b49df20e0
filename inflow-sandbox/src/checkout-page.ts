// The hosted checkout page at a payment's purchaseUrl: what the person sees when Claude hands
// them the link. Plain HTML and a little CSS; two forms, Pay and Cancel.
import type { Payment } from './payments.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function formatMinor(cents: number, currency: string): string {
  const whole = Math.floor(cents / 100);
  const fraction = String(cents % 100).padStart(2, '0');
  return `${whole}.${fraction} ${currency}`;
}

const STYLE = `
  :root { color-scheme: light; --ink: #14171f; --muted: #5b6270; --line: #e3e6ec; --brand: #3a5bd9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f4f6fa; }
  .banner { background: #fff4d6; color: #6b4e00; text-align: center; font-size: 13px; padding: 6px; }
  main { max-width: 440px; margin: 48px auto; background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 28px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .muted { color: var(--muted); font-size: 14px; }
  table { width: 100%; border-collapse: collapse; margin: 20px 0; }
  td { padding: 8px 0; border-bottom: 1px solid var(--line); }
  td.amount { text-align: right; font-variant-numeric: tabular-nums; }
  tr.total td { font-weight: 600; border-bottom: none; }
  .actions { display: flex; gap: 12px; margin-top: 8px; }
  form { flex: 1; margin: 0; }
  button { width: 100%; padding: 12px; border-radius: 8px; font-size: 16px; cursor: pointer; border: 1px solid var(--line); background: #fff; color: var(--ink); }
  button.pay { background: var(--brand); border-color: var(--brand); color: #fff; font-weight: 600; }
  .status { margin-top: 16px; padding: 12px; border-radius: 8px; background: #eef2ff; }
  .status.ok { background: #e7f7ee; } .status.bad { background: #fdecec; }
  a { color: var(--brand); }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><div class="banner">InFlow sandbox: no real money moves.</div><main>${body}</main></body></html>`;
}

function lines(payment: Payment): string {
  const rows = payment.products
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.name)}${p.quantity > 1 ? ` × ${p.quantity}` : ''}</td>` +
        `<td class="amount">${formatMinor(p.price * p.quantity, payment.currency)}</td></tr>`,
    )
    .join('');
  return `<table>${rows}<tr class="total"><td>Total</td><td class="amount">${formatMinor(payment.amountInCents, payment.currency)}</td></tr></table>`;
}

const OUTCOME: Partial<Record<Payment['status'], { text: string; tone: 'ok' | 'bad' | '' }>> = {
  CHECKOUT_SUCCESS: { text: 'Payment authorized. It is being settled.', tone: '' },
  PAYMENT_RECEIVED: { text: 'Payment received. It is being settled.', tone: '' },
  PAYMENT_SUCCESS: { text: 'Payment complete. You can close this page and return to Pictor.', tone: 'ok' },
  PAYMENT_FAILED: { text: 'The payment failed. Nothing was charged.', tone: 'bad' },
  CANCELED: { text: 'Checkout canceled. Nothing was charged.', tone: 'bad' },
};

export function checkoutPage(payment: Payment, notice?: string): string {
  const open = payment.status === 'INITIATION' || payment.status === 'CHECKOUT_PENDING';
  const total = formatMinor(payment.amountInCents, payment.currency);
  const outcome = OUTCOME[payment.status] ?? { text: `Payment status: ${payment.status}.`, tone: '' as const };
  const back = payment.successUrl && !open ? `<p><a href="${escapeHtml(payment.successUrl)}">Return to the merchant</a></p>` : '';
  const body = `
    <h1>Pay ${escapeHtml(total)}</h1>
    <div class="muted">to Pictor · ${escapeHtml(payment.customerEmail)}</div>
    ${lines(payment)}
    ${notice ? `<div class="status bad" role="alert">${escapeHtml(notice)}</div>` : ''}
    ${
      open
        ? `
    <div class="actions">
      <form method="post" action="/pay/${escapeHtml(payment.id)}/cancel"><button type="submit">Cancel</button></form>
      <form method="post" action="/pay/${escapeHtml(payment.id)}/pay"><button type="submit" class="pay">Pay ${escapeHtml(total)}</button></form>
    </div>
    <p class="muted">Sandbox card •••• 4242 will be used.</p>`
        : `<div class="status ${outcome.tone}" role="status" data-status="${payment.status}">${escapeHtml(outcome.text)}</div>${back}`
    }
  `;
  return layout(`Checkout · ${total}`, body);
}

export function notFoundPage(): string {
  return layout('Checkout not found', '<h1>Checkout not found</h1><p class="muted">This payment link is not valid.</p>');
}
