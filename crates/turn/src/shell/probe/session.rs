//! One TURN allocation held open for diagnostics (RFC 8656): allocate after the 401
//! challenge, install permissions, send a packet to a peer with a Send indication and read what
//! peers send back as Data indications, then free it. Requests are signed with the long-term
//! credential and the nonce of the challenge.

use std::net::SocketAddr;

use stun_types::attribute::{ErrorCode, Nonce, Realm, Username};
use stun_types::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec, Method,
    TransactionId,
};
use stun_types::prelude::*;
use turn_types::attribute::{Data, Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress};
use turn_types::message::{ALLOCATE, CREATE_PERMISSION, DATA, REFRESH, SEND};

use super::{Path, ProbeOutcome};

/// An allocation on a TURN server.
pub struct TurnSession {
    path: Path,
    username: String,
    realm: String,
    nonce: String,
    key: MessageIntegrityCredentials,
    relayed: SocketAddr,
}

impl TurnSession {
    /// Allocates a UDP relay over `path` with `username` and `password`.
    pub async fn allocate(mut path: Path, username: &str, password: &str) -> Result<TurnSession, ProbeOutcome> {
        let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
        let transaction = first.transaction_id();
        let _ = first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP));
        let _ = first.add_fingerprint();
        let challenge = path.exchange(&first.finish(), transaction).await?;
        let challenge = parse(&challenge)?;
        let (Ok(realm), Ok(nonce)) = (challenge.attribute::<Realm>(), challenge.attribute::<Nonce>()) else {
            return Err(ProbeOutcome::Refused(challenge.attribute::<ErrorCode>().map_or(0, |e| e.code())));
        };
        let (realm, nonce) = (realm.realm().to_owned(), nonce.nonce().to_owned());
        let key = LongTermKeyCredentials::new(username.to_owned(), password.to_owned(), realm.clone()).into();
        let mut session =
            TurnSession { path, username: username.to_owned(), realm, nonce, key, relayed: SocketAddr::from(([0, 0, 0, 0], 0)) };
        let answer = session.request(ALLOCATE, |out, _| {
            let _ = out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP));
        });
        let answer = answer.await?;
        let answer = parse(&answer)?;
        let Ok(relayed) = answer.attribute::<XorRelayedAddress>() else {
            return Err(ProbeOutcome::Unreachable("an Allocate success without a relayed address".into()));
        };
        session.relayed = relayed.addr(answer.transaction_id());
        Ok(session)
    }

    /// The relayed transport address the server allocated.
    pub fn relayed(&self) -> SocketAddr {
        self.relayed
    }

    /// Lets packets from `peer`'s IP (every port of it) through to this allocation. The port is
    /// sent too, as browsers send their candidate's: a relay may judge the whole address.
    pub async fn permit(&mut self, peer: SocketAddr) -> Result<(), ProbeOutcome> {
        self.request(CREATE_PERMISSION, |out, transaction| {
            let _ = out.add_attribute(&XorPeerAddress::new(peer, transaction));
        })
        .await
        .map(drop)
    }

    /// Relays `payload` to `peer` from the relayed address.
    pub async fn send_to(&mut self, peer: SocketAddr, payload: &[u8]) -> Result<(), ProbeOutcome> {
        let mut out = Message::builder_indication(SEND, MessageWriteVec::with_capacity(payload.len() + 48));
        let transaction = out.transaction_id();
        let _ = out.add_attribute(&XorPeerAddress::new(peer, transaction));
        let _ = out.add_attribute(&Data::new(payload));
        let _ = out.add_fingerprint();
        self.path.send(&out.finish()).await
    }

    /// The next packet a peer sent to the relayed address, with the peer's address.
    pub async fn receive(&mut self) -> Result<(SocketAddr, Vec<u8>), ProbeOutcome> {
        loop {
            let message = self.path.next_message().await?;
            let Ok(message) = Message::from_bytes(&message) else { continue };
            if message.class() != MessageClass::Indication || message.method() != DATA {
                continue;
            }
            if let (Ok(peer), Ok(data)) = (message.attribute::<XorPeerAddress>(), message.attribute::<Data>()) {
                return Ok((peer.addr(message.transaction_id()), data.data().to_vec()));
            }
        }
    }

    /// Frees the allocation; a server that does not answer still frees it when it expires.
    pub async fn close(mut self) {
        let delete = self.request(REFRESH, |out, _| {
            let _ = out.add_attribute(&Lifetime::new(0));
        });
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), delete).await;
    }

    /// Sends a signed request of `method` with the attributes `fill` adds and returns the
    /// success answer; an error answer becomes [`ProbeOutcome::Unauthorized`] or
    /// [`ProbeOutcome::Refused`].
    async fn request(
        &mut self,
        method: Method,
        fill: impl FnOnce(&mut stun_types::message::MessageWriteVec, TransactionId),
    ) -> Result<Vec<u8>, ProbeOutcome> {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        let transaction = out.transaction_id();
        fill(&mut out, transaction);
        let (Ok(user), Ok(realm), Ok(nonce)) = (Username::new(&self.username), Realm::new(&self.realm), Nonce::new(&self.nonce))
        else {
            return Err(ProbeOutcome::Unreachable("the credentials cannot be written into a request".into()));
        };
        let _ = out.add_attribute(&user);
        let _ = out.add_attribute(&realm);
        let _ = out.add_attribute(&nonce);
        out.add_message_integrity(&self.key, IntegrityAlgorithm::Sha1)
            .map_err(|_| ProbeOutcome::Unreachable("the request cannot be signed".into()))?;
        let _ = out.add_fingerprint();
        let answer = self.path.exchange(&out.finish(), transaction).await?;
        let parsed = parse(&answer)?;
        if parsed.class() == MessageClass::Success {
            return Ok(answer);
        }
        Err(match parsed.attribute::<ErrorCode>().map_or(0, |e| e.code()) {
            401 => ProbeOutcome::Unauthorized,
            code => ProbeOutcome::Refused(code),
        })
    }
}

fn parse(bytes: &[u8]) -> Result<Message<'_>, ProbeOutcome> {
    Message::from_bytes(bytes).map_err(|_| ProbeOutcome::Unreachable("a malformed answer".into()))
}
