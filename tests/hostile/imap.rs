//! Hostile IMAP folder names.
