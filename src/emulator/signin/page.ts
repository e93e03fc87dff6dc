/**
 * The HTML of the emulator's sign-in pages: the email + password form, the consent form and the
 * error page. Plain forms, no script; the only thing carried between the pages is the
 * transaction id in a hidden field (`tx`). Every value is escaped; no secret is ever in a page.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#b00020}.note{color:#555;font-size:.85rem}`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
<p class="note">omni-auth emulator — a local stand-in for an Auth0 tenant.</p>
</main></body></html>
`;
}

export interface SigninPageInput {
  tx: string;
  clientName: string;
  /** Kept in the email field after a failed attempt. */
  email?: string;
  error?: string;
}

export function signinPage(p: SigninPageInput): string {
  return layout('Log in', `<h1>Log in to continue to ${escapeHtml(p.clientName)}</h1>
${p.error ? `<p class="error" role="alert" id="error">${escapeHtml(p.error)}</p>` : ''}
<form method="post" action="/authorize" id="signin">
<input type="hidden" name="tx" value="${escapeHtml(p.tx)}">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="username" required value="${escapeHtml(p.email ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" name="action" value="login" id="continue">Continue</button>
</form>`);
}

export interface ConsentPageInput {
  tx: string;
  clientName: string;
  audience: string;
  scopes: readonly string[];
}

export function consentPage(p: ConsentPageInput): string {
  const items = p.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return layout('Authorize App', `<h1>${escapeHtml(p.clientName)} is requesting access to your account</h1>
<p>API: <code>${escapeHtml(p.audience)}</code></p>
${items ? `<ul>${items}</ul>` : ''}
<form method="post" action="/authorize" id="consent">
<input type="hidden" name="tx" value="${escapeHtml(p.tx)}">
<button type="submit" name="consent" value="accept" id="accept">Accept</button>
<button type="submit" name="consent" value="decline" id="decline">Decline</button>
</form>`);
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>
<p class="error" role="alert" id="error">${escapeHtml(message)}</p>`);
}
