//! OAuth2 sign-in for Google and Microsoft 365 mailboxes: who the providers
//! are, the tokens a sign-in leaves (see [`store`]), how they are kept fresh,
//! and how a sign-in is done (see [`flow`]).
//!
//! The user registers their own OAuth client with the provider; mailtug knows
//! the endpoints and scopes, never a client ID of its own. A sign-in stores a
//! refresh token in a private file; every connection asks [`TokenSource`]
//! for an access token, which it refreshes shortly before it expires, under a
//! lock so that two runs never refresh at once (a provider that rotates
//! refresh tokens would otherwise see the older one used twice and revoke
//! both).

pub mod flow;
pub mod http;
pub mod store;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit;
use crate::secret::Secret;
use store::{TokenRecord, TokenStore};

/// Who issues the tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    // Gmail and Google Workspace.
    Google,
    // Microsoft 365, Outlook.com and Exchange Online.
    Microsoft,
}

/// How a person proves who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    // A browser on this machine signs in and comes back to a port on
    // 127.0.0.1 (RFC 8252 §7.3, with PKCE).
    Browser,
    // Any browser, anywhere, signs in with a short code shown here
    // (RFC 8628). Google does not allow it for mail.
    Device,
}

/// Where a provider's OAuth2 endpoints are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub device: Option<String>,
    pub revoke: Option<String>,
}

/// Replaces every provider's endpoints with `URL/authorize`, `URL/token`,
/// `URL/device` and `URL/revoke`, for the test suite's own authorization
/// server. Only an `http://127.0.0.1:PORT` address is taken: it cannot send
/// a real sign-in anywhere else.
const TEST_SERVER_ENV: &str = "MAILTUG_TEST_OAUTH_SERVER";

/// How long before its end an access token is replaced: a connection may
/// take a while to log in, and clocks differ.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How long a request to a token endpoint may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        }
    }

    /// The scopes that IMAP and POP3 need, and a refresh token.
    pub fn scope(self) -> &'static str {
        match self {
            // Google's only scope for IMAP and POP3; offline access is a
            // parameter (`access_type=offline`), not a scope.
            Provider::Google => "https://mail.google.com/",
            Provider::Microsoft => {
                "https://outlook.office.com/IMAP.AccessAsUser.All \
                 https://outlook.office.com/POP.AccessAsUser.All offline_access"
            }
        }
    }

    /// The flow used when none is asked for: Google refuses the device
    /// grant for the mail scope (`invalid_scope`); Microsoft's device grant
    /// works on a server without a browser.
    pub fn default_flow(self) -> Flow {
        match self {
            Provider::Google => Flow::Browser,
            Provider::Microsoft => Flow::Device,
        }
    }

    /// The endpoints, for Microsoft in `tenant` (`common`, `organizations`,
    /// `consumers`, or a directory's ID or domain).
    pub fn endpoints(self, tenant: &str) -> Result<Endpoints> {
        if let Some(base) = std::env::var_os(TEST_SERVER_ENV) {
            let base = base.to_string_lossy().trim_end_matches('/').to_owned();
            if !base.starts_with("http://127.0.0.1:") {
                return Err(exit::usage(format!(
                    "{TEST_SERVER_ENV} must be an http://127.0.0.1:PORT address"
                )));
            }
            return Ok(Endpoints {
                authorize: format!("{base}/authorize"),
                token: format!("{base}/token"),
                device: Some(format!("{base}/device")),
                revoke: Some(format!("{base}/revoke")),
            });
        }
        Ok(match self {
            Provider::Google => Endpoints {
                authorize: "https://accounts.google.com/o/oauth2/v2/auth".into(),
                token: "https://oauth2.googleapis.com/token".into(),
                device: None,
                revoke: Some("https://oauth2.googleapis.com/revoke".into()),
            },
            Provider::Microsoft => {
                let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
                Endpoints {
                    authorize: format!("{base}/authorize"),
                    token: format!("{base}/token"),
                    device: Some(format!("{base}/devicecode")),
                    revoke: None,
                }
            }
        })
    }

    /// The provider whose mail servers `host` names, if any.
    pub fn for_host(host: &str) -> Option<Provider> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        if under("gmail.com") || under("googlemail.com") || under("google.com") {
            Some(Provider::Google)
        } else if under("office365.com")
            || under("outlook.com")
            || under("office.com")
            || under("live.com")
            || under("hotmail.com")
        {
            Some(Provider::Microsoft)
        } else {
            None
        }
    }
}

/// An error that only a new sign-in can cure (exit 8): the refresh token
/// is dead (revoked, expired, password changed), or none was ever stored.
pub(crate) fn sign_in_needed(text: String) -> anyhow::Error {
    exit::SignInNeeded(text).into()
}

/// Logs in with `tokens`' access token through `log_in`; when the server
/// refuses it (a provider may end a token before its time: revoked, the
/// password changed), once more with a new one.
pub async fn log_in_with<T, F, Fut>(tokens: &TokenSource, log_in: F) -> Result<T>
where
    F: Fn(Secret) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let token = tokens.access_token().await?;
    match log_in(token.clone()).await {
        Err(e) if exit::classify(&e) == exit::ExitCode::LoginRefused => {
            crate::report::debug(&format!("{e:#}; asking for a new access token"));
            let fresh = tokens.replace(&token).await?;
            log_in(fresh).await
        }
        other => other,
    }
}

/// The command that signs `user` in again.
pub fn login_command(record: Option<&TokenRecord>, user: &str) -> String {
    match record {
        Some(record) => format!(
            "mailtug auth login --provider {} --user {user} --client-id {}",
            record.provider.as_str(),
            record.client_id
        ),
        None => format!("mailtug auth login --provider google|microsoft --user {user}"),
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Access tokens for one signed-in account, fresh on every call.
#[derive(Debug)]
pub struct TokenSource {
    store: TokenStore,
    user: String,
    /// The token last handed out, when it was issued and when it ends, so
    /// that the connections of a run do not each read the file.
    current: Mutex<Option<(Secret, u64, u64)>>,
}

impl TokenSource {
    /// The token source of `user` if they have signed in.
    pub fn find(user: &str) -> Result<Option<TokenSource>> {
        // Without HOME or XDG_STATE_HOME there is no store, and no sign-in.
        let Ok(store) = TokenStore::default_location() else {
            return Ok(None);
        };
        Ok(store.load(user)?.map(|_| TokenSource {
            store,
            user: user.to_owned(),
            current: Mutex::new(None),
        }))
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// An access token valid for a while yet.
    pub async fn access_token(&self) -> Result<Secret> {
        if let Some((token, issued_at, expires_at)) = self.current.lock().unwrap().clone() {
            if good_for_a_while(issued_at, expires_at) {
                return Ok(token);
            }
        }
        self.refresh(None).await
    }

    /// A new access token after a server refused `refused`: another run may
    /// have refreshed already, else this one does, even before the stored
    /// token's end (it may have been revoked).
    pub async fn replace(&self, refused: &Secret) -> Result<Secret> {
        self.refresh(Some(refused)).await
    }

    async fn refresh(&self, refused: Option<&Secret>) -> Result<Secret> {
        let store = self.store.clone();
        let user = self.user.clone();
        // The lock is a file lock: taking it may wait for another process.
        let lock = tokio::task::spawn_blocking(move || store.lock(&user))
            .await
            .context("waiting for the token lock")??;
        let mut record = self.store.load(&self.user)?.ok_or_else(|| {
            sign_in_needed(format!(
                "{} has signed out; sign in again with: {}",
                self.user,
                login_command(None, &self.user)
            ))
        })?;
        let stored = Secret::new(record.access_token.clone());
        let still_good = good_for_a_while(record.issued_at(), record.expires_at);
        let refused_this_one = refused.is_some_and(|refused| *refused == stored);
        if !still_good || refused_this_one {
            refresh_record(&mut record).await?;
            self.store.save(&record)?;
        }
        drop(lock);
        let token = Secret::new(record.access_token.clone());
        *self.current.lock().unwrap() =
            Some((token.clone(), record.issued_at(), record.expires_at));
        Ok(token)
    }
}

/// Whether a token issued at `issued_at` and ending at `expires_at` is
/// worth using rather than replacing: it has more than the margin left,
/// where the margin is at most half its lifetime (a provider handing out
/// short-lived tokens is not asked for a new one at every connection).
fn good_for_a_while(issued_at: u64, expires_at: u64) -> bool {
    let lifetime = expires_at.saturating_sub(issued_at);
    let margin = REFRESH_MARGIN.as_secs().min(lifetime / 2);
    expires_at > now() + margin
}

/// What a token endpoint answers.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// An OAuth2 error answer (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorAnswer {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl ErrorAnswer {
    pub fn text(&self) -> String {
        match &self.error_description {
            Some(description) => format!(
                "{} ({})",
                self.error,
                crate::report::sanitize(description.lines().next().unwrap_or_default())
            ),
            None => self.error.clone(),
        }
    }
}

/// Trades the record's refresh token for a new access token, and keeps the
/// new refresh token when the provider rotates it.
async fn refresh_record(record: &mut TokenRecord) -> Result<()> {
    let Some(refresh_token) = record.refresh_token.clone() else {
        return Err(sign_in_needed(format!(
            "the access token of {} has expired and no refresh token was stored; \
             sign in again with: {}",
            record.user,
            login_command(Some(record), &record.user)
        )));
    };
    let endpoints = record.provider.endpoints(record.tenant())?;
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", record.client_id.as_str()),
    ];
    if let Some(secret) = &record.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let answer = request_token(&endpoints.token, &form, &record.provider)
        .await
        .map_err(|e| match e {
            TokenError::Refused(answer) if answer.error == "invalid_grant" => {
                sign_in_needed(format!(
                    "{} no longer accepts the sign-in of {}: {}; sign in again with: {}",
                    record.provider.title(),
                    record.user,
                    answer.text(),
                    login_command(Some(record), &record.user)
                ))
            }
            other => other.into_error(&format!("refreshing the access token of {}", record.user)),
        })?;
    record.take(answer);
    record.refreshed_at = Some(now());
    Ok(())
}

/// Why a token request failed.
pub(crate) enum TokenError {
    /// The endpoint answered with an OAuth2 error.
    Refused(ErrorAnswer),
    /// The endpoint could not be reached or answered nonsense.
    Failed(anyhow::Error),
}

impl TokenError {
    pub fn into_error(self, doing: &str) -> anyhow::Error {
        match self {
            TokenError::Refused(answer) => {
                exit::usage(format!("{doing}: the provider refused: {}", answer.text()))
            }
            TokenError::Failed(e) => {
                // Not reaching the provider is a network problem (exit 3).
                exit::unreachable(format!("{doing}: {e:#}"))
            }
        }
    }
}

impl From<TokenError> for anyhow::Error {
    fn from(e: TokenError) -> anyhow::Error {
        e.into_error("asking for a token")
    }
}

/// POSTs a token request and reads the answer (RFC 6749 §5).
pub(crate) async fn request_token(
    url: &str,
    form: &[(&str, &str)],
    provider: &Provider,
) -> Result<TokenAnswer, TokenError> {
    let url = http::Url::parse(url).map_err(TokenError::Failed)?;
    let answer = http::post_form(&url, form, REQUEST_TIMEOUT)
        .await
        .map_err(TokenError::Failed)?;
    let what = format!("{}'s token endpoint", provider.title());
    let json = answer.json(&what).map_err(TokenError::Failed)?;
    if answer.status == 200 {
        serde_json::from_value(json)
            .with_context(|| format!("{what} answered without an access token"))
            .map_err(TokenError::Failed)
    } else {
        match serde_json::from_value::<ErrorAnswer>(json) {
            Ok(error) => Err(TokenError::Refused(error)),
            Err(_) => Err(TokenError::Failed(anyhow::anyhow!(
                "{what} answered HTTP {} without saying why",
                answer.status
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_hosts_name_their_provider() {
        let cases = [
            ("imap.gmail.com", Some(Provider::Google)),
            ("pop.gmail.com.", Some(Provider::Google)),
            ("imap.googlemail.com", Some(Provider::Google)),
            ("outlook.office365.com", Some(Provider::Microsoft)),
            ("IMAP-MAIL.OUTLOOK.COM", Some(Provider::Microsoft)),
            ("pop3.live.com", Some(Provider::Microsoft)),
            ("mail.example.org", None),
            ("notgmail.com", None),
        ];
        for (host, provider) in cases {
            assert_eq!(Provider::for_host(host), provider, "{host}");
        }
    }

    #[test]
    fn microsoft_endpoints_are_in_the_tenant() {
        let endpoints = Provider::Microsoft.endpoints("organizations").unwrap();
        assert_eq!(
            endpoints.device.as_deref(),
            Some("https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode")
        );
        assert!(Provider::Google
            .endpoints("common")
            .unwrap()
            .device
            .is_none());
        assert_eq!(Provider::Google.default_flow(), Flow::Browser);
        assert_eq!(Provider::Microsoft.default_flow(), Flow::Device);
    }
}
