# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mailtug_global_optspecs
    string join \n json q/quiet progress no-progress v/verbose c/config= h/help V/version
end

function __fish_mailtug_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mailtug_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mailtug_using_subcommand
    set -l cmd (__fish_mailtug_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mailtug -n "__fish_mailtug_needs_command" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_needs_command" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_needs_command" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_needs_command" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_needs_command" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_needs_command" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_needs_command" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_needs_command" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "copy" -d 'Copy messages from SRC to DST, every folder or those selected'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "mirror" -d 'Copy what is new, then make DST\'s flags and deletions follow SRC'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "plan" -d 'Show what a copy from SRC to DST would do, and whether it can'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "ls" -d 'List the folders of an endpoint with message counts and sizes'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "verify" -d 'Check that DST holds every message of SRC, folder by folder'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "state" -d 'Inspect or remove the state of jobs'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "run" -d 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "config" -d 'Check the config file'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "bulk" -d 'Copy many account pairs listed in a manifest, several at a time'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "report" -d 'Work with bulk reports'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "auth" -d 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3'
complete -c mailtug -n "__fish_mailtug_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l folder -d 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l exclude -d 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l map -d 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s j -l jobs -d 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l retries -d 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l delete-after -d 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l max-messages -d 'POP3: fetch at most N messages per run (the rest waits for the next run)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l max-bytes -d 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l since -d 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l before -d 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l max-size -d 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l state -d 'Keep the job\'s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-maildir-layout -d 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-maildir-layout -d 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l max-bytes-per-second -d 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l max-messages-per-second -d 'Read from SRC, and write to DST, at most N messages a second each, over all connections' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-max-bytes-per-day -d 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job\'s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-max-bytes-per-day -d 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-provider -d 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-provider -d 'DST is Gmail or Microsoft 365, as --src-provider says for SRC' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l gmail-labels -d 'A Gmail SRC\'s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)' -r -f -a "folders\t''
keywords\t''
all-mail\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-user -d 'User name for SRC, when not in its URL (e.g. one containing `@`)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-admin -d 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-password-file -d 'Read SRC\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-password-env -d 'Read SRC\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-password-command -d 'Run CMD with sh and read SRC\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-auth -d 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''
user\t''
apop\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l src-ca-file -d 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-user -d 'User name for DST, when not in its URL' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-admin -d 'Log in to DST as administrator ADMIN and act as DST\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-password-file -d 'Read DST\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-password-env -d 'Read DST\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-password-command -d 'Run CMD with sh and read DST\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-auth -d 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l dst-ca-file -d 'Also trust the CA certificates in this PEM file for DST' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l ca-file -d 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l tls -d '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)' -r -f -a "required\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l timeout -d 'Give up on a server that does not answer for SECS seconds' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l mbox-format -d 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2' -r -f -a "auto\t''
mboxrd\t''
mboxo\t''
mboxcl2\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l all-namespaces -d 'IMAP: also take folders of other users\' and shared namespaces, under their full names (by default only your own folders)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l merge -d 'Copy every source folder into the folder DST\'s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l no-dedup -d 'Copy every message, even when the destination folder already holds its fingerprint'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s n -l dry-run -d 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l delete-source -d 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l no-special-use-map -d 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination\'s own'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l insecure -d 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand copy" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l folder -d 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l exclude -d 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l map -d 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s j -l jobs -d 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l retries -d 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l delete-after -d 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-messages -d 'POP3: fetch at most N messages per run (the rest waits for the next run)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-bytes -d 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l since -d 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l before -d 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-size -d 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l state -d 'Keep the job\'s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-maildir-layout -d 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-maildir-layout -d 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-bytes-per-second -d 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-messages-per-second -d 'Read from SRC, and write to DST, at most N messages a second each, over all connections' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-max-bytes-per-day -d 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job\'s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-max-bytes-per-day -d 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-provider -d 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-provider -d 'DST is Gmail or Microsoft 365, as --src-provider says for SRC' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l gmail-labels -d 'A Gmail SRC\'s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)' -r -f -a "folders\t''
keywords\t''
all-mail\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-user -d 'User name for SRC, when not in its URL (e.g. one containing `@`)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-admin -d 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-password-file -d 'Read SRC\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-password-env -d 'Read SRC\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-password-command -d 'Run CMD with sh and read SRC\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-auth -d 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''
user\t''
apop\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l src-ca-file -d 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-user -d 'User name for DST, when not in its URL' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-admin -d 'Log in to DST as administrator ADMIN and act as DST\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-password-file -d 'Read DST\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-password-env -d 'Read DST\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-password-command -d 'Run CMD with sh and read DST\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-auth -d 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l dst-ca-file -d 'Also trust the CA certificates in this PEM file for DST' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l ca-file -d 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l tls -d '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)' -r -f -a "required\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l timeout -d 'Give up on a server that does not answer for SECS seconds' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l mbox-format -d 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2' -r -f -a "auto\t''
mboxrd\t''
mboxo\t''
mboxcl2\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l delete -d 'Also remove from DST the messages gone from SRC: `expunge` (the default) removes them, `trash` moves them to the Trash folder' -r -f -a "expunge\t''
trash\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l max-delete -d 'Allow up to N deletions per folder, or P% of the messages copied from it (default: 10%, at most 500)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l all-namespaces -d 'IMAP: also take folders of other users\' and shared namespaces, under their full names (by default only your own folders)'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l merge -d 'Copy every source folder into the folder DST\'s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l no-dedup -d 'Copy every message, even when the destination folder already holds its fingerprint'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s n -l dry-run -d 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l delete-source -d 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l no-special-use-map -d 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination\'s own'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l insecure -d 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand mirror" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l folder -d 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l exclude -d 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l map -d 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s j -l jobs -d 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l retries -d 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l delete-after -d 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l max-messages -d 'POP3: fetch at most N messages per run (the rest waits for the next run)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l max-bytes -d 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l since -d 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l before -d 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server\'s day for IMAP)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l max-size -d 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l state -d 'Keep the job\'s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-maildir-layout -d 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-maildir-layout -d 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l max-bytes-per-second -d 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l max-messages-per-second -d 'Read from SRC, and write to DST, at most N messages a second each, over all connections' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-max-bytes-per-day -d 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job\'s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-max-bytes-per-day -d 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-provider -d 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-provider -d 'DST is Gmail or Microsoft 365, as --src-provider says for SRC' -r -f -a "gmail\t''
microsoft\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l gmail-labels -d 'A Gmail SRC\'s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)' -r -f -a "folders\t''
keywords\t''
all-mail\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-user -d 'User name for SRC, when not in its URL (e.g. one containing `@`)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-admin -d 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-password-file -d 'Read SRC\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-password-env -d 'Read SRC\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-password-command -d 'Run CMD with sh and read SRC\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-auth -d 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''
user\t''
apop\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l src-ca-file -d 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-user -d 'User name for DST, when not in its URL' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-admin -d 'Log in to DST as administrator ADMIN and act as DST\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-password-file -d 'Read DST\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-password-env -d 'Read DST\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-password-command -d 'Run CMD with sh and read DST\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-auth -d 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l dst-ca-file -d 'Also trust the CA certificates in this PEM file for DST' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l ca-file -d 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l tls -d '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)' -r -f -a "required\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l timeout -d 'Give up on a server that does not answer for SECS seconds' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l mbox-format -d 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2' -r -f -a "auto\t''
mboxrd\t''
mboxo\t''
mboxcl2\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l all-namespaces -d 'IMAP: also take folders of other users\' and shared namespaces, under their full names (by default only your own folders)'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l merge -d 'Copy every source folder into the folder DST\'s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l no-dedup -d 'Copy every message, even when the destination folder already holds its fingerprint'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l delete-source -d 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l no-special-use-map -d 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination\'s own'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l insecure -d 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s n -l dry-run -d 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand plan" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-maildir-layout -d 'Subfolder layout of a maildir ENDPOINT: auto (whatever the tree holds), maildir++ (.Archive.2023/), fs (Archive/2023/)' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-user -d 'User name for SRC, when not in its URL (e.g. one containing `@`)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-admin -d 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-password-file -d 'Read SRC\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-password-env -d 'Read SRC\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-password-command -d 'Run CMD with sh and read SRC\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-auth -d 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''
user\t''
apop\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l src-ca-file -d 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l ca-file -d 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l tls -d '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)' -r -f -a "required\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l timeout -d 'Give up on a server that does not answer for SECS seconds' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l mbox-format -d 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2' -r -f -a "auto\t''
mboxrd\t''
mboxo\t''
mboxcl2\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-user -d 'User name for DST, when not in its URL' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-admin -d 'Log in to DST as administrator ADMIN and act as DST\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-password-file -d 'Read DST\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-password-env -d 'Read DST\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-password-command -d 'Run CMD with sh and read DST\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-auth -d 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l dst-ca-file -d 'Also trust the CA certificates in this PEM file for DST' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l all-namespaces -d 'IMAP: also list folders of other users\' and shared namespaces'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l insecure -d 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand ls" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l folder -d 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l exclude -d 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l map -d 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-maildir-layout -d 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-maildir-layout -d 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs' -r -f -a "auto\t''
maildir++\t''
fs\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-user -d 'User name for SRC, when not in its URL (e.g. one containing `@`)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-admin -d 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-password-file -d 'Read SRC\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-password-env -d 'Read SRC\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-password-command -d 'Run CMD with sh and read SRC\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-auth -d 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''
user\t''
apop\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l src-ca-file -d 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-user -d 'User name for DST, when not in its URL' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-admin -d 'Log in to DST as administrator ADMIN and act as DST\'s user (SASL PLAIN)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-password-file -d 'Read DST\'s password (or token) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-password-env -d 'Read DST\'s password (or token) from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-password-command -d 'Run CMD with sh and read DST\'s password (or token) from its first line of output' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-auth -d 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer' -r -f -a "auto\t''
login\t''
plain\t''
xoauth2\t''
oauthbearer\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l dst-ca-file -d 'Also trust the CA certificates in this PEM file for DST' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l ca-file -d 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l tls -d '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)' -r -f -a "required\t''
none\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l timeout -d 'Give up on a server that does not answer for SECS seconds' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l mbox-format -d 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2' -r -f -a "auto\t''
mboxrd\t''
mboxo\t''
mboxcl2\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l content -d 'Also compare each message\'s bytes (line ends, mbox quoting and mbox flag headers aside), reading every message of both sides whole'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l all-namespaces -d 'IMAP: also take folders of other users\' and shared namespaces, under their full names (by default only your own folders)'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l merge -d 'Copy every source folder into the folder DST\'s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l insecure -d 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand verify" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -f -a "list" -d 'List the jobs\' states: id, last run, its status and counts, source and destination'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -f -a "show" -d 'Print a job\'s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -f -a "forget" -d 'Remove a job\'s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and not __fish_seen_subcommand_from list show forget help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -l messages -d 'Print one JSON line per message recorded instead: folder, source key, fingerprint, destination folder and key, flags as copied, bytes, when stored'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from forget" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the jobs\' states: id, last run, its status and counts, source and destination'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a job\'s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "forget" -d 'Remove a job\'s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -l all -d 'Run every job of the config file, in name order'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand run" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Check the config file and print each job as the command line it runs (without secrets)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check the config file and print each job as the command line it runs (without secrets)'
complete -c mailtug -n "__fish_mailtug_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l accounts -d 'Copy up to N account pairs at the same time' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l max-connections-per-host -d 'Open at most N connections to any one host across all accounts (a row\'s --jobs shrinks to fit)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l jobs -d 'Connections per side for each account, unless its row says (see copy --jobs)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l report -d 'Where to write report.jsonl, summary.json, failed.csv and each account\'s output' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l retries -d 'Try an account again up to N times after a network failure or a busy server (never after a refused login)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l retry-wait -d 'Wait SECS before the first retry of an account, twice as long before each next one' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l shard -d 'Take only shard I of N of the rows (0 <= I < N), by a stable hash of each row\'s id; without it, from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l shards -d 'How many shards there are, when the engine does not say (Kubernetes, AWS Batch; or MAILTUG_SHARDS)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l skip-completed -d 'Skip the accounts the report directory\'s report.jsonl says went well'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l mirror -d 'Mirror each account pair instead of copying it (see mirror)'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand bulk" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -f -a "merge" -d 'Merge the report directories of bulk shards into one report'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and not __fish_seen_subcommand_from merge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -l into -d 'Write the merged report.jsonl, summary.json and failed.csv here (else only print the summary)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from merge" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "merge" -d 'Merge the report directories of bulk shards into one report'
complete -c mailtug -n "__fish_mailtug_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "login" -d 'Sign in an account, and keep its tokens'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "status" -d 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "logout" -d 'Forget an account\'s sign-in here, and revoke it where the provider allows (Google)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l provider -d 'Who issues the tokens (found from the account\'s host name when not given)' -r -f -a "google\t''
microsoft\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l user -d 'The mail address to sign in' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l client-id -d 'The client ID of the OAuth client you registered with the provider' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l client-secret-file -d 'Read the client\'s secret (Google desktop-app clients have one) from the first line of FILE' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l client-secret-env -d 'Read the client\'s secret from environment variable VAR' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l tenant -d 'Microsoft: the directory to sign in to (common, organizations, consumers, or a tenant ID or domain)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l flow -d 'browser: a browser comes back to a port on 127.0.0.1; device: enter a code in any browser (default: browser for Google, device for Microsoft)' -r -f -a "browser\t''
device\t''"
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l timeout -d 'Give up when the sign-in has not come back within SECS (Microsoft\'s codes last 15 minutes)' -r
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-browser -d 'Print the sign-in address without starting a browser'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from login" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -l check -d 'Refresh each access token now, proving the provider still accepts the sign-in (exit 8 if it does not)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -s c -l config -d 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)' -r -F
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -l json -d 'Print JSON Lines events on stdout, one object per line (see mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -s q -l quiet -d 'Print nothing but errors'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -l progress -d 'Show progress on stderr even when it is not a terminal (a log, tmux\'s pipe-pane)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -l no-progress -d 'Never show progress (the summary line still comes)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -s v -l verbose -d 'More detail on stderr; -vv for debugging'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -s h -l help -d 'Print help'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from logout" -s V -l version -d 'Print version'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "login" -d 'Sign in an account, and keep its tokens'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "logout" -d 'Forget an account\'s sign-in here, and revoke it where the provider allows (Google)'
complete -c mailtug -n "__fish_mailtug_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "copy" -d 'Copy messages from SRC to DST, every folder or those selected'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "mirror" -d 'Copy what is new, then make DST\'s flags and deletions follow SRC'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "plan" -d 'Show what a copy from SRC to DST would do, and whether it can'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "ls" -d 'List the folders of an endpoint with message counts and sizes'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "verify" -d 'Check that DST holds every message of SRC, folder by folder'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "state" -d 'Inspect or remove the state of jobs'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "run" -d 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "config" -d 'Check the config file'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "bulk" -d 'Copy many account pairs listed in a manifest, several at a time'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "report" -d 'Work with bulk reports'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "auth" -d 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and not __fish_seen_subcommand_from copy mirror plan ls verify state run config bulk report auth help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "list" -d 'List the jobs\' states: id, last run, its status and counts, source and destination'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "show" -d 'Print a job\'s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "forget" -d 'Remove a job\'s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Check the config file and print each job as the command line it runs (without secrets)'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "merge" -d 'Merge the report directories of bulk shards into one report'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "login" -d 'Sign in an account, and keep its tokens'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "status" -d 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed'
complete -c mailtug -n "__fish_mailtug_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "logout" -d 'Forget an account\'s sign-in here, and revoke it where the provider allows (Google)'
