
use builtin;
use str;

set edit:completion:arg-completer[mailtug] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mailtug'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mailtug'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand copy 'Copy messages from SRC to DST, every folder or those selected'
            cand mirror 'Copy what is new, then make DST''s flags and deletions follow SRC'
            cand plan 'Show what a copy from SRC to DST would do, and whether it can'
            cand ls 'List the folders of an endpoint with message counts and sizes'
            cand verify 'Check that DST holds every message of SRC, folder by folder'
            cand state 'Inspect or remove the state of jobs'
            cand run 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))'
            cand config 'Check the config file'
            cand bulk 'Copy many account pairs listed in a manifest, several at a time'
            cand report 'Work with bulk reports'
            cand auth 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;copy'= {
            cand --folder 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023'
            cand --exclude 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels'
            cand --map 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)'
            cand -j 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --jobs 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --retries 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)'
            cand --delete-after 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it'
            cand --max-messages 'POP3: fetch at most N messages per run (the rest waits for the next run)'
            cand --max-bytes 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)'
            cand --since 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --before 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --max-size 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)'
            cand --state 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/'
            cand --src-maildir-layout 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)'
            cand --dst-maildir-layout 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs'
            cand --max-bytes-per-second 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)'
            cand --max-messages-per-second 'Read from SRC, and write to DST, at most N messages a second each, over all connections'
            cand --src-max-bytes-per-day 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)'
            cand --dst-max-bytes-per-day 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC'
            cand --src-provider 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders'
            cand --dst-provider 'DST is Gmail or Microsoft 365, as --src-provider says for SRC'
            cand --gmail-labels 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)'
            cand --src-user 'User name for SRC, when not in its URL (e.g. one containing `@`)'
            cand --src-admin 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)'
            cand --src-password-file 'Read SRC''s password (or token) from the first line of FILE'
            cand --src-password-env 'Read SRC''s password (or token) from environment variable VAR'
            cand --src-password-command 'Run CMD with sh and read SRC''s password (or token) from its first line of output'
            cand --src-auth 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)'
            cand --src-ca-file 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)'
            cand --dst-user 'User name for DST, when not in its URL'
            cand --dst-admin 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)'
            cand --dst-password-file 'Read DST''s password (or token) from the first line of FILE'
            cand --dst-password-env 'Read DST''s password (or token) from environment variable VAR'
            cand --dst-password-command 'Run CMD with sh and read DST''s password (or token) from its first line of output'
            cand --dst-auth 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer'
            cand --dst-ca-file 'Also trust the CA certificates in this PEM file for DST'
            cand --ca-file 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)'
            cand --tls '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)'
            cand --timeout 'Give up on a server that does not answer for SECS seconds'
            cand --mbox-format 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --all-namespaces 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)'
            cand --merge 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
            cand --no-dedup 'Copy every message, even when the destination folder already holds its fingerprint'
            cand -n 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --dry-run 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --delete-source 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
            cand --no-special-use-map 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own'
            cand --insecure 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;mirror'= {
            cand --folder 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023'
            cand --exclude 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels'
            cand --map 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)'
            cand -j 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --jobs 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --retries 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)'
            cand --delete-after 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it'
            cand --max-messages 'POP3: fetch at most N messages per run (the rest waits for the next run)'
            cand --max-bytes 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)'
            cand --since 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --before 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --max-size 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)'
            cand --state 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/'
            cand --src-maildir-layout 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)'
            cand --dst-maildir-layout 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs'
            cand --max-bytes-per-second 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)'
            cand --max-messages-per-second 'Read from SRC, and write to DST, at most N messages a second each, over all connections'
            cand --src-max-bytes-per-day 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)'
            cand --dst-max-bytes-per-day 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC'
            cand --src-provider 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders'
            cand --dst-provider 'DST is Gmail or Microsoft 365, as --src-provider says for SRC'
            cand --gmail-labels 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)'
            cand --src-user 'User name for SRC, when not in its URL (e.g. one containing `@`)'
            cand --src-admin 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)'
            cand --src-password-file 'Read SRC''s password (or token) from the first line of FILE'
            cand --src-password-env 'Read SRC''s password (or token) from environment variable VAR'
            cand --src-password-command 'Run CMD with sh and read SRC''s password (or token) from its first line of output'
            cand --src-auth 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)'
            cand --src-ca-file 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)'
            cand --dst-user 'User name for DST, when not in its URL'
            cand --dst-admin 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)'
            cand --dst-password-file 'Read DST''s password (or token) from the first line of FILE'
            cand --dst-password-env 'Read DST''s password (or token) from environment variable VAR'
            cand --dst-password-command 'Run CMD with sh and read DST''s password (or token) from its first line of output'
            cand --dst-auth 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer'
            cand --dst-ca-file 'Also trust the CA certificates in this PEM file for DST'
            cand --ca-file 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)'
            cand --tls '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)'
            cand --timeout 'Give up on a server that does not answer for SECS seconds'
            cand --mbox-format 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2'
            cand --delete 'Also remove from DST the messages gone from SRC: `expunge` (the default) removes them, `trash` moves them to the Trash folder'
            cand --max-delete 'Allow up to N deletions per folder, or P% of the messages copied from it (default: 10%, at most 500)'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --all-namespaces 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)'
            cand --merge 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
            cand --no-dedup 'Copy every message, even when the destination folder already holds its fingerprint'
            cand -n 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --dry-run 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --delete-source 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
            cand --no-special-use-map 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own'
            cand --insecure 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;plan'= {
            cand --folder 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023'
            cand --exclude 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels'
            cand --map 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)'
            cand -j 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --jobs 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)'
            cand --retries 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)'
            cand --delete-after 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it'
            cand --max-messages 'POP3: fetch at most N messages per run (the rest waits for the next run)'
            cand --max-bytes 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)'
            cand --since 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --before 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)'
            cand --max-size 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)'
            cand --state 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/'
            cand --src-maildir-layout 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)'
            cand --dst-maildir-layout 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs'
            cand --max-bytes-per-second 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)'
            cand --max-messages-per-second 'Read from SRC, and write to DST, at most N messages a second each, over all connections'
            cand --src-max-bytes-per-day 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)'
            cand --dst-max-bytes-per-day 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC'
            cand --src-provider 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders'
            cand --dst-provider 'DST is Gmail or Microsoft 365, as --src-provider says for SRC'
            cand --gmail-labels 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)'
            cand --src-user 'User name for SRC, when not in its URL (e.g. one containing `@`)'
            cand --src-admin 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)'
            cand --src-password-file 'Read SRC''s password (or token) from the first line of FILE'
            cand --src-password-env 'Read SRC''s password (or token) from environment variable VAR'
            cand --src-password-command 'Run CMD with sh and read SRC''s password (or token) from its first line of output'
            cand --src-auth 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)'
            cand --src-ca-file 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)'
            cand --dst-user 'User name for DST, when not in its URL'
            cand --dst-admin 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)'
            cand --dst-password-file 'Read DST''s password (or token) from the first line of FILE'
            cand --dst-password-env 'Read DST''s password (or token) from environment variable VAR'
            cand --dst-password-command 'Run CMD with sh and read DST''s password (or token) from its first line of output'
            cand --dst-auth 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer'
            cand --dst-ca-file 'Also trust the CA certificates in this PEM file for DST'
            cand --ca-file 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)'
            cand --tls '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)'
            cand --timeout 'Give up on a server that does not answer for SECS seconds'
            cand --mbox-format 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --all-namespaces 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)'
            cand --merge 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
            cand --no-dedup 'Copy every message, even when the destination folder already holds its fingerprint'
            cand --delete-source 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
            cand --no-special-use-map 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own'
            cand --insecure 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
            cand -n 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --dry-run 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;ls'= {
            cand --src-maildir-layout 'Subfolder layout of a maildir ENDPOINT: auto (whatever the tree holds), maildir++ (.Archive.2023/), fs (Archive/2023/)'
            cand --src-user 'User name for SRC, when not in its URL (e.g. one containing `@`)'
            cand --src-admin 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)'
            cand --src-password-file 'Read SRC''s password (or token) from the first line of FILE'
            cand --src-password-env 'Read SRC''s password (or token) from environment variable VAR'
            cand --src-password-command 'Run CMD with sh and read SRC''s password (or token) from its first line of output'
            cand --src-auth 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)'
            cand --src-ca-file 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)'
            cand --ca-file 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)'
            cand --tls '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)'
            cand --timeout 'Give up on a server that does not answer for SECS seconds'
            cand --mbox-format 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2'
            cand --dst-user 'User name for DST, when not in its URL'
            cand --dst-admin 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)'
            cand --dst-password-file 'Read DST''s password (or token) from the first line of FILE'
            cand --dst-password-env 'Read DST''s password (or token) from environment variable VAR'
            cand --dst-password-command 'Run CMD with sh and read DST''s password (or token) from its first line of output'
            cand --dst-auth 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer'
            cand --dst-ca-file 'Also trust the CA certificates in this PEM file for DST'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --all-namespaces 'IMAP: also list folders of other users'' and shared namespaces'
            cand --insecure 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;verify'= {
            cand --folder 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023'
            cand --exclude 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels'
            cand --map 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)'
            cand --src-maildir-layout 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)'
            cand --dst-maildir-layout 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs'
            cand --src-user 'User name for SRC, when not in its URL (e.g. one containing `@`)'
            cand --src-admin 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)'
            cand --src-password-file 'Read SRC''s password (or token) from the first line of FILE'
            cand --src-password-env 'Read SRC''s password (or token) from environment variable VAR'
            cand --src-password-command 'Run CMD with sh and read SRC''s password (or token) from its first line of output'
            cand --src-auth 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)'
            cand --src-ca-file 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)'
            cand --dst-user 'User name for DST, when not in its URL'
            cand --dst-admin 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)'
            cand --dst-password-file 'Read DST''s password (or token) from the first line of FILE'
            cand --dst-password-env 'Read DST''s password (or token) from environment variable VAR'
            cand --dst-password-command 'Run CMD with sh and read DST''s password (or token) from its first line of output'
            cand --dst-auth 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer'
            cand --dst-ca-file 'Also trust the CA certificates in this PEM file for DST'
            cand --ca-file 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)'
            cand --tls '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)'
            cand --timeout 'Give up on a server that does not answer for SECS seconds'
            cand --mbox-format 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --content 'Also compare each message''s bytes (line ends, mbox quoting and mbox flag headers aside), reading every message of both sides whole'
            cand --all-namespaces 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)'
            cand --merge 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
            cand --insecure 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;state'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List the jobs'' states: id, last run, its status and counts, source and destination'
            cand show 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
            cand forget 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;state;list'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;state;show'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --messages 'Print one JSON line per message recorded instead: folder, source key, fingerprint, destination folder and key, flags as copied, bytes, when stored'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;state;forget'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;state;help'= {
            cand list 'List the jobs'' states: id, last run, its status and counts, source and destination'
            cand show 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
            cand forget 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;state;help;list'= {
        }
        &'mailtug;state;help;show'= {
        }
        &'mailtug;state;help;forget'= {
        }
        &'mailtug;state;help;help'= {
        }
        &'mailtug;run'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --all 'Run every job of the config file, in name order'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;config'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Check the config file and print each job as the command line it runs (without secrets)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;config;check'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;config;help'= {
            cand check 'Check the config file and print each job as the command line it runs (without secrets)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;config;help;check'= {
        }
        &'mailtug;config;help;help'= {
        }
        &'mailtug;bulk'= {
            cand --accounts 'Copy up to N account pairs at the same time'
            cand --max-connections-per-host 'Open at most N connections to any one host across all accounts (a row''s --jobs shrinks to fit)'
            cand --jobs 'Connections per side for each account, unless its row says (see copy --jobs)'
            cand --report 'Where to write report.jsonl, summary.json, failed.csv and each account''s output'
            cand --retries 'Try an account again up to N times after a network failure or a busy server (never after a refused login)'
            cand --retry-wait 'Wait SECS before the first retry of an account, twice as long before each next one'
            cand --shard 'Take only shard I of N of the rows (0 <= I < N), by a stable hash of each row''s id; without it, from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX'
            cand --shards 'How many shards there are, when the engine does not say (Kubernetes, AWS Batch; or MAILTUG_SHARDS)'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --skip-completed 'Skip the accounts the report directory''s report.jsonl says went well'
            cand --mirror 'Mirror each account pair instead of copying it (see mirror)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;report'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand merge 'Merge the report directories of bulk shards into one report'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;report;merge'= {
            cand --into 'Write the merged report.jsonl, summary.json and failed.csv here (else only print the summary)'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;report;help'= {
            cand merge 'Merge the report directories of bulk shards into one report'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;report;help;merge'= {
        }
        &'mailtug;report;help;help'= {
        }
        &'mailtug;auth'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Sign in an account, and keep its tokens'
            cand status 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
            cand logout 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;auth;login'= {
            cand --provider 'Who issues the tokens (found from the account''s host name when not given)'
            cand --user 'The mail address to sign in'
            cand --client-id 'The client ID of the OAuth client you registered with the provider'
            cand --client-secret-file 'Read the client''s secret (Google desktop-app clients have one) from the first line of FILE'
            cand --client-secret-env 'Read the client''s secret from environment variable VAR'
            cand --tenant 'Microsoft: the directory to sign in to (common, organizations, consumers, or a tenant ID or domain)'
            cand --flow 'browser: a browser comes back to a port on 127.0.0.1; device: enter a code in any browser (default: browser for Google, device for Microsoft)'
            cand --timeout 'Give up when the sign-in has not come back within SECS (Microsoft''s codes last 15 minutes)'
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --no-browser 'Print the sign-in address without starting a browser'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;auth;status'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --check 'Refresh each access token now, proving the provider still accepts the sign-in (exit 8 if it does not)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;auth;logout'= {
            cand -c 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --config 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)'
            cand --json 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
            cand -q 'Print nothing but errors'
            cand --quiet 'Print nothing but errors'
            cand --progress 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)'
            cand --no-progress 'Never show progress (the summary line still comes)'
            cand -v 'More detail on stderr; -vv for debugging'
            cand --verbose 'More detail on stderr; -vv for debugging'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mailtug;auth;help'= {
            cand login 'Sign in an account, and keep its tokens'
            cand status 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
            cand logout 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;auth;help;login'= {
        }
        &'mailtug;auth;help;status'= {
        }
        &'mailtug;auth;help;logout'= {
        }
        &'mailtug;auth;help;help'= {
        }
        &'mailtug;help'= {
            cand copy 'Copy messages from SRC to DST, every folder or those selected'
            cand mirror 'Copy what is new, then make DST''s flags and deletions follow SRC'
            cand plan 'Show what a copy from SRC to DST would do, and whether it can'
            cand ls 'List the folders of an endpoint with message counts and sizes'
            cand verify 'Check that DST holds every message of SRC, folder by folder'
            cand state 'Inspect or remove the state of jobs'
            cand run 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))'
            cand config 'Check the config file'
            cand bulk 'Copy many account pairs listed in a manifest, several at a time'
            cand report 'Work with bulk reports'
            cand auth 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mailtug;help;copy'= {
        }
        &'mailtug;help;mirror'= {
        }
        &'mailtug;help;plan'= {
        }
        &'mailtug;help;ls'= {
        }
        &'mailtug;help;verify'= {
        }
        &'mailtug;help;state'= {
            cand list 'List the jobs'' states: id, last run, its status and counts, source and destination'
            cand show 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
            cand forget 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
        }
        &'mailtug;help;state;list'= {
        }
        &'mailtug;help;state;show'= {
        }
        &'mailtug;help;state;forget'= {
        }
        &'mailtug;help;run'= {
        }
        &'mailtug;help;config'= {
            cand check 'Check the config file and print each job as the command line it runs (without secrets)'
        }
        &'mailtug;help;config;check'= {
        }
        &'mailtug;help;bulk'= {
        }
        &'mailtug;help;report'= {
            cand merge 'Merge the report directories of bulk shards into one report'
        }
        &'mailtug;help;report;merge'= {
        }
        &'mailtug;help;auth'= {
            cand login 'Sign in an account, and keep its tokens'
            cand status 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
            cand logout 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)'
        }
        &'mailtug;help;auth;login'= {
        }
        &'mailtug;help;auth;status'= {
        }
        &'mailtug;help;auth;logout'= {
        }
        &'mailtug;help;help'= {
        }
    ]
    $completions[$command]
}
