//! Outgoing email: each message becomes a file in the outbox directory (the default) or goes to
//! an SMTP server.
//!
//! Invitation emails carry a secret token, so neither the log nor an error ever holds a message's
//! body, and an SMTP password is never logged. [`MailError`] is this module's error boundary: it
//! has no `Display`, so it cannot slip into a GraphQL answer through async-graphql's blanket
//! conversion; it converts into [`ApiError`] as INTERNAL.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use url::Url;

use crate::error::ApiError;

/// The sender of outbox files. Nobody delivers them, so the address is in the `.invalid` domain
/// (RFC 2606), which can never belong to anyone.
pub const DEFAULT_FROM: &str = "Charter <no-reply@charter.invalid>";

/// How long the SMTP server may take to answer one command before the send fails; invitations
/// are sent while a request waits, so this bounds that request.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One plain-text email.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The recipient's address, such as `alice@example.com` or `Alice <alice@example.com>`.
    pub to: String,
    pub subject: String,
    /// The body; it may hold a secret (an invitation token), so `Debug` leaves it out.
    pub text: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where and as whom to send over SMTP.
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtps://user:password@host:465` (TLS from the start),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtp://host:25` (no TLS;
    /// allowed with credentials only to a loopback relay). Percent-encode special characters of
    /// the user and password. A path names the EHLO host: `smtps://host/mail.example.com`.
    pub url: String,
    /// The `From` of every message, such as `Charter <no-reply@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redacted(&self.url))
            .field("from", &self.from)
            .finish()
    }
}

/// Sends email; cheap to clone (an SMTP mailer shares its settings, not a connection: each send
/// opens one).
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Outbox {
        dir: PathBuf,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its password, for the log.
        server: String,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Mailer");
        match &self.transport {
            Transport::Outbox { dir } => out.field("outbox", dir),
            Transport::Smtp { server, .. } => out.field("smtp", server),
        };
        out.field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    /// A mailer that writes each message as an `.eml` file under `<data_dir>/outbox/` (created on
    /// the first send), from [`DEFAULT_FROM`].
    pub fn outbox(data_dir: &Path) -> Self {
        Self {
            from: DEFAULT_FROM
                .parse()
                .expect("the default sender is a mailbox"),
            transport: Transport::Outbox {
                dir: data_dir.join("outbox"),
            },
        }
    }

    /// A mailer that sends through the SMTP server of `config`. Refuses a URL that would send a
    /// password unencrypted to another machine. Nothing connects until the first send.
    pub fn smtp(config: &SmtpConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config.from.parse().map_err(|err| {
            anyhow::anyhow!("the SMTP sender `{}` is not a mailbox: {err}", config.from)
        })?;
        // The url crate's parse errors never repeat the input, which may hold a password.
        let url = Url::parse(&config.url)
            .map_err(|err| anyhow::anyhow!("the SMTP URL is not a URL: {err}"))?;
        let server = redacted(&config.url);
        let tls = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let encrypted = match (url.scheme(), tls.as_deref()) {
            ("smtps", _) | ("smtp", Some("required")) => true,
            // Opportunistic STARTTLS falls back to plain text when the server (or someone in
            // between) does not offer it.
            ("smtp", None | Some("opportunistic")) => false,
            _ => anyhow::bail!(
                "the SMTP URL {server} must start with smtp:// or smtps://, with at most \
                 ?tls=required or ?tls=opportunistic"
            ),
        };
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        if !encrypted && !is_loopback(&url) {
            anyhow::ensure!(
                !has_credentials,
                "refusing to send the SMTP password of {server} unencrypted: use smtps:// or add \
                 ?tls=required"
            );
            tracing::warn!(%server, "SMTP without TLS: messages travel in plain text");
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|err| anyhow::anyhow!("the SMTP URL {server} is unusable: {err}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self {
            from,
            transport: Transport::Smtp { transport, server },
        })
    }

    /// Sends `message`. Callers validate the recipient first (with [`crate::domain::Email`]);
    /// a line break in the recipient or subject is refused as an attempt to add headers.
    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        refuse_line_breaks("to", &message.to)?;
        refuse_line_breaks("subject", &message.subject)?;
        let to: Mailbox = message.to.parse().map_err(MailError::Recipient)?;
        let id = uuid::Uuid::now_v7();
        match &self.transport {
            Transport::Outbox { dir } => {
                // 8bit keeps the file as the text was written: a link is never wrapped or
                // quoted-printable encoded, so a person or a test can copy it from the file.
                let body = Body::new_with_encoding(
                    message.text.clone(),
                    ContentTransferEncoding::EightBit,
                )
                .unwrap_or_else(|_| Body::new(message.text.clone()));
                let email = self.compose(to, id, &message.subject, body)?;
                let name = format!(
                    "{}-{id}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
                );
                let path = write_outbox(dir.clone(), name, email.formatted()).await?;
                let path = path.display();
                tracing::info!(to = %message.to, %path, "mail written to the outbox");
            }
            Transport::Smtp { transport, server } => {
                // A relay may not accept 8-bit data, so lettre picks 7bit, quoted-printable or
                // base64 as the text needs.
                let body = Body::new(message.text.clone());
                let email = self.compose(to, id, &message.subject, body)?;
                transport.send(email).await.map_err(MailError::Smtp)?;
                tracing::info!(to = %message.to, %server, "mail sent over SMTP");
            }
        }
        Ok(())
    }

    fn compose(
        &self,
        to: Mailbox,
        id: uuid::Uuid,
        subject: &str,
        body: Body,
    ) -> Result<lettre::Message, MailError> {
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(MailError::Compose)
    }
}

/// Why a message was not sent. Deliberately without `Display` (see the module's comment):
/// [`MailError::detail`] is for the log.
#[derive(Debug)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient or subject holds a line break, which would start a header of its own.
    LineBreak { field: &'static str },
    /// The recipient is not an address.
    Recipient(lettre::address::AddressError),
    /// The message could not be put together.
    Compose(lettre::error::Error),
    /// Writing the outbox file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The SMTP server refused the message or could not be reached.
    Smtp(lettre::transport::smtp::Error),
}

impl MailError {
    /// What went wrong, for the log (never for a client: it may name files and servers).
    pub fn detail(&self) -> String {
        match self {
            MailError::LineBreak { field } => format!("the {field} of a message has a line break"),
            MailError::Recipient(err) => format!("the recipient is not an address: {err}"),
            MailError::Compose(err) => format!("cannot compose the message: {err}"),
            MailError::Io { path, source } => format!("cannot write {}: {source}", path.display()),
            MailError::Smtp(err) => format!("SMTP: {err}"),
        }
    }
}

impl From<MailError> for ApiError {
    /// Logs the detail; the client sees INTERNAL only.
    fn from(err: MailError) -> Self {
        ApiError::internal(format!("mail: {}", err.detail()))
    }
}

fn refuse_line_breaks(field: &'static str, value: &str) -> Result<(), MailError> {
    if value.contains(['\r', '\n']) {
        return Err(MailError::LineBreak { field });
    }
    Ok(())
}

/// Writes `bytes` as `dir/name`: first to a hidden temporary file in the same directory, then
/// renamed, so whoever reads `*.eml` never sees half a message. The files hold invitation tokens,
/// so only the owner may read them.
async fn write_outbox(dir: PathBuf, name: String, bytes: Vec<u8>) -> Result<PathBuf, MailError> {
    let for_error = dir.clone();
    tokio::task::spawn_blocking(move || {
        let path = dir.join(&name);
        let temp = dir.join(format!(".{name}.tmp"));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| MailError::Io { path, source }
        };
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            dirs.mode(0o700);
            options.mode(0o600);
        }
        dirs.create(&dir).map_err(io(&dir))?;
        let written = options.open(&temp).and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        });
        if let Err(source) = written.and_then(|()| std::fs::rename(&temp, &path)) {
            // Best effort: a leftover temporary file is hidden and harmless.
            let _ = std::fs::remove_file(&temp);
            return Err(io(&temp)(source));
        }
        Ok(path)
    })
    .await
    .map_err(|err| MailError::Io {
        path: for_error,
        source: std::io::Error::other(err),
    })?
}

/// `url` with its password replaced, for the log and error messages.
fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// Whether the URL's host is this machine, where plain text never crosses a network.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // smtp is not one of the URL standard's special schemes, so an IPv4 address arrives as
        // an opaque host name.
        Some(url::Host::Domain(name)) => match name.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => name.eq_ignore_ascii_case("localhost"),
        },
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::{MailError, Mailer, Message, SmtpConfig};

    const LINK: &str = "https://charter.example/accept?token=s3cr3t-t0ken";

    fn invitation(to: &str) -> Message {
        Message {
            to: to.to_owned(),
            subject: "You are invited to Acme".to_owned(),
            text: format!("Zoë invited you to Acme.\n\nAccept: {LINK}\n"),
        }
    }

    /// Every entry of the outbox directory, sorted.
    fn outbox_entries(data_dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(data_dir.join("outbox")) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        paths
    }

    #[tokio::test]
    async fn an_outbox_send_writes_one_readable_eml_file() {
        let data_dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(data_dir.path());
        mailer
            .send(&invitation("Alice <alice@example.com>"))
            .await
            .unwrap();

        let entries = outbox_entries(data_dir.path());
        assert_eq!(entries.len(), 1, "{entries:?}");
        let name = entries[0].file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.ends_with(".eml") && !name.starts_with('.'), "{name}");
        let text = std::fs::read_to_string(&entries[0]).unwrap();
        let (headers, body) = text
            .split_once("\r\n\r\n")
            .expect("headers, a blank line, a body");
        for expected in [
            "From: Charter <no-reply@charter.invalid>\r\n",
            "To: Alice <alice@example.com>\r\n",
            "Subject: You are invited to Acme\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ] {
            assert!(
                format!("{headers}\r\n").contains(expected),
                "{expected:?} in {headers}"
            );
        }
        assert!(headers.contains("\r\nDate: "), "{headers}");
        // The Message-ID carries the uuid that names the file.
        let uuid = name.trim_end_matches(".eml").split_once('-').unwrap().1;
        assert!(
            headers.contains(&format!("Message-ID: <{uuid}@charter.invalid>")),
            "{headers}"
        );
        // The body is the text as written: a person can read it and copy the link.
        assert_eq!(
            body,
            format!("Zoë invited you to Acme.\r\n\r\nAccept: {LINK}\r\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&entries[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read: {mode:o}");
        }
    }

    #[tokio::test]
    async fn two_sends_make_two_files() {
        let data_dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(data_dir.path());
        mailer.send(&invitation("alice@example.com")).await.unwrap();
        mailer.send(&invitation("bob@example.com")).await.unwrap();

        let entries = outbox_entries(data_dir.path());
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert!(
            entries
                .iter()
                .all(|path| path.extension().unwrap() == "eml")
        );
        let first = std::fs::read_to_string(&entries[0]).unwrap();
        let second = std::fs::read_to_string(&entries[1]).unwrap();
        // Names sort in the order of sending.
        assert!(first.contains("To: alice@example.com\r\n"), "{first}");
        assert!(second.contains("To: bob@example.com\r\n"), "{second}");
    }

    #[tokio::test]
    async fn line_breaks_in_the_recipient_or_subject_are_refused_and_nothing_is_written() {
        let data_dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(data_dir.path());

        let mut message = invitation("alice@example.com\r\nBcc: mallory@example.com");
        let err = mailer.send(&message).await.unwrap_err();
        assert!(
            matches!(err, MailError::LineBreak { field: "to" }),
            "{err:?}"
        );

        message = invitation("alice@example.com");
        message.subject = "Hello\nBcc: mallory@example.com".to_owned();
        let err = mailer.send(&message).await.unwrap_err();
        assert!(
            matches!(err, MailError::LineBreak { field: "subject" }),
            "{err:?}"
        );

        message.subject = "Hello\rBcc: mallory@example.com".to_owned();
        let err = mailer.send(&message).await.unwrap_err();
        assert!(
            matches!(err, MailError::LineBreak { field: "subject" }),
            "{err:?}"
        );

        assert!(outbox_entries(data_dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_recipient_that_is_not_an_address_is_refused() {
        let data_dir = tempfile::tempdir().unwrap();
        let err = Mailer::outbox(data_dir.path())
            .send(&invitation("not an address"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Recipient(_)), "{err:?}");
        assert!(outbox_entries(data_dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_mail_error_reaches_clients_as_internal_only() {
        let data_dir = tempfile::tempdir().unwrap();
        // A file where the outbox directory should be: writing fails.
        std::fs::write(data_dir.path().join("outbox"), "").unwrap();
        let err = Mailer::outbox(data_dir.path())
            .send(&invitation("alice@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Io { .. }), "{err:?}");
        assert!(err.detail().contains("outbox"), "{}", err.detail());

        let api: crate::error::ApiError = err.into();
        assert_eq!(api.code, crate::error::ErrorCode::Internal);
        assert!(!api.message.contains("outbox"), "{}", api.message);
    }

    #[test]
    fn debug_output_hides_the_body_and_the_smtp_password() {
        let message = format!("{:?}", invitation("alice@example.com"));
        assert!(!message.contains("s3cr3t"), "{message}");

        let config = SmtpConfig {
            url: "smtps://mailer:hunter2-secret@mail.example.com:465".to_owned(),
            from: "Charter <no-reply@example.com>".to_owned(),
        };
        let shown = format!("{config:?} {:?}", Mailer::smtp(&config).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("mail.example.com"), "{shown}");
    }

    #[test]
    fn smtp_refuses_to_send_a_password_unencrypted_to_another_machine() {
        let config = |url: &str| SmtpConfig {
            url: url.to_owned(),
            from: "Charter <no-reply@example.com>".to_owned(),
        };
        for refused in [
            "smtp://mailer:hunter2@mail.example.com:587",
            "smtp://mailer:hunter2@mail.example.com:587?tls=opportunistic",
        ] {
            let err = Mailer::smtp(&config(refused)).unwrap_err().to_string();
            assert!(err.contains("unencrypted"), "{refused}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        // TLS from the start, STARTTLS required, or a relay on this machine: accepted (building
        // the TLS settings also proves the ring provider is in place). Nothing connects.
        for accepted in [
            "smtps://mailer:hunter2@mail.example.com",
            "smtp://mailer:hunter2@mail.example.com:587?tls=required",
            "smtp://mailer:hunter2@127.0.0.1:25",
            "smtp://mailer:hunter2@[::1]:25",
            "smtp://mailer:hunter2@localhost:25",
            "smtp://mail.example.com:25",
        ] {
            Mailer::smtp(&config(accepted)).unwrap_or_else(|err| panic!("{accepted}: {err}"));
        }
        for bad in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=maybe",
        ] {
            assert!(Mailer::smtp(&config(bad)).is_err(), "{bad}");
        }
        let mut bad_sender = config("smtps://mail.example.com");
        bad_sender.from = "nobody".to_owned();
        assert!(Mailer::smtp(&bad_sender).is_err());
    }

    /// What the fake SMTP server heard.
    #[derive(Debug, Default)]
    struct Transcript {
        commands: Vec<String>,
        data: String,
    }

    /// A one-connection SMTP server on 127.0.0.1 that speaks just enough of the protocol to take
    /// one message. Returns its port and a handle that yields what it heard.
    fn fake_smtp_server() -> (u16, std::thread::JoinHandle<Transcript>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            // Never hang the test run if the client stops talking.
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut reply = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes());
            let mut transcript = Transcript::default();
            reply("220 fake.test ESMTP").unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                let command = line.trim_end().to_owned();
                let verb = command
                    .split([' ', ':'])
                    .next()
                    .unwrap_or("")
                    .to_uppercase();
                transcript.commands.push(command);
                match verb.as_str() {
                    "EHLO" | "HELO" => reply("250 fake.test"),
                    "MAIL" | "RCPT" | "RSET" | "NOOP" => reply("250 OK"),
                    "DATA" => {
                        reply("354 End data with <CR><LF>.<CR><LF>").unwrap();
                        loop {
                            let mut data_line = String::new();
                            if reader.read_line(&mut data_line).unwrap() == 0
                                || data_line == ".\r\n"
                            {
                                break;
                            }
                            transcript.data.push_str(&data_line);
                        }
                        reply("250 OK queued")
                    }
                    "QUIT" => {
                        reply("221 Bye").unwrap();
                        break;
                    }
                    _ => reply("502 Not implemented"),
                }
                .unwrap();
            }
            transcript
        });
        (port, server)
    }

    #[tokio::test]
    async fn an_smtp_send_delivers_the_message_to_the_server() {
        let (port, server) = fake_smtp_server();
        let mailer = Mailer::smtp(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "Charter <no-reply@example.com>".to_owned(),
        })
        .unwrap();
        let mut message = invitation("Alice <alice@example.com>");
        // ASCII, so the body goes as 7bit and can be compared as written.
        message.text = format!("Accept: {LINK}\n");
        mailer.send(&message).await.unwrap();

        let transcript = tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        let commands = transcript.commands.join("\n");
        assert!(
            commands.contains("MAIL FROM:<no-reply@example.com>"),
            "{commands}"
        );
        assert!(
            commands.contains("RCPT TO:<alice@example.com>"),
            "{commands}"
        );
        assert!(commands.ends_with("QUIT"), "{commands}");
        let data = transcript.data;
        assert!(
            data.contains("Subject: You are invited to Acme\r\n"),
            "{data}"
        );
        assert!(data.contains("To: Alice <alice@example.com>\r\n"), "{data}");
        assert!(
            data.contains(&format!("\r\n\r\nAccept: {LINK}\r\n")),
            "{data}"
        );
    }

    #[tokio::test]
    async fn an_smtp_server_that_cannot_be_reached_is_an_error() {
        // Bind and drop a listener: nothing listens on that port now.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mailer = Mailer::smtp(&SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "Charter <no-reply@example.com>".to_owned(),
        })
        .unwrap();
        let err = mailer
            .send(&invitation("alice@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    }
}
