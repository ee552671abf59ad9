//! Voice use cases: join (one voice session per user, takeover, cross-channel move), leave,
//! peer-to-peer signals delivered only to their target's voice connection, participant state,
//! fresh ICE servers, and leaving after a grace period when a gateway connection is lost.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cromulent_proto::rest::ChannelKind;
use cromulent_proto::voice::{
    IceServers, IceTransportPolicy, VoiceDisconnected, VoiceFlags, VoiceJoined, VoiceSessionReplaced, VoiceSignalFrom,
    VoiceStateUpdate,
};
use cromulent_proto::{ErrorCode, Id};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::Value;

use super::{Chat, Error, Result, now_ms};
use crate::config::VoiceConfig;
use crate::domain::access::{Audience, can_see_channel};
use crate::domain::event::Event;
use crate::hub::Session;
use crate::voice::rooms::Member;
use crate::voice::{IceServersSource, JoinRefused, RequestHost, VoiceRooms};
use cromulent_turn::shell::RelayServer;

/// Voice state shared by all connections.
pub struct Voice {
    rooms: VoiceRooms,
    ice: IceServersSource,
    signals: DefaultKeyedRateLimiter<i64>,
    config: VoiceConfig,
    /// The built-in relay, to end a disabled account's allocations, and how long the
    /// credentials it was given stay valid.
    relay: Option<(Arc<RelayServer>, u64)>,
    /// Users an admin server-muted (kept until unmuted or the server restarts).
    server_muted: std::sync::RwLock<std::collections::HashSet<i64>>,
    /// Whether voice channels can be joined (`voice.enabled`, changeable at run time).
    enabled: AtomicBool,
    /// Whether clients must relay (`voice.force_relay`, changeable at run time).
    force_relay: AtomicBool,
}

impl Voice {
    /// An empty registry that hands out ICE servers from `ice`.
    pub fn new(config: VoiceConfig, ice: IceServersSource) -> Voice {
        let per_minute = NonZeroU32::new(config.signals_per_minute.max(1)).expect("at least one");
        let (enabled, force_relay) = (config.enabled, config.force_relay);
        Voice {
            rooms: VoiceRooms::default(),
            ice,
            signals: RateLimiter::keyed(Quota::per_minute(per_minute)),
            config,
            relay: None,
            server_muted: Default::default(),
            enabled: AtomicBool::new(enabled),
            force_relay: AtomicBool::new(force_relay),
        }
    }

    /// The same, with the built-in relay whose credentials live `credential_ttl_secs`.
    pub fn with_relay(mut self, relay: Arc<RelayServer>, credential_ttl_secs: u64) -> Voice {
        self.relay = Some((relay, credential_ttl_secs));
        self
    }
}

fn refused(code: ErrorCode, message: &'static str) -> Error {
    Error::Refused { code, message }
}

fn state_update(user_id: i64, member: Option<&Member>, server_muted: bool) -> VoiceStateUpdate {
    VoiceStateUpdate {
        user_id: Id(user_id),
        channel_id: member.map(|m| Id(m.channel_id)),
        session_id: member.map(|m| m.voice_session_id.clone()),
        flags: member.map(|m| m.flags).unwrap_or_default(),
        server_muted: server_muted && member.is_some(),
    }
}

impl Chat {
    /// ICE servers for `user_id`: fresh credentials every call, STUN only if the provider fails.
    pub async fn ice_servers(&self, user_id: i64, host: &RequestHost) -> IceServers {
        let (list, degraded, provider) = self.voice.ice.get(user_id, now_ms() / 1000, host).await;
        self.metrics.ice_request(provider, if degraded { "fallback" } else { "ok" });
        IceServers {
            ice_servers: list.servers,
            expires_at: list.expires_at,
            ice_degraded: degraded,
            ice_transport_policy: if self.voice.force_relay.load(Ordering::Relaxed) {
                IceTransportPolicy::Relay
            } else {
                IceTransportPolicy::All
            },
        }
    }

    /// ICE servers for a connection test from `ip`. A logged-in caller gets what a call would
    /// get. Before login, only the built-in relay hands out TURN credentials — of a throwaway
    /// negative id, which it lets reach only its own relayed addresses (the test calls itself
    /// through it); an external relay cannot be told to restrict them, so anonymous testers get
    /// its STUN servers only. At most a few per address and minute.
    pub async fn probe_ice_servers(
        &self,
        principal: Option<&super::Principal>,
        ip: std::net::IpAddr,
        host: &RequestHost,
    ) -> Result<IceServers> {
        if !self.voice.enabled.load(Ordering::Relaxed) {
            return Err(refused(ErrorCode::VoiceDisabled, "Voice is turned off on this server."));
        }
        self.probes.check_key(&ip).map_err(super::rate_limited)?;
        if let Some(principal) = principal {
            return Ok(self.ice_servers(principal.user_id, host).await);
        }
        let probe = -i64::from(rand::random::<u32>().max(1));
        let mut servers = self.ice_servers(probe, host).await;
        if !self.voice.ice.is_builtin() {
            servers.ice_servers.retain(|server| server.username.is_none());
        }
        Ok(servers)
    }

    /// People in voice now.
    pub fn voice_session_count(&self) -> usize {
        self.voice.rooms.session_count()
    }

    /// Joins a voice channel from gateway session `session`.
    pub async fn voice_join(
        &self,
        session: &Arc<Session>,
        channel_id: Id,
        takeover: bool,
        host: &RequestHost,
    ) -> Result<VoiceJoined> {
        let joined = self.try_voice_join(session, channel_id, takeover, host).await;
        let outcome = match &joined {
            Ok(_) => "ok".to_owned(),
            // The code as the wire writes it: one of a closed set, so the series stay few.
            Err(err) => serde_json::to_value(err.code()).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        };
        self.metrics.voice_join(&outcome);
        joined
    }

    async fn try_voice_join(
        &self,
        session: &Arc<Session>,
        channel_id: Id,
        takeover: bool,
        host: &RequestHost,
    ) -> Result<VoiceJoined> {
        if !self.voice.enabled.load(Ordering::Relaxed) {
            return Err(refused(ErrorCode::VoiceDisabled, "Voice is turned off on this server."));
        }
        let principal = session.principal();
        self.check_not_timed_out(principal.user_id)?;
        let joined = {
            let _access = self.locks.read(channel_id.0).await;
            let channel = self.visible_channel(principal, channel_id).await?;
            if channel.kind() != ChannelKind::Voice {
                return Err(Error::WrongChannelKind { needed: "voice", actual: "text" });
            }
            let joined =
                self.voice.rooms.join(principal.user_id, channel.id, session, takeover).map_err(|refusal| match refusal {
                    JoinRefused::AlreadyInChannel => {
                        refused(ErrorCode::AlreadyInChannel, "You are in this voice channel on another connection.")
                    }
                    JoinRefused::AlreadyInVoice => {
                        refused(ErrorCode::AlreadyInVoice, "You are in another voice channel on another connection.")
                    }
                })?;
            if let Some(old) = &joined.replaced {
                if !Arc::ptr_eq(&old.session, session) {
                    old.session.send_event(&Event::VoiceSessionReplaced(VoiceSessionReplaced { channel_id: Id(old.channel_id) }));
                }
                // Leaving the old channel is announced before joining the new one, so clients
                // that apply updates in order end with the user in the new channel.
                if old.channel_id != channel_id.0 {
                    self.announce_left(principal.user_id, old.channel_id).await?;
                }
            }
            let current = self.voice.rooms.member(principal.user_id);
            self.hub.publish(
                &self.audience_of(&channel).await?,
                &Event::VoiceStateUpdate(state_update(
                    principal.user_id,
                    current.as_ref(),
                    self.is_server_muted(principal.user_id),
                )),
            );
            joined
        };
        Ok(VoiceJoined {
            channel_id,
            session_id: joined.voice_session_id,
            participants: joined.participants,
            ice: self.ice_servers(principal.user_id, host).await,
        })
    }

    /// Tells a channel's audience that `user_id` left its voice.
    async fn announce_left(&self, user_id: i64, channel_id: i64) -> Result<()> {
        if let Some(channel) = self.store.get_channel(channel_id).await? {
            self.hub.publish(&self.audience_of(&channel).await?, &Event::VoiceStateUpdate(state_update(user_id, None, false)));
        }
        Ok(())
    }

    /// Leaves voice if this gateway session is in it; leaving twice is not an error.
    pub async fn voice_leave(&self, session: &Arc<Session>) -> Result<()> {
        let user_id = session.principal().user_id;
        if let Some(left) = self.voice.rooms.leave(user_id, session) {
            self.announce_left(user_id, left.channel_id).await?;
        }
        Ok(())
    }

    /// Delivers a signal to one participant of the caller's voice channel, on that participant's
    /// voice connection only.
    pub fn voice_signal(&self, session: &Arc<Session>, to: Id, signal: Value) -> Result<()> {
        let from = session.principal().user_id;
        if self.voice.signals.check_key(&from).is_err() {
            return Err(Error::RateLimited { retry_after_secs: 1 });
        }
        if !signal.is_object() {
            return Err(refused(ErrorCode::InvalidSignal, "A signal is an object with a description or a candidate."));
        }
        if serde_json::to_string(&signal).map_or(usize::MAX, |s| s.len()) > self.voice.config.max_signal_bytes {
            return Err(refused(ErrorCode::SignalTooLarge, "The signal is larger than the server accepts."));
        }
        let sender = self.voice.rooms.member(from).filter(|m| Arc::ptr_eq(&m.session, session));
        let target = self.voice.rooms.member(to.0);
        match (sender, target) {
            (Some(sender), Some(target)) if sender.channel_id == target.channel_id && to.0 != from => {
                target.session.send_event(&Event::VoiceSignal(VoiceSignalFrom { from: Id(from), signal }));
                Ok(())
            }
            _ => Err(refused(ErrorCode::NotInChannel, "You and that user are not in the same voice channel.")),
        }
    }

    /// Updates the caller's mute, deafen and speaking flags (deafened implies muted).
    pub async fn voice_set_state(&self, session: &Arc<Session>, flags: VoiceFlags) -> Result<()> {
        let user_id = session.principal().user_id;
        let flags = VoiceFlags { muted: flags.muted || flags.deafened, ..flags };
        let channel_id = self
            .voice
            .rooms
            .set_flags(user_id, session, flags)
            .ok_or_else(|| refused(ErrorCode::NotInVoice, "You are not in a voice channel."))?;
        let _access = self.locks.read(channel_id).await;
        if let Some(channel) = self.store.get_channel(channel_id).await? {
            let member = self.voice.rooms.member(user_id);
            self.hub.publish(
                &self.audience_of(&channel).await?,
                &Event::VoiceStateUpdate(state_update(user_id, member.as_ref(), self.is_server_muted(user_id))),
            );
        }
        Ok(())
    }

    /// Fresh ICE servers for a participant whose credentials near expiry.
    pub async fn voice_refresh_ice(&self, session: &Arc<Session>, host: &RequestHost) -> Result<IceServers> {
        let user_id = session.principal().user_id;
        if self.voice.rooms.member(user_id).is_none_or(|m| !Arc::ptr_eq(&m.session, session)) {
            return Err(refused(ErrorCode::NotInVoice, "You are not in a voice channel."));
        }
        Ok(self.ice_servers(user_id, host).await)
    }

    /// Called when a gateway connection ends. Its voice session ends now when the client said
    /// goodbye or the gateway session is over; otherwise it waits out the grace period, during
    /// which a `resume` keeps it, so a network blip does not drop the call for everyone.
    pub fn voice_connection_ended(&self, session: &Arc<Session>, generation: u64, goodbye: bool) {
        let user_id = session.principal().user_id;
        if self.voice.rooms.member(user_id).is_none_or(|m| !Arc::ptr_eq(&m.session, session)) {
            return;
        }
        let chat = self.clone();
        let session = Arc::clone(session);
        let grace = if goodbye || session.link_status().ended {
            Duration::ZERO
        } else {
            Duration::from_millis(self.voice.config.grace_ms)
        };
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let link = session.link_status();
            if (link.ended || (link.generation == generation && !link.attached))
                && let Err(err) = chat.voice_leave(&session).await
            {
                tracing::warn!(error = ?err, "leaving voice after a lost connection failed");
            }
        });
    }

    /// Takes `user_id` out of voice on whatever connection they are in it, telling that
    /// connection why (`reason`: `moderator` or `timed_out`) and the channel they left.
    pub(super) async fn remove_from_voice(&self, user_id: i64, reason: &str) -> Result<bool> {
        let Some(member) = self.voice.rooms.member(user_id) else { return Ok(false) };
        let Some(left) = self.voice.rooms.leave(user_id, &member.session) else { return Ok(false) };
        member.session.send_event(&Event::VoiceDisconnected(VoiceDisconnected {
            channel_id: Id(left.channel_id),
            reason: reason.to_owned(),
        }));
        self.announce_left(user_id, left.channel_id).await?;
        Ok(true)
    }

    /// Hands out ICE servers from `provider` from now on.
    pub(super) fn replace_ice(&self, provider: Box<dyn crate::voice::IceProvider>, stun_urls: Vec<String>) {
        self.voice.ice.replace(provider, stun_urls);
    }

    /// Whether voice channels can be joined now.
    pub fn voice_enabled(&self) -> bool {
        self.voice.enabled.load(Ordering::Relaxed)
    }

    /// Whether clients must relay now.
    pub fn force_relay(&self) -> bool {
        self.voice.force_relay.load(Ordering::Relaxed)
    }

    /// Sets whether clients must relay; new ICE server lists say so.
    pub(super) fn set_force_relay(&self, on: bool) {
        self.voice.force_relay.store(on, Ordering::Relaxed);
    }

    /// Turns voice on or off. Off: everyone in voice is taken out (`voice_disconnected` with
    /// `voice_disabled`), voice channels vanish from members' clients and joins are refused;
    /// on: they come back.
    pub(super) async fn set_voice_enabled(&self, on: bool) -> Result<()> {
        if self.voice.enabled.swap(on, Ordering::Relaxed) == on {
            return Ok(());
        }
        if !on {
            for (user_id, _) in self.voice.rooms.all() {
                self.remove_from_voice(user_id, "voice_disabled").await?;
            }
        }
        let members = Audience::NonMembers(Arc::new(std::collections::HashSet::new()));
        for channel in self.store.list_visible_channels(0, true).await?.iter().filter(|c| c.kind() == ChannelKind::Voice) {
            let event = if on {
                Event::ChannelCreate(channel.to_wire())
            } else {
                Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(channel.id) })
            };
            let audience = if on { self.audience_of(channel).await? } else { members.clone() };
            self.hub.publish(&audience, &event);
        }
        Ok(())
    }

    /// Whether an admin server-muted `user_id`.
    pub(super) fn is_server_muted(&self, user_id: i64) -> bool {
        self.voice.server_muted.read().unwrap_or_else(|p| p.into_inner()).contains(&user_id)
    }

    /// Server-mutes or unmutes `user_id`: everyone who sees their voice channel is told, their
    /// client stops sending, and with `voice.force_relay` the built-in relay drops the audio
    /// they send, so a modified client cannot get round it.
    pub(super) async fn set_server_muted(&self, user_id: i64, muted: bool) -> Result<()> {
        {
            let mut set = self.voice.server_muted.write().unwrap_or_else(|p| p.into_inner());
            if muted {
                set.insert(user_id)
            } else {
                set.remove(&user_id)
            };
        }
        if let Some((relay, _)) = &self.voice.relay
            && self.voice.force_relay.load(Ordering::Relaxed)
        {
            relay.set_muted(&user_id.to_string(), muted);
        }
        if let Some(member) = self.voice.rooms.member(user_id) {
            let _access = self.locks.read(member.channel_id).await;
            if let Some(channel) = self.store.get_channel(member.channel_id).await? {
                let update = state_update(user_id, Some(&member), muted);
                self.hub.publish(&self.audience_of(&channel).await?, &Event::VoiceStateUpdate(update));
            }
        }
        Ok(())
    }

    /// Ends a disabled account's relay allocations and refuses it new ones while credentials
    /// minted before are still valid; lets it allocate again when `barred` is false.
    pub(super) fn bar_from_relay(&self, user_id: i64, barred: bool) {
        let Some((relay, ttl)) = &self.voice.relay else { return };
        if barred {
            let until = (now_ms() / 1000).max(0) as u64 + ttl;
            let ended = relay.bar_user(&user_id.to_string(), until);
            tracing::info!(user = user_id, ended, "relay allocations of a disabled account ended");
        } else {
            relay.unbar_user(&user_id.to_string());
        }
    }

    /// Voice states of the voice channels `visible` lists, for `ready`.
    pub fn voice_states(&self, visible: &[cromulent_proto::rest::Channel]) -> Vec<VoiceStateUpdate> {
        self.voice
            .rooms
            .all()
            .into_iter()
            .filter(|(_, member)| visible.iter().any(|c| c.id.0 == member.channel_id))
            .map(|(user, member)| state_update(user, Some(&member), self.is_server_muted(user)))
            .collect()
    }

    /// Removes from a channel's voice everyone who may no longer see it (after it was deleted,
    /// made private or lost a member). Runs under the channel's write lock.
    pub(super) async fn evict_from_voice(&self, channel_id: i64, audience_before: &Audience) -> Result<()> {
        let channel = self.store.get_channel(channel_id).await?;
        let members = match &channel {
            Some(c) if c.private() => self.store.list_channel_member_ids(channel_id).await?,
            _ => Vec::new(),
        };
        for (user_id, _evicted) in self.voice.rooms.clear_channel_where(channel_id, |user_id, admin| match &channel {
            None => true,
            Some(c) => !can_see_channel(c.private(), admin, members.contains(&user_id)),
        }) {
            self.hub.publish(audience_before, &Event::VoiceStateUpdate(state_update(user_id, None, false)));
        }
        Ok(())
    }
}
