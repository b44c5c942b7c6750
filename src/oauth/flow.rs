//! The two ways to sign in: a browser that comes back to a port on
//! 127.0.0.1 with an authorization code (RFC 8252 §7.3, protected by PKCE,
//! RFC 7636), and a code typed into any browser while this side polls
//! (the device grant, RFC 8628).
//!
//! Both print what the person has to do on stderr and end with a
//! [`TokenRecord`] for the store. Nothing they print is a secret: the
//! authorization code travels only between the browser and our port, and
//! the PKCE verifier never leaves this process before the token request.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::http::{self, query_pairs};
use super::store::TokenRecord;
use super::{now, request_token, Provider, TokenError};
use crate::exit;
use crate::report;

/// A client the user registered with the provider.
#[derive(Clone, Debug)]
pub struct Client {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Microsoft's directory; `None` is `common`.
    pub tenant: Option<String>,
}

impl Client {
    fn tenant(&self) -> &str {
        self.tenant.as_deref().unwrap_or("common")
    }

    fn record(&self, user: &str, answer: super::TokenAnswer) -> TokenRecord {
        let mut record = TokenRecord {
            provider: self.provider,
            user: user.to_owned(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            tenant: self.tenant.clone(),
            scope: self.provider.scope().to_owned(),
            access_token: String::new(),
            expires_at: 0,
            refresh_token: None,
            signed_in_at: now(),
            refreshed_at: None,
        };
        record.take(answer);
        if record.refresh_token.is_none() {
            report::warn(&format!(
                "{} gave no refresh token, so this sign-in ends when its access token does \
                 (usually an hour)",
                self.provider.title()
            ));
        }
        record
    }

    fn with_secret<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) {
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
    }
}

/// `bytes` random bytes from the kernel.
fn random_bytes(bytes: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0u8; bytes];
    let mut filled = 0;
    while filled < bytes {
        // SAFETY: writes at most `bytes - filled` bytes into the buffer's tail.
        let n = unsafe { libc::getrandom(buffer[filled..].as_mut_ptr().cast(), bytes - filled, 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("reading random bytes");
        }
        filled += n as usize;
    }
    Ok(buffer)
}

/// Base64url without padding (RFC 7636 appendix A).
fn base64url(bytes: &[u8]) -> String {
    crate::secret::base64(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A PKCE verifier and its S256 challenge.
fn pkce_pair() -> Result<(String, String)> {
    // 32 random bytes make a 43-character verifier, RFC 7636's minimum
    // length and its recommended entropy.
    let verifier = base64url(&random_bytes(32)?);
    let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
    Ok((verifier, challenge))
}

/// Signs `user` in with a browser and the loopback redirect.
pub async fn browser(
    client: &Client,
    user: &str,
    open_browser: bool,
    timeout: Duration,
) -> Result<TokenRecord> {
    let endpoints = client.provider.endpoints(client.tenant())?;
    // RFC 8252 §7.3 and §8.3: the loopback IP literal, any free port.
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("opening a port on 127.0.0.1 for the browser to come back to")?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/");
    let (verifier, challenge) = pkce_pair()?;
    let state = base64url(&random_bytes(16)?);
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", client.provider.scope()),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("login_hint", user),
    ];
    if client.provider == Provider::Google {
        // A refresh token, and a new one even when this client was
        // allowed before (Google gives it only on consent).
        query.push(("access_type", "offline"));
        query.push(("prompt", "consent"));
    }
    let address = format!("{}?{}", endpoints.authorize, http::form_encode(&query));
    eprintln!(
        "Open this address in a browser and sign in as {user}:\n\n  {address}\n\n\
         Waiting for the browser to come back to {redirect_uri} (up to {} minutes)…",
        timeout.as_secs().div_ceil(60)
    );
    if open_browser {
        try_to_open(&address);
    }
    let code = tokio::time::timeout(timeout, wait_for_code(&listener, &state))
        .await
        .map_err(|_| {
            exit::usage(format!(
                "no sign-in came back within {} s; run `mailtug auth login` again",
                timeout.as_secs()
            ))
        })??;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", client.client_id.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    client.with_secret(&mut form);
    let answer = request_token(&endpoints.token, &form, &client.provider)
        .await
        .map_err(|e| e.into_error("trading the authorization code for tokens"))?;
    Ok(client.record(user, answer))
}

/// Accepts connections on the loopback port until one brings the
/// authorization code with our `state`; answers each with a page the
/// browser shows.
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        // The request line is all that matters; stop at the header's end.
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
            match tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        let line = String::from_utf8_lossy(&request);
        let target = line
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_default()
            .to_owned();
        let pairs = target
            .split_once('?')
            .map(|(_, query)| query_pairs(query))
            .unwrap_or_default();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let visit = if get("state").is_none() {
            Visit::Stray
        } else if get("state").as_deref() != Some(state) {
            Visit::Forged
        } else if let Some(code) = get("code") {
            Visit::Code(code)
        } else {
            let error = get("error").unwrap_or_else(|| "no code".into());
            let description = get("error_description")
                .map(|d| format!(" ({})", report::sanitize(&d)))
                .unwrap_or_default();
            Visit::Refused(format!("the sign-in was refused: {error}{description}"))
        };
        const FORGED: &str =
            "this answer is not for the sign-in mailtug started (its state differs)";
        let (status, page) = match &visit {
            Visit::Stray => ("404 Not Found", "Not the sign-in.".to_owned()),
            Visit::Code(_) => (
                "200 OK",
                "mailtug: signed in. You can close this tab.".to_owned(),
            ),
            Visit::Forged => ("400 Bad Request", format!("mailtug: {FORGED}")),
            Visit::Refused(why) => ("400 Bad Request", format!("mailtug: {why}")),
        };
        let page = page.replace('&', "&amp;").replace('<', "&lt;");
        let body = format!("<!doctype html><title>mailtug</title><p>{page}</p>\n");
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(reply.as_bytes()).await;
        let _ = socket.shutdown().await;
        match visit {
            Visit::Stray => continue,
            // A forged or stale answer must not end the wait for the real
            // one; a refusal from the provider does.
            Visit::Forged => report::warn(FORGED),
            Visit::Code(code) => return Ok(code),
            Visit::Refused(why) => return Err(exit::usage(why)),
        }
    }
}

/// What a request to the loopback port turned out to be.
enum Visit {
    /// Not the redirect (a favicon, a port scanner).
    Stray,
    /// A redirect whose `state` is not ours.
    Forged,
    /// The authorization code.
    Code(String),
    /// The provider's refusal, in words.
    Refused(String),
}

/// Starts the person's browser on `address` where there is a display to
/// show it on; says nothing when there is not (the address is printed).
fn try_to_open(address: &str) {
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .or_else(|| has_display.then(|| "xdg-open".to_owned()));
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(address)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// What a device authorization endpoint answers (RFC 8628 §3.2).
#[derive(serde::Deserialize)]
struct DeviceAnswer {
    device_code: String,
    user_code: String,
    /// Google spells it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// Signs `user` in with the device grant: shows a code to enter at the
/// provider's address, then polls until the person has.
pub async fn device(client: &Client, user: &str) -> Result<TokenRecord> {
    let endpoints = client.provider.endpoints(client.tenant())?;
    let Some(device_url) = endpoints.device else {
        return Err(exit::usage(format!(
            "{} does not allow signing in to mail with a code (the device grant); \
             use --flow browser",
            client.provider.title()
        )));
    };
    let url = http::Url::parse(&device_url)?;
    let mut form = vec![
        ("client_id", client.client_id.as_str()),
        ("scope", client.provider.scope()),
    ];
    client.with_secret(&mut form);
    let answer = http::post_form(&url, &form, super::REQUEST_TIMEOUT)
        .await
        .map_err(|e| exit::unreachable(format!("asking for a sign-in code: {e:#}")))?;
    let json = answer.json("the device authorization endpoint")?;
    if answer.status != 200 {
        let why = serde_json::from_value::<super::ErrorAnswer>(json)
            .map(|e| e.text())
            .unwrap_or_else(|_| format!("HTTP {}", answer.status));
        return Err(exit::usage(format!(
            "{} refused to give a sign-in code: {why}",
            client.provider.title()
        )));
    }
    let device: DeviceAnswer = serde_json::from_value(json)
        .context("the device authorization endpoint answered without a code")?;
    match &device.verification_uri_complete {
        Some(complete) => eprintln!(
            "To sign in as {user}, open {complete}\n(or open {} and enter the code {}).",
            device.verification_uri, device.user_code
        ),
        None => eprintln!(
            "To sign in as {user}, open {} and enter the code {}",
            report::sanitize(&device.verification_uri),
            report::sanitize(&device.user_code)
        ),
    }
    eprintln!(
        "Waiting for the sign-in (the code is good for {} minutes)…",
        device.expires_in.div_ceil(60)
    );
    // RFC 8628 §3.5: 5 s when the server does not say; slow_down adds 5.
    let mut interval = Duration::from_secs(device.interval.unwrap_or(5));
    let ends = Instant::now() + Duration::from_secs(device.expires_in);
    loop {
        tokio::time::sleep(interval).await;
        let mut form = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device.device_code.as_str()),
            ("client_id", client.client_id.as_str()),
        ];
        client.with_secret(&mut form);
        match request_token(&endpoints.token, &form, &client.provider).await {
            Ok(answer) => return Ok(client.record(user, answer)),
            Err(TokenError::Refused(e)) if e.error == "authorization_pending" => {}
            Err(TokenError::Refused(e)) if e.error == "slow_down" => {
                interval += Duration::from_secs(5);
            }
            Err(TokenError::Refused(e)) if e.error == "expired_token" => {
                bail!(exit::UsageError(
                    "the sign-in code expired before it was used; run `mailtug auth login` again"
                        .into()
                ))
            }
            Err(e) => return Err(e.into_error("waiting for the sign-in")),
        }
        if Instant::now() >= ends {
            return Err(exit::usage(
                "the sign-in code expired before it was used; run `mailtug auth login` again",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::http::percent_encode;

    #[test]
    fn pkce_challenges_are_the_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let (verifier, challenge) = pkce_pair().unwrap();
        assert_eq!((verifier.len(), challenge.len()), (43, 43));
        assert!(verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(pkce_pair().unwrap().0, verifier);
    }

    #[test]
    fn a_percent_encoded_address_keeps_its_query_apart() {
        assert_eq!(percent_encode("a b&c=d"), "a%20b%26c%3Dd");
    }
}
