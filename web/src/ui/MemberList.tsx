// Everyone on the server, online first, by name.

import type { User } from '../api/protocol';
import { chat } from '../state/store';

export function MemberList() {
  const state = chat.value;
  const users = Object.values(state.users).sort((a, b) => a.username.toLowerCase().localeCompare(b.username.toLowerCase()));
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
        {props.users.map((u) => (
          <li key={u.id} class={`member ${props.status}`} data-status={props.status}>
            <span class="dot" aria-hidden="true" />
            {u.username}
            {u.admin && <small> admin</small>}
          </li>
        ))}
      </ul>
    </section>
  );
}
