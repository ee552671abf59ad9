// The login screen's pure parts: what the password reset and email confirmation steps say,
// where a refused login, registration or new password shows its error, and which address a
// confirmation link can be sent to again.

import { ApiError } from './api/rest';
import { rateLimitText } from './account';

/** After asking for a reset link: the same whether or not an account uses the address. */
export const RESET_LINK_SENT = 'If an account uses this address, we sent it a link (valid for one hour).';
/** "Forgot password?" on a server that cannot send mail. */
export const NO_MAIL = 'This server cannot send email; ask an admin of this server to set a new password for you.';
/** A reset or confirmation link that was used or has run out. */
export const LINK_USED = 'This link was already used or has expired; ask for a new one.';
export const PASSWORD_RESET_DONE = 'Password changed; log in.';
export const CHECK_INBOX = 'Check your inbox: we sent a link to confirm your address.';
export const LINK_SENT_AGAIN = 'We sent the link again; check your inbox.';
export const EMAIL_CONFIRMED = 'Address confirmed; log in.';

/** Errors by field name (`username`, `email`, `password`, `invite`, `new_password`,
 * `confirm`), and `form` for the rest. */
export type FieldErrors = Record<string, string>;

/** What a refused login or registration says, and next to which field. */
export function authErrors(error: unknown): FieldErrors {
  if (!(error instanceof ApiError)) return { form: 'Something went wrong.' };
  if (error.status === 429) return { form: rateLimitText(error.retryAfterMs) };
  if (error.code === 'account_disabled') return { form: 'An admin disabled your account.' };
  if (error.code === 'invalid_invite') return { invite: error.message };
  // Said above the form, where the button to send the link again is.
  if (error.code === 'email_not_verified') return { form: error.message };
  return { [error.field ?? 'form']: error.message };
}

/** What a refused new password (from a reset link) says: an unusable link is `expired`, which
 * offers to ask for a new one. */
export function resetErrors(error: unknown): FieldErrors & { expired?: 'true' } {
  if (!(error instanceof ApiError)) return { form: 'Something went wrong.' };
  if (error.code === 'invalid_token') return { form: LINK_USED, expired: 'true' };
  if (error.status === 429) return { form: rateLimitText(error.retryAfterMs) };
  if (error.field === 'new_password') return { new_password: error.message };
  return { form: error.message };
}

/** The address to send a confirmation link to after a refused login: what was typed in
 * "Username or email" when it is an address, else what the user typed in the email field. */
export function resendAddress(identifier: string, typed: string): string | null {
  const id = identifier.trim();
  if (id.includes('@')) return id;
  const email = typed.trim();
  return email.includes('@') ? email : null;
}
