//! A scripted IMAP server for unit tests: it plays the answers of servers
//! whose behaviour the real test servers do not show (wrong SEARCH answers,
//! bare LF line ends, names sent as literals), on 127.0.0.1.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::client::{AuthMechanism, Login};
use crate::endpoint::{Remote, Tls};
use crate::net::TlsOptions;
use crate::secret::Secret;

/// One exchange: the start of the command the client must send (after its
/// tag), and the answer, in which `$TAG` stands for the command's tag.
pub type Step = (&'static str, &'static str);

/// The opening every session of mailtug's client goes through: capabilities
/// before login, LOGIN (its OK ending with a bare LF, as one real server
/// sends it), capabilities again.
pub fn login_steps(capabilities: &'static str) -> Vec<Step> {
    vec![
        ("CAPABILITY", "* CAPABILITY IMAP4rev1\r\n$TAG OK done\r\n"),
        ("LOGIN", "$TAG OK [CAPABILITY IMAP4rev1] Logged in\n"),
        ("CAPABILITY", capabilities),
    ]
}

/// Serves one session following `steps` and returns the port and the task
/// that yields the commands the client sent (without tags). A command that
/// does not start as the script says fails the task's assertion.
pub async fn serve(steps: Vec<Step>) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut socket = BufReader::new(socket);
        socket
            .get_mut()
            .write_all(b"* OK scripted server ready\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        for (expected, answer) in steps {
            let mut line = Vec::new();
            if socket.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                break;
            }
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            let (tag, command) = line.split_once(' ').unwrap_or((&line, ""));
            assert!(
                command.starts_with(expected),
                "the client sent `{line}`, the script expected `{expected}`"
            );
            seen.push(command.to_string());
            let answer = answer.replace("$TAG", tag);
            socket.get_mut().write_all(answer.as_bytes()).await.unwrap();
        }
        // Whatever else the client sends (LOGOUT), then hang up.
        let mut rest = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_millis(200), socket.read_to_end(&mut rest)).await;
        seen
    });
    (port, task)
}

/// A plaintext login to the scripted server on `port`.
pub fn login(port: u16) -> Login {
    Login {
        remote: Remote {
            tls: Tls::StartTls,
            user: Some("me".into()),
            host: "127.0.0.1".into(),
            port,
            folder: None,
        },
        user: "me".into(),
        admin: None,
        secret: Secret::new("pw".into()),
        tokens: None,
        reapply_flagged: false,
        auth: AuthMechanism::Login,
        tls: TlsOptions::default(),
        plaintext: true,
        timeout: Duration::from_secs(5),
    }
}
