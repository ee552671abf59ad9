//! Gateway frames as text: an event is rendered once as a head, `{"t":…,"id":…,"d":…,"s":`, and
//! each session finishes it with its own sequence number, so fan-out to many sessions costs one
//! serialisation, not one per session.

use axum::extract::ws::Utf8Bytes;

/// Renders the start of a frame, to be finished by [`finish_frame`] with a sequence number.
pub fn frame_head(t: &str, id: Option<&serde_json::Value>, d_json: &str) -> String {
    let mut head = String::with_capacity(d_json.len() + t.len() + 32);
    head.push_str("{\"t\":\"");
    head.push_str(t);
    head.push('"');
    if let Some(id) = id {
        head.push_str(",\"id\":");
        head.push_str(&id.to_string());
    }
    head.push_str(",\"d\":");
    head.push_str(d_json);
    head.push_str(",\"s\":");
    head
}

/// Finishes a frame head with its sequence number.
pub fn finish_frame(head: &str, seq: u64) -> Utf8Bytes {
    let mut text = String::with_capacity(head.len() + 21);
    text.push_str(head);
    text.push_str(&seq.to_string());
    text.push('}');
    text.into()
}
