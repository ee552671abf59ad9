//! Outgoing mail over SMTP: the transport the account use cases hand a finished letter to
//! (password reset links, address confirmation). One connection per letter — mail is rare
//! here — with a deadline, so a mail server that hangs costs a background task, never a request.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpTls};

/// How long one letter may take, connection and TLS included.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a letter was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient is not an address lettre can write (the store holds only parsed ones,
    /// but a mailbox has stricter rules than our shape check).
    #[error("not a deliverable address: {0}")]
    Address(#[from] lettre::address::AddressError),
    /// Building the message failed.
    #[error("could not build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The mail server refused it, or could not be reached in time.
    #[error("the mail server did not take the message: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The mail server took longer than the deadline.
    #[error("the mail server did not answer within {} s", SEND_TIMEOUT.as_secs())]
    TimedOut,
}

/// A letter: plain text, to one person.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends letters through the configured mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `config`, or `None` while `smtp.host` is empty. `Config::validate` has
    /// checked `smtp.from` already; an unusable host is an error here.
    pub fn from_config(config: &SmtpConfig) -> Result<Option<Mailer>, MailError> {
        if !config.enabled() {
            return Ok(None);
        }
        let builder = match config.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        };
        let mut builder = builder.port(config.port()).timeout(Some(SEND_TIMEOUT));
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(config.username.clone(), config.password.expose().to_owned()));
        }
        let from = config.from.parse::<Mailbox>()?;
        Ok(Some(Mailer { transport: builder.build(), from }))
    }

    /// Whether the mail server answers, with TLS and login as configured, within 30 seconds.
    pub async fn reachable(&self) -> Result<(), MailError> {
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::TimedOut),
            Ok(Err(err)) => Err(MailError::Smtp(err)),
            Err(_) => Err(MailError::TimedOut),
        }
    }

    /// Sends `letter`, giving up after 30 seconds.
    pub async fn send(&self, letter: &Letter) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, letter.to.parse()?))
            .subject(letter.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body.clone())?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(sent) => sent.map(drop).map_err(MailError::from),
            Err(_) => Err(MailError::TimedOut),
        }
    }
}
