//! E-mail over SMTP to a real (if small) SMTP server on a free port, and
//! SMS through a provider's program: what is delivered, and that a
//! refusal comes back as an error for the outbox to retry.

use needlepoint_practice::delivery::{ByChannel, SmsCommand, Smtp};
use needlepoint_practice::messages::{MailboxFolder, Sender};
use needlepoint_store::Message;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn message(channel: &str, to: &str) -> Message {
    Message {
        id: 7,
        clinic_id: 1,
        patient_id: Some(1),
        appointment_id: Some(1),
        kind: "confirmation".into(),
        channel: needlepoint_domain::message::MessageChannel::parse(channel).unwrap(),
        to_address: to.into(),
        subject: "Booked: your session at Clinic · Soho".into(),
        body: "Dear Ada,\n.\nSee you on Monday.".into(),
        attachment: Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into()),
        due_at: needlepoint_store::now(),
        status: needlepoint_domain::message::MessageStatus::Pending,
        attempts: 0,
        last_error: None,
        sent_at: None,
    }
}

/// An SMTP server for one connection: it records the commands and the
/// message, and refuses the recipient when `refuse_rcpt`.
fn smtp_server(refuse_rcpt: bool) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut seen = vec![];
        w.write_all(b"220 test ESMTP\r\n").unwrap();
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 {
            let cmd = line.trim_end().to_string();
            line.clear();
            let answer: &[u8] = match cmd.split(' ').next().unwrap_or("") {
                "EHLO" => b"250-test\r\n250 AUTH PLAIN\r\n",
                "AUTH" => b"235 ok\r\n",
                "MAIL" => b"250 ok\r\n",
                "RCPT" if refuse_rcpt => b"550 no such user\r\n",
                "RCPT" => b"250 ok\r\n",
                "DATA" => {
                    w.write_all(b"354 go on\r\n").unwrap();
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        r.read_line(&mut l).unwrap();
                        if l == ".\r\n" {
                            break;
                        }
                        data.push_str(&l);
                    }
                    seen.push(data);
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    w.write_all(b"221 bye\r\n").unwrap();
                    seen.push(cmd);
                    break;
                }
                _ => b"500 what\r\n",
            };
            seen.push(cmd);
            w.write_all(answer).unwrap();
        }
        seen
    });
    (port, handle)
}

#[tokio::test]
async fn smtp_delivers_the_message_with_its_attachment() {
    let (port, server) = smtp_server(false);
    let smtp = Smtp::parse(
        &format!("smtp://clinic:pa55@127.0.0.1:{port}"),
        "bookings@clinic.example",
    )
    .unwrap();
    smtp.send(&message("email", "ada@example.com"))
        .await
        .unwrap();
    let seen = server.join().unwrap();
    assert!(
        seen.contains(&"AUTH PLAIN AGNsaW5pYwBwYTU1".to_string()),
        "{seen:?}"
    );
    assert!(seen.contains(&"MAIL FROM:<bookings@clinic.example>".to_string()));
    assert!(seen.contains(&"RCPT TO:<ada@example.com>".to_string()));
    let data = seen.iter().find(|s| s.contains("Subject:")).unwrap();
    assert!(data.contains("To: ada@example.com\r\n"));
    let subject = data.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(
        subject.is_ascii() && subject.to_lowercase().contains("=?utf-8?b?"),
        "a non-ASCII subject is encoded: {data}"
    );
    assert!(data.contains("Dear Ada,\r\n..\r\nSee you"), "dot-stuffed");
    assert!(data.contains("Content-Type: text/calendar") && data.contains("BEGIN:VCALENDAR"));
    assert_eq!(seen.last().unwrap(), "QUIT");
}

/// A line break in a subject (a clinic or patient name saved before names
/// were checked) cannot add a header: the SMTP server and the mailbox
/// folder both receive one Subject line and no Bcc or Reply-To.
#[tokio::test]
async fn a_line_break_in_a_subject_adds_no_header() {
    let mut m = message("email", "ada@example.com");
    m.subject =
        "Booked at Clinic\r\nBcc: thief@evil.example\r\nReply-To: thief@evil.example".into();
    let (port, server) = smtp_server(false);
    Smtp::parse(
        &format!("smtp://127.0.0.1:{port}"),
        "bookings@clinic.example",
    )
    .unwrap()
    .send(&m)
    .await
    .unwrap();
    let seen = server.join().unwrap();
    assert!(
        !seen
            .iter()
            .any(|c| c.contains("thief@evil.example") && c.starts_with("RCPT")),
        "no extra recipient: {seen:?}"
    );
    let data = seen.iter().find(|s| s.contains("Subject:")).unwrap();
    let mailbox =
        String::from_utf8(MailboxFolder::message_text(&m, "needlepoint@localhost").unwrap())
            .unwrap();
    for eml in [data.as_str(), mailbox.as_str()] {
        let head = eml.split("\r\n\r\n").next().unwrap();
        for header in ["bcc:", "reply-to:"] {
            assert!(
                !head.lines().any(|l| l.to_lowercase().starts_with(header)),
                "{header} injected:\n{head}"
            );
        }
        assert_eq!(
            head.lines().filter(|l| l.starts_with("Subject:")).count(),
            1,
            "{head}"
        );
    }
}

#[tokio::test]
async fn an_smtp_refusal_is_an_error_to_retry() {
    let (port, server) = smtp_server(true);
    let smtp = Smtp::parse(&format!("smtp://127.0.0.1:{port}"), "b@clinic.example").unwrap();
    let e = smtp
        .send(&message("email", "gone@example.com"))
        .await
        .unwrap_err();
    assert!(e.contains("550") && e.contains("no such user"), "{e}");
    drop(server);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = Smtp::parse(&format!("smtp://127.0.0.1:{port}"), "b@clinic.example")
        .unwrap()
        .send(&message("email", "a@example.com"))
        .await
        .unwrap_err();
    assert!(e.contains(&format!("SMTP via 127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn sms_goes_through_the_providers_program_by_channel() {
    use std::os::unix::fs::PermissionsExt;
    let dir = needlepoint_store::testing::temp_dir("sms");
    let sent = dir.join("sent.txt");
    let ok = dir.join("provider.sh");
    std::fs::write(
        &ok,
        format!(
            "#!/bin/sh\necho \"to $1\" >> {0}\ncat >> {0}\n",
            sent.display()
        ),
    )
    .unwrap();
    let down = dir.join("down.sh");
    std::fs::write(&down, "#!/bin/sh\necho 'quota exceeded' >&2\nexit 3\n").unwrap();
    for f in [&ok, &down] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mailbox = dir.join("mailbox");
    let senders = ByChannel {
        email: Box::new(MailboxFolder(mailbox.clone())),
        sms: Box::new(SmsCommand(ok)),
    };
    senders
        .send(&message("sms", "+447700900123"))
        .await
        .unwrap();
    senders
        .send(&message("email", "ada@example.com"))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&sent).unwrap();
    assert!(text.starts_with("to +447700900123\nDear Ada,"), "{text}");
    assert_eq!(
        std::fs::read_dir(&mailbox).unwrap().count(),
        1,
        "the e-mail went to the mailbox"
    );
    let e = SmsCommand(down)
        .send(&message("sms", "+447700900123"))
        .await
        .unwrap_err();
    assert!(e.contains("quota exceeded"), "{e}");
}
