//! The POP3 response parsers (src/store/pop3/client.rs): status lines,
//! dot-stuffed multi-line responses read in chunks, and the LIST, UIDL, STAT
//! and CAPA listings, over bytes a hostile server could send.
//!
//! Invariants: nothing panics; a response gives the same message and stops
//! at the same byte however the reads split it (bytes after the terminator
//! belong to the next answer); dot-stuffing any message and reading it back
//! gives the message (with the line end a server adds to an unterminated
//! one); listing lines that parse print back to the same values; UIDL ids
//! are RFC 1939 ids; capability names are upper case.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use mailtug::store::pop3::client::{
    add_capability, parse_list_line, parse_stat, parse_status, parse_uidl_line, unstuff,
    JoinedResponse, Line,
};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    check_status_line(stream);
    check_chunking(seed, stream);
    check_stuffing(seed, stream);
    check_listings(stream);
});

fn first_line(stream: &[u8]) -> &[u8] {
    let end = stream
        .iter()
        .position(|&b| b == b'\n')
        .map_or(stream.len(), |i| i + 1);
    &stream[..end]
}

fn check_status_line(stream: &[u8]) {
    let line = first_line(stream);
    match parse_status(line) {
        Ok(text) => {
            assert!(line.starts_with(b"+OK"));
            assert_eq!(text, text.trim());
        }
        Err(e) => {
            assert!(!line.starts_with(b"+OK"));
            assert!(!e.to_string().is_empty());
        }
    }
    if let Ok(text) = std::str::from_utf8(line) {
        let text = text.trim_end_matches(['\r', '\n']);
        if let Some(rest) = text.strip_prefix("+OK") {
            assert_eq!(parse_status(line).unwrap(), rest.trim());
        }
    }
}

/// The reference reader: whole lines, one at a time.
fn reference(stream: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut message = Vec::new();
    let mut used = 0;
    for line in stream.split_inclusive(|&b| b == b'\n') {
        if !line.ends_with(b"\n") {
            break;
        }
        used += line.len();
        match unstuff(line) {
            Line::End => return (message, Some(used)),
            Line::Data(data) => message.extend_from_slice(&data),
        }
    }
    (message, None)
}

/// Feeds `stream` to a `JoinedResponse` in reads of the given sizes, as the
/// client does with its read buffer: unused bytes are offered again.
fn read_in_chunks(
    stream: &[u8],
    sizes: &mut impl Iterator<Item = usize>,
) -> (Vec<u8>, Option<usize>) {
    let mut response = JoinedResponse::default();
    let mut position = 0;
    while position < stream.len() {
        let size = sizes.next().unwrap_or(usize::MAX).max(1);
        let end = position.saturating_add(size).min(stream.len());
        let (used, finished) = response.feed(&stream[position..end]);
        assert!(used <= end - position);
        if !finished {
            assert_eq!(used, end - position, "an unfinished read uses every byte");
        }
        position += used;
        if finished {
            return (response.into_message(), Some(position));
        }
    }
    (response.into_message(), None)
}

fn check_chunking(seed: u8, stream: &[u8]) {
    let (message, used) = reference(stream);
    let mut state = u32::from(seed) | 0x100;
    let mut random_sizes = std::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        Some((state % 17) as usize)
    });
    for got in [
        read_in_chunks(stream, &mut std::iter::empty()),
        read_in_chunks(stream, &mut std::iter::repeat(1)),
        read_in_chunks(stream, &mut random_sizes),
    ] {
        // An unterminated last line stays out of the message in both.
        assert_eq!(got, (message.clone(), used));
    }
}

fn check_stuffing(seed: u8, message: &[u8]) {
    let mut wire = Vec::with_capacity(message.len() + 8);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            wire.push(b'.');
        }
        wire.extend_from_slice(line);
    }
    let mut expected = message.to_vec();
    if !message.is_empty() && !message.ends_with(b"\n") {
        wire.extend_from_slice(b"\r\n");
        expected.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b".\r\n");
    let answer_end = wire.len();
    wire.extend_from_slice(b"+OK next\r\n");
    let mut sizes = std::iter::repeat(usize::from(seed % 7) + 1);
    assert_eq!(
        read_in_chunks(&wire, &mut sizes),
        (expected.clone(), Some(answer_end))
    );
    assert_eq!(
        read_in_chunks(&wire, &mut std::iter::empty()),
        (expected, Some(answer_end))
    );
}

fn check_listings(stream: &[u8]) {
    let mut capabilities = HashSet::new();
    for line in stream.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Ok((number, size)) = parse_list_line(line) {
            assert_eq!(
                parse_list_line(format!("{number} {size}").as_bytes()).unwrap(),
                (number, size)
            );
        }
        if let Ok(text) = std::str::from_utf8(line) {
            if let Ok((count, size)) = parse_stat(text) {
                assert_eq!(
                    parse_stat(&format!("{count} {size}")).unwrap(),
                    (count, size)
                );
            }
        }
        if let Ok((number, id)) = parse_uidl_line(line) {
            assert!((1..=70).contains(&id.len()), "{id:?}");
            assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{id:?}");
            assert_eq!(
                parse_uidl_line(format!("{number} {id}").as_bytes()).unwrap(),
                (number, id)
            );
        }
        add_capability(line, &mut capabilities);
    }
    for name in &capabilities {
        assert!(!name.is_empty());
        assert!(!name.bytes().any(|b| b.is_ascii_lowercase()), "{name:?}");
    }
}
