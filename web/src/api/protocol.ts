// Wire types of the REST API and gateway, mirroring crates/proto (see docs/protocol.md).

export type Id = string;

export interface User {
  id: Id;
  username: string;
  admin: boolean;
}

export type ChannelKind = 'text' | 'voice';

export interface Channel {
  id: Id;
  name: string;
  kind: ChannelKind;
  private: boolean;
}

export interface Message {
  id: Id;
  channel_id: Id;
  author: { id: Id; username: string };
  content: string;
  created_at: number;
  edited_at: number | null;
  /** The nonce its sender posted it with, for the ten minutes it identifies the send (absent
   * without one, or once it lapsed): the sender knows its own message by it, whichever of the
   * answer, the event and a history page comes first. */
  nonce?: string;
}

export interface AuthResponse {
  token: string;
  user: User;
}

export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}

export interface VoiceStateUpdate {
  user_id: Id;
  channel_id: Id | null;
  session_id?: string;
  muted: boolean;
  deafened: boolean;
  speaking: boolean;
}

export interface Ready {
  session_id: string;
  user: User;
  channels: Channel[];
  online_user_ids: Id[];
  voice_states?: VoiceStateUpdate[];
}

export interface TypingStart {
  channel_id: Id;
  user_id: Id;
  username: string;
  expires_at: number;
}

export interface PresenceUpdate {
  user_id: Id;
  status: 'online' | 'offline';
}

/** ICE servers and policy, as `voice_join` and `voice_refresh_ice` reply (`IceServers` in proto). */
export interface IceConfig {
  ice_servers: RTCIceServer[];
  ice_transport_policy: 'all' | 'relay';
  expires_at: number | null;
  ice_degraded: boolean;
}

/** Reply to `voice_join` (`VoiceJoined` in proto). */
export interface JoinReply extends IceConfig {
  channel_id: Id;
  session_id: string;
  participants: { user_id: Id }[];
}

/** Events the gateway dispatches, by frame type. */
export type GatewayEvent =
  | { t: 'ready'; d: Ready }
  | { t: 'message_create'; d: Message }
  | { t: 'message_update'; d: Message }
  | { t: 'message_delete'; d: { id: Id; channel_id: Id } }
  | { t: 'channel_create'; d: Channel }
  | { t: 'channel_update'; d: Channel }
  | { t: 'channel_delete'; d: { id: Id } }
  | { t: 'presence_update'; d: PresenceUpdate }
  | { t: 'typing_start'; d: TypingStart }
  | { t: 'voice_state_update'; d: VoiceStateUpdate }
  | { t: 'voice_signal'; d: { from: Id; signal: unknown } }
  | { t: 'voice_session_replaced'; d: { channel_id: Id } };

/** Any frame the server sends. */
export interface ServerFrame {
  t: string;
  s: number;
  id?: string | number;
  d: unknown;
}

/** Gateway close codes with a meaning for the client. */
export const CloseCode = {
  NotAuthenticated: 4001,
  AuthenticationFailed: 4004,
  HeartbeatTimeout: 4009,
  SlowConsumer: 4010,
  SessionEnded: 4011,
  TooManySessions: 4012,
  RateLimited: 4029,
} as const;

/** Orders decimal id strings numerically without losing precision. */
export function compareIds(a: Id, b: Id): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
