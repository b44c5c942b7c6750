//! Turns `--src-…`/`--dst-…` options into the `Access` a store connects with.

use std::time::Duration;

use anyhow::Result;

use crate::cli::{self, Auth, MaildirLayout, RemoteArgs};
use crate::endpoint::Endpoint;
use crate::mboxrd::MboxFormat;
use crate::net::TlsOptions;
use crate::oauth::TokenSource;
use crate::report;
use crate::secret::SecretSource;
use crate::store::imap::AuthMechanism;
use crate::store::maildir::Layout;
use crate::store::pop3::Pop3Auth;
use crate::store::Access;
use std::io::IsTerminal;

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
    maildir_layout: MaildirLayout,
) -> Result<Access> {
    let (prefix, (user, admin), file, env, command, auth, ca_file, inline) = match side {
        Side::Source => (
            "src",
            (&args.src_user, &args.src_admin),
            &args.src_password_file,
            &args.src_password_env,
            &args.src_password_command,
            args.src_auth,
            &args.src_ca_file,
            &args.src_password,
        ),
        Side::Destination => (
            "dst",
            (&args.dst_user, &args.dst_admin),
            &args.dst_password_file,
            &args.dst_password_env,
            &args.dst_password_command,
            Auth::from(args.dst_auth),
            &args.dst_ca_file,
            &args.dst_password,
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
        admin: admin.clone(),
        secret: None,
        tokens: None,
        reapply_flagged: false,
        // `apop` and `oauthbearer` name one protocol's mechanism; the other
        // protocol refuses them below, and `auto` stands in meanwhile.
        auth: match auth {
            Auth::Login | Auth::User => AuthMechanism::Login,
            Auth::Plain => AuthMechanism::Plain,
            Auth::Xoauth2 => AuthMechanism::XOAuth2,
            Auth::Oauthbearer => AuthMechanism::OAuthBearer,
            Auth::Auto | Auth::Apop => AuthMechanism::Auto,
        },
        pop3_auth: match auth {
            Auth::Login | Auth::User => Pop3Auth::UserPass,
            Auth::Plain => Pop3Auth::Plain,
            Auth::Apop => Pop3Auth::Apop,
            Auth::Xoauth2 => Pop3Auth::XOAuth2,
            Auth::Auto | Auth::Oauthbearer => Pop3Auth::Auto,
        },
        tls: TlsOptions {
            ca_file: ca_file.clone().or_else(|| args.ca_file.clone()),
            insecure: args.insecure,
            ca_option: match side {
                Side::Source => "--src-ca-file",
                Side::Destination => "--dst-ca-file",
            },
        },
        plaintext: args.tls == cli::Tls::None,
        timeout: Duration::from_secs(args.timeout.max(1)),
        mbox_format: match args.mbox_format {
            cli::MboxFormat::Auto => None,
            cli::MboxFormat::Mboxrd => Some(MboxFormat::Mboxrd),
            cli::MboxFormat::Mboxo => Some(MboxFormat::Mboxo),
            cli::MboxFormat::Mboxcl2 => Some(MboxFormat::Mboxcl2),
        },
        maildir_layout: match maildir_layout {
            MaildirLayout::Auto => Layout::Auto,
            MaildirLayout::MaildirPlusPlus => Layout::MaildirPlusPlus,
            MaildirLayout::Fs => Layout::Fs,
        },
    };
    if access.maildir_layout != Layout::Auto && !matches!(endpoint, Endpoint::Maildir(_)) {
        return Err(crate::exit::usage(format!(
            "--{prefix}-maildir-layout {} is for maildir endpoints, and `{endpoint}` is not one",
            access.maildir_layout.as_str()
        )));
    }
    if matches!(endpoint, Endpoint::Imap(_)) && matches!(auth, Auth::Apop | Auth::User) {
        return Err(crate::exit::usage(format!(
            "--{prefix}-auth {} is for POP3 servers",
            auth.as_str()
        )));
    }
    if matches!(endpoint, Endpoint::Pop3(_)) && auth == Auth::Oauthbearer {
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
        let oauth_asked = matches!(
            access.auth,
            AuthMechanism::XOAuth2 | AuthMechanism::OAuthBearer
        );
        // An account signed in with `mailtug auth login` needs nothing
        // more: no password option, no prompt.
        if inline.is_none() && source == SecretSource::Prompt && access.admin.is_none() {
            if let Some(tokens) = TokenSource::find(&who)? {
                report::debug(&format!("{who} logs in with its OAuth2 sign-in"));
                access.tokens = Some(std::sync::Arc::new(tokens));
                return Ok(access);
            }
            if oauth_asked && !std::io::stdin().is_terminal() {
                return Err(crate::oauth::sign_in_needed(format!(
                    "{who} has not signed in, and no access token was given; sign in once with: {}",
                    crate::oauth::login_command(None, &who)
                )));
            }
        }
        // An administrator logs in with its own password.
        let who = access.admin.clone().unwrap_or(who);
        access.secret = Some(match (inline, source) {
            // From a private config file; an option given on the command
            // line replaces it.
            (Some(secret), SecretSource::Prompt) => secret.clone(),
            (_, source) => source.read(&format!("{what} for {who}@{}", remote.host))?,
        });
    }
    Ok(access)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// `access` for SRC of `mailtug ls ENDPOINT ARGS…`.
    fn source_access(endpoint: &str, args: &[&str]) -> Result<Access> {
        let argv = [&["mailtug", "ls", endpoint][..], args].concat();
        let Command::Ls(ls) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let endpoint = Endpoint::parse(&ls.endpoint).unwrap();
        access(&endpoint, Side::Source, &ls.remote, ls.src_maildir_layout)
    }

    #[test]
    fn each_auth_option_chooses_the_mechanism_of_both_protocols() {
        let dir = std::env::temp_dir();
        let maildir = format!("maildir:{}", dir.display());
        let cases = [
            ("auto", AuthMechanism::Auto, Pop3Auth::Auto),
            ("login", AuthMechanism::Login, Pop3Auth::UserPass),
            ("user", AuthMechanism::Login, Pop3Auth::UserPass),
            ("plain", AuthMechanism::Plain, Pop3Auth::Plain),
            ("xoauth2", AuthMechanism::XOAuth2, Pop3Auth::XOAuth2),
            ("oauthbearer", AuthMechanism::OAuthBearer, Pop3Auth::Auto),
            ("apop", AuthMechanism::Auto, Pop3Auth::Apop),
        ];
        for (option, imap, pop3) in cases {
            let access = source_access(&maildir, &["--src-auth", option]).unwrap();
            assert_eq!((access.auth, access.pop3_auth), (imap, pop3), "{option}");
        }
    }

    #[test]
    fn options_for_another_kind_of_endpoint_are_usage_errors() {
        let cases = [
            (
                "imaps://me@mail.example.org",
                &["--src-auth", "user"][..],
                "--src-auth user is for POP3 servers",
            ),
            (
                "pop3s://me@mail.example.org",
                &["--src-auth", "oauthbearer"],
                "--src-auth oauthbearer is for IMAP servers; POP3 takes xoauth2",
            ),
            (
                "mbox:/nowhere.mbox",
                &["--src-maildir-layout", "fs"],
                "--src-maildir-layout fs is for maildir endpoints, and `mbox:/nowhere.mbox` is not one",
            ),
        ];
        for (endpoint, args, message) in cases {
            let err = source_access(endpoint, args).unwrap_err();
            assert_eq!(format!("{err:#}"), message);
            assert_eq!(crate::exit::classify(&err), crate::exit::ExitCode::Usage);
        }
    }
}
