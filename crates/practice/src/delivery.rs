//! Ways a message leaves Needlepoint, behind [`Sender`]: e-mail over SMTP,
//! SMS through a provider's program, or the local mailbox folder. The
//! outbox worker retries any failure, so a sender only reports it.
//!
//! E-mail goes through lettre: the message and its headers are built by
//! the library (so no name or address can add a header), over plain SMTP to
//! a relay on the clinic's network, STARTTLS, or implicit TLS (rustls), with
//! AUTH when credentials are given.

use crate::messages::Sender;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use needlepoint_domain::message::MessageChannel;
use needlepoint_store::Message;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP, for a relay on the clinic's own network or host.
    None,
    /// Upgraded with STARTTLS before anything is sent (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where e-mail goes: `smtp://` (plain, port 25), `smtp+starttls://`
/// (port 587) or `smtps://` (port 465), then `[user:password@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub login: Option<(String, String)>,
    /// The From address.
    pub from: String,
}

impl Smtp {
    pub fn parse(url: &str, from: &str) -> Result<Smtp, String> {
        let (security, rest) = [
            ("smtp://", Security::None),
            ("smtp+starttls://", Security::StartTls),
            ("smtps://", Security::Tls),
        ]
        .into_iter()
        .find_map(|(scheme, sec)| url.strip_prefix(scheme).map(|r| (sec, r)))
        .ok_or("The SMTP address must start with smtp://, smtp+starttls:// or smtps://")?;
        let (login, server) = match rest.rsplit_once('@') {
            Some((l, s)) => {
                let (u, p) = l
                    .split_once(':')
                    .ok_or("Write the login as smtp://user:password@host")?;
                (Some((u.to_string(), p.to_string())), s)
            }
            None => (None, rest),
        };
        let server = server.trim_end_matches('/');
        let default_port = match security {
            Security::None => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        };
        let (host, port) = match server.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| format!("{p:?} is not a port number"))?,
            ),
            None => (server, default_port),
        };
        if host.is_empty() {
            return Err("The SMTP address has no host.".into());
        }
        if from.parse::<Mailbox>().is_err() {
            return Err("Give the address messages come from (--mail-from).".into());
        }
        Ok(Smtp {
            host: host.into(),
            port,
            security,
            login,
            from: from.into(),
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                .map_err(|e| e.to_string())?,
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)
                .map_err(|e| e.to_string())?,
        };
        let builder = builder
            .port(self.port)
            .timeout(Some(Duration::from_secs(20)));
        Ok(match &self.login {
            Some((user, password)) => builder
                .credentials(Credentials::new(user.clone(), password.clone()))
                .build(),
            None => builder.build(),
        })
    }
}

/// The message as an e-mail from `from`: the text, and the .ics attached.
/// Every header is built and encoded by lettre, never joined by hand, so a
/// line break in a name cannot start a header of its own.
pub fn email(m: &Message, from: &str) -> Result<lettre::Message, String> {
    let to: Mailbox = m
        .to_address
        .parse()
        .map_err(|e| format!("{:?} is not an e-mail address: {e}", m.to_address))?;
    let from: Mailbox = from.parse().map_err(|e| format!("--mail-from: {e}"))?;
    let text = SinglePart::plain(m.body.clone());
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(format!("<message-{}@needlepoint>", m.id)));
    let built = match &m.attachment {
        Some(ics) => builder.multipart(
            MultiPart::mixed().singlepart(text).singlepart(
                Attachment::new("appointment.ics".into()).body(
                    ics.clone(),
                    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                        .expect("a valid content type"),
                ),
            ),
        ),
        None => builder.singlepart(text),
    };
    built.map_err(|e| e.to_string())
}

#[async_trait::async_trait]
impl Sender for Smtp {
    async fn send(&self, m: &Message) -> Result<(), String> {
        let email = email(m, &self.from)?;
        self.transport()?
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP via {}:{}: {e}", self.host, self.port))
    }
}

/// SMS through a provider's program: it is run with the phone number as
/// its one argument and the text on standard input, and exits 0 once the
/// provider has accepted the message. A short script calling the
/// provider's API is all an integration needs.
pub struct SmsCommand(pub std::path::PathBuf);

#[async_trait::async_trait]
impl Sender for SmsCommand {
    async fn send(&self, m: &Message) -> Result<(), String> {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(&self.0)
            .arg(&m.to_address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.0.display()))?;
        // A program that fails early may not read its input: its exit
        // status and message say more than the broken pipe would.
        let mut stdin = child.stdin.take().expect("piped");
        let written = stdin.write_all(m.body.as_bytes()).await;
        drop(stdin);
        let out = child.wait_with_output().await.map_err(|e| e.to_string())?;
        if out.status.success() {
            written.map_err(|e| format!("{} did not read the text: {e}", self.0.display()))
        } else {
            Err(format!(
                "{} failed ({}): {}",
                self.0.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// Sends each message by its channel.
pub struct ByChannel {
    pub email: Box<dyn Sender>,
    pub sms: Box<dyn Sender>,
}

#[async_trait::async_trait]
impl Sender for ByChannel {
    async fn send(&self, m: &Message) -> Result<(), String> {
        match m.channel {
            MessageChannel::Sms => self.sms.send(m).await,
            MessageChannel::Email => self.email.send(m).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_addresses_parse() {
        let s = Smtp::parse("smtp://ann:s3:cret@mail.example:2525", "clinic@example.com").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.login),
            ("mail.example", 2525, Some(("ann".into(), "s3:cret".into())))
        );
        assert_eq!(
            Smtp::parse("smtp://localhost", "a@b.example").unwrap().port,
            25
        );
        let tls = Smtp::parse("smtps://mail.example", "a@b.example").unwrap();
        assert_eq!((tls.security, tls.port), (Security::Tls, 465));
        let starttls = Smtp::parse("smtp+starttls://mail.example", "a@b.example").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, 587)
        );
        assert!(Smtp::parse("http://x", "a@b.example").is_err());
        assert!(Smtp::parse("smtp://x:port", "a@b.example").is_err());
        assert!(Smtp::parse("smtp://x", "nobody").is_err());
    }
}
