//! A live trip through the running server's built-in relay, as two browsers in a call would
//! make it: a STUN Binding, a TURN allocation over UDP and one over TCP with credentials minted
//! from the relay's secret, a permission on each for the other, and a packet relayed from one
//! allocation to the other. A wrong secret, a blocked port or a relay that drops packets each
//! fail at their own step, with their own fix.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cromulent_turn::credential;
use cromulent_turn::shell::probe::{IceUrl, Path, ProbeOutcome, Scheme, TurnSession, probe};

use super::Check;
use super::host::reachable;
use crate::builtin_relay::SECRET_FILE;
use crate::config::{Config, TurnProvider};

/// How long each step may take.
const STEP: Duration = Duration::from_secs(3);

/// What the relayed packet carries.
const PAYLOAD: &[u8] = b"cromulent doctor round trip";

/// The round trip, when the built-in relay runs; `running` is whether a running Cromulent
/// answered on the web port.
pub async fn round_trip(config: &Config, running: bool) -> Vec<Check> {
    if config.turn.provider != TurnProvider::Builtin {
        let saw = "turn.provider is not \"builtin\"; Settings → Voice & relay → Save & Test checks the external relay";
        return vec![Check::ok("relay", saw)];
    }
    if !running {
        return vec![Check::warn(
            "relay round trip",
            "skipped: no running server answered on the listen port",
            "Start the server, then run doctor again with the same configuration to test the relay end to end.",
        )];
    }
    let secret = match secret(config) {
        Ok(secret) => secret,
        Err(why) => {
            let fix = "Run doctor with the same configuration, environment and data_dir as the server.";
            return vec![Check::fail("relay round trip", why, fix)];
        }
    };
    let target = reachable(config.turn.listen);
    let url = |tcp: bool| IceUrl { scheme: Scheme::Turn, host: target.ip().to_string(), port: target.port(), tcp };
    let mut checks = Vec::new();

    let stun = IceUrl { scheme: Scheme::Stun, ..url(false) };
    let bound = probe(&stun, None, crate::voice::check::tls_client(), STEP).await;
    checks.push(match bound.outcome {
        ProbeOutcome::Bound(mapped) => {
            Check::ok("relay stun", format!("Binding answered in {} ms ({mapped})", bound.elapsed.as_millis()))
        }
        other => Check::fail("relay stun", describe(&other), blocked_fix(target.port())),
    });

    let expiry = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64) + 300;
    let minted = credential::mint(secret.as_bytes(), "0", expiry);
    let mut sessions = Vec::new();
    for tcp in [false, true] {
        let name = if tcp { "relay turn tcp" } else { "relay turn udp" };
        let opened = tokio::time::timeout(STEP, async {
            let path = Path::connect(&url(tcp), crate::voice::check::tls_client()).await?;
            TurnSession::allocate(path, &minted.username, &minted.password).await
        })
        .await
        .unwrap_or(Err(ProbeOutcome::Timeout));
        match opened {
            Ok(session) => {
                checks.push(Check::ok(name, format!("allocated relayed address {}", session.relayed())));
                sessions.push(session);
            }
            Err(ProbeOutcome::Unauthorized) => checks.push(Check::fail(
                name,
                "the relay refused the credentials (401)",
                "The secret doctor read differs from the running server's: run doctor with the same turn.secret (or the same data_dir, whose turn-secret file the server generated).",
            )),
            Err(other) => checks.push(Check::fail(name, describe(&other), blocked_fix(target.port()))),
        }
    }
    let [mut udp, mut tcp]: [TurnSession; 2] = match sessions.try_into() {
        Ok(both) => both,
        Err(some) => {
            for session in some {
                session.close().await;
            }
            return checks;
        }
    };
    checks.push(relay_packet(&mut udp, &mut tcp).await);
    udp.close().await;
    tcp.close().await;
    checks
}

/// A permission on each allocation for the other, then a packet from one to the other.
async fn relay_packet(from: &mut TurnSession, to: &mut TurnSession) -> Check {
    let name = "relay packet";
    let (from_addr, to_addr) = (from.relayed(), to.relayed());
    let permitted = tokio::time::timeout(STEP, async {
        from.permit(to_addr).await?;
        to.permit(from_addr).await
    })
    .await
    .unwrap_or(Err(ProbeOutcome::Timeout));
    if let Err(refused) = permitted {
        return Check::fail(
            name,
            format!("a permission was refused: {}", describe(&refused)),
            "See the server's log (cromulent_turn=debug) for why.",
        );
    }
    let delivered = tokio::time::timeout(STEP, async {
        from.send_to(to_addr, PAYLOAD).await?;
        to.receive().await
    })
    .await
    .unwrap_or(Err(ProbeOutcome::Timeout));
    match delivered {
        Ok((source, data)) if data == PAYLOAD => {
            Check::ok(name, format!("relayed from {from_addr} to {to_addr}, arriving from {source}"))
        }
        Ok((source, _)) => {
            Check::fail(name, format!("a different packet arrived from {source}"), "Report this: the relay mixed up packets.")
        }
        Err(ProbeOutcome::Timeout) => Check::fail(
            name,
            format!("the packet from {from_addr} did not arrive at {to_addr} within {} s", STEP.as_secs()),
            "The relay's own ports must reach each other: check turn.public_ip and that no firewall drops UDP between the relay ports on this machine.",
        ),
        Err(other) => Check::fail(name, describe(&other), "See the server's log (cromulent_turn=debug) for why."),
    }
}

/// The relay's secret as the server uses it: configured, or generated into the data dir.
fn secret(config: &Config) -> Result<String, String> {
    if !config.turn.secret.expose().is_empty() {
        return Ok(config.turn.secret.expose().to_owned());
    }
    let path = config.data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_owned()),
        Ok(_) => Err(format!("{} is empty", path.display())),
        Err(error) => Err(format!("cannot read the relay's secret from {}: {error}", path.display())),
    }
}

fn describe(outcome: &ProbeOutcome) -> String {
    match outcome {
        ProbeOutcome::Bound(addr) | ProbeOutcome::Allocated(addr) => format!("answered ({addr})"),
        ProbeOutcome::Unauthorized => "refused the credentials (401)".to_owned(),
        ProbeOutcome::Refused(code) => format!("refused with error {code}"),
        ProbeOutcome::Timeout => format!("no answer within {} s", STEP.as_secs()),
        ProbeOutcome::Unreachable(why) => why.clone(),
    }
}

fn blocked_fix(port: u16) -> String {
    format!(
        "Check that the server runs with this turn.listen and that nothing on this machine (firewall rules) drops UDP or TCP port {port}."
    )
}
