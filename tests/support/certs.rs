//! A test CA and a server certificate for 127.0.0.1, made at test time with
//! the openssl CLI, shared by every test server that speaks TLS: a client
//! verifies the server with `--ca-file CA` and fails without it.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::tlsserver::EC_KEY;

/// Makes, in the existing directory `tls`, a CA (`ca.pem`, `ca.key`) and a
/// server certificate it signed (`server.pem`, `server.key`), valid one day,
/// with the same openssl commands as `scripts/test-server`. EC keys: much
/// faster to make than RSA ones. The server certificate's subjectAltName is
/// `DNS:localhost, IP:127.0.0.1`, the names tests connect to.
pub fn make_certificates(tls: &Path) -> Result<(), String> {
    let ext_file = tls.join("server.ext");
    fs::write(
        &ext_file,
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n",
    )
    .map_err(|e| format!("writing `{}`: {e}", ext_file.display()))?;
    let path = |name: &str| {
        tls.join(name)
            .to_str()
            .expect("a UTF-8 temp dir")
            .to_owned()
    };
    let (ca_key, ca_pem, key, csr, pem) = (
        path("ca.key"),
        path("ca.pem"),
        path("server.key"),
        path("server.csr"),
        path("server.pem"),
    );
    let ext = path("server.ext");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let serial = format!("0x{:x}", nanos as u64 ^ u64::from(std::process::id()));
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509", "-days", "1", "-subj", "/CN=mailtug test CA"][..],
            &["-keyout", &ca_key, "-out", &ca_pem],
            &["-addext", "basicConstraints = critical, CA:TRUE"],
            &["-addext", "keyUsage = critical, keyCertSign, cRLSign"],
            &EC_KEY,
        ]
        .concat(),
        [
            &[
                "req",
                "-new",
                "-subj",
                "/CN=localhost",
                "-keyout",
                &key,
                "-out",
                &csr,
            ][..],
            &EC_KEY,
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-days",
            "1",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-set_serial",
            &serial,
            "-extfile",
            &ext,
            "-out",
            &pem,
        ],
    ];
    for args in steps {
        let output = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running openssl: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`openssl {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}
