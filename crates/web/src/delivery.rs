//! Ways a message leaves Needlepoint, behind [`Sender`]: e-mail over SMTP,
//! SMS through a provider's program, or the local mailbox folder. The
//! outbox worker retries any failure, so a sender only reports it.
//!
//! SMTP here is plain SMTP (with AUTH PLAIN when credentials are given), for
//! a relay on the clinic's own network or host; a relay such as Postfix
//! adds TLS towards an outside provider. No TLS stack is compiled in.

use crate::outbox::{MailboxFolder, Sender};
use needlepoint_store::Message;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Where e-mail goes: `smtp://[user:password@]host[:port]` (port 25 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub login: Option<(String, String)>,
    /// The From address.
    pub from: String,
}

impl Smtp {
    pub fn parse(url: &str, from: &str) -> Result<Smtp, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or("The SMTP address must start with smtp://")?;
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
        let (host, port) = match server.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| format!("{p:?} is not a port number"))?,
            ),
            None => (server, 25),
        };
        if host.is_empty() {
            return Err("The SMTP address has no host.".into());
        }
        if !from.contains('@') {
            return Err("Give the address messages come from (--mail-from).".into());
        }
        Ok(Smtp {
            host: host.into(),
            port,
            login,
            from: from.into(),
        })
    }
}

/// RFC 5321 line of a reply: the code and whether more lines follow.
fn reply(r: &mut impl BufRead) -> Result<(u16, String), String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("the SMTP server closed the connection".into());
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an SMTP reply: {line:?}"))?;
        text.push_str(line.get(4..).unwrap_or("").trim_end());
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
        text.push(' ');
    }
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ABC[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

impl Sender for Smtp {
    fn send(&self, m: &Message) -> Result<(), String> {
        let timeout = Duration::from_secs(20);
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .map_err(|e| format!("cannot reach {}:{}: {e}", self.host, self.port))?;
        stream.set_read_timeout(Some(timeout)).ok();
        stream.set_write_timeout(Some(timeout)).ok();
        let mut r = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut w = stream;
        let mut step = |cmd: Option<String>, want: u16| -> Result<(), String> {
            if let Some(c) = &cmd {
                w.write_all(format!("{c}\r\n").as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            let (code, text) = reply(&mut r)?;
            if code != want {
                let said = cmd.map(|c| {
                    if c.starts_with("AUTH") {
                        "AUTH".into()
                    } else {
                        c
                    }
                });
                return Err(format!(
                    "SMTP {code} {text} (after {})",
                    said.unwrap_or("connecting".into())
                ));
            }
            Ok(())
        };
        step(None, 220)?;
        step(Some("EHLO needlepoint".into()), 250)?;
        if let Some((user, password)) = &self.login {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            step(Some(format!("AUTH PLAIN {token}")), 235)?;
        }
        step(Some(format!("MAIL FROM:<{}>", self.from)), 250)?;
        step(Some(format!("RCPT TO:<{}>", m.to_address)), 250)?;
        step(Some("DATA".into()), 354)?;
        let mut mail = MailboxFolder::message_text(m, &self.from);
        // Dot-stuffing: a line starting with "." gets another (RFC 5321 4.5.2).
        mail = mail.replace("\r\n.", "\r\n..");
        step(Some(format!("{mail}\r\n.")), 250)?;
        step(Some("QUIT".into()), 221).or(Ok(()))
    }
}

/// SMS through a provider's program: it is run with the phone number as
/// its one argument and the text on standard input, and exits 0 once the
/// provider has accepted the message. A short script calling the
/// provider's API is all an integration needs.
pub struct SmsCommand(pub std::path::PathBuf);

impl Sender for SmsCommand {
    fn send(&self, m: &Message) -> Result<(), String> {
        use std::process::{Command, Stdio};
        let mut child = Command::new(&self.0)
            .arg(&m.to_address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.0.display()))?;
        // A program that fails early may not read its input: its exit
        // status and message say more than the broken pipe would.
        let written = child
            .stdin
            .take()
            .expect("piped")
            .write_all(m.body.as_bytes());
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
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

impl Sender for ByChannel {
    fn send(&self, m: &Message) -> Result<(), String> {
        match m.channel.as_str() {
            "sms" => self.sms.send(m),
            _ => self.email.send(m),
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
        assert_eq!(Smtp::parse("smtp://localhost", "a@b").unwrap().port, 25);
        assert!(Smtp::parse("http://x", "a@b").is_err());
        assert!(Smtp::parse("smtp://x:port", "a@b").is_err());
        assert!(Smtp::parse("smtp://x", "nobody").is_err());
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }
}
