// The open text channel: history that loads older pages when scrolled up without jumping,
// live messages (each group of one author's messages under their avatar and the name they
// show, "Deleted user" for an account that is gone), "jump to present", edit and delete, sends
// still pending or refused, the typing line and the composer, which says when the user may not
// post (admins-only channel, timeout, slow mode's countdown).

import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Channel, Message } from '../api/protocol';
import { pendingIn, typingText, type PendingMessage } from '../state/chat';
import { composerState } from '../state/posting';
import {
  account,
  ApiError,
  chat,
  currentChannel,
  discardSend,
  edit,
  loadingOlder,
  loadOlder,
  postingLimits,
  remove,
  retrySend,
  send,
  typing,
} from '../state/store';
import { renderMarkdown } from '../markdown';
import { displayName, type Person } from '../people';
import { Avatar } from './Avatar';
import { formatTimestamp, isoTimestamp } from '../time';

/** Distance from the bottom, in pixels, that still counts as "at the present". */
const STICKY_PX = 48;
/** Distance from the top at which the previous page is fetched. */
const PREFETCH_PX = 240;

export function MessagePane() {
  const channel = currentChannel.value;
  if (!channel) {
    return (
      <main class="pane empty">
        <p>No text channel yet.</p>
      </main>
    );
  }
  return (
    <main class="pane" aria-label={`#${channel.name}`}>
      <header class="pane-header">
        <h1>
          <span aria-hidden="true">#</span> {channel.name}
        </h1>
        {channel.private && <span class="badge">private</span>}
      </header>
      <MessageList channelId={channel.id} key={channel.id} />
      <TypingLine channelId={channel.id} />
      <Composer channel={channel} key={`composer-${channel.id}`} />
    </main>
  );
}

function MessageList(props: { channelId: string }) {
  const state = chat.value;
  const messages = state.messages[props.channelId];
  const pending = pendingIn(state, props.channelId);
  // Which sends are shown and in what state: a refused one grows by its reason and buttons.
  const pendingShape = pending.map((p) => `${p.nonce}:${p.status}`).join();
  const scroller = useRef<HTMLDivElement>(null);
  const [atPresent, setAtPresent] = useState(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current) {
      // Older messages were prepended: keep what the reader was looking at in place.
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (atPresent) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages, pendingShape]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setAtPresent(el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX);
    if (el.scrollTop < PREFETCH_PX && state.hasOlder[props.channelId] && !loadingOlder.value) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop };
      void loadOlder(props.channelId).catch(() => (anchor.current = null));
    }
  };

  const jump = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    setAtPresent(true);
  };

  return (
    <div class="messages-wrap">
      <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" tabIndex={0}>
        {messages === undefined && <p class="hint">Loading messages…</p>}
        {messages && !state.hasOlder[props.channelId] && <p class="hint">This is the beginning of the channel.</p>}
        {loadingOlder.value && <p class="hint">Loading older messages…</p>}
        <ol>
          {messages?.map((m, i) => (
            <MessageItem key={m.id} message={m} grouped={i > 0 && messages[i - 1].author.id === m.author.id && m.created_at - messages[i - 1].created_at < 5 * 60_000} />
          ))}
          {pending.map((p) => (
            <PendingItem key={p.nonce} pending={p} />
          ))}
        </ol>
      </div>
      {!atPresent && (
        <button type="button" class="jump" onClick={jump}>
          Jump to present
        </button>
      )}
    </div>
  );
}

function MessageItem(props: { message: Message; grouped: boolean }) {
  const m = props.message;
  const me = account.value;
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = me?.id === m.author.id;
  const canDelete = mine || !!me?.admin;

  const save = async (content: string) => {
    try {
      await edit(m.channel_id, m.id, content);
      setEditing(false);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not save.');
    }
  };

  const del = async () => {
    if (!confirm('Delete this message?')) return;
    try {
      await remove(m.channel_id, m.id);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not delete.');
    }
  };

  return (
    <li class={`message${props.grouped ? ' grouped' : ''}`} data-message-id={m.id} aria-label={`${displayName(m.author)}: ${m.content}`}>
      {!props.grouped && (
        <div class="meta">
          <Avatar person={m.author} />
          <AuthorName person={m.author} />
          <time dateTime={isoTimestamp(m.created_at)}>{formatTimestamp(m.created_at)}</time>
        </div>
      )}
      {editing ? (
        <EditBox initial={m.content} onSave={save} onCancel={() => setEditing(false)} />
      ) : (
        <div class="content">
          <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(m.content) }} />
          {m.edited_at !== null && (
            <small class="edited" title={formatTimestamp(m.edited_at)}>
              (edited)
            </small>
          )}
        </div>
      )}
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      {!editing && (mine || canDelete) && (
        <div class="message-actions">
          {mine && (
            <button type="button" class="ghost" aria-label="Edit message" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {canDelete && (
            <button type="button" class="ghost danger" aria-label="Delete message" onClick={del}>
              Delete
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** The name a message is signed with: the display name, the @username on hover; a deleted
 * account's as "Deleted user", muted. */
function AuthorName(props: { person: Person }) {
  const p = props.person;
  return (
    <strong class={`author${p.deleted ? ' deleted' : ''}`} title={p.deleted ? undefined : `@${p.username}`}>
      {displayName(p)}
    </strong>
  );
}

/** A send the server has not confirmed: dimmed and marked "Sending…" while it is retried, or
 * the server's reason with Retry and Discard when it was refused. */
function PendingItem(props: { pending: PendingMessage }) {
  const p = props.pending;
  const me = account.value;
  const name = me ? displayName(me) : '';
  const failed = p.status === 'failed';
  return (
    <li
      class={`message pending${failed ? ' failed' : ''}`}
      data-nonce={p.nonce}
      aria-label={`${name}: ${p.content} (${failed ? 'not sent' : 'sending'})`}
    >
      <div class="meta">
        {me && <Avatar person={me} />}
        {me && <AuthorName person={me} />}
        <span class="send-status">{failed ? 'Not sent' : 'Sending…'}</span>
      </div>
      <div class="content">
        <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(p.content) }} />
      </div>
      {failed && (
        <div class="send-failed">
          <p class="field-error" role="alert">
            {p.error}
          </p>
          <button type="button" class="ghost" aria-label="Retry sending" onClick={() => retrySend(p.nonce)}>
            Retry
          </button>
          <button type="button" class="ghost danger" aria-label="Discard message" onClick={() => discardSend(p.nonce)}>
            Discard
          </button>
        </div>
      )}
    </li>
  );
}

function EditBox(props: { initial: string; onSave(content: string): void; onCancel(): void }) {
  const [value, setValue] = useState(props.initial);
  return (
    <textarea
      class="edit"
      aria-label="Edit message"
      value={value}
      autoFocus
      onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' && !e.shiftKey) {
          e.preventDefault();
          props.onSave(value);
        } else if (e.key === 'Escape') props.onCancel();
      }}
    />
  );
}

function TypingLine(props: { channelId: string }) {
  const state = chat.value;
  const typers = state.typing[props.channelId] ?? {};
  const names = Object.entries(typers).map(([userId, t]) => {
    const user = state.users[userId];
    return user ? displayName(user) : t.username;
  });
  const text = typingText(names);
  return (
    <div class="typing" aria-live="polite">
      {text}
    </div>
  );
}

/** Re-renders every half second while `ticking`, so slow mode's countdown counts and lets go by
 * itself (a timeout's end comes from the store, which clears it then). */
function useTicking(ticking: boolean): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setTick((n) => n + 1), 500);
    return () => clearInterval(timer);
  }, [ticking]);
}

function Composer(props: { channel: Channel }) {
  const channel = props.channel;
  const [value, setValue] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  const limits = postingLimits.value;
  const now = Date.now();
  useTicking((limits.slowmodeUntil[channel.id] ?? 0) > now);
  const rules = composerState({ channel, admin: !!account.value?.admin, limits, now });
  const label = `Message #${channel.name}`;

  const submit = () => {
    if (!rules.canSend) return;
    // The box itself, not the last render's state: a second Enter before the re-render must
    // find it empty rather than send the text again.
    const el = box.current;
    const content = (el?.value ?? value).trim();
    if (!content) return;
    if (el) el.value = '';
    setValue('');
    send(channel.id, content);
  };

  return (
    <form class="composer" onSubmit={(e) => (e.preventDefault(), submit())}>
      {rules.notice ? (
        <p class={`composer-notice ${rules.limit}`} role="status" data-limit={rules.limit}>
          <span>{rules.notice}</span>
        </p>
      ) : (
        rules.hint && <p class="composer-hint">{rules.hint}</p>
      )}
      <textarea
        ref={box}
        aria-label={label}
        placeholder={rules.canType ? label : (rules.notice ?? label)}
        rows={1}
        value={value}
        disabled={!rules.canType}
        onInput={(e) => {
          setValue((e.target as HTMLTextAreaElement).value);
          typing(channel.id);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          }
        }}
      />
    </form>
  );
}
