//! Server settings that admins change at run time, and the user directory.

use cromulent_proto::rest::{Settings, UpdateSettingsRequest, User};

use super::{Chat, Principal, Result};
use crate::store::UserRow;

const REGISTRATION_OPEN: &str = "registration_open";

impl Chat {
    /// Whether new accounts may register (open unless an admin closed it).
    pub async fn registration_open(&self) -> Result<bool> {
        Ok(self.store.get_setting(REGISTRATION_OPEN).await?.is_none_or(|v| v != "false"))
    }

    /// Current settings (admins).
    pub async fn settings(&self, principal: &Principal) -> Result<Settings> {
        principal.require_admin()?;
        Ok(Settings { registration_open: self.registration_open().await? })
    }

    /// Changes settings (admins); effective for the next request.
    pub async fn update_settings(&self, principal: &Principal, request: &UpdateSettingsRequest) -> Result<Settings> {
        principal.require_admin()?;
        if let Some(open) = request.registration_open {
            self.store.put_setting(REGISTRATION_OPEN, if open { "true" } else { "false" }).await?;
            tracing::info!(admin = principal.user_id, open, "registration setting changed");
        }
        self.settings(principal).await
    }

    /// Every account, for member lists.
    pub async fn list_users(&self, _principal: &Principal) -> Result<Vec<User>> {
        let rows = self.store.list_users().await?;
        Ok(rows.iter().map(UserRow::to_wire).collect())
    }
}
