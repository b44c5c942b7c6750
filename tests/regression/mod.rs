//! Regressions found in the test suite itself and in mailtug, each named
//! after what broke.

use std::fs;
use std::path::Path;

use crate::util::corpus::synthetic;
use crate::util::model::{assert_same_messages, read_maildir};
use crate::util::TestEnv;

/// Writes `messages` into `new/` of a one-folder maildir under the given
/// unique names, with the same mtime on every file.
fn write_named_maildir(root: &Path, messages: &[(&str, &[u8])]) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    for (unique, raw) in messages {
        let path = root.join("new").join(unique);
        fs::write(&path, raw).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
    }
}

/// The maildir unique names mailtug (and Dovecot) write carry unpadded
/// microseconds, so two copies of one folder list their files in different
/// orders: `M664` sorts after `M1082`. Comparing the models with `==` made
/// `imap::failures::imap_urls_use_starttls_or_with_tls_none_plaintext_on_loopback`
/// flaky; the comparison must treat a folder as a multiset.
#[test]
fn maildirs_whose_file_order_differs_by_unpadded_microseconds_compare_equal() {
    let env = TestEnv::new();
    let (a, b) = (synthetic(0).raw, synthetic(1).raw);
    // Copy one: A then B within one second, at 664 µs and 1082 µs.
    write_named_maildir(
        &env.path("one"),
        &[
            ("1700000000.M664P10Q1.host,S=1", &a),
            ("1700000000.M1082P10Q2.host,S=1", &b),
        ],
    );
    // Copy two: A then B at 100100 µs and 100500 µs.
    write_named_maildir(
        &env.path("two"),
        &[
            ("1700000000.M100100P11Q1.host,S=1", &a),
            ("1700000000.M100500P11Q2.host,S=1", &b),
        ],
    );
    let (one, two) = (
        read_maildir(&env.path("one")),
        read_maildir(&env.path("two")),
    );
    assert_ne!(
        one, two,
        "the models list the messages in file-name order, which differs"
    );
    assert_same_messages(&one, &two, "two copies of the same folder");
}
