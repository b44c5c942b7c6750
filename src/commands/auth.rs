//! `mailtug auth login|status|logout`: OAuth2 sign-ins for Google and
//! Microsoft 365, kept in the token store (see `oauth::store`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{AuthCommand, AuthLoginArgs};
use crate::config::Config;
use crate::event::Event;
use crate::exit::{self, ExitCode};
use crate::oauth::flow::{self, Client};
use crate::oauth::store::{TokenRecord, TokenStore};
use crate::oauth::{self, Flow, Provider, TokenSource};
use crate::report;
use crate::secret::{Secret, SecretSource};

pub async fn run(command: AuthCommand, config: Option<PathBuf>) -> Result<ExitCode> {
    match command {
        AuthCommand::Login(args) => login(args, config).await,
        AuthCommand::Status { users, check } => status(&users, check).await,
        AuthCommand::Logout { user } => logout(&user).await,
    }
}

/// What `auth login` needs, from the options and the config file's account.
struct SignIn {
    client: Client,
    user: String,
}

fn sign_in_of(args: &AuthLoginArgs, config: Option<PathBuf>) -> Result<SignIn> {
    let mut provider = args.provider;
    let mut user = args.user.clone();
    let mut client_id = args.client_id.clone();
    let mut tenant = args.tenant.clone();
    let mut secret_source = SecretSource::from_options(
        "client",
        args.client_secret_file.clone(),
        args.client_secret_env.clone(),
        None,
    )
    .map_err(|_| exit::usage("give only one of --client-secret-file and --client-secret-env"))?;
    if let Some(name) = &args.account {
        let path = Config::locate(config.as_deref())
            .filter(|p| p.exists())
            .ok_or_else(|| {
                exit::usage(format!(
                    "`{name}` names an account of the config file, and there is none \
                     (give --provider and --user instead)"
                ))
            })?;
        let config = Config::load(&path)?;
        let account = config.accounts.get(name).ok_or_else(|| {
            exit::usage(format!(
                "config file `{}` has no account `{name}`",
                path.display()
            ))
        })?;
        let account_user = account.user.clone().or_else(|| {
            crate::endpoint::Endpoint::parse(&account.url)
                .ok()
                .and_then(|e| e.remote().and_then(|r| r.user.clone()))
        });
        let host_provider = crate::endpoint::Endpoint::parse(&account.url)
            .ok()
            .and_then(|e| e.remote().and_then(|r| Provider::for_host(&r.host)));
        provider = provider.or(account.oauth).or(host_provider);
        user = user.or(account_user);
        client_id = client_id.or_else(|| account.oauth_client_id.clone());
        tenant = tenant.or_else(|| account.oauth_tenant.clone());
        if matches!(secret_source, SecretSource::Prompt) {
            if let Some(file) = &account.oauth_client_secret_file {
                secret_source = SecretSource::File(crate::endpoint::expand_home(file));
            }
        }
    }
    let provider = provider.ok_or_else(|| {
        exit::usage("say which provider to sign in with: --provider google or --provider microsoft")
    })?;
    let user = user.ok_or_else(|| exit::usage("say which account to sign in: --user ADDRESS"))?;
    let client_id = client_id.ok_or_else(|| {
        exit::usage(format!(
            "sign-in needs the client ID of an OAuth client you registered with {} \
             (--client-id, MAILTUG_OAUTH_CLIENT_ID, or oauth_client_id in the config file; \
             see mailtug-auth in mailtug(1))",
            provider.title()
        ))
    })?;
    let client_secret = match secret_source {
        SecretSource::Prompt => None,
        source => Some(source.read("client secret")?.expose().to_owned()),
    };
    if provider == Provider::Google && client_secret.is_none() {
        report::info(
            "no client secret given; Google's token endpoint asks for the one of a \
             desktop-app client (--client-secret-file)",
        );
    }
    Ok(SignIn {
        client: Client {
            provider,
            client_id,
            client_secret,
            tenant,
        },
        user,
    })
}

async fn login(args: AuthLoginArgs, config: Option<PathBuf>) -> Result<ExitCode> {
    let sign_in = sign_in_of(&args, config)?;
    let store = TokenStore::default_location()?;
    let flow_kind = args
        .flow
        .unwrap_or_else(|| sign_in.client.provider.default_flow());
    let timeout = Duration::from_secs(args.timeout.max(1));
    let record = match flow_kind {
        Flow::Browser => {
            flow::browser(&sign_in.client, &sign_in.user, !args.no_browser, timeout).await?
        }
        Flow::Device => tokio::time::timeout(timeout, flow::device(&sign_in.client, &sign_in.user))
            .await
            .map_err(|_| {
                exit::usage(format!(
                    "no sign-in within {} s; run `mailtug auth login` again",
                    timeout.as_secs()
                ))
            })??,
    };
    store.save(&record)?;
    emit(&store, &record, None);
    report::human(&format!(
        "Signed in {} with {}; the sign-in is kept in {}.",
        record.user,
        record.provider.title(),
        store.location(&record.user)
    ));
    Ok(ExitCode::Success)
}

async fn status(users: &[String], check: bool) -> Result<ExitCode> {
    let store = TokenStore::default_location()?;
    let records = if users.is_empty() {
        store.all()?
    } else {
        let mut records = Vec::new();
        for user in users {
            match store.load(user)? {
                Some(record) => records.push(record),
                None => {
                    return Err(oauth::sign_in_needed(format!(
                        "{user} has not signed in; sign in with: {}",
                        oauth::login_command(None, user)
                    )))
                }
            }
        }
        records
    };
    if records.is_empty() {
        report::human(&format!("No sign-ins are kept in {}.", store.place()));
        return Ok(ExitCode::Success);
    }
    let mut code = ExitCode::Success;
    if !report::verbosity().json && !report::verbosity().quiet {
        println!(
            "{:<32} {:<10} {:<26} REFRESH",
            "ACCOUNT", "PROVIDER", "ACCESS TOKEN"
        );
    }
    for record in records {
        let mut record = record;
        let mut checked = None;
        if check {
            // A refresh proves the provider still accepts the sign-in.
            let source = TokenSource::find(&record.user)?
                .with_context(|| format!("{} signed out meanwhile", record.user))?;
            match source
                .replace(&Secret::new(record.access_token.clone()))
                .await
            {
                Ok(_) => {
                    checked = Some(true);
                    record = store.load(&record.user)?.unwrap_or(record);
                }
                Err(e) => {
                    report::error(&format!("{e:#}"));
                    checked = Some(false);
                    code = exit::classify(&e);
                }
            }
        }
        emit(&store, &record, checked);
        if !report::verbosity().json && !report::verbosity().quiet {
            let access = if record.expires_at > oauth::now() {
                format!("good until {}", clock(record.expires_at))
            } else {
                "expired".to_owned()
            };
            let refresh = match (record.refresh_token.is_some(), checked) {
                (_, Some(false)) => "refused: sign in again",
                (true, Some(true)) => "yes, checked",
                (true, None) => "yes",
                (false, _) => "no: sign in again when it expires",
            };
            println!(
                "{:<32} {:<10} {:<26} {refresh}",
                report::sanitize(&record.user),
                record.provider.as_str(),
                access
            );
        }
    }
    Ok(code)
}

async fn logout(user: &str) -> Result<ExitCode> {
    let store = TokenStore::default_location()?;
    let Some(record) = store.load(user)? else {
        report::human(&format!("{user} was not signed in."));
        return Ok(ExitCode::Success);
    };
    // Revoke first: once the file is gone, the token is gone with it.
    let revoked = revoke(&record).await;
    store.remove(user)?;
    match revoked {
        Ok(true) => report::human(&format!(
            "Signed {user} out, and {} revoked the sign-in.",
            record.provider.title()
        )),
        Ok(false) => report::human(&format!(
            "Signed {user} out here. {} keeps the app's access until you remove it \
             from the account's security settings.",
            record.provider.title()
        )),
        Err(e) => report::warn(&format!(
            "signed {user} out here, but {} did not revoke the sign-in: {e:#}",
            record.provider.title()
        )),
    }
    Ok(ExitCode::Success)
}

/// Revokes the refresh token where the provider has a revocation endpoint
/// (RFC 7009); false where it has none.
async fn revoke(record: &TokenRecord) -> Result<bool> {
    let endpoints = record.provider.endpoints(record.tenant())?;
    let (Some(url), Some(token)) = (endpoints.revoke, record.refresh_token.as_deref()) else {
        return Ok(false);
    };
    let url = oauth::http::Url::parse(&url)?;
    let answer = oauth::http::post_form(&url, &[("token", token)], Duration::from_secs(30)).await?;
    // 400 with invalid_token: it was dead already, which is what we want.
    if answer.status == 200 || answer.status == 400 {
        Ok(true)
    } else {
        anyhow::bail!("it answered HTTP {}", answer.status)
    }
}

fn emit(store: &TokenStore, record: &TokenRecord, checked: Option<bool>) {
    report::emit(&Event::SignIn {
        user: &record.user,
        provider: record.provider.as_str(),
        client_id: &record.client_id,
        access_token_expires_at: record.expires_at,
        refreshable: record.refresh_token.is_some(),
        signed_in_at: record.signed_in_at,
        refreshed_at: record.refreshed_at,
        checked,
        file: &store.location(&record.user),
    });
}

/// `2026-12-04 12:41 UTC`.
fn clock(unix: u64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(unix);
    let (year, month, day, hour, minute, _) = crate::date::utc_parts(time);
    format!("{year}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}
