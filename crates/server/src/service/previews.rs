//! Link previews for messages: after a message is posted or edited, the first link in it is
//! fetched in the background (see [`crate::preview`] for what keeps that safe) and its title,
//! description and picture reach readers through `message_update`. Pictures are shown through
//! the server, so readers' addresses never reach the linked site, and only pictures the server
//! put in a preview itself (their URLs are signed) are fetched for anyone.

use std::sync::Arc;

use cromulent_proto::rest::Embed;

use super::{Chat, Error, Principal, Result};
use crate::domain::event::Event;
use crate::domain::link::first_link;
use crate::preview::LinkFetcher;

/// Previews fetched at once; links posted while all are busy get none.
pub const CONCURRENT_PREVIEWS: usize = 4;

impl Chat {
    /// The same, previewing links with `fetcher` (`None`: `links.previews` is off).
    pub fn with_previews(mut self, fetcher: Option<LinkFetcher>) -> Chat {
        self.previews = fetcher.map(Arc::new);
        self
    }

    /// Starts fetching a preview for the first link in `content` of message `message_id`, if
    /// previews are on, the message has a link and a fetch slot is free.
    pub(super) fn preview_soon(&self, channel_id: i64, message_id: i64, content: &str) {
        let (Some(fetcher), Some(link)) = (self.previews.clone(), first_link(content)) else { return };
        let Ok(slot) = Arc::clone(&self.preview_slots).try_acquire_owned() else {
            tracing::debug!(message = message_id, "every preview slot is busy; no preview");
            return;
        };
        let chat = self.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let preview = match fetcher.page(&link).await {
                Ok(Some(preview)) => preview,
                Ok(None) => return,
                Err(err) => return tracing::debug!(message = message_id, error = %err, "no link preview"),
            };
            if let Err(err) = chat.attach_preview(channel_id, message_id, &link, preview).await {
                tracing::warn!(message = message_id, error = %err, "storing a link preview failed");
            }
        });
    }

    async fn attach_preview(
        &self,
        channel_id: i64,
        message_id: i64,
        link: &url::Url,
        preview: crate::preview::PagePreview,
    ) -> Result<()> {
        let signer = self.device_cookies().await?;
        let image_url = preview.image.as_ref().map(|image| {
            let image = image.as_str();
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("url", image)
                .append_pair("sig", &signer.sign_embed_image(image))
                .finish();
            format!("/api/v1/embeds/image?{query}")
        });
        let embeds: Vec<Embed> = vec![preview.into_embed(link, image_url)];
        let json = serde_json::to_string(&embeds).expect("embeds serialise");
        // An edit meanwhile cleared the old text's previews; this one may be for the old text.
        let Some(row) = self.store.get_message(channel_id, message_id).await? else { return Ok(()) };
        if first_link(&row.content).as_ref() != Some(link) || !self.store.set_embeds(channel_id, message_id, &json).await? {
            return Ok(());
        }
        let (Some(message), Some(channel)) =
            (self.store.get_message(channel_id, message_id).await?, self.store.get_channel(channel_id).await?)
        else {
            return Ok(());
        };
        self.hub.publish(&self.audience_of(&channel).await?, &Event::MessageUpdate(message.to_wire()));
        Ok(())
    }

    /// A preview's picture, fetched through the server for a logged-in reader: only URLs this
    /// server signed, under the same rules as pages. Anything that fails is `404`, so the
    /// answer does not tell what lies behind an address.
    pub async fn embed_image(&self, _principal: &Principal, url: &str, signature: &str) -> Result<(&'static str, Vec<u8>)> {
        let fetcher = self.previews.clone().ok_or(Error::NotFound("Image"))?;
        if !self.device_cookies().await?.embed_image_signed(url, signature) {
            return Err(Error::NotFound("Image"));
        }
        let url = url::Url::parse(url).map_err(|_| Error::NotFound("Image"))?;
        fetcher.image(&url).await.map_err(|err| {
            tracing::debug!(error = %err, "embed picture not fetched");
            Error::NotFound("Image")
        })
    }
}
