// How people are named and pictured: the display name where one is set (else the username),
// "Deleted user" for a deleted account, and for someone without an avatar their initials on a
// circle whose colour comes from their id, so it is the same on every screen and device.

import type { Author, Id } from './api/protocol';

/** What a deleted account's messages are signed with. */
export const DELETED_USER = 'Deleted user';

/** How many avatar colours there are (`.avatar-colour-0` … in styles.css). */
export const AVATAR_COLOURS = 8;

/** Anyone the app names: a user, or a message's author. */
export type Person = Pick<Author, 'id' | 'username' | 'display_name' | 'avatar' | 'deleted'>;

/** The name to show for someone. */
export function displayName(person: Person): string {
  if (person.deleted) return DELETED_USER;
  return person.display_name?.trim() || person.username;
}

/** The @username to show beside or under a display name, or null when the name shown already
 * is the username (or the account is gone). */
export function handle(person: Person): string | null {
  if (person.deleted || !person.display_name?.trim() || person.display_name.trim() === person.username) return null;
  return `@${person.username}`;
}

/** One or two letters for an avatar without an image: the first letters of the first two words
 * of the name ("Amy Pond" → "AP", "amy" → "A"). Letters outside the BMP (emoji, many scripts)
 * stay whole. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/u).filter((w) => w !== '');
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** Which of the avatar colours someone gets, from their id alone. */
export function avatarColour(id: Id): number {
  // Ids are large decimal numbers whose low digits change fastest; a small string hash spreads
  // them evenly without BigInt.
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % AVATAR_COLOURS;
}
