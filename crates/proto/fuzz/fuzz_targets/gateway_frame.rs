//! Fuzz target: arbitrary bytes as the text of a client's gateway frame, read exactly as the
//! server reads one (UTF-8, then `ClientFrame`, then `ClientOp::parse`). It must never panic; an
//! unknown op must be a name no `OpName` has, a bad payload must name the frame's own op, a parsed
//! op must carry the frame's op name and positive ids, and a frame written back out and read
//! again the same way must give the same frame and the same outcome.
#![no_main]

use cromulent_proto::Id;
use cromulent_proto::gateway::{ClientFrame, ClientOp, InvalidOp, OpName};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// What a frame's op and payload came to, without the payload itself.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Op(OpName),
    BadPayload(OpName),
    Unknown,
}

fn outcome(parsed: &Result<ClientOp, InvalidOp>) -> Outcome {
    match parsed {
        Ok(op) => Outcome::Op(op.name()),
        Err(InvalidOp::Payload { op, .. }) => Outcome::BadPayload(*op),
        Err(InvalidOp::Unknown) => Outcome::Unknown,
    }
}

/// What the server does with the text of a client frame, up to the op it dispatches.
fn read(text: &str) -> Option<(ClientFrame, Result<ClientOp, InvalidOp>)> {
    let frame = serde_json::from_str::<ClientFrame>(text).ok()?;
    let parsed = ClientOp::parse(&frame.op, frame.d.clone());
    Some((frame, parsed))
}

/// The name of an op on the wire, as `OpName` writes it.
fn wire_name(op: OpName) -> String {
    match serde_json::to_value(op) {
        Ok(Value::String(name)) => name,
        other => panic!("{op:?} is written as {other:?}"),
    }
}

fn ids(op: &ClientOp) -> Vec<Id> {
    match op {
        ClientOp::Typing(typing) => vec![typing.channel_id],
        ClientOp::VoiceJoin(join) => vec![join.channel_id],
        ClientOp::VoiceSignal(signal) => vec![signal.to],
        ClientOp::Identify(_)
        | ClientOp::Resume(_)
        | ClientOp::Heartbeat(_)
        | ClientOp::VoiceLeave(_)
        | ClientOp::VoiceState(_)
        | ClientOp::VoiceRefreshIce(_) => Vec::new(),
    }
}

/// A parsed op is the frame's op, and writing it as a client would and reading that back the
/// server's way gives the same op, written the same way.
fn check_op(frame: &ClientFrame, op: &ClientOp) {
    assert_eq!(wire_name(op.name()), frame.op, "parsed as another op");
    for id in ids(op) {
        assert!(id.0 > 0, "{op:?} holds the id {id:?}");
    }
    let wire = serde_json::to_value(op).expect("ops serialise");
    let Value::Object(fields) = &wire else { panic!("{op:?} is written as {wire}") };
    assert_eq!(fields.len(), 2, "{op:?} is written as {wire}");
    assert_eq!(fields.get("op"), Some(&Value::String(frame.op.clone())), "{op:?} is written as {wire}");
    let d = fields.get("d").unwrap_or_else(|| panic!("{op:?} is written as {wire}")).clone();
    let written = ClientFrame { op: frame.op.clone(), id: frame.id.clone(), d };
    let text = serde_json::to_string(&written).expect("frames serialise");
    let Some((_, again)) = read(&text) else { panic!("{op:?} is written as {text}, which is not a frame") };
    let again = again.unwrap_or_else(|err| panic!("{op:?} is written as {text}, which does not parse: {err:?}"));
    assert_eq!(again.name(), op.name(), "{op:?} is written as {text}");
    assert_eq!(serde_json::to_value(&again).expect("ops serialise"), wire, "{op:?} is written as {text}");
}

fuzz_target!(|data: &[u8]| {
    // Only text frames reach the parser; the WebSocket layer refuses text that is not UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((frame, parsed)) = read(text) else { return };
    match &parsed {
        Ok(op) => check_op(&frame, op),
        Err(InvalidOp::Payload { op, .. }) => assert_eq!(wire_name(*op), frame.op, "a bad payload blamed on another op"),
        Err(InvalidOp::Unknown) => {
            let known = serde_json::from_value::<OpName>(Value::String(frame.op.clone()));
            assert!(known.is_err(), "{:?} is the known op {known:?} but was called unknown", frame.op);
        }
    }
    // The frame written back out reads as the same frame with the same outcome.
    let text = serde_json::to_string(&frame).expect("frames serialise");
    let Some((again, reparsed)) = read(&text) else { panic!("{frame:?} is written as {text}, which is not a frame") };
    assert_eq!(again.op, frame.op, "written as {text}");
    assert_eq!(again.id, frame.id, "written as {text}");
    assert_eq!(again.d, frame.d, "written as {text}");
    assert_eq!(outcome(&reparsed), outcome(&parsed), "written as {text}");
});
