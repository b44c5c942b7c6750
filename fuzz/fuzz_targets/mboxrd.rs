//! The mbox reader and writer (src/mboxrd.rs).
//!
//! Reading: any bytes either fail once with `InvalidData` (no leading
//! `From ` line) or give entries whose `start..end` ranges tile the file, and
//! resuming at any returned `end` gives the same remaining entries.
//!
//! Writing: the input, cut at `\xff\xff` into messages (the first byte of
//! each picks its flags and date), is written with `write_message` and read
//! back; every message without a metadata header comes back with the same
//! bytes (plus the `\n` an unterminated one gains), flags and date.

#![no_main]

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use mailtug::mboxrd::{write_message, MboxEntry, MboxReader};
use mailtug::message::Flags;

fuzz_target!(|data: &[u8]| {
    check_reader(data);
    check_round_trip(data);
});

fn read_all(file: &[u8], offset: u64) -> (Vec<MboxEntry>, Vec<io::Error>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for result in MboxReader::new(file, offset) {
        match result {
            Ok(entry) => entries.push(entry),
            Err(err) => errors.push(err),
        }
    }
    (entries, errors)
}

fn check_reader(file: &[u8]) {
    let (entries, errors) = read_all(file, 0);
    if file.is_empty() {
        assert!(entries.is_empty() && errors.is_empty());
        return;
    }
    if !file.starts_with(b"From ") {
        assert!(entries.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind(), io::ErrorKind::InvalidData);
        return;
    }
    assert!(errors.is_empty(), "{errors:?}");
    assert_tiles(&entries, 0, file);
    // Resuming where an entry ended gives the entries after it.
    for (i, entry) in entries.iter().enumerate().take(8) {
        let end = usize::try_from(entry.end).expect("offset fits");
        let (rest, errors) = read_all(&file[end..], entry.end);
        assert!(errors.is_empty(), "resuming at {end}: {errors:?}");
        assert_eq!(rest, entries[i + 1..], "resuming at {end}");
    }
}

fn assert_tiles(entries: &[MboxEntry], offset: u64, file: &[u8]) {
    let mut expected_start = offset;
    for entry in entries {
        assert_eq!(entry.start, expected_start);
        assert!(entry.end > entry.start);
        let bytes = &file[usize::try_from(entry.start - offset).unwrap()
            ..usize::try_from(entry.end - offset).unwrap()];
        assert!(bytes.starts_with(&entry.from_line));
        assert!(entry.from_line.starts_with(b"From "));
        assert!(!entry.from_line.contains(&b'\n'));
        assert!(entry.raw.len() <= bytes.len() - entry.from_line.len());
        expected_start = entry.end;
    }
    assert_eq!(expected_start, offset + file.len() as u64);
}

const DATES: [i64; 8] = [
    0,
    1_577_872_800,  // 2020-01-01T10:00:00Z
    951_782_400,    // 2000-02-29T00:00:00Z
    -2_208_988_800, // 1900-01-01T00:00:00Z, the earliest From_ line date
    4_102_444_799,  // 2099-12-31T23:59:59Z, the latest
    -5_000_000_000, // clamped to 1900
    10_000_000_000, // clamped to 2099
    1_700_000_059,
];

const KEYWORDS: [&str; 6] = ["$Label1", "Junk", "a b", "x,y", "caf\u{e9}", "$Label1"];

fn at(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

/// Flags and date chosen by one control byte.
fn parameters(control: u8, extra: u8) -> (Flags, i64) {
    let mut flags = Flags {
        seen: control & 1 != 0,
        answered: control & 2 != 0,
        flagged: control & 4 != 0,
        deleted: control & 8 != 0,
        draft: control & 16 != 0,
        keywords: Vec::new(),
    };
    for (i, keyword) in KEYWORDS.iter().enumerate() {
        if extra & (1 << i) != 0 {
            flags.add_keyword(keyword);
        }
    }
    (flags, DATES[usize::from(control >> 5)])
}

/// Whether a header-section line names a header the reader turns into flags.
fn has_metadata_header(raw: &[u8]) -> bool {
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return false;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if [
            "Status",
            "X-Status",
            "X-Keywords",
            "X-UID",
            "X-IMAP",
            "X-IMAPbase",
        ]
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known.as_bytes()))
        {
            return true;
        }
    }
    false
}

fn check_round_trip(data: &[u8]) {
    let mut messages = Vec::new();
    let mut rest = data;
    loop {
        let (chunk, next) = match rest.windows(2).position(|w| w == b"\xff\xff") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        let (control, extra, raw) = match chunk {
            [control, extra, raw @ ..] => (*control, *extra, raw),
            [control] => (*control, 0, &[][..]),
            [] => (0, 0, &[][..]),
        };
        messages.push((raw, parameters(control, extra)));
        match next {
            Some(next) if messages.len() < 16 => rest = next,
            _ => break,
        }
    }

    let mut file = Vec::new();
    for (raw, (flags, date)) in &messages {
        let written = write_message(&mut file, raw, flags, Some(at(*date))).expect("Vec write");
        assert!(written > 0);
    }
    let (entries, errors) = read_all(&file, 0);
    assert!(errors.is_empty(), "{errors:?}");
    assert_tiles(&entries, 0, &file);
    assert_eq!(
        entries.len(),
        messages.len(),
        "{:?}",
        String::from_utf8_lossy(&file)
    );

    for ((raw, (flags, date)), entry) in messages.iter().zip(&entries) {
        let date = (*date).clamp(-2_208_988_800, 4_102_444_799);
        assert_eq!(
            entry.date,
            Some(at(date)),
            "{:?}",
            String::from_utf8_lossy(&entry.from_line)
        );
        if has_metadata_header(raw) {
            continue;
        }
        let mut expected = raw.to_vec();
        if !expected.is_empty() && !expected.ends_with(b"\n") {
            expected.push(b'\n');
        }
        assert_eq!(
            entry.raw,
            expected,
            "{:?} in {:?}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(&file)
        );
        let mut expected_flags = flags.clone();
        expected_flags
            .keywords
            .retain(|k| !k.is_empty() && k.bytes().all(|b| b > b' ' && b != b',' && b != 0x7f));
        assert_eq!(entry.flags, expected_flags);
    }
}
