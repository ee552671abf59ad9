//! Orders changes to who may see a channel against fan-out of what happens in it: message ops
//! hold a channel's lock shared from the access check to the publish, privacy and membership
//! changes hold it exclusively, so no event is sent to an audience that just lost access.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Number of stripes; channels share a stripe by id, which bounds memory at no real cost.
const STRIPES: usize = 64;

/// Striped per-channel reader/writer locks.
pub struct ChannelLocks {
    stripes: Vec<RwLock<()>>,
}

impl Default for ChannelLocks {
    fn default() -> Self {
        ChannelLocks { stripes: (0..STRIPES).map(|_| RwLock::new(())).collect() }
    }
}

impl ChannelLocks {
    fn stripe(&self, channel_id: i64) -> &RwLock<()> {
        &self.stripes[channel_id.rem_euclid(STRIPES as i64) as usize]
    }

    /// Held while acting within a channel under its current access rules.
    pub async fn read(&self, channel_id: i64) -> RwLockReadGuard<'_, ()> {
        self.stripe(channel_id).read().await
    }

    /// Held while changing who may see a channel.
    pub async fn write(&self, channel_id: i64) -> RwLockWriteGuard<'_, ()> {
        self.stripe(channel_id).write().await
    }
}
