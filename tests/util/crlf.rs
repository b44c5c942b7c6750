//! Line ends: servers hand out CRLF, mailtug stores what it fetches with LF,
//! so bytes are compared after turning CRLF into LF on both sides.

/// CRLF → LF; a bare CR stays.
pub fn lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}
