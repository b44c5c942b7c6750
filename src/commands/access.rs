//! Turns `--src-…`/`--dst-…` options into the `Access` a store connects with.

use std::time::Duration;

use anyhow::Result;

use crate::cli::RemoteArgs;
use crate::endpoint::Endpoint;
use crate::mboxrd::MboxFormat;
use crate::net::TlsOptions;
use crate::report;
use crate::secret::SecretSource;
use crate::store::imap::AuthMechanism;
use crate::store::maildir::Layout;
use crate::store::pop3::Pop3Auth;
use crate::store::Access;

/// Which end of a copy an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

/// The access for `endpoint` on `side`, with `maildir_layout` the value of
/// that side's `--…-maildir-layout`. For a server endpoint, the secret is
/// read now, once: a prompt asks once and a password command runs once, even
/// when several connections are opened.
pub fn access(
    endpoint: &Endpoint,
    side: Side,
    args: &RemoteArgs,
    maildir_layout: &str,
) -> Result<Access> {
    let (prefix, user, file, env, command, auth, ca_file) = match side {
        Side::Source => (
            "src",
            &args.src_user,
            &args.src_password_file,
            &args.src_password_env,
            &args.src_password_command,
            &args.src_auth,
            &args.src_ca_file,
        ),
        Side::Destination => (
            "dst",
            &args.dst_user,
            &args.dst_password_file,
            &args.dst_password_env,
            &args.dst_password_command,
            &args.dst_auth,
            &args.dst_ca_file,
        ),
    };
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if args.insecure && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        report::warn(
            "--insecure: server certificates are not checked; anyone on the network path can read your mail and password",
        );
    }
    let mut access = Access {
        user: user.clone(),
        secret: None,
        auth: match auth.as_str() {
            "login" | "user" => AuthMechanism::Login,
            "plain" => AuthMechanism::Plain,
            "xoauth2" => AuthMechanism::XOAuth2,
            "oauthbearer" => AuthMechanism::OAuthBearer,
            _ => AuthMechanism::Auto,
        },
        pop3_auth: match auth.as_str() {
            "login" | "user" => Pop3Auth::UserPass,
            "plain" => Pop3Auth::Plain,
            "apop" => Pop3Auth::Apop,
            "xoauth2" => Pop3Auth::XOAuth2,
            _ => Pop3Auth::Auto,
        },
        tls: TlsOptions {
            ca_file: ca_file.clone(),
            insecure: args.insecure,
        },
        plaintext: args.tls == "none",
        timeout: Duration::from_secs(args.timeout.max(1)),
        mbox_format: match args.mbox_format.as_str() {
            "mboxrd" => Some(MboxFormat::Mboxrd),
            "mboxo" => Some(MboxFormat::Mboxo),
            "mboxcl2" => Some(MboxFormat::Mboxcl2),
            _ => None,
        },
        maildir_layout: Layout::parse(maildir_layout).ok_or_else(|| {
            crate::exit::usage(format!(
                "--{prefix}-maildir-layout `{maildir_layout}` is not auto, maildir++ or fs"
            ))
        })?,
    };
    if access.maildir_layout != Layout::Auto && !matches!(endpoint, Endpoint::Maildir(_)) {
        return Err(crate::exit::usage(format!(
            "--{prefix}-maildir-layout {maildir_layout} is for maildir endpoints, and `{endpoint}` \
             is not one"
        )));
    }
    if matches!(endpoint, Endpoint::Imap(_)) && matches!(auth.as_str(), "apop" | "user") {
        return Err(crate::exit::usage(format!(
            "--{prefix}-auth {auth} is for POP3 servers"
        )));
    }
    if matches!(endpoint, Endpoint::Pop3(_)) && auth == "oauthbearer" {
        return Err(crate::exit::usage(format!(
            "--{prefix}-auth oauthbearer is for IMAP servers; POP3 takes xoauth2"
        )));
    }
    if let Some(remote) = endpoint.remote() {
        let source =
            SecretSource::from_options(prefix, file.clone(), env.clone(), command.clone())?;
        let who = access
            .user
            .clone()
            .or_else(|| remote.user.clone())
            .unwrap_or_default();
        let what = match access.auth {
            AuthMechanism::XOAuth2 | AuthMechanism::OAuthBearer => "access token",
            _ => "password",
        };
        access.secret = Some(source.read(&format!("{what} for {who}@{}", remote.host))?);
    }
    Ok(access)
}
