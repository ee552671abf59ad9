//! Reading a STUN request: classic and RFC 8489 Binding, unknown comprehension-required
//! attributes, the long-term-credential challenge and check, and the error answers.

use super::*;

impl<H: Clone> Relay<H> {
    pub(super) fn handle_stun<'a>(&mut self, from: FiveTuple, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
        if let Some(transaction) = classic_binding_request(data) {
            return self.answer_classic_binding(from, transaction, now);
        }
        let message = match Message::from_bytes(data) {
            Ok(message) => message,
            // RFC 8489 §14.7: a message whose FINGERPRINT does not match is not STUN; no answer.
            Err(StunParseError::FingerprintMismatch) => {
                self.counters.add_dropped();
                return ClientAction::Ignore;
            }
            Err(_) => return self.answer_malformed(from, data, now),
        };
        match message.class() {
            MessageClass::Request => {}
            MessageClass::Indication if message.method() == SEND => return self.handle_send(from, &message, data, now),
            _ => {
                self.counters.add_dropped();
                return ClientAction::Ignore;
            }
        }
        if message.method() == BINDING {
            if !self.unauthenticated.take(from.client.ip(), now.instant) {
                return ClientAction::Ignore;
            }
            let unknown = unknown_required(&message);
            if !unknown.is_empty() {
                self.counters.add_refusal(ErrorCode::UNKNOWN_ATTRIBUTE);
                let mut out = Message::builder_error(&message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(ErrorCode::UNKNOWN_ATTRIBUTE));
                let _ = out.add_attribute(&UnknownAttributes::new(&unknown));
                return ClientAction::Reply(finish(out));
            }
            self.counters.add_binding();
            let mut out = Message::builder_success(&message, MessageWriteVec::new());
            let _ = out.add_attribute(&XorMappedAddress::new(from.client, message.transaction_id()));
            return ClientAction::Reply(finish(out));
        }
        let method = message.method();
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            return self.reply_error(from, &message, ErrorCode::BAD_REQUEST, now);
        }
        let auth = match self.authenticate(from, &message, data, now) {
            Ok(auth) => auth,
            Err(reply) => return reply,
        };
        let unknown = unknown_required(&message);
        let algorithm = match &auth {
            Authenticated::New { algorithm, .. } | Authenticated::Existing { algorithm, .. } => *algorithm,
        };
        if !unknown.is_empty() {
            let credentials = self.credentials_of(&auth);
            let mut out = Message::builder_error(&message, MessageWriteVec::new());
            let _ = out.add_attribute(&error_code(ErrorCode::UNKNOWN_ATTRIBUTE));
            let _ = out.add_attribute(&UnknownAttributes::new(&unknown));
            return ClientAction::Reply(sign(out, &credentials, algorithm));
        }
        let outcome = match method {
            ALLOCATE => self.allocate(from, &message, auth, now),
            REFRESH => self.refresh(&message, auth, now),
            CREATE_PERMISSION => self.create_permission(&message, auth, now),
            _ => self.channel_bind(&message, auth, now),
        };
        match outcome {
            Ok(action) => action,
            Err(Refused { code, credentials }) => {
                tracing::debug!(method = method.value(), code, client = %from.client, "TURN request refused");
                self.counters.add_refusal(code);
                let mut out = Message::builder_error(&message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(code));
                ClientAction::Reply(sign(out, &credentials, algorithm))
            }
        }
    }

    pub(super) fn credentials_of(&self, auth: &Authenticated) -> LongTermKeyCredentials {
        match auth {
            Authenticated::New { credentials, .. } => credentials.clone(),
            Authenticated::Existing { id, .. } => self.allocations[id].credentials.clone(),
        }
    }

    /// Malformed STUN: a 400 when the header says it is a request, silence otherwise.
    pub(super) fn answer_malformed<'a>(&mut self, from: FiveTuple, data: &[u8], now: Now) -> ClientAction<'a, H> {
        self.counters.add_dropped();
        let Some(header) = data.get(..20) else { return ClientAction::Ignore };
        let is_request = header[0] & 0x01 == 0 && header[1] & 0x10 == 0;
        if !is_request
            || header[4..8] != 0x2112_A442u32.to_be_bytes()
            || !self.unauthenticated.take(from.client.ip(), now.instant)
        {
            return ClientAction::Ignore;
        }
        let mut reply = Vec::with_capacity(32);
        reply.extend_from_slice(&[header[0] | 0x01, header[1] | 0x10, 0, 0]);
        reply.extend_from_slice(&header[4..20]);
        let mut out = MessageWriteVec::new();
        out.push_data(&reply);
        let _ = out.add_attribute(&error_code(ErrorCode::BAD_REQUEST));
        ClientAction::Reply(finish(out))
    }

    pub(super) fn reply_error<'a>(&mut self, from: FiveTuple, message: &Message, code: u16, now: Now) -> ClientAction<'a, H> {
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        self.counters.add_refusal(code);
        let mut out = Message::builder_error(message, MessageWriteVec::new());
        let _ = out.add_attribute(&error_code(code));
        ClientAction::Reply(finish(out))
    }

    /// 401 or 438 with our realm and a fresh nonce.
    pub(super) fn challenge<'a>(&mut self, from: FiveTuple, message: &Message, code: u16, now: Now) -> ClientAction<'a, H> {
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        let signed = message.has_attribute(MessageIntegrity::TYPE) || message.has_attribute(MessageIntegritySha256::TYPE);
        if code == ErrorCode::UNAUTHORIZED && signed {
            self.counters.add_auth_failure();
        }
        tracing::debug!(method = message.method().value(), code, client = %from.client, "TURN request challenged");
        self.counters.add_refusal(code);
        let mut out = Message::builder_error(message, MessageWriteVec::new());
        let _ = out.add_attribute(&error_code(code));
        if let Ok(realm) = Realm::new(&self.config.realm) {
            let _ = out.add_attribute(&realm);
        }
        if let Ok(nonce) = Nonce::new(&self.nonces.issue(from.client, now.unix)) {
            let _ = out.add_attribute(&nonce);
        }
        ClientAction::Reply(finish(out))
    }

    pub(super) fn authenticate<'a>(
        &mut self,
        from: FiveTuple,
        message: &Message,
        data: &[u8],
        now: Now,
    ) -> Result<Authenticated, ClientAction<'a, H>> {
        let has_integrity = message.has_attribute(MessageIntegrity::TYPE) || message.has_attribute(MessageIntegritySha256::TYPE);
        if !has_integrity {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        let (Ok(username), Ok(realm), Ok(nonce)) =
            (message.attribute::<Username>(), message.attribute::<Realm>(), message.attribute::<Nonce>())
        else {
            return Err(self.reply_error(from, message, ErrorCode::BAD_REQUEST, now));
        };
        match self.nonces.check(nonce.nonce(), from.client, now.unix) {
            Ok(()) => {}
            Err(NonceError::Stale | NonceError::Invalid) => {
                return Err(self.challenge(from, message, ErrorCode::STALE_NONCE, now));
            }
        }
        if realm.realm() != self.config.realm {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        if let Some(&id) = self.by_client.get(&from) {
            let allocation = &self.allocations[&id];
            if allocation.credentials.username() != username.username() {
                self.counters.add_refusal(ErrorCode::WRONG_CREDENTIALS);
                let mut out = Message::builder_error(message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(ErrorCode::WRONG_CREDENTIALS));
                return Err(ClientAction::Reply(finish(out)));
            }
            // Deleting (a Refresh with LIFETIME 0) is always allowed: it only gives resources back.
            let deleting = message.method() == REFRESH && matches!(message.attribute::<Lifetime>(), Ok(l) if l.seconds() == 0);
            let strict_expired = self.config.strict_expiry && allocation.credential_expiry < now.unix as i64 && !deleting;
            return match check_integrity(data, message, &allocation.credentials) {
                Some(algorithm) if !strict_expired => Ok(Authenticated::Existing { id, algorithm }),
                _ => Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now)),
            };
        }
        let Some(rest) = parse_username(username.username()) else {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        };
        if rest.expiry < now.unix as i64 {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        for secret in &self.config.secrets {
            let credentials = LongTermKeyCredentials::new(
                username.username().to_owned(),
                password_for(secret, username.username()),
                self.config.realm.clone(),
            );
            if let Some(algorithm) = check_integrity(data, message, &credentials) {
                if self.barred.get(rest.user).is_some_and(|&until| until > now.unix) {
                    self.counters.add_refusal(ErrorCode::FORBIDDEN);
                    let mut out = Message::builder_error(message, MessageWriteVec::new());
                    let _ = out.add_attribute(&error_code(ErrorCode::FORBIDDEN));
                    return Err(ClientAction::Reply(sign(out, &credentials, algorithm)));
                }
                return Ok(Authenticated::New { user: rest.user.to_owned(), credentials, expiry: rest.expiry, algorithm });
            }
        }
        Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now))
    }

    /// RFC 8489 §12.2: a Binding request of RFC 3489 (no magic cookie) gets MAPPED-ADDRESS, so
    /// classic NAT-type tools see the relay answer. IPv4 only, as RFC 3489 was.
    pub(super) fn answer_classic_binding<'a>(&mut self, from: FiveTuple, transaction: [u8; 16], now: Now) -> ClientAction<'a, H> {
        let SocketAddr::V4(client) = from.client else { return ClientAction::Ignore };
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        self.counters.add_binding();
        let mut reply = Vec::with_capacity(32);
        reply.extend_from_slice(&[0x01, 0x01, 0x00, 0x0C]);
        reply.extend_from_slice(&transaction);
        reply.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0x00, 0x01]);
        reply.extend_from_slice(&client.port().to_be_bytes());
        reply.extend_from_slice(&client.ip().octets());
        ClientAction::Reply(reply)
    }
}

pub(super) type Outcome<'a, H> = Result<ClientAction<'a, H>, Refused>;

/// A refused request: the error code and the credentials to sign the answer with.
pub(super) struct Refused {
    pub(super) code: u16,
    pub(super) credentials: LongTermKeyCredentials,
}

impl Refused {
    pub(super) fn new(code: u16, credentials: &LongTermKeyCredentials) -> Refused {
        Refused { code, credentials: credentials.clone() }
    }
}

pub(super) fn error_code(code: u16) -> ErrorCode {
    ErrorCode::builder(code).build().expect("codes we send are in range")
}

/// Comprehension-required attributes of `message` the relay does not understand.
pub(super) fn unknown_required(message: &Message) -> Vec<stun_types::attribute::AttributeType> {
    message
        .iter_attributes()
        .map(|(_, raw)| raw.get_type())
        .filter(|t| t.comprehension_required() && !UNDERSTOOD.contains(&u16::from(*t)))
        .collect()
}

/// The transaction id of an RFC 3489 Binding request: type 0x0001, no magic cookie, a length
/// that matches the datagram.
pub(super) fn classic_binding_request(data: &[u8]) -> Option<[u8; 16]> {
    let header = data.get(..20)?;
    let classic = header[..2] == [0x00, 0x01]
        && header[4..8] != 0x2112_A442u32.to_be_bytes()
        && usize::from(u16::from_be_bytes([header[2], header[3]])) == data.len() - 20;
    classic.then(|| header[4..20].try_into().expect("16 bytes"))
}

/// Checks a request's integrity with `credentials`: MESSAGE-INTEGRITY-SHA256 when present (keyed
/// as RFC 8489 §9.2.4 says, see [`integrity`]), MESSAGE-INTEGRITY otherwise.
pub(super) fn check_integrity(
    data: &[u8],
    message: &Message,
    credentials: &LongTermKeyCredentials,
) -> Option<IntegrityAlgorithm> {
    if message.has_attribute(MessageIntegritySha256::TYPE) {
        let key = integrity::long_term_key(credentials.username(), credentials.realm(), credentials.password());
        return integrity::verify_sha256(data, &key).then_some(IntegrityAlgorithm::Sha256);
    }
    message.validate_integrity(&MessageIntegrityCredentials::LongTerm(credentials.clone())).ok()
}

/// Adds MESSAGE-INTEGRITY (of the request's kind) and FINGERPRINT.
pub(super) fn sign(mut out: MessageWriteVec, credentials: &LongTermKeyCredentials, algorithm: IntegrityAlgorithm) -> Vec<u8> {
    if algorithm == IntegrityAlgorithm::Sha256 {
        let key = integrity::long_term_key(credentials.username(), credentials.realm(), credentials.password());
        return integrity::sign_sha256(out.finish(), &key);
    }
    let _ = out.add_message_integrity(&MessageIntegrityCredentials::LongTerm(credentials.clone()), algorithm);
    finish(out)
}

/// Adds FINGERPRINT.
pub(super) fn finish(mut out: MessageWriteVec) -> Vec<u8> {
    let _ = out.add_fingerprint();
    out.finish()
}
