import { html } from './html.ts';
import { ACCOUNT_TEXT as A, type Bilingual, other, tr } from './i18n.ts';
import { both, page, type PageContext } from './layout.ts';

/**
 * The sign-in and sign-out pages: plain forms that POST with a CSRF token, no script and
 * no inline style. The password field is never echoed back, the account name is (escaped).
 */
export interface SignInPageData {
  csrf: string;
  /** Where to go after signing in (already checked to be a path on this site). */
  returnTo: string;
  account?: string;
  error?: Bilingual;
  /** Shown instead of the form when someone is signed in already. */
  signedInAs?: string;
}

function title(ctx: PageContext, text: Bilingual): string {
  return `${text[ctx.lang]} / ${text[other(ctx.lang)]}`;
}

export function signInPage(ctx: PageContext, data: SignInPageData): string {
  const { lang } = ctx;
  const error = data.error ? html`<p class="notice notice-error" role="alert" data-code="sign-in-error">${both(lang, data.error)}</p>` : '';
  const signedIn = data.signedInAs
    ? html`<p class="notice" role="status">${tr(lang, A.alreadySignedIn)} <strong>${data.signedInAs}</strong>. <a href="/sign-out">${tr(lang, A.signOut)}</a></p>`
    : '';
  const main = html`<div class="container narrow sign-in">
<h1>${tr(lang, A.signInTitle)}</h1>
<p>${tr(lang, A.signInIntro)}</p>
${signedIn}
${error}
<form class="sign-in-form" action="/sign-in" method="post">
<input type="hidden" name="csrf" value="${data.csrf}">
<input type="hidden" name="return" value="${data.returnTo}">
<p><label for="account">${tr(lang, A.account)}</label><br>
<input id="account" name="account" type="text" required maxlength="100" autocomplete="username" autocapitalize="none" spellcheck="false" value="${data.account ?? ''}"></p>
<p><label for="password">${tr(lang, A.password)}</label><br>
<input id="password" name="password" type="password" required maxlength="1000" autocomplete="current-password"></p>
<p><button type="submit">${tr(lang, A.signIn)}</button></p>
</form>
</div>`;
  return page(ctx, { title: title(ctx, A.signInTitle), main, mainClass: 'page-sign-in' });
}

export function signOutPage(ctx: PageContext, data: { csrf?: string; name?: string }): string {
  const { lang } = ctx;
  const main =
    data.csrf && data.name
      ? html`<div class="container narrow sign-out">
<h1>${tr(lang, A.signOutTitle)}</h1>
<p>${tr(lang, A.alreadySignedIn)} <strong>${data.name}</strong>. ${tr(lang, A.signOutQuestion)}</p>
<form action="/sign-out" method="post">
<input type="hidden" name="csrf" value="${data.csrf}">
<p><button type="submit">${tr(lang, A.signOut)}</button></p>
</form>
</div>`
      : html`<div class="container narrow sign-out">
<h1>${tr(lang, A.signOutTitle)}</h1>
<p>${both(lang, A.notSignedIn)} <a href="/sign-in">${tr(lang, A.signIn)}</a></p>
</div>`;
  return page(ctx, { title: title(ctx, A.signOutTitle), main, mainClass: 'page-sign-in' });
}
