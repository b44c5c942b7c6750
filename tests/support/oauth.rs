//! An OAuth2 authorization server on 127.0.0.1 for the sign-in tests: what
//! Google and Microsoft do, as far as mailtug can tell, and what Dovecot's
//! `oauth2` passdb asks (token introspection, RFC 7662).
//!
//! - `GET /authorize`: checks the request (response_type=code, an S256 PKCE
//!   challenge, a loopback redirect_uri) and answers 302 to the redirect with
//!   a code and the state. The test plays the browser and follows it.
//! - `POST /token`: the authorization code (the verifier must match the
//!   challenge), a refresh token (rotated: each use gives a new one and
//!   kills the old), or a device code (`authorization_pending`, then
//!   `slow_down`, then tokens).
//! - `POST /device`: a device code, a user code and an interval of 1 s.
//! - `POST /introspect`: `{"active":true,"email":USER}` for a live access
//!   token, `{"active":false}` otherwise.
//! - `POST /revoke`: kills a refresh token.
//!
//! Access tokens live `access_lifetime` seconds (the test sets it), and
//! every request is counted, so a test can tell how many refreshes happened.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

#[derive(Default)]
struct State {
    next: u64,
    /// code → (challenge, redirect_uri, user)
    codes: HashMap<String, (String, String, String)>,
    /// access token → (user, end)
    access: HashMap<String, (String, Instant)>,
    /// refresh token → user
    refresh: HashMap<String, String>,
    /// device code → (user, polls so far)
    devices: HashMap<String, (String, u32)>,
    /// Who approves the next device code.
    device_user: Option<String>,
    access_lifetime: u64,
    /// Requests by kind: "refresh", "code", "device", "introspect"…
    counts: HashMap<&'static str, u32>,
    /// The form of the last token request, for checks.
    last_token_form: Vec<(String, String)>,
}

/// A running mock authorization server; stops with the test process.
#[derive(Clone)]
pub struct OAuthServer {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl OAuthServer {
    pub fn start() -> OAuthServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the OAuth2 server");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            access_lifetime: 3600,
            ..State::default()
        }));
        let server = OAuthServer { port, state };
        let serving = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serving = serving.clone();
                std::thread::spawn(move || serving.serve(stream));
            }
        });
        server
    }

    /// The address mailtug takes as `MAILTUG_TEST_OAUTH_SERVER`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Dovecot's oauth2 passdb settings that check tokens here.
    pub fn dovecot_settings(&self) -> String {
        format!(
            "introspection_mode = post\nintrospection_url = {}/introspect\n\
             username_attribute = email\nactive_attribute = active\nactive_value = true\n",
            self.url()
        )
    }

    /// Access tokens issued from now on live `seconds`.
    pub fn set_access_lifetime(&self, seconds: u64) {
        self.state.lock().unwrap().access_lifetime = seconds;
    }

    /// The person who approves the next device code.
    pub fn approve_device_codes_as(&self, user: &str) {
        self.state.lock().unwrap().device_user = Some(user.to_owned());
    }

    /// How many requests of `kind` came: `code`, `refresh`, `device_poll`,
    /// `device`, `introspect`, `revoke`, `authorize`.
    pub fn count(&self, kind: &str) -> u32 {
        *self.state.lock().unwrap().counts.get(kind).unwrap_or(&0)
    }

    /// Kills every refresh token and access token (a revoked sign-in, a
    /// changed password).
    pub fn revoke_everything(&self) {
        let mut state = self.state.lock().unwrap();
        state.refresh.clear();
        state.access.clear();
    }

    /// Kills the access tokens only: the server refuses them before their end.
    pub fn revoke_access_tokens(&self) {
        self.state.lock().unwrap().access.clear();
    }

    /// A parameter of the last token request.
    pub fn last_token_param(&self, name: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .last_token_form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let mut words = request_line.split_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let target = words.next().unwrap_or_default().to_owned();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let form = if method == "POST" {
            pairs(&String::from_utf8_lossy(&body))
        } else {
            pairs(query)
        };
        let (status, headers, body) = self.answer(&method, path, &form);
        let mut stream = stream;
        let reply = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes());
    }

    fn answer(
        &self,
        method: &str,
        path: &str,
        form: &[(String, String)],
    ) -> (String, String, String) {
        let get = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut state = self.state.lock().unwrap();
        let ok = |json: serde_json::Value| ("200 OK".to_owned(), String::new(), json.to_string());
        let refuse = |error: &str| {
            (
                "400 Bad Request".to_owned(),
                String::new(),
                serde_json::json!({"error": error, "error_description": format!("mock: {error}")})
                    .to_string(),
            )
        };
        match (method, path) {
            ("GET", "/authorize") => {
                *state.counts.entry("authorize").or_default() += 1;
                let redirect = get("redirect_uri");
                if get("response_type") != "code"
                    || get("code_challenge_method") != "S256"
                    || get("code_challenge").len() != 43
                    || !redirect.starts_with("http://127.0.0.1:")
                    || get("client_id").is_empty()
                {
                    return refuse("invalid_request");
                }
                let code = state.fresh("code");
                let user = get("login_hint");
                state.codes.insert(
                    code.clone(),
                    (get("code_challenge"), redirect.clone(), user),
                );
                let location = format!("{redirect}?code={code}&state={}", encode(&get("state")));
                (
                    "302 Found".to_owned(),
                    format!("Location: {location}\r\n"),
                    "{}".to_owned(),
                )
            }
            ("POST", "/token") => {
                state.last_token_form = form.to_vec();
                let grant = get("grant_type");
                match grant.as_str() {
                    "authorization_code" => {
                        *state.counts.entry("code").or_default() += 1;
                        let Some((challenge, redirect, user)) = state.codes.remove(&get("code"))
                        else {
                            return refuse("invalid_grant");
                        };
                        let verified = base64url(&Sha256::digest(get("code_verifier").as_bytes()));
                        if verified != challenge || redirect != get("redirect_uri") {
                            return refuse("invalid_grant");
                        }
                        ok(state.issue(&user))
                    }
                    "refresh_token" => {
                        *state.counts.entry("refresh").or_default() += 1;
                        // Rotation: the old refresh token dies with its use.
                        let Some(user) = state.refresh.remove(&get("refresh_token")) else {
                            return refuse("invalid_grant");
                        };
                        ok(state.issue(&user))
                    }
                    "urn:ietf:params:oauth:grant-type:device_code" => {
                        *state.counts.entry("device_poll").or_default() += 1;
                        let Some((user, polls)) = state.devices.get_mut(&get("device_code")) else {
                            return refuse("invalid_grant");
                        };
                        *polls += 1;
                        let (user, polls) = (user.clone(), *polls);
                        match polls {
                            1 => refuse("authorization_pending"),
                            2 => refuse("slow_down"),
                            _ => {
                                state.devices.remove(&get("device_code"));
                                ok(state.issue(&user))
                            }
                        }
                    }
                    _ => refuse("unsupported_grant_type"),
                }
            }
            ("POST", "/device") => {
                *state.counts.entry("device").or_default() += 1;
                let user = state.device_user.clone().unwrap_or_default();
                let code = state.fresh("device");
                state.devices.insert(code.clone(), (user, 0));
                ok(serde_json::json!({
                    "device_code": code,
                    "user_code": "WDJB-MJHT",
                    "verification_uri": format!("{}/verify", self.url()),
                    "expires_in": 600,
                    "interval": 1,
                }))
            }
            ("POST", "/introspect") => {
                *state.counts.entry("introspect").or_default() += 1;
                match state.access.get(&get("token")) {
                    Some((user, end)) if *end > Instant::now() => {
                        ok(serde_json::json!({"active": true, "email": user}))
                    }
                    _ => ok(serde_json::json!({"active": false})),
                }
            }
            ("POST", "/revoke") => {
                *state.counts.entry("revoke").or_default() += 1;
                state.refresh.remove(&get("token"));
                ok(serde_json::json!({}))
            }
            _ => ("404 Not Found".to_owned(), String::new(), "{}".to_owned()),
        }
    }
}

impl State {
    fn fresh(&mut self, kind: &str) -> String {
        self.next += 1;
        format!("{kind}-{}-{}", self.next, std::process::id())
    }

    fn issue(&mut self, user: &str) -> serde_json::Value {
        let access = self.fresh("at");
        let refresh = self.fresh("rt");
        let lifetime = self.access_lifetime;
        self.access.insert(
            access.clone(),
            (
                user.to_owned(),
                Instant::now() + Duration::from_secs(lifetime),
            ),
        );
        self.refresh.insert(refresh.clone(), user.to_owned());
        serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "refresh_token": refresh,
        })
    }
}

/// A GET with the status and, for a redirect, its Location (else the body).
pub fn http_get(address: &str) -> (u16, String) {
    let rest = address.strip_prefix("http://").expect("an http address");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority).expect("connecting for a GET");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
        if target.is_empty() { "/" } else { target }
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .map(str::to_owned);
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, location.unwrap_or(body))
}

fn pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
