//! Folder names: mailtug's one canonical form, and the forms stores derive from it.
//!
//! It exists because every store spells folders its own way: IMAP in modified
//! UTF-7 with the server's hierarchy delimiter, Maildir++ as `.A.B`
//! directories, fs-layout maildirs as nested `A/B/` directories, mbox trees
//! as `A/B.mbox` files. The checkpoint, `--folder`,
//! `--map` and `--exclude` need one spelling, and the on-disk forms must be
//! safe whatever a server or a file system hands us.
//!
//! Invariants:
//! - A [`FolderName`] has at least one component, no component is empty or
//!   contains `/`, and a first-level inbox (in any case) is spelled `INBOX`.
//! - No folder name, however hostile, maps to a path outside the store's
//!   root: [`maildir_dir_name`] is a single directory name that is never `.`
//!   or `..`, and [`fs_relative_path`] and [`mbox_relative_path`] are
//!   relative with only normal components.

use std::fmt;
use std::path::PathBuf;

use anyhow::bail;
use serde::{de, Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

const INBOX: &str = "INBOX";

/// A folder name in mailtug's canonical form: components joined by `/`, `INBOX` for the inbox (any
/// case of "inbox" as the whole first-level name normalises to `INBOX`). Components are non-empty.
///
/// Components may be anything else, `.` and `..` included (IMAP allows
/// them); the on-disk forms make them safe. Deserialising goes through
/// [`FolderName::parse`], so a checkpoint cannot smuggle in a
/// non-canonical name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FolderName(String);

impl FolderName {
    /// The inbox, `INBOX`.
    pub(crate) fn inbox() -> FolderName {
        FolderName(INBOX.to_string())
    }

    /// Whether this is the inbox itself (not a folder below it).
    pub fn is_inbox(&self) -> bool {
        self.0 == INBOX
    }

    /// From components (as split on the source's own hierarchy delimiter).
    ///
    /// Empty components are dropped, and a `/` inside a component becomes
    /// `_`, because `/` is the canonical separator. A first component equal
    /// to `inbox` in any case becomes `INBOX` (RFC 3501 §5.1: the name INBOX
    /// is case-insensitive). Fails if no component remains.
    pub fn from_components<I: IntoIterator<Item = S>, S: AsRef<str>>(
        parts: I,
    ) -> anyhow::Result<FolderName> {
        let mut name = String::new();
        for part in parts {
            let part = part.as_ref();
            if part.is_empty() {
                continue;
            }
            if name.is_empty() {
                if part.eq_ignore_ascii_case(INBOX) {
                    name.push_str(INBOX);
                    continue;
                }
            } else {
                name.push('/');
            }
            name.extend(part.chars().map(|c| if c == '/' { '_' } else { c }));
        }
        if name.is_empty() {
            bail!("a folder name needs at least one non-empty component");
        }
        Ok(FolderName(name))
    }

    /// Parses a user-typed name such as `Archive/2023` (also used for --folder and --map
    /// arguments).
    ///
    /// `/` separates components; empty components (`a//b`, a leading or
    /// trailing `/`) are dropped. The canonical string parses to itself.
    pub fn parse(s: &str) -> anyhow::Result<FolderName> {
        match FolderName::from_components(s.split('/')) {
            Ok(name) => Ok(name),
            Err(_) => {
                bail!("folder name `{s}` is empty: it needs at least one character other than `/`")
            }
        }
    }

    /// The components, outermost first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The canonical `/` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FolderName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FolderName, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = FolderName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a folder name such as `Archive/2023`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FolderName, E> {
                FolderName::parse(v).map_err(|e| E::custom(format!("{e:#}")))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// RFC 3501 §5.1.3 modified UTF-7, the encoding of IMAP folder names.
///
/// Printable ASCII other than `&` stands for itself, `&` is written `&-`,
/// and runs of other characters are UTF-16BE in base64 (with `,` for `/`,
/// no padding) between `&` and `-`. The rules match Dovecot's `imap-utf7.c`,
/// so a name Dovecot accepts decodes here and the reverse.
pub mod mutf7 {
    use anyhow::anyhow;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

    /// Printable US-ASCII, the characters that may stand for themselves.
    fn is_direct(c: char) -> bool {
        (' '..='~').contains(&c)
    }

    /// RFC 3501 §5.1.3 modified UTF-7 (IMAP folder names).
    ///
    /// Total: every string has an encoding, all of it printable ASCII.
    /// Runs of characters that need encoding go into one shift sequence.
    pub fn encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut units: Vec<u16> = Vec::new();
        for c in s.chars() {
            if is_direct(c) {
                flush(&mut out, &mut units);
                if c == '&' {
                    out.push_str("&-");
                } else {
                    out.push(c);
                }
            } else {
                let mut buf = [0u16; 2];
                units.extend_from_slice(c.encode_utf16(&mut buf));
            }
        }
        flush(&mut out, &mut units);
        out
    }

    /// Writes `units` as one shift sequence, if there are any.
    fn flush(out: &mut String, units: &mut Vec<u16>) {
        if units.is_empty() {
            return;
        }
        out.push('&');
        let mut acc: u32 = 0;
        let mut bits = 0;
        for byte in units.iter().flat_map(|u| u.to_be_bytes()) {
            acc = (acc << 8) | u32::from(byte);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
        }
        out.push('-');
        units.clear();
    }

    /// Strict: an error naming the problem for bad base64, odd UTF-16 length, unpaired surrogates,
    /// non-ASCII input bytes, unterminated `&…`, or a shift sequence that encodes only printable
    /// ASCII (non-canonical). `&-` is `&`.
    ///
    /// Strict means canonical: whenever `decode(s)` succeeds,
    /// `encode(&decode(s)?) == s`. So these are errors too, as in Dovecot:
    /// control characters written raw, any printable ASCII character inside a
    /// shift sequence, an encoded NUL, two shift sequences in a row, and
    /// base64 with a character too many or non-zero padding bits.
    pub fn decode(s: &str) -> anyhow::Result<String> {
        decode_canonical(s)
            .map_err(|problem| anyhow!("`{s}` is not valid modified UTF-7: {problem}"))
    }

    fn decode_canonical(s: &str) -> Result<String, String> {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        // Whether the last thing read was a shift sequence with content.
        let mut after_shift = false;
        while let Some(&b) = bytes.get(i) {
            if !b.is_ascii() {
                let c = s
                    .get(i..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or('\u{fffd}');
                return Err(format!(
                    "non-ASCII character `{c}` at byte {i} must be encoded"
                ));
            }
            if !is_direct(char::from(b)) {
                return Err(format!(
                    "control character U+{b:04X} at byte {i} must be encoded"
                ));
            }
            if b != b'&' {
                out.push(char::from(b));
                after_shift = false;
                i += 1;
                continue;
            }
            let rest = bytes.get(i + 1..).unwrap_or_default();
            let Some(len) = rest.iter().position(|&c| c == b'-') else {
                return Err(format!("the shift sequence at byte {i} has no closing `-`"));
            };
            if len == 0 {
                out.push('&');
                after_shift = false;
            } else {
                if after_shift {
                    return Err(format!(
                        "the shift sequence at byte {i} directly follows another (they must be one)"
                    ));
                }
                let base64 = rest.get(..len).unwrap_or_default();
                decode_shift(base64, &mut out)
                    .map_err(|problem| format!("the shift sequence at byte {i} {problem}"))?;
                after_shift = true;
            }
            i += len + 2;
        }
        Ok(out)
    }

    /// Decodes the base64 between `&` and `-` and appends its characters.
    fn decode_shift(base64: &[u8], out: &mut String) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(base64.len() * 3 / 4);
        let mut acc: u32 = 0;
        let mut bits = 0;
        for &c in base64 {
            let Some(value) = ALPHABET.iter().position(|&a| a == c) else {
                return Err(if c.is_ascii_graphic() {
                    format!("has `{}`, which is not modified base64", char::from(c))
                } else {
                    format!("has byte 0x{c:02X}, which is not modified base64")
                });
            };
            acc = (acc << 6) | value as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                bytes.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        if bits >= 6 {
            return Err("ends with a base64 character that carries no whole byte".to_string());
        }
        if bytes.len() % 2 != 0 {
            return Err(format!(
                "decodes to {} bytes, an odd number, but UTF-16 needs pairs",
                bytes.len()
            ));
        }
        if acc != 0 {
            return Err("has non-zero padding bits in its last base64 character".to_string());
        }
        let units = bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
        for c in char::decode_utf16(units) {
            let c = c.map_err(|e| {
                format!("has an unpaired surrogate U+{:04X}", e.unpaired_surrogate())
            })?;
            if c == '\0' {
                return Err("encodes NUL".to_string());
            }
            if is_direct(c) {
                return Err(format!(
                    "encodes printable ASCII `{c}`, which must be written as itself"
                ));
            }
            out.push(c);
        }
        Ok(())
    }
}

/// A folder name level as one file name: `separator` and control
/// characters become `_`. Only hostile names hold control characters; a
/// hash of the level is added to them, so that `a\u{1}` and `a\u{2}` never
/// share a file or directory (which two folders copied in parallel would
/// fight over).
fn made_safe(component: &str, separator: char) -> String {
    let mut safe: String = component
        .chars()
        .map(|c| {
            if c == separator || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if component.chars().any(char::is_control) {
        safe.push_str(&hash_suffix(component));
    }
    safe
}

/// Maildir++ (Dovecot/Courier): the directory name of a folder under the maildir root: INBOX →
/// None (the root itself); `Archive/2023` → `.Archive.2023`; components mUTF-7 encoded (as Dovecot
/// stores them), and made safe: a `.` inside a component becomes `_` (Maildir++ uses `.` as the
/// separator), NUL and other control characters become `_` (and the component gains `-` and 8 hex
/// digits of a hash of the original, so such names stay apart), components `.`/`..` cannot occur after
/// that. The result never contains `/` and never is `.` or `..` — a folder name can never escape
/// the maildir root.
///
/// Folders below the inbox keep `INBOX` as a component (`INBOX/x` →
/// `.INBOX.x`), as Dovecot stores them. Names differing only in `.` versus
/// `_` share a directory. A name longer than a file name can be (255 bytes)
/// is cut and ends in `-` and 8 hex digits of a hash of the whole name, so
/// that two long names never share a directory (see [`shortened`]).
pub fn maildir_dir_name(folder: &FolderName) -> Option<String> {
    if folder.is_inbox() {
        return None;
    }
    let mut dir = String::new();
    for component in folder.components() {
        // Replaced before encoding: encoded, a control character would survive
        // as base64, and `.` must never reach the directory name as a separator.
        let safe = made_safe(component, '.');
        dir.push('.');
        // mUTF-7 output is printable ASCII without `.` or `/` (its base64
        // alphabet uses `,` for `/`), so the separators stay unambiguous.
        dir.push_str(&mutf7::encode(&safe));
    }
    if dir.len() > NAME_MAX {
        // Cut outside any `&…-` shift sequence, so the kept part still
        // decodes; the name is ASCII, so every byte is a char boundary.
        let mut keep = NAME_MAX - HASH_SUFFIX_LEN;
        if let Some(shift) = dir[..keep].rfind('&') {
            if !dir[shift..keep].contains('-') {
                keep = shift;
            }
        }
        let suffix = hash_suffix(&dir);
        dir.truncate(keep);
        dir.push_str(&suffix);
    }
    Some(dir)
}

/// The longest file name Linux file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// `-` and 8 hex digits.
const HASH_SUFFIX_LEN: usize = 9;

/// `-` and the first 8 hex digits of the SHA-256 of `text`: what a name cut
/// to fit the file system keeps of the part that was cut, so that long names
/// sharing a prefix still map to different files. Folders copied in parallel
/// into one shared file would fight over its lock.
fn hash_suffix(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("-{hex}")
}

/// `text` cut at a char boundary to at most `max` bytes, [`hash_suffix`]
/// included; unchanged when it fits.
fn shortened(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max - HASH_SUFFIX_LEN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", &text[..cut], hash_suffix(text))
}

/// Inverse for directory names found on disk: `.Sent` → `Sent`, `.Archive.2023` → `Archive/2023`,
/// names mUTF-7 decoded (undecodable names are kept raw rather than dropped). Returns None for
/// names that are not Maildir++ folders (no leading dot, `.` , `..`, or only dots).
///
/// Empty components (`.a..b`) are dropped. A `.INBOX` directory (any case)
/// gives `INBOX`, the same name as the root: a source listing folders must
/// read both rather than one. Whether the directory really is a maildir
/// (`cur/`, `new/`, `tmp/`) is for the caller to check.
pub fn folder_from_maildir_dir(dir_name: &str) -> Option<FolderName> {
    let rest = dir_name.strip_prefix('.')?;
    let components = rest
        .split('.')
        .filter(|part| !part.is_empty())
        .map(|part| mutf7::decode(part).unwrap_or_else(|_| part.to_string()));
    FolderName::from_components(components).ok()
}

/// The directory names a maildir folder keeps for itself: a folder level
/// spelled like one of them would be taken for part of its parent.
const MAILDIR_SUBDIRS: [&str; 3] = ["cur", "new", "tmp"];

/// fs layout (mbsync `SubFolders Verbatim`, Dovecot `LAYOUT=fs`): the path of a folder's
/// directory relative to the maildir root, one directory per level, in UTF-8 (as Dovecot writes
/// with its `UTF-8` option and mbsync 1.5 writes): `Archive/2023` → `Archive/2023`, `INBOX/x` →
/// `INBOX/x`. None for INBOX itself, which the store places (the root, or an existing `INBOX/`).
///
/// Each level is made safe as in [`mbox_relative_path`]: NUL and other control characters become
/// `_` plus a hash suffix; a level starting with `.` (`.` and `..` included) gets a `_` prefix,
/// which also keeps it apart from Maildir++ `.A.B` directories and out of hidden names; `cur`,
/// `new` and `tmp` get a `_` prefix too (they are the parent maildir's own directories, and
/// Dovecot refuses them as names); a level longer than a file name can be (255 bytes) is cut and
/// ends in a hash of the whole level. Never escapes the root. Names differing only in these
/// replacements share a directory (`cur` and `_cur`), as `a.b` and `a_b` do in Maildir++.
pub fn fs_relative_path(folder: &FolderName) -> Option<PathBuf> {
    if folder.is_inbox() {
        return None;
    }
    let mut path = PathBuf::new();
    for component in folder.components() {
        let mut safe = made_safe(component, '/');
        if safe.starts_with('.') || MAILDIR_SUBDIRS.contains(&safe.as_str()) {
            safe.insert(0, '_');
        }
        path.push(shortened(&safe, NAME_MAX));
    }
    Some(path)
}

/// Inverse for a directory found on disk in an fs-layout tree, given its path below the root,
/// one directory name per level: `["Archive", "2023"]` → `Archive/2023`, `["INBOX"]` → INBOX.
/// None when no level is left (never for names read from a directory).
///
/// Names are UTF-8 and taken as they are, except that a level that is plain ASCII and holds a
/// modified UTF-7 shift sequence that decodes strictly (`Entw&APw-rfe`) is decoded: Dovecot's
/// `LAYOUT=fs` without its `UTF-8` option, and mbsync before 1.5, store the server's modified
/// UTF-7 names as they are. A real name of that shape (`&AOk-` meant literally) is rare enough to
/// be read the same way.
pub fn folder_from_fs_path(levels: &[&str]) -> Option<FolderName> {
    FolderName::from_components(levels.iter().map(|level| fs_level_name(level))).ok()
}

/// One level of an fs-layout path as a folder name component; see [`folder_from_fs_path`].
fn fs_level_name(level: &str) -> String {
    let has_shift = level
        .match_indices('&')
        .any(|(at, _)| !level[at + 1..].starts_with('-'));
    if level.is_ascii() && has_shift {
        if let Ok(decoded) = mutf7::decode(level) {
            return decoded;
        }
    }
    level.to_string()
}

/// Longest mbox path component, in bytes, before `.mbox`; well under the
/// usual 255-byte limit of file names.
const MBOX_COMPONENT_MAX: usize = 200;

/// For mbox directory trees: the relative path of a folder's file: INBOX → `INBOX.mbox`;
/// `Archive/2023` → `Archive/2023.mbox`. Each component made safe for a file system: `/`
/// impossible, NUL/control → `_` plus a hash suffix as for maildir, a component that is `.` or `..`
/// or starts with `.` gets a `_`
/// prefix, components longer than 200 bytes are cut at a char boundary and end in `-` and 8 hex
/// digits of a hash of the whole component (see [`shortened`]). Never escapes the root
/// (never absolute, never `..`).
///
/// Folders above the last component are directories (`Archive/`), next to
/// their own file (`Archive.mbox`). Long names that share their first 200
/// bytes still get different files. Meant for Unix file systems: `\` and `:` are kept.
pub fn mbox_relative_path(folder: &FolderName) -> PathBuf {
    let mut path = PathBuf::new();
    let mut components = folder.components().peekable();
    while let Some(component) = components.next() {
        let mut safe = made_safe(component, '/');
        if safe.starts_with('.') {
            // Covers `.` and `..`, and keeps folders from becoming hidden files.
            safe.insert(0, '_');
        }
        let mut safe = shortened(&safe, MBOX_COMPONENT_MAX);
        if components.peek().is_none() {
            safe.push_str(".mbox");
        }
        path.push(safe);
    }
    path
}

/// One piece of an `--exclude` pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    AnyChar,
    /// `*`
    Star,
    /// `**` (or more stars)
    Globstar,
}

/// `--exclude` glob matching on the canonical name: `*` matches within one component (not `/`),
/// `**` matches across components, `?` one char; case-sensitive except that `INBOX` matches
/// case-insensitively.
///
/// Details: `?` does not match `/`. A `**` that is a whole component also
/// matches zero components, so `**/Trash` matches `Trash` and `a/**/b`
/// matches `a/b`, and `Archive/**` matches `Archive` and everything below
/// it. `INBOX` is case-insensitive only as the whole first component of the
/// pattern (`inbox/*` matches `INBOX/x`; `inb*` does not match `INBOX`).
/// There is no escaping and no `[…]` class: other characters match
/// themselves. Runs in time proportional to pattern length × name length.
pub fn glob_matches(pattern: &str, folder: &FolderName) -> bool {
    let (first, rest) = match pattern.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (pattern, None),
    };
    let first = if first.eq_ignore_ascii_case(INBOX) {
        INBOX
    } else {
        first
    };
    let mut tokens = Vec::new();
    tokenize(first, &mut tokens);
    if let Some(rest) = rest {
        tokens.push(Token::Char('/'));
        tokenize(rest, &mut tokens);
    }
    let name: Vec<char> = folder.as_str().chars().collect();
    matches_tokens(&tokens, &name)
}

fn tokenize(pattern: &str, tokens: &mut Vec<Token>) {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '?' => Token::AnyChar,
            '*' if chars.peek() == Some(&'*') => {
                while chars.next_if_eq(&'*').is_some() {}
                Token::Globstar
            }
            '*' => Token::Star,
            c => Token::Char(c),
        });
    }
}

/// Dynamic programming instead of backtracking, so that hostile names and
/// many stars cannot make matching exponential. `row(p)[i]` says whether
/// `tokens[p..]` matches `name[i..]`; rows are built from the last token back,
/// keeping only the two rows after the current one.
fn matches_tokens(tokens: &[Token], name: &[char]) -> bool {
    let n = name.len();
    let at_component_start = |i: usize| i == 0 || name.get(i - 1) == Some(&'/');
    let mut next2 = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    if let Some(end) = next.get_mut(n) {
        *end = true;
    }
    let mut current = vec![false; n + 1];
    for p in (0..tokens.len()).rev() {
        let token = tokens[p];
        // `**` as a whole component, followed by `/`: it may match no component,
        // swallowing its `/` (`**/x` matches `x`, `a/**/b` matches `a/b`).
        let skippable_globstar = token == Token::Globstar
            && (p == 0 || tokens.get(p - 1) == Some(&Token::Char('/')))
            && tokens.get(p + 1) == Some(&Token::Char('/'));
        // A final `/**` may match nothing at all (`Archive/**` matches `Archive`).
        let final_slash_globstar =
            token == Token::Char('/') && tokens.get(p + 1..) == Some(&[Token::Globstar][..]);
        for i in (0..=n).rev() {
            let c = name.get(i).copied();
            let advance = next.get(i + 1).copied().unwrap_or(false);
            let stay = current.get(i + 1).copied().unwrap_or(false);
            let here = next.get(i).copied().unwrap_or(false);
            let matched = match token {
                Token::Char(t) => (c == Some(t) && advance) || (final_slash_globstar && i == n),
                Token::AnyChar => c.is_some_and(|c| c != '/') && advance,
                Token::Star => here || (c.is_some_and(|c| c != '/') && stay),
                Token::Globstar => {
                    here || (c.is_some() && stay)
                        || (skippable_globstar
                            && at_component_start(i)
                            && next2.get(i).copied().unwrap_or(false))
                }
            };
            if let Some(slot) = current.get_mut(i) {
                *slot = matched;
            }
        }
        // Rotate: current becomes next, next becomes next2.
        std::mem::swap(&mut next2, &mut next);
        std::mem::swap(&mut next, &mut current);
    }
    next.first().copied().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Component, Path};

    use super::*;

    fn name(s: &str) -> FolderName {
        FolderName::parse(s).expect("test folder names are valid")
    }

    #[test]
    fn parse_gives_the_canonical_form() {
        let cases: &[(&str, Option<&str>)] = &[
            ("INBOX", Some("INBOX")),
            ("inbox", Some("INBOX")),
            ("InBoX", Some("INBOX")),
            ("inbox/Sub", Some("INBOX/Sub")),
            ("Archive/inbox", Some("Archive/inbox")),
            ("Inboxes", Some("Inboxes")),
            ("Archive/2023", Some("Archive/2023")),
            ("a//b", Some("a/b")),
            ("/a/", Some("a")),
            ("/inbox", Some("INBOX")),
            (" ", Some(" ")),
            ("../../etc", Some("../../etc")),
            ("Отправленные", Some("Отправленные")),
            ("", None),
            ("/", None),
            ("///", None),
        ];
        for (input, expected) in cases {
            let got = FolderName::parse(input).ok();
            assert_eq!(got.as_ref().map(FolderName::as_str), *expected, "{input:?}");
        }
    }

    #[test]
    fn parse_errors_name_the_input() {
        let err = FolderName::parse("//").expect_err("no components");
        assert_eq!(
            err.to_string(),
            "folder name `//` is empty: it needs at least one character other than `/`"
        );
    }

    #[test]
    fn from_components_drops_empties_and_replaces_slashes() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["a", "b"], Some("a/b")),
            (&["a/b", "c"], Some("a_b/c")),
            (&["/"], Some("_")),
            (&["", "x", ""], Some("x")),
            (&["inbox", "inbox"], Some("INBOX/inbox")),
            (&["", "Inbox", "x"], Some("INBOX/x")),
            (&["a.b"], Some("a.b")),
            (&[], None),
            (&["", ""], None),
        ];
        for (parts, expected) in cases {
            let got = FolderName::from_components(parts.iter()).ok();
            assert_eq!(got.as_ref().map(FolderName::as_str), *expected, "{parts:?}");
        }
    }

    #[test]
    fn accessors_agree_with_the_canonical_string() {
        let folder = name("inbox/Sub/x");
        assert_eq!(
            folder.components().collect::<Vec<_>>(),
            ["INBOX", "Sub", "x"]
        );
        assert_eq!(folder.to_string(), "INBOX/Sub/x");
        assert!(!folder.is_inbox());
        assert!(name("Inbox").is_inbox());
        assert_eq!(FolderName::inbox(), name("INBOX"));
        assert_eq!(FolderName::parse(folder.as_str()).ok(), Some(folder));
    }

    #[test]
    fn serde_uses_the_string_and_normalises_on_the_way_in() {
        let mut map = BTreeMap::new();
        map.insert(name("Archive/2023"), 1);
        map.insert(FolderName::inbox(), 2);
        let json = serde_json::to_string(&map).expect("serialising folder names");
        assert_eq!(json, r#"{"Archive/2023":1,"INBOX":2}"#);
        let back: BTreeMap<FolderName, i32> = serde_json::from_str(&json).expect("map keys");
        assert_eq!(back, map);

        let cases: &[(&str, Option<&str>)] = &[
            (r#""inbox""#, Some("INBOX")),
            (r#""a//b""#, Some("a/b")),
            (r#""""#, None),
            (r#""/""#, None),
            ("7", None),
        ];
        for (json, expected) in cases {
            let got = serde_json::from_str::<FolderName>(json).ok();
            assert_eq!(got.as_ref().map(FolderName::as_str), *expected, "{json}");
        }
    }

    #[test]
    fn mutf7_matches_rfc_3501_and_dovecot() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("INBOX", "INBOX"),
            ("&", "&-"),
            ("a&b", "a&-b"),
            ("&&", "&-&-"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("éé", "&AOkA6Q-"),
            ("é&é", "&AOk-&-&AOk-"),
            ("台", "&U,A-"),
            ("\u{1F600}", "&2D3eAA-"),
            ("\t", "&AAk-"),
            ("\u{7f}", "&AH8-"),
            ("a-b", "a-b"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(mutf7::encode(plain), *encoded, "encode {plain:?}");
            assert_eq!(
                mutf7::decode(encoded).ok().as_deref(),
                Some(*plain),
                "decode {encoded}"
            );
        }
    }

    #[test]
    fn mutf7_rejects_malformed_and_non_canonical_input() {
        let cases: &[(&str, &str)] = &[
            ("&", "no closing `-`"),
            ("a&U,A", "no closing `-`"),
            ("caf\u{e9}", "non-ASCII character `é` at byte 3"),
            ("a\tb", "control character U+0009 at byte 1"),
            ("\u{7f}", "control character U+007F"),
            ("&U*A-", "`*`, which is not modified base64"),
            ("&U/A-", "`/`, which is not modified base64"),
            ("&U=-", "`=`, which is not modified base64"),
            ("&U-", "carries no whole byte"),
            ("&U,BTF-", "carries no whole byte"),
            ("&U,-", "odd number"),
            ("&U,BT-", "odd number"),
            ("&U,B-", "non-zero padding bits"),
            ("&2D0-", "unpaired surrogate U+D83D"),
            ("&3gA-", "unpaired surrogate U+DE00"),
            ("&2D3YPQ-", "unpaired surrogate U+D83D"),
            ("&AGE-", "printable ASCII `a`"),
            ("&ACY-", "printable ASCII `&`"),
            ("&AGEAYg-", "printable ASCII `a`"),
            ("&AOkAYQ-", "printable ASCII `a`"),
            ("&AAA-", "encodes NUL"),
            ("&AOk-&AOk-", "directly follows another"),
        ];
        for (input, problem) in cases {
            let err = mutf7::decode(input).expect_err(input).to_string();
            assert!(
                err.starts_with(&format!("`{input}` is not valid modified UTF-7: ")),
                "{err}"
            );
            assert!(err.contains(problem), "{input}: {err}");
        }
    }

    /// xorshift64*: deterministic, so a failure is reproducible.
    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn mutf7_round_trips_pseudo_random_strings() {
        const POOL: &[char] = &[
            'a',
            'Z',
            '0',
            '&',
            '-',
            ' ',
            '~',
            '/',
            '.',
            ',',
            '+',
            '\t',
            '\u{1}',
            '\u{7f}',
            'é',
            'ü',
            '台',
            'О',
            '\u{ffff}',
            '\u{e000}',
            '\u{10000}',
            '\u{1F600}',
            '\u{10ffff}',
        ];
        let mut state = 0x0123_4567_89ab_cdef_u64;
        for _ in 0..5_000 {
            let len = next_random(&mut state) % 16;
            let plain: String = (0..len)
                .map(|_| POOL[next_random(&mut state) as usize % POOL.len()])
                .collect();
            let encoded = mutf7::encode(&plain);
            assert!(
                encoded.bytes().all(|b| (b' '..=b'~').contains(&b)),
                "{encoded}"
            );
            assert_eq!(mutf7::decode(&encoded).ok(), Some(plain), "{encoded}");
        }
    }

    #[test]
    fn mutf7_decode_accepts_only_canonical_strings() {
        // Whatever decodes must encode back to the same bytes; nothing panics.
        const PIECES: &[&str] = &[
            "&", "-", "A", "O", "k", "U", ",", "+", "a", "0", "Q", "2", "D", "3", "g", "&-", "é",
            "/", "\t",
        ];
        let mut state = 0xfeed_f00d_dead_beef_u64;
        let mut decoded = 0;
        for _ in 0..50_000 {
            let len = next_random(&mut state) % 12;
            let input: String = (0..len)
                .map(|_| PIECES[next_random(&mut state) as usize % PIECES.len()])
                .collect();
            if let Ok(plain) = mutf7::decode(&input) {
                decoded += 1;
                assert_eq!(mutf7::encode(&plain), input);
            }
        }
        assert!(
            decoded > 1_000,
            "the generator should hit valid strings too"
        );
    }

    #[test]
    fn maildir_dir_names_are_encoded_and_safe() {
        let cases: &[(&str, Option<&str>)] = &[
            ("INBOX", None),
            ("inbox", None),
            ("Sent", Some(".Sent")),
            ("Archive/2023", Some(".Archive.2023")),
            ("INBOX/sub", Some(".INBOX.sub")),
            ("a.b", Some(".a_b")),
            ("Entwürfe", Some(".Entw&APw-rfe")),
            ("Отправленные", Some(".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-")),
            ("a&b", Some(".a&-b")),
            ("x\0y", Some(".x_y-ce3890a8")),
            ("tab\there", Some(".tab_here-5b876593")),
            ("../../etc", Some(".__.__.etc")),
            (".../x", Some(".___.x")),
            ("a/../b", Some(".a.__.b")),
        ];
        for (folder, expected) in cases {
            assert_eq!(
                maildir_dir_name(&name(folder)).as_deref(),
                *expected,
                "{folder:?}"
            );
        }
    }

    #[test]
    fn maildir_dir_names_found_on_disk_become_folders() {
        let cases: &[(&str, Option<&str>)] = &[
            (".Sent", Some("Sent")),
            (".Archive.2023", Some("Archive/2023")),
            (".INBOX.sub", Some("INBOX/sub")),
            (".inbox", Some("INBOX")),
            (".Entw&APw-rfe", Some("Entwürfe")),
            (".&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-", Some("Отправленные")),
            (".bad&", Some("bad&")),
            (".&AGE-", Some("&AGE-")),
            (".a..b", Some("a/b")),
            (".a.", Some("a")),
            ("..a", Some("a")),
            (".", None),
            ("..", None),
            ("...", None),
            ("", None),
            ("Sent", None),
            ("cur", None),
            ("tmp", None),
        ];
        for (dir, expected) in cases {
            let got = folder_from_maildir_dir(dir);
            assert_eq!(got.as_ref().map(FolderName::as_str), *expected, "{dir:?}");
        }
    }

    #[test]
    fn maildir_names_round_trip_for_ordinary_folders() {
        for folder in [
            "Sent",
            "Archive/2023",
            "INBOX/x",
            "a&b/c d",
            "台北/日本語",
            "😀",
            "~x-y",
        ] {
            let folder = name(folder);
            let dir = maildir_dir_name(&folder).expect("not the inbox");
            assert_eq!(folder_from_maildir_dir(&dir), Some(folder), "{dir}");
        }
    }

    #[test]
    fn fs_paths_are_utf8_and_safe() {
        let cases: &[(&str, Option<&str>)] = &[
            ("INBOX", None),
            ("inbox", None),
            ("Sent", Some("Sent")),
            ("Archive/2023", Some("Archive/2023")),
            ("INBOX/sub", Some("INBOX/sub")),
            ("a.b", Some("a.b")),
            ("a&b", Some("a&b")),
            ("Entwürfe/日本語", Some("Entwürfe/日本語")),
            (".hidden", Some("_.hidden")),
            ("../../etc", Some("_../_../etc")),
            ("cur", Some("_cur")),
            ("Work/new", Some("Work/_new")),
            ("tmp/x", Some("_tmp/x")),
            ("Cur/news/tmpl", Some("Cur/news/tmpl")),
            ("x\0y", Some("x_y-ce3890a8")),
            ("tab\there/.x", Some("tab_here-5b876593/_.x")),
        ];
        for (folder, expected) in cases {
            assert_eq!(
                fs_relative_path(&name(folder)),
                expected.map(PathBuf::from),
                "{folder:?}"
            );
        }
    }

    #[test]
    fn fs_directories_found_on_disk_become_folders() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["Sent"], Some("Sent")),
            (&["Archive", "2023"], Some("Archive/2023")),
            (&["INBOX"], Some("INBOX")),
            (&["inbox", "x"], Some("INBOX/x")),
            (&["Work", "inbox"], Some("Work/inbox")),
            (&["a.b"], Some("a.b")),
            (&["Entwürfe", "日本語"], Some("Entwürfe/日本語")),
            // Modified UTF-7 as Dovecot without `UTF-8` and mbsync 1.4 write it.
            (&["Entw&APw-rfe", "&ZeVnLIqe-"], Some("Entwürfe/日本語")),
            (&["&AOk-x&-"], Some("éx&")),
            // Not a shift sequence, or not one that decodes: as written.
            (&["a&-b"], Some("a&-b")),
            (&["AT&T"], Some("AT&T")),
            (&["Tom&Jerry-Show"], Some("Tom&Jerry-Show")),
            (&["&AGE-"], Some("&AGE-")),
            (&["caf&AOk-é"], Some("caf&AOk-é")),
            (&["_cur"], Some("_cur")),
            (&[], None),
        ];
        for (levels, expected) in cases {
            let got = folder_from_fs_path(levels);
            assert_eq!(
                got.as_ref().map(FolderName::as_str),
                *expected,
                "{levels:?}"
            );
        }
    }

    #[test]
    fn fs_names_round_trip_for_ordinary_folders() {
        for folder in [
            "Sent",
            "Archive/2023",
            "INBOX/x",
            "a&b/c d",
            "a.b/.c.d",
            "台北/日本語",
            "😀",
            "~x-y",
        ] {
            let folder = name(folder);
            let path = fs_relative_path(&folder).expect("not the inbox");
            let levels: Vec<&str> = path.iter().map(|l| l.to_str().unwrap()).collect();
            let back = folder_from_fs_path(&levels).expect("a name");
            if folder.components().any(|c| c.starts_with('.')) {
                // A leading `.` gains a `_`, and keeps it when read back.
                assert_eq!(back.as_str(), "a.b/_.c.d", "{path:?}");
            } else {
                assert_eq!(back, folder, "{path:?}");
            }
        }
    }

    #[test]
    fn mbox_paths_are_relative_and_safe() {
        let cases: &[(&str, &str)] = &[
            ("INBOX", "INBOX.mbox"),
            ("inbox", "INBOX.mbox"),
            ("Archive/2023", "Archive/2023.mbox"),
            ("INBOX/x", "INBOX/x.mbox"),
            ("Entwürfe", "Entwürfe.mbox"),
            (".hidden", "_.hidden.mbox"),
            ("../../etc", "_../_../etc.mbox"),
            (".../x", "_.../x.mbox"),
            ("a/./b", "a/_./b.mbox"),
            ("a\0b/c\nd", "a_b-59b271ae/c_d-fad9fc08.mbox"),
            ("x.mbox", "x.mbox.mbox"),
        ];
        for (folder, expected) in cases {
            assert_eq!(
                mbox_relative_path(&name(folder)),
                Path::new(expected),
                "{folder:?}"
            );
        }
    }

    #[test]
    fn mbox_components_are_cut_at_200_bytes_on_a_char_boundary() {
        // (component, bytes kept before the hash suffix; None: unchanged)
        let cases: &[(String, Option<usize>)] = &[
            ("a".repeat(200), None),
            ("a".repeat(201), Some(191)),
            ("é".repeat(100), None),
            ("é".repeat(150), Some(190)),
            (format!("a{}", "é".repeat(150)), Some(191)),
            (format!(".{}", "a".repeat(300)), Some(191)),
        ];
        for (component, kept) in cases {
            let path = mbox_relative_path(&name(&format!("{component}/{component}")));
            let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
            assert_eq!(parts.len(), 2, "{path:?}");
            assert!(parts[0].len() <= 200, "{path:?}");
            match kept {
                None => assert_eq!(parts[0], component.as_str()),
                Some(kept) => {
                    let (head, hash) = parts[0].split_at(*kept);
                    assert!(
                        component.starts_with(head) || format!("_{component}").starts_with(head),
                        "{path:?}"
                    );
                    assert_eq!(hash.len(), 9, "{path:?}");
                    assert!(hash.starts_with('-'), "{path:?}");
                    assert!(hash[1..].bytes().all(|b| b.is_ascii_hexdigit()), "{path:?}");
                }
            }
            assert_eq!(parts[1], format!("{}.mbox", parts[0]));
        }
    }

    #[test]
    fn server_names_with_slashes_and_dots_map_to_one_safe_entry_each() {
        // (levels as split on the server's delimiter, maildir dir, mbox path)
        let cases: &[(&[&str], &str, &str)] = &[
            (&["../../etc"], ".______etc", "_.._.._etc.mbox"),
            (&[".../x"], ".____x", "_..._x.mbox"),
            (&["a/../../b"], ".a_______b", "a_.._.._b.mbox"),
            (&["..", "..", "etc"], ".__.__.etc", "_../_../etc.mbox"),
            (&["/etc/passwd"], "._etc_passwd", "_etc_passwd.mbox"),
            (&[".hidden"], "._hidden", "_.hidden.mbox"),
            (
                &["x\0y", "\u{1b}[31m"],
                ".x_y-ce3890a8._[31m-83a73878",
                "x_y-ce3890a8/_[31m-83a73878.mbox",
            ),
            (&["INBOX", ".."], ".INBOX.__", "INBOX/_...mbox"),
        ];
        for (levels, dir, path) in cases {
            let folder = FolderName::from_components(*levels).expect("a name");
            assert_eq!(
                maildir_dir_name(&folder).as_deref(),
                Some(*dir),
                "{levels:?}"
            );
            assert_eq!(mbox_relative_path(&folder), Path::new(path), "{levels:?}");
        }
    }

    #[test]
    fn names_differing_only_in_control_characters_stay_apart() {
        let names = ["a\u{1}", "a\u{2}", "a_", "a\0", "a\n", "a\u{7f}"];
        let dirs: std::collections::BTreeSet<_> = names
            .iter()
            .map(|n| maildir_dir_name(&name(n)).expect("not the inbox"))
            .collect();
        let paths: std::collections::BTreeSet<_> =
            names.iter().map(|n| mbox_relative_path(&name(n))).collect();
        assert_eq!(dirs.len(), names.len(), "{dirs:?}");
        assert_eq!(paths.len(), names.len(), "{paths:?}");
    }

    #[test]
    fn long_names_sharing_a_prefix_get_different_files_and_directories() {
        let prefix = "x".repeat(254);
        let cjk = "日本語".repeat(100);
        let names = [
            prefix.clone(),
            format!("{prefix}y"),
            format!("{prefix}z"),
            cjk.clone(),
            format!("{cjk}!"),
            format!("a/{prefix}"),
            format!("a/{prefix}y"),
        ];
        let mut mbox_paths = std::collections::BTreeSet::new();
        let mut maildir_dirs = std::collections::BTreeSet::new();
        let mut fs_paths = std::collections::BTreeSet::new();
        for input in &names {
            let folder = name(input);
            let path = mbox_relative_path(&folder);
            assert!(
                path.iter().all(|part| part.len() <= 255),
                "{input:?} → {path:?}"
            );
            assert!(
                mbox_paths.insert(path.clone()),
                "{input:?} → {path:?} twice"
            );
            let fs_path = fs_relative_path(&folder).expect("not the inbox");
            assert!(
                fs_path.iter().all(|part| part.len() <= 255),
                "{input:?} → {fs_path:?}"
            );
            assert!(
                fs_paths.insert(fs_path.clone()),
                "{input:?} → {fs_path:?} twice"
            );
            let dir = maildir_dir_name(&folder).expect("not the inbox");
            assert!(dir.len() <= 255, "{input:?} → {dir:?}");
            assert!(
                maildir_dirs.insert(dir.clone()),
                "{input:?} → {dir:?} twice"
            );
            // The cut never splits a shift sequence: the name still decodes.
            let back = folder_from_maildir_dir(&dir).expect("a Maildir++ name");
            assert!(
                back.components()
                    .all(|c| mutf7::decode(&mutf7::encode(c)).is_ok()),
                "{dir:?}"
            );
            // The same name always maps to the same place (a rerun finds it).
            assert_eq!(mbox_relative_path(&folder), path);
            assert_eq!(maildir_dir_name(&folder), Some(dir));
        }
    }

    #[test]
    fn hostile_folder_names_stay_inside_the_root() {
        let long = "ü".repeat(500);
        let hostile = [
            "../../etc",
            "..",
            ".",
            "...",
            ".../x",
            "a/../b",
            "./.",
            "x\0y",
            "\0",
            "\u{1}\u{7f}\u{85}",
            ".hidden",
            "..hidden",
            "~root",
            "a\\..\\b",
            long.as_str(),
            "&",
            "a/b/c/d/e/f/g/../../../../../../../..",
        ];
        let root = Path::new("/mail/root");
        // As an IMAP source builds them: the server's delimiter splits, and a
        // `/` inside one level is part of that level's name.
        let from_server = [
            vec!["../../etc"],
            vec![".../x"],
            vec!["a/../../b"],
            vec!["..", "..", "etc"],
            vec![".", "x"],
            vec!["INBOX", "..", "x"],
            vec!["x\0y", "\0"],
            vec![long.as_str(), long.as_str()],
        ];
        let folders = hostile
            .iter()
            .map(|input| FolderName::parse(input).expect("hostile names are still names"))
            .chain(from_server.iter().map(|levels| {
                FolderName::from_components(levels).expect("non-empty levels make a name")
            }));
        for folder in folders {
            let input = folder.as_str();

            if let Some(dir) = maildir_dir_name(&folder) {
                assert!(dir.starts_with('.') && dir != "." && dir != "..", "{dir:?}");
                assert!(!dir.contains('/') && !dir.contains('\0'), "{dir:?}");
                assert_eq!(root.join(&dir).parent(), Some(root), "{dir:?}");
                let parts: Vec<Component> = Path::new(&dir).components().collect();
                assert!(matches!(parts[..], [Component::Normal(_)]), "{dir:?}");
            }

            let fs_path = fs_relative_path(&folder).unwrap_or_default();
            assert!(fs_path.is_relative(), "{fs_path:?}");
            for part in fs_path.components() {
                let Component::Normal(part) = part else {
                    panic!("{input:?} gives a non-normal component in {fs_path:?}");
                };
                let part = part.to_str().expect("built from a str");
                assert!(
                    !part.starts_with('.') && !part.contains('\0'),
                    "{fs_path:?}"
                );
                assert!(!MAILDIR_SUBDIRS.contains(&part), "{fs_path:?}");
                assert!(part.len() <= 255, "{fs_path:?}");
            }
            assert!(root.join(&fs_path).starts_with(root));
            if !folder.is_inbox() {
                assert_eq!(fs_path.components().count(), folder.components().count());
            }

            let path = mbox_relative_path(&folder);
            assert!(path.is_relative(), "{path:?}");
            for part in path.components() {
                let Component::Normal(part) = part else {
                    panic!("{input:?} gives a non-normal component in {path:?}");
                };
                let part = part.to_str().expect("built from a str");
                assert!(!part.starts_with('.') && !part.contains('\0'), "{path:?}");
                assert!(part.len() <= 255, "{path:?}");
            }
            assert!(root.join(&path).starts_with(root));
            assert_eq!(path.components().count(), folder.components().count());
        }
    }

    #[test]
    fn exclude_globs_match_canonical_names() {
        let cases: &[(&str, &str, bool)] = &[
            ("Trash", "Trash", true),
            ("Trash", "trash", false),
            ("Trash", "Trash/x", false),
            ("INBOX", "INBOX", true),
            ("inbox", "INBOX", true),
            ("Inbox/*", "inbox/Sub", true),
            ("inb*", "INBOX", false),
            ("INBOX", "INBOX/x", false),
            ("*", "Sent", true),
            ("*", "Archive/2023", false),
            ("Archive/*", "Archive/2023", true),
            ("Archive/*", "Archive/2023/Q1", false),
            ("Archive/*", "Archive", false),
            ("Archive/**", "Archive/2023/Q1", true),
            ("Archive/**", "Archive", true),
            ("Archive/**", "Archived", false),
            ("Archive/*/**", "Archive", false),
            ("Archive/*/**", "Archive/2023", true),
            ("Archive**", "Archive/2023", true),
            ("Archive**", "Archived", true),
            ("**", "a/b/c", true),
            ("**/Trash", "Trash", true),
            ("**/Trash", "a/b/Trash", true),
            ("**/Trash", "xTrash", false),
            ("**/Trash", "a/xTrash", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "a/xb", false),
            ("a/**/b", "ab", false),
            ("*/Sent", "Work/Sent", true),
            ("*/Sent", "Sent", false),
            ("S?nt", "Sent", true),
            ("S?nt", "Snt", false),
            ("a?b", "a/b", false),
            ("?", "ü", true),
            ("*ü*", "Entwürfe", true),
            ("Spam*", "Spam", true),
            ("*.bak", "x.bak", true),
            ("[ab]", "[ab]", true),
            ("[ab]", "a", false),
            ("", "a", false),
            ("a/", "a", false),
            (
                "*a*a*a*a*a*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
        ];
        for (pattern, folder, expected) in cases {
            assert_eq!(
                glob_matches(pattern, &name(folder)),
                *expected,
                "{pattern} vs {folder}"
            );
        }
    }

    #[test]
    fn exclude_globs_handle_very_long_names() {
        let folder = name(&"a/".repeat(50_000));
        assert!(glob_matches("**/a", &folder));
        assert!(!glob_matches("*a*a*a*a*a*b", &folder));
    }
}
