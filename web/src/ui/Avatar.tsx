// Someone's picture: their avatar image, or their initials on a circle coloured from their id
// when they have none (or the image fails to load). Purely decorative: the name beside it says
// who it is, so screen readers skip it.

import { useEffect, useState } from 'preact/hooks';
import { avatarUrl } from '../api/rest';
import { avatarColour, displayName, initials, type Person } from '../people';

/** `small` is for voice participants, `medium` for messages, members and the user panel,
 * `large` for the profile settings. */
export type AvatarLook = 'small' | 'medium' | 'large';

export function Avatar(props: { person: Person; look?: AvatarLook }) {
  const { person } = props;
  const look = props.look ?? 'medium';
  const [failed, setFailed] = useState(false);
  // A new upload is a new image, which deserves a new try.
  useEffect(() => setFailed(false), [person.avatar]);
  const classes = `avatar avatar-${look}`;
  if (person.avatar && !person.deleted && !failed) {
    // Twice the shown size for sharp pictures on high-density screens: 32 px images only for
    // the smallest circles.
    const size = look === 'small' ? 32 : 128;
    return <img class={classes} src={avatarUrl(person.id, person.avatar, size)} alt="" aria-hidden="true" data-user-id={person.id} onError={() => setFailed(true)} />;
  }
  return (
    <span class={`${classes} avatar-initials avatar-colour-${person.deleted ? 'none' : avatarColour(person.id)}`} aria-hidden="true" data-user-id={person.id}>
      {person.deleted ? '' : initials(displayName(person))}
    </span>
  );
}
