// Error pages a person can act on. OAuth errors arrive as oidc-provider's exposed `error` and
// `error_description` (never internal messages or stacks); the common ones get plain words.
import { html } from './html.ts';
import { page } from './layout.ts';

const KNOWN: Record<string, { title: string; text: string }> = {
  invalid_redirect_uri: {
    title: 'redirect_uri is not registered',
    text: 'The app asked to send you back to an address it did not register with Pictor, so the sign-in was stopped. If you are using Claude, reconnect through Claude’s settings. If you are testing an OAuth client, register the exact redirect URI you use.',
  },
  invalid_client: {
    title: 'Unknown app',
    text: 'This app is not registered with Pictor (unknown client_id). Reconnect from the app so it can register again.',
  },
  invalid_target: {
    title: 'Unknown resource',
    text: 'The app asked for access to something other than the Pictor MCP server.',
  },
  invalid_request: {
    title: 'The app sent an invalid request',
    text: 'The sign-in request is missing something or is malformed. Try connecting again from the app.',
  },
  invalid_scope: {
    title: 'The app asked for an unknown permission',
    text: 'Try connecting again from the app.',
  },
  csrf: {
    title: 'This form has expired',
    text: 'For your safety, forms only work from the page that showed them. Go back, reload the page and try again.',
  },
  session_not_found: {
    title: 'This sign-in has ended',
    text: 'The sign-in request timed out or was already finished in this browser. Start connecting again from the app.',
  },
  not_found: { title: 'Page not found', text: 'There is nothing at this address.' },
  temporarily_unavailable: {
    title: 'Pictor is temporarily unavailable',
    text: 'The sign-in service cannot reach its database right now. Nothing was changed; try again in a few seconds.',
  },
};

export function errorPage(error: string, description?: string): string {
  const known = KNOWN[error];
  const title = known?.title ?? 'Something went wrong';
  return page(
    { title },
    html`
    <h1>${title}</h1>
    <p>${known?.text ?? 'The request could not be completed. Try again from the app you were connecting.'}</p>
    ${description ? html`<p class="muted small">Details: <code>${error}</code> — ${description}</p>` : html`<p class="muted small">Error: <code>${error}</code></p>`}`,
  );
}
