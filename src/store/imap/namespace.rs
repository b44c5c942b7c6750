//! IMAP namespaces (RFC 2342): where a server keeps the user's own folders.
//!
//! mailtug names folders relative to the personal namespace, so the same
//! account reads the same on every server: Courier and Debian's Cyrus keep
//! every folder under `INBOX.` (`INBOX.Archive`), Dovecot and upstream Cyrus
//! at the top level (`Archive`); both are folder `Archive` here. A source's
//! prefix is taken off, a destination's is put on when a folder is created,
//! and INBOX is INBOX everywhere. Folders of other users' and shared
//! namespaces are not the account's own mail and are left out, unless asked
//! for (`--all-namespaces`), in which case they keep their full names.

use anyhow::{bail, Context, Result};

use crate::folder::{mutf7, FolderName};

/// One namespace: its prefix as the server spells it (modified UTF-7) and
/// its hierarchy delimiter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    pub prefix: String,
    pub delimiter: Option<char>,
}

/// The three kinds of namespace a NAMESPACE response lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespaces {
    pub personal: Vec<Namespace>,
    pub other_users: Vec<Namespace>,
    pub shared: Vec<Namespace>,
}

impl Namespaces {
    /// Parses an untagged NAMESPACE response (`* NAMESPACE (("" "/")) NIL
    /// NIL`, line end included; prefixes may be quoted strings or literals,
    /// and extensions are skipped).
    pub fn parse(response: &[u8]) -> Result<Namespaces> {
        let text = response.trim_ascii_end();
        let rest = text
            .get(2..)
            .filter(|_| text.starts_with(b"* "))
            .and_then(|rest| {
                rest.get(..9)
                    .filter(|word| word.eq_ignore_ascii_case(b"NAMESPACE"))
                    .map(|_| &rest[9..])
            })
            .context("not a NAMESPACE response")?;
        let mut parser = Parser {
            input: rest,
            pos: 0,
        };
        let mut kinds = Vec::with_capacity(3);
        for _ in 0..3 {
            kinds.push(parser.namespace_list()?);
        }
        parser.skip_spaces();
        if parser.pos != parser.input.len() {
            bail!("unexpected text after the three namespaces");
        }
        let shared = kinds.pop().unwrap_or_default();
        let other_users = kinds.pop().unwrap_or_default();
        let personal = kinds.pop().unwrap_or_default();
        Ok(Namespaces {
            personal,
            other_users,
            shared,
        })
    }
}

/// A parsed item of the response.
#[derive(Debug)]
enum Item {
    List(Vec<Item>),
    Text(Vec<u8>),
    Nil,
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.input.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    /// `NIL` or `( ( prefix delimiter ext… ) … )`.
    fn namespace_list(&mut self) -> Result<Vec<Namespace>> {
        match self.item()? {
            Item::Nil => Ok(Vec::new()),
            Item::List(entries) => entries
                .into_iter()
                .map(|entry| {
                    let Item::List(fields) = entry else {
                        bail!("a namespace is not a list");
                    };
                    let mut fields = fields.into_iter();
                    let prefix = match fields.next() {
                        Some(Item::Text(prefix)) => String::from_utf8(prefix)
                            .context("a namespace prefix is not ASCII or UTF-8")?,
                        _ => bail!("a namespace has no prefix"),
                    };
                    let delimiter = match fields.next() {
                        Some(Item::Text(delimiter)) => {
                            String::from_utf8_lossy(&delimiter).chars().next()
                        }
                        Some(Item::Nil) => None,
                        _ => bail!("namespace `{prefix}` has no delimiter"),
                    };
                    Ok(Namespace { prefix, delimiter })
                })
                .collect(),
            Item::Text(_) => bail!("a namespace list is a string"),
        }
    }

    fn item(&mut self) -> Result<Item> {
        self.skip_spaces();
        match self.input.get(self.pos) {
            Some(b'(') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    match self.input.get(self.pos) {
                        Some(b')') => {
                            self.pos += 1;
                            return Ok(Item::List(items));
                        }
                        None => bail!("a list is not closed"),
                        _ => items.push(self.item()?),
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                let mut text = Vec::new();
                loop {
                    match self.input.get(self.pos) {
                        Some(b'\\') => {
                            text.push(*self.input.get(self.pos + 1).context("a cut escape")?);
                            self.pos += 2;
                        }
                        Some(b'"') => {
                            self.pos += 1;
                            return Ok(Item::Text(text));
                        }
                        Some(&b) => {
                            text.push(b);
                            self.pos += 1;
                        }
                        None => bail!("a quoted string is not closed"),
                    }
                }
            }
            Some(b'{') => {
                let close = self.input[self.pos..]
                    .iter()
                    .position(|&b| b == b'}')
                    .context("a literal's size is not closed")?;
                let digits = &self.input[self.pos + 1..self.pos + close];
                let digits = digits.strip_suffix(b"+").unwrap_or(digits);
                let size: usize = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .context("a literal's size is not a number")?;
                let start = self.pos + close + 1;
                let start = start
                    + usize::from(self.input.get(start) == Some(&b'\r'))
                    + usize::from(self.input.get(start + 1) == Some(&b'\n'));
                let text = self
                    .input
                    .get(start..start + size)
                    .context("a literal is cut short")?;
                self.pos = start + size;
                Ok(Item::Text(text.to_vec()))
            }
            Some(_) => {
                let start = self.pos;
                while self
                    .input
                    .get(self.pos)
                    .is_some_and(|&b| !matches!(b, b' ' | b'(' | b')'))
                {
                    self.pos += 1;
                }
                let atom = &self.input[start..self.pos];
                if atom.eq_ignore_ascii_case(b"NIL") {
                    Ok(Item::Nil)
                } else {
                    Ok(Item::Text(atom.to_vec()))
                }
            }
            None => bail!("the response ends early"),
        }
    }
}

/// How mailtug names map to one server's folder names and back.
#[derive(Clone, Debug)]
pub struct Naming {
    /// The personal namespace's prefix, server spelling (`INBOX.` or empty).
    prefix: String,
    delimiter: char,
    /// Prefixes of other users' and shared namespaces, server spelling.
    others: Vec<String>,
    /// Keep folders of other namespaces too, under their full names.
    all_namespaces: bool,
}

/// Where a listed server folder belongs.
#[derive(Debug, PartialEq, Eq)]
pub enum Placed {
    /// The account's own folder, or one kept by `--all-namespaces`.
    Named(FolderName),
    /// Another user's or a shared folder, left out.
    Elsewhere,
}

impl Naming {
    /// Names for a server that lists folders with `delimiter` and has the
    /// given namespaces (`None`: no NAMESPACE capability, everything is the
    /// user's own at the top level).
    pub fn new(namespaces: Option<&Namespaces>, delimiter: char, all_namespaces: bool) -> Naming {
        let Some(namespaces) = namespaces else {
            return Naming {
                prefix: String::new(),
                delimiter,
                others: Vec::new(),
                all_namespaces,
            };
        };
        let personal = namespaces.personal.first();
        Naming {
            prefix: personal.map(|n| n.prefix.clone()).unwrap_or_default(),
            delimiter: personal.and_then(|n| n.delimiter).unwrap_or(delimiter),
            others: namespaces
                .other_users
                .iter()
                .chain(&namespaces.shared)
                .map(|n| n.prefix.clone())
                .collect(),
            all_namespaces,
        }
    }

    /// Where a listed server folder belongs, and its mailtug name. The
    /// longest namespace prefix a name starts with decides its namespace
    /// (an empty prefix matches every name; a namespace's own root, the
    /// prefix without its delimiter, belongs to it too).
    pub fn place(&self, server_name: &str) -> Placed {
        if server_name.eq_ignore_ascii_case("INBOX") {
            return Placed::Named(FolderName::inbox());
        }
        let matches = |prefix: &str| {
            server_name.starts_with(prefix)
                || prefix
                    .strip_suffix(self.delimiter)
                    .is_some_and(|root| !root.is_empty() && server_name == root)
        };
        let personal = matches(&self.prefix).then_some(self.prefix.len());
        let other = self
            .others
            .iter()
            .filter(|prefix| matches(prefix))
            .map(String::len)
            .max();
        match (personal, other) {
            (Some(mine), Some(theirs)) if theirs > mine => self.elsewhere(server_name),
            (Some(_), _) => {
                let relative = server_name.get(self.prefix.len()..).unwrap_or_default();
                if relative.is_empty() {
                    // The personal namespace's own root (`INBOX.` listed
                    // alone) holds nothing of its own.
                    return Placed::Elsewhere;
                }
                Placed::Named(self.decode(relative))
            }
            (None, Some(_)) => self.elsewhere(server_name),
            // Outside every namespace the server named: kept whole, never
            // dropped in silence.
            (None, None) => Placed::Named(self.decode(server_name)),
        }
    }

    fn elsewhere(&self, server_name: &str) -> Placed {
        if self.all_namespaces {
            Placed::Named(self.decode(server_name))
        } else {
            Placed::Elsewhere
        }
    }

    /// The mailtug name of a server name (relative to a namespace). A name
    /// with no usable component (`.`, `..` with `.` as the delimiter)
    /// becomes one component with each delimiter turned into `_`, so that it
    /// is still listed (and fails to open visibly if the server cannot open
    /// it either).
    pub fn decode(&self, server_name: &str) -> FolderName {
        let delimiter = self.delimiter;
        let decoded = mutf7::decode(server_name).unwrap_or_else(|_| server_name.to_string());
        FolderName::from_components(decoded.split(delimiter)).unwrap_or_else(|_| {
            let flat = decoded.replace(delimiter, "_");
            FolderName::from_components([if flat.is_empty() { "_" } else { &flat }])
                .expect("a non-empty component")
        })
    }

    /// The server name mailtug gives a folder it creates: the personal
    /// prefix, then the levels joined with the server's delimiter (a
    /// delimiter inside a level becomes `_`), in modified UTF-7.
    pub fn server_name(&self, folder: &FolderName) -> String {
        if folder.is_inbox() {
            return "INBOX".into();
        }
        let delimiter = self.delimiter;
        let relative = folder
            .components()
            .map(|part| mutf7::encode(&part.replace(delimiter, "_")))
            .collect::<Vec<_>>()
            .join(&delimiter.to_string());
        format!("{}{relative}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(prefix: &str, delimiter: char) -> Namespace {
        Namespace {
            prefix: prefix.into(),
            delimiter: Some(delimiter),
        }
    }

    #[test]
    fn namespace_responses_of_real_servers_are_read() {
        let cases: [(&[u8], Namespaces); 5] = [
            // Dovecot's test configuration.
            (
                b"* NAMESPACE ((\"\" \".\")) NIL NIL\r\n",
                Namespaces {
                    personal: vec![ns("", '.')],
                    ..Namespaces::default()
                },
            ),
            // Courier.
            (
                b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))\r\n",
                Namespaces {
                    personal: vec![ns("INBOX.", '.')],
                    other_users: vec![],
                    shared: vec![ns("#shared.", '.'), ns("shared.", '.')],
                },
            ),
            // Cyrus, altnamespace with `/`.
            (
                b"* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared Folders/\" \"/\"))\r\n",
                Namespaces {
                    personal: vec![ns("", '/')],
                    other_users: vec![ns("Other Users/", '/')],
                    shared: vec![ns("Shared Folders/", '/')],
                },
            ),
            // Cyrus, Debian's default; lower case, an extension, a literal.
            (
                b"* namespace ((\"INBOX.\" \".\" \"X-PARAM\" (\"a\" \"b\"))) (({5}\r\nuser. \".\")) ((\"\" \".\"))\n",
                Namespaces {
                    personal: vec![ns("INBOX.", '.')],
                    other_users: vec![ns("user.", '.')],
                    shared: vec![ns("", '.')],
                },
            ),
            // A flat namespace (no delimiter).
            (
                b"* NAMESPACE ((\"\" NIL)) NIL NIL\r\n",
                Namespaces {
                    personal: vec![Namespace {
                        prefix: String::new(),
                        delimiter: None,
                    }],
                    ..Namespaces::default()
                },
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(
                Namespaces::parse(response).unwrap(),
                expected,
                "{}",
                String::from_utf8_lossy(response)
            );
        }
    }

    #[test]
    fn malformed_namespace_responses_are_errors() {
        for response in [
            &b"* NAMESPACE ((\"\" \".\")) NIL\r\n"[..],
            b"* NAMESPACE ((\"\" \".\") NIL NIL\r\n",
            b"* LIST () \".\" INBOX\r\n",
            b"* NAMESPACE ((\"\" \".\")) NIL NIL extra\r\n",
            b"* NAMESPACE (({9}\r\nab)) NIL NIL\r\n",
        ] {
            assert!(
                Namespaces::parse(response).is_err(),
                "{}",
                String::from_utf8_lossy(response)
            );
        }
    }

    fn naming(response: &[u8], all: bool) -> Naming {
        Naming::new(Some(&Namespaces::parse(response).unwrap()), '?', all)
    }

    fn named(name: &str) -> Placed {
        Placed::Named(FolderName::parse(name).unwrap())
    }

    #[test]
    fn folders_are_named_relative_to_the_personal_namespace() {
        let courier = naming(
            b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"shared.\" \".\"))\r\n",
            false,
        );
        let cyrus_slash = naming(
            b"* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared Folders/\" \"/\"))\r\n",
            false,
        );
        let cyrus_dot = naming(
            b"* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n",
            false,
        );
        let table: [(&Naming, &str, Placed); 15] = [
            (&courier, "INBOX", named("INBOX")),
            (&courier, "inbox", named("INBOX")),
            (&courier, "INBOX.Archive", named("Archive")),
            (&courier, "INBOX.Archive.2023", named("Archive/2023")),
            (&courier, "INBOX.&AMk-t&AOk-", named("Été")),
            (&courier, "INBOX.INBOX", named("INBOX")),
            (&courier, "shared.team", Placed::Elsewhere),
            (&courier, "INBOX.", Placed::Elsewhere),
            (&cyrus_slash, "Archive/2023", named("Archive/2023")),
            (&cyrus_slash, "Other Users/bob/Sent", Placed::Elsewhere),
            (&cyrus_slash, "Other Users", Placed::Elsewhere),
            (&cyrus_slash, "Shared Folders/news", Placed::Elsewhere),
            (&cyrus_dot, "INBOX.Sent", named("Sent")),
            (&cyrus_dot, "user.bob.Sent", Placed::Elsewhere),
            (&cyrus_dot, "news", Placed::Elsewhere),
        ];
        for (naming, server, expected) in table {
            assert_eq!(naming.place(server), expected, "{server} with {naming:?}");
        }
        let everything = naming(
            b"* NAMESPACE ((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))\r\n",
            true,
        );
        assert_eq!(everything.place("user.bob.Sent"), named("user/bob/Sent"));
        assert_eq!(everything.place("INBOX.Sent"), named("Sent"));
        // No NAMESPACE: names as listed.
        let plain = Naming::new(None, '.', false);
        assert_eq!(plain.place("INBOX.Sub"), named("INBOX/Sub"));
    }

    #[test]
    fn created_folders_get_the_personal_prefix_and_delimiter() {
        let courier = naming(b"* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n", false);
        let slash = naming(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n", false);
        let table: [(&Naming, &str, &str); 7] = [
            (&courier, "INBOX", "INBOX"),
            (&courier, "Archive", "INBOX.Archive"),
            (&courier, "Archive/2023", "INBOX.Archive.2023"),
            (&courier, "INBOX/Sub", "INBOX.INBOX.Sub"),
            (&courier, "a.b", "INBOX.a_b"),
            (&slash, "Été/x", "&AMk-t&AOk-/x"),
            (&slash, "a/b", "a/b"),
        ];
        for (naming, folder, expected) in table {
            let folder = FolderName::parse(folder).unwrap();
            assert_eq!(naming.server_name(&folder), expected);
            // And back, but for a delimiter inside a level.
            if !folder.as_str().contains('.') {
                assert_eq!(naming.place(expected), Placed::Named(folder));
            }
        }
    }
}
