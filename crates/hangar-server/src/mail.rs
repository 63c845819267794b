//! Outgoing mail: through SMTP when configured, otherwise written as `.eml` files under
//! `<data-dir>/outbox/` with their links logged, so a fresh install works without a mail server.
//! Sending happens in the background: a slow or failing mail server never fails a request.

use crate::config::{Config, SmtpConfig};
use anyhow::Context as _;
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;

/// One message. `links` are the URLs in the body, logged in outbox mode.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub links: Vec<String>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: &Config) -> anyhow::Result<Mailer> {
        let from: Mailbox = config.mail_from.parse().with_context(|| format!("mail_from '{}' is not an address like 'Hangar <hub@example.com>'", config.mail_from))?;
        let transport = match &config.smtp {
            Some(smtp) => Transport::Smtp(smtp_transport(smtp)?),
            None => {
                let dir = config.data_dir.join("outbox");
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                Transport::Outbox(dir)
            }
        };
        Ok(Mailer { transport, from })
    }

    /// Queues the mail; delivery errors are logged (without the address).
    pub fn send(self: &std::sync::Arc<Self>, mail: Mail) {
        let this = self.clone();
        tokio::spawn(async move {
            let subject = mail.subject.clone();
            if let Err(e) = this.deliver(mail).await {
                tracing::warn!(error = %format!("{e:#}"), subject, "could not send a mail");
            }
        });
    }

    /// Sends now (used by tests and the background jobs that want to know it went out).
    pub async fn deliver(&self, mail: Mail) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.parse().context("invalid recipient address")?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .context("cannot build the message")?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message).await.context("the SMTP server refused the message")?;
            }
            Transport::Outbox(dir) => {
                let name = format!("{}-{}.eml", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), hex::encode(rand::random::<[u8; 4]>()));
                let bytes = message.formatted();
                let dir = dir.clone();
                let path = dir.join(&name);
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
                    std::io::Write::write_all(&mut tmp, &bytes)?;
                    tmp.persist(&path).map_err(|e| e.error)?;
                    Ok(())
                })
                .await??;
                tracing::info!(file = %name, subject = %mail.subject, links = ?mail.links, "no SMTP server configured: mail written to the outbox");
            }
        }
        Ok(())
    }
}

fn smtp_transport(smtp: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut builder = match smtp.tls.as_str() {
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).context("invalid SMTP host")?,
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).context("invalid SMTP host")?,
        other => anyhow::bail!("smtp tls '{other}' is not one of none, starttls, tls"),
    };
    builder = builder.port(smtp.port).timeout(Some(std::time::Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}
