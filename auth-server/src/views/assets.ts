// Static assets served by the server itself (the CSP allows only same-origin styles and scripts,
// no inline code): the stylesheet, and the small script that lets the window that asked for a
// sign-in link carry on by itself once the link is confirmed, in this browser or another one.

export const STYLESHEET = `
:root {
  --bg: #f5f6fb; --card: #ffffff; --text: #1b1d2a; --muted: #5d6275; --line: #e3e5ee;
  --brand: #4f46e5; --brand-strong: #4338ca; --brand-soft: #eef0ff; --danger: #c2261d;
  --ok: #137a4b; --warn-bg: #fff7e6; --warn-line: #f3d08b; --radius: 14px;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1117; --card: #181b24; --text: #eceef6; --muted: #a3a8bb; --line: #2a2f3d;
    --brand: #8b85ff; --brand-strong: #a5a0ff; --brand-soft: #23244a; --danger: #ff7b72;
    --ok: #4cc38a; --warn-bg: #2b2414; --warn-line: #6b5424;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header.brand { margin: 40px 0 20px; display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 20px; letter-spacing: -0.01em; }
header.brand .mark { width: 30px; height: 30px; border-radius: 9px; background: linear-gradient(135deg, #6366f1, #a855f7 60%, #ec4899); box-shadow: 0 2px 8px rgba(99, 102, 241, .35); }
main.card {
  width: min(440px, calc(100vw - 32px)); background: var(--card); border: 1px solid var(--line);
  border-radius: var(--radius); padding: 32px; box-shadow: 0 10px 30px rgba(20, 22, 40, .06);
}
main.card.wide { width: min(640px, calc(100vw - 32px)); }
h1 { font-size: 22px; line-height: 1.3; margin: 0 0 8px; letter-spacing: -0.01em; }
p { margin: 0 0 16px; }
.muted { color: var(--muted); }
.small { font-size: 14px; }
label { display: block; font-weight: 600; font-size: 14px; margin-bottom: 6px; }
input[type=email], input.code-input {
  width: 100%; font: inherit; padding: 11px 13px; border-radius: 10px; border: 1px solid var(--line);
  background: var(--bg); color: var(--text); outline: none;
}
input[type=email]:focus, input.code-input:focus { border-color: var(--brand); box-shadow: 0 0 0 3px var(--brand-soft); }
input.code-input { font: 600 22px/1.2 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; letter-spacing: .12em; text-align: center; text-transform: uppercase; }
button, .button {
  display: inline-flex; justify-content: center; align-items: center; gap: 8px; width: 100%;
  font: inherit; font-weight: 600; padding: 11px 16px; border-radius: 10px; border: 1px solid transparent;
  background: var(--brand); color: #fff; cursor: pointer; text-decoration: none; margin-top: 16px;
}
button:hover, .button:hover { background: var(--brand-strong); }
button.secondary { background: transparent; color: var(--text); border-color: var(--line); }
button.secondary:hover { background: var(--bg); }
button.danger { background: transparent; color: var(--danger); border-color: var(--line); width: auto; margin: 0; padding: 7px 12px; font-size: 14px; }
button.link { background: none; border: none; color: var(--brand); width: auto; padding: 0; margin: 0; font-weight: 500; }
.actions { display: flex; gap: 12px; }
.actions button { flex: 1; }
.code {
  font: 600 28px/1 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; letter-spacing: .12em;
  text-align: center; padding: 16px; margin: 8px 0 16px; border-radius: 12px;
  background: var(--brand-soft); color: var(--brand-strong);
}
.notice { border: 1px solid var(--warn-line); background: var(--warn-bg); border-radius: 10px; padding: 12px 14px; font-size: 14px; margin-bottom: 16px; }
.app { display: flex; align-items: center; gap: 12px; padding: 14px; border: 1px solid var(--line); border-radius: 12px; margin-bottom: 18px; }
.app .avatar { flex: none; width: 40px; height: 40px; border-radius: 10px; display: grid; place-items: center; font-weight: 700; background: var(--brand-soft); color: var(--brand-strong); }
.app .name { font-weight: 650; }
ul.permissions { list-style: none; margin: 0 0 8px; padding: 0; }
ul.permissions li { border-top: 1px solid var(--line); }
ul.permissions li:first-child { border-top: none; }
ul.permissions label { display: flex; gap: 12px; align-items: flex-start; padding: 12px 2px; font-weight: 500; cursor: pointer; margin: 0; }
ul.permissions input { margin-top: 4px; width: 18px; height: 18px; accent-color: var(--brand); flex: none; }
ul.permissions .scope { display: block; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); }
ul.permissions .fixed { font-size: 12px; color: var(--muted); }
fieldset.limits { border: 1px solid var(--line); border-radius: 12px; padding: 10px 14px 4px; margin: 0 0 14px; }
fieldset.limits legend { font-weight: 650; font-size: 14px; padding: 0 4px; }
.limit-row { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; }
.limit-row input[type=number] { width: 9em; font: inherit; padding: 8px 10px; border-radius: 10px; border: 1px solid var(--line); background: var(--bg); color: var(--text); }
label.check { display: flex; gap: 8px; align-items: center; font-weight: 500; margin: 0 0 8px; cursor: pointer; }
label.check input { accent-color: var(--brand); width: 16px; height: 16px; }
table.apps { width: 100%; border-collapse: collapse; font-size: 15px; }
table.apps th { white-space: nowrap; text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; padding: 0 8px 8px 0; }
table.apps td { border-top: 1px solid var(--line); padding: 12px 8px 12px 0; vertical-align: top; }
table.apps td:last-child { text-align: right; padding-right: 0; }
form.app-limits { margin-top: 20px; padding-top: 16px; border-top: 1px solid var(--line); }
form.app-limits h2 { font-size: 16px; margin: 0 0 10px; }
form.app-limits button.secondary { width: auto; margin: 0 0 4px; padding: 7px 12px; font-size: 14px; }
ul.perms { margin: 0; padding-left: 18px; font-size: 14px; }
ul.perms li { margin: 2px 0; }
.nowrap { white-space: nowrap; }
.spinner { display: inline-block; width: 14px; height: 14px; border-radius: 50%; border: 2px solid var(--line); border-top-color: var(--brand); animation: spin 1s linear infinite; vertical-align: -2px; margin-right: 6px; }
@keyframes spin { to { transform: rotate(360deg); } }
.ok { color: var(--ok); font-weight: 600; }
.mt { margin-top: 16px; }
footer { margin: 24px 0 40px; font-size: 13px; color: var(--muted); }
footer a, a { color: var(--brand); }
pre.mail { white-space: pre-wrap; font-size: 13px; background: var(--bg); border: 1px solid var(--line); border-radius: 10px; padding: 12px; }
`;

// Polls the status URL of the waiting page; when the link is confirmed the page's own form is
// submitted, which finishes the sign-in in this window.
export const POLL_SCRIPT = `
(function () {
  var form = document.getElementById('continue-form');
  if (!form || !window.fetch) return;
  var url = form.getAttribute('data-status-url');
  var stopAt = Date.now() + 30 * 60 * 1000;
  function tick() {
    if (Date.now() > stopAt) return;
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : { status: 'pending' }; })
      .then(function (s) {
        if (s.status === 'confirmed') { form.submit(); return; }
        if (s.status === 'ended') { window.location.reload(); return; }
        setTimeout(tick, 2000);
      }, function () { setTimeout(tick, 4000); });
  }
  setTimeout(tick, 2000);
})();
`;
