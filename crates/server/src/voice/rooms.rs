//! Who is in which voice channel. One voice session per user, registered atomically under one
//! lock, so two simultaneous joins cannot both win; each session is bound to the gateway
//! session that joined, which is the only connection its signals are delivered to.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use cromulent_proto::Id;
use cromulent_proto::voice::{Participant, VoiceFlags};

use crate::hub::Session;

/// A user's voice session.
#[derive(Debug, Clone)]
pub struct Member {
    /// The voice channel.
    pub channel_id: i64,
    /// The gateway session that joined; signals go only there.
    pub session: Arc<Session>,
    /// Identifies this voice session on the wire.
    pub voice_session_id: String,
    /// Mute, deafen, speaking.
    pub flags: VoiceFlags,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefused {
    /// The user is in this channel on another connection.
    AlreadyInChannel,
    /// The user is in another voice channel on another connection.
    AlreadyInVoice,
}

/// What a successful join changed besides adding the member.
#[derive(Debug, Default)]
pub struct Joined {
    /// The voice session this join replaced, on another connection (takeover) or on this one
    /// in another channel (cross-channel move).
    pub replaced: Option<Member>,
    /// The new voice session id.
    pub voice_session_id: String,
    /// Everyone now in the channel.
    pub participants: Vec<Participant>,
}

#[derive(Debug, Default)]
struct Rooms {
    by_user: HashMap<i64, Member>,
    by_channel: HashMap<i64, BTreeSet<i64>>,
}

impl Rooms {
    fn remove(&mut self, user_id: i64) -> Option<Member> {
        let member = self.by_user.remove(&user_id)?;
        if let Some(users) = self.by_channel.get_mut(&member.channel_id) {
            users.remove(&user_id);
            if users.is_empty() {
                self.by_channel.remove(&member.channel_id);
            }
        }
        Some(member)
    }

    fn participants(&self, channel_id: i64) -> Vec<Participant> {
        self.by_channel
            .get(&channel_id)
            .into_iter()
            .flatten()
            .filter_map(|user_id| self.by_user.get(user_id).map(|m| Participant { user_id: Id(*user_id), flags: m.flags }))
            .collect()
    }
}

/// The voice registry.
#[derive(Debug, Default)]
pub struct VoiceRooms {
    rooms: Mutex<Rooms>,
}

impl VoiceRooms {
    /// Puts `user_id` in `channel_id` through `session`. From the same gateway session a join
    /// moves the user (leaving any other channel); from another one it is refused unless
    /// `takeover`, which ends the other voice session.
    pub fn join(&self, user_id: i64, channel_id: i64, session: &Arc<Session>, takeover: bool) -> Result<Joined, JoinRefused> {
        let mut rooms = self.rooms.lock().expect("voice lock");
        if let Some(current) = rooms.by_user.get(&user_id) {
            let same_connection = Arc::ptr_eq(&current.session, session);
            if !same_connection && !takeover {
                return Err(if current.channel_id == channel_id {
                    JoinRefused::AlreadyInChannel
                } else {
                    JoinRefused::AlreadyInVoice
                });
            }
        }
        let replaced = rooms.remove(user_id);
        let voice_session_id = format!("{:032x}", rand::random::<u128>());
        let flags = replaced.as_ref().map_or_else(VoiceFlags::default, |m| VoiceFlags { speaking: false, ..m.flags });
        let member = Member { channel_id, session: Arc::clone(session), voice_session_id: voice_session_id.clone(), flags };
        rooms.by_user.insert(user_id, member);
        rooms.by_channel.entry(channel_id).or_default().insert(user_id);
        let participants = rooms.participants(channel_id);
        Ok(Joined { replaced, voice_session_id, participants })
    }

    /// Removes the user's voice session if `session` still owns it (a stale connection cannot
    /// remove a newer one). Returns the removed session.
    pub fn leave(&self, user_id: i64, session: &Arc<Session>) -> Option<Member> {
        let mut rooms = self.rooms.lock().expect("voice lock");
        if !rooms.by_user.get(&user_id).is_some_and(|m| Arc::ptr_eq(&m.session, session)) {
            return None;
        }
        rooms.remove(user_id)
    }

    /// Removes the voice sessions in a channel whose user `evict(user_id, admin)` picks (for
    /// example those who may no longer see it), returning them.
    pub fn clear_channel_where(&self, channel_id: i64, evict: impl Fn(i64, bool) -> bool) -> Vec<(i64, Member)> {
        let mut rooms = self.rooms.lock().expect("voice lock");
        let users: Vec<i64> = rooms
            .by_channel
            .get(&channel_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|u| rooms.by_user.get(u).is_some_and(|m| evict(*u, m.session.principal().admin)))
            .collect();
        users.into_iter().filter_map(|u| rooms.remove(u).map(|m| (u, m))).collect()
    }

    /// The user's voice session.
    pub fn member(&self, user_id: i64) -> Option<Member> {
        self.rooms.lock().expect("voice lock").by_user.get(&user_id).cloned()
    }

    /// Updates the user's flags if `session` owns the voice session; returns its channel.
    pub fn set_flags(&self, user_id: i64, session: &Arc<Session>, flags: VoiceFlags) -> Option<i64> {
        let mut rooms = self.rooms.lock().expect("voice lock");
        let member = rooms.by_user.get_mut(&user_id).filter(|m| Arc::ptr_eq(&m.session, session))?;
        member.flags = flags;
        Some(member.channel_id)
    }

    /// How many people are in voice.
    pub fn session_count(&self) -> usize {
        self.rooms.lock().expect("voice lock").by_user.len()
    }

    /// Every voice session as (user id, member), for `ready`.
    pub fn all(&self) -> Vec<(i64, Member)> {
        let rooms = self.rooms.lock().expect("voice lock");
        rooms.by_user.iter().map(|(user, m)| (*user, m.clone())).collect()
    }
}
