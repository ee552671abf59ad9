// Everyone on the server, online first, by the name shown: their avatar, display name (the
// @username under it, and on hover) and an admin mark. Deleted accounts are not listed.

import type { User } from '../api/protocol';
import { displayName, handle } from '../people';
import { chat } from '../state/store';
import { Avatar } from './Avatar';

export function MemberList() {
  const state = chat.value;
  const users = Object.values(state.users)
    .filter((u) => !u.deleted)
    .sort((a, b) => displayName(a).toLowerCase().localeCompare(displayName(b).toLowerCase()));
  const online = users.filter((u) => state.online[u.id]);
  const offline = users.filter((u) => !state.online[u.id]);
  return (
    <aside class="members" aria-label="Members">
      <Group title={`Online — ${online.length}`} users={online} status="online" />
      <Group title={`Offline — ${offline.length}`} users={offline} status="offline" />
    </aside>
  );
}

function Group(props: { title: string; users: User[]; status: 'online' | 'offline' }) {
  return (
    <section>
      <h2>{props.title}</h2>
      <ul aria-label={props.status === 'online' ? 'Online members' : 'Offline members'}>
        {props.users.map((u) => {
          const at = handle(u);
          return (
            <li key={u.id} class={`member ${props.status}`} data-status={props.status} data-user-id={u.id} title={`@${u.username}`}>
              <span class="member-avatar">
                <Avatar person={u} />
                <span class="dot" aria-hidden="true" />
              </span>
              <span class="member-names">
                <span class="member-name">
                  {displayName(u)}
                  {u.admin && <small> admin</small>}
                </span>
                {at && <small class="member-handle">{at}</small>}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
