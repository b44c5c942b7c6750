
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mailtug' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mailtug'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mailtug' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy messages from SRC to DST, every folder or those selected')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Copy what is new, then make DST''s flags and deletions follow SRC')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a copy from SRC to DST would do, and whether it can')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the folders of an endpoint with message counts and sizes')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that DST holds every message of SRC, folder by folder')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Inspect or remove the state of jobs')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check the config file')
            [CompletionResult]::new('bulk', 'bulk', [CompletionResultType]::ParameterValue, 'Copy many account pairs listed in a manifest, several at a time')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Work with bulk reports')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;copy' {
            [CompletionResult]::new('--folder', '--folder', [CompletionResultType]::ParameterName, 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels')
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)')
            [CompletionResult]::new('--delete-after', '--delete-after', [CompletionResultType]::ParameterName, 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'POP3: fetch at most N messages per run (the rest waits for the next run)')
            [CompletionResult]::new('--max-bytes', '--max-bytes', [CompletionResultType]::ParameterName, 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/')
            [CompletionResult]::new('--src-maildir-layout', '--src-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)')
            [CompletionResult]::new('--dst-maildir-layout', '--dst-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs')
            [CompletionResult]::new('--max-bytes-per-second', '--max-bytes-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)')
            [CompletionResult]::new('--max-messages-per-second', '--max-messages-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most N messages a second each, over all connections')
            [CompletionResult]::new('--src-max-bytes-per-day', '--src-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)')
            [CompletionResult]::new('--dst-max-bytes-per-day', '--dst-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC')
            [CompletionResult]::new('--src-provider', '--src-provider', [CompletionResultType]::ParameterName, 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders')
            [CompletionResult]::new('--dst-provider', '--dst-provider', [CompletionResultType]::ParameterName, 'DST is Gmail or Microsoft 365, as --src-provider says for SRC')
            [CompletionResult]::new('--gmail-labels', '--gmail-labels', [CompletionResultType]::ParameterName, 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)')
            [CompletionResult]::new('--src-user', '--src-user', [CompletionResultType]::ParameterName, 'User name for SRC, when not in its URL (e.g. one containing `@`)')
            [CompletionResult]::new('--src-admin', '--src-admin', [CompletionResultType]::ParameterName, 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)')
            [CompletionResult]::new('--src-password-file', '--src-password-file', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--src-password-env', '--src-password-env', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--src-password-command', '--src-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read SRC''s password (or token) from its first line of output')
            [CompletionResult]::new('--src-auth', '--src-auth', [CompletionResultType]::ParameterName, 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)')
            [CompletionResult]::new('--src-ca-file', '--src-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)')
            [CompletionResult]::new('--dst-user', '--dst-user', [CompletionResultType]::ParameterName, 'User name for DST, when not in its URL')
            [CompletionResult]::new('--dst-admin', '--dst-admin', [CompletionResultType]::ParameterName, 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)')
            [CompletionResult]::new('--dst-password-file', '--dst-password-file', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--dst-password-env', '--dst-password-env', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--dst-password-command', '--dst-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read DST''s password (or token) from its first line of output')
            [CompletionResult]::new('--dst-auth', '--dst-auth', [CompletionResultType]::ParameterName, 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer')
            [CompletionResult]::new('--dst-ca-file', '--dst-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for DST')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a server that does not answer for SECS seconds')
            [CompletionResult]::new('--mbox-format', '--mbox-format', [CompletionResultType]::ParameterName, 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)')
            [CompletionResult]::new('--no-dedup', '--no-dedup', [CompletionResultType]::ParameterName, 'Copy every message, even when the destination folder already holds its fingerprint')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--delete-source', '--delete-source', [CompletionResultType]::ParameterName, 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them')
            [CompletionResult]::new('--no-special-use-map', '--no-special-use-map', [CompletionResultType]::ParameterName, 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;mirror' {
            [CompletionResult]::new('--folder', '--folder', [CompletionResultType]::ParameterName, 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels')
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)')
            [CompletionResult]::new('--delete-after', '--delete-after', [CompletionResultType]::ParameterName, 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'POP3: fetch at most N messages per run (the rest waits for the next run)')
            [CompletionResult]::new('--max-bytes', '--max-bytes', [CompletionResultType]::ParameterName, 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/')
            [CompletionResult]::new('--src-maildir-layout', '--src-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)')
            [CompletionResult]::new('--dst-maildir-layout', '--dst-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs')
            [CompletionResult]::new('--max-bytes-per-second', '--max-bytes-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)')
            [CompletionResult]::new('--max-messages-per-second', '--max-messages-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most N messages a second each, over all connections')
            [CompletionResult]::new('--src-max-bytes-per-day', '--src-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)')
            [CompletionResult]::new('--dst-max-bytes-per-day', '--dst-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC')
            [CompletionResult]::new('--src-provider', '--src-provider', [CompletionResultType]::ParameterName, 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders')
            [CompletionResult]::new('--dst-provider', '--dst-provider', [CompletionResultType]::ParameterName, 'DST is Gmail or Microsoft 365, as --src-provider says for SRC')
            [CompletionResult]::new('--gmail-labels', '--gmail-labels', [CompletionResultType]::ParameterName, 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)')
            [CompletionResult]::new('--src-user', '--src-user', [CompletionResultType]::ParameterName, 'User name for SRC, when not in its URL (e.g. one containing `@`)')
            [CompletionResult]::new('--src-admin', '--src-admin', [CompletionResultType]::ParameterName, 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)')
            [CompletionResult]::new('--src-password-file', '--src-password-file', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--src-password-env', '--src-password-env', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--src-password-command', '--src-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read SRC''s password (or token) from its first line of output')
            [CompletionResult]::new('--src-auth', '--src-auth', [CompletionResultType]::ParameterName, 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)')
            [CompletionResult]::new('--src-ca-file', '--src-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)')
            [CompletionResult]::new('--dst-user', '--dst-user', [CompletionResultType]::ParameterName, 'User name for DST, when not in its URL')
            [CompletionResult]::new('--dst-admin', '--dst-admin', [CompletionResultType]::ParameterName, 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)')
            [CompletionResult]::new('--dst-password-file', '--dst-password-file', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--dst-password-env', '--dst-password-env', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--dst-password-command', '--dst-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read DST''s password (or token) from its first line of output')
            [CompletionResult]::new('--dst-auth', '--dst-auth', [CompletionResultType]::ParameterName, 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer')
            [CompletionResult]::new('--dst-ca-file', '--dst-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for DST')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a server that does not answer for SECS seconds')
            [CompletionResult]::new('--mbox-format', '--mbox-format', [CompletionResultType]::ParameterName, 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Also remove from DST the messages gone from SRC: `expunge` (the default) removes them, `trash` moves them to the Trash folder')
            [CompletionResult]::new('--max-delete', '--max-delete', [CompletionResultType]::ParameterName, 'Allow up to N deletions per folder, or P% of the messages copied from it (default: 10%, at most 500)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)')
            [CompletionResult]::new('--no-dedup', '--no-dedup', [CompletionResultType]::ParameterName, 'Copy every message, even when the destination folder already holds its fingerprint')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--delete-source', '--delete-source', [CompletionResultType]::ParameterName, 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them')
            [CompletionResult]::new('--no-special-use-map', '--no-special-use-map', [CompletionResultType]::ParameterName, 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;plan' {
            [CompletionResult]::new('--folder', '--folder', [CompletionResultType]::ParameterName, 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels')
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Copy up to N folders at the same time, the largest first (for servers: N connections per side)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Reconnect up to N times in a row after a dropped connection (an attempt that stores messages starts the count again)')
            [CompletionResult]::new('--delete-after', '--delete-after', [CompletionResultType]::ParameterName, 'POP3: leave mail on the server for DAYS days after it was first stored, then delete it')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'POP3: fetch at most N messages per run (the rest waits for the next run)')
            [CompletionResult]::new('--max-bytes', '--max-bytes', [CompletionResultType]::ParameterName, 'POP3: fetch at most about SIZE bytes per run (suffixes K, M, G allowed)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only messages with an internal date on or after DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Only messages with an internal date before DATE (YYYY-MM-DD; UTC for local stores, the server''s day for IMAP)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Only messages of at most SIZE bytes, counted with CRLF line ends as servers count them (suffixes K, M, G)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the job''s state (SQLite) in FILE instead of $XDG_STATE_HOME/mailtug/')
            [CompletionResult]::new('--src-maildir-layout', '--src-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)')
            [CompletionResult]::new('--dst-maildir-layout', '--dst-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs')
            [CompletionResult]::new('--max-bytes-per-second', '--max-bytes-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most SIZE bytes a second each, over all connections (suffixes K, M, G)')
            [CompletionResult]::new('--max-messages-per-second', '--max-messages-per-second', [CompletionResultType]::ParameterName, 'Read from SRC, and write to DST, at most N messages a second each, over all connections')
            [CompletionResult]::new('--src-max-bytes-per-day', '--src-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Download at most SIZE bytes from SRC in any 24 hours, counted in the job''s state across runs; past it the run stops with exit 75, saying when to run it again (suffixes K, M, G)')
            [CompletionResult]::new('--dst-max-bytes-per-day', '--dst-max-bytes-per-day', [CompletionResultType]::ParameterName, 'Upload at most SIZE bytes to DST in any 24 hours, as --src-max-bytes-per-day does for SRC')
            [CompletionResult]::new('--src-provider', '--src-provider', [CompletionResultType]::ParameterName, 'SRC is Gmail or Microsoft 365 (found from the host name when not given; none: no preset): connection cap, daily limits, special folders')
            [CompletionResult]::new('--dst-provider', '--dst-provider', [CompletionResultType]::ParameterName, 'DST is Gmail or Microsoft 365, as --src-provider says for SRC')
            [CompletionResult]::new('--gmail-labels', '--gmail-labels', [CompletionResultType]::ParameterName, 'A Gmail SRC''s labels: folders (a copy per label folder; All Mail gives only what no other folder holds, into Archive), keywords (INBOX and All Mail, each message once, its labels as keywords) or all-mail (All Mail only, each message once)')
            [CompletionResult]::new('--src-user', '--src-user', [CompletionResultType]::ParameterName, 'User name for SRC, when not in its URL (e.g. one containing `@`)')
            [CompletionResult]::new('--src-admin', '--src-admin', [CompletionResultType]::ParameterName, 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)')
            [CompletionResult]::new('--src-password-file', '--src-password-file', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--src-password-env', '--src-password-env', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--src-password-command', '--src-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read SRC''s password (or token) from its first line of output')
            [CompletionResult]::new('--src-auth', '--src-auth', [CompletionResultType]::ParameterName, 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)')
            [CompletionResult]::new('--src-ca-file', '--src-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)')
            [CompletionResult]::new('--dst-user', '--dst-user', [CompletionResultType]::ParameterName, 'User name for DST, when not in its URL')
            [CompletionResult]::new('--dst-admin', '--dst-admin', [CompletionResultType]::ParameterName, 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)')
            [CompletionResult]::new('--dst-password-file', '--dst-password-file', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--dst-password-env', '--dst-password-env', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--dst-password-command', '--dst-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read DST''s password (or token) from its first line of output')
            [CompletionResult]::new('--dst-auth', '--dst-auth', [CompletionResultType]::ParameterName, 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer')
            [CompletionResult]::new('--dst-ca-file', '--dst-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for DST')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a server that does not answer for SECS seconds')
            [CompletionResult]::new('--mbox-format', '--mbox-format', [CompletionResultType]::ParameterName, 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)')
            [CompletionResult]::new('--no-dedup', '--no-dedup', [CompletionResultType]::ParameterName, 'Copy every message, even when the destination folder already holds its fingerprint')
            [CompletionResult]::new('--delete-source', '--delete-source', [CompletionResultType]::ParameterName, 'Delete messages from SRC (IMAP, POP3) once DST has stored them and the state records them')
            [CompletionResult]::new('--no-special-use-map', '--no-special-use-map', [CompletionResultType]::ParameterName, 'Do not map special-use folders (Sent, Drafts, Trash, Junk, Archive) onto the destination''s own')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan (see `mailtug plan`): what a run would copy and whether it can; write nothing, not even the state')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;ls' {
            [CompletionResult]::new('--src-maildir-layout', '--src-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir ENDPOINT: auto (whatever the tree holds), maildir++ (.Archive.2023/), fs (Archive/2023/)')
            [CompletionResult]::new('--src-user', '--src-user', [CompletionResultType]::ParameterName, 'User name for SRC, when not in its URL (e.g. one containing `@`)')
            [CompletionResult]::new('--src-admin', '--src-admin', [CompletionResultType]::ParameterName, 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)')
            [CompletionResult]::new('--src-password-file', '--src-password-file', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--src-password-env', '--src-password-env', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--src-password-command', '--src-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read SRC''s password (or token) from its first line of output')
            [CompletionResult]::new('--src-auth', '--src-auth', [CompletionResultType]::ParameterName, 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)')
            [CompletionResult]::new('--src-ca-file', '--src-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a server that does not answer for SECS seconds')
            [CompletionResult]::new('--mbox-format', '--mbox-format', [CompletionResultType]::ParameterName, 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2')
            [CompletionResult]::new('--dst-user', '--dst-user', [CompletionResultType]::ParameterName, 'User name for DST, when not in its URL')
            [CompletionResult]::new('--dst-admin', '--dst-admin', [CompletionResultType]::ParameterName, 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)')
            [CompletionResult]::new('--dst-password-file', '--dst-password-file', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--dst-password-env', '--dst-password-env', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--dst-password-command', '--dst-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read DST''s password (or token) from its first line of output')
            [CompletionResult]::new('--dst-auth', '--dst-auth', [CompletionResultType]::ParameterName, 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer')
            [CompletionResult]::new('--dst-ca-file', '--dst-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for DST')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'IMAP: also list folders of other users'' and shared namespaces')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;verify' {
            [CompletionResult]::new('--folder', '--folder', [CompletionResultType]::ParameterName, 'Only this folder (repeatable); `/` separates hierarchy levels, e.g. Archive/2023')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out folders matching GLOB (repeatable); `*` stays within a level, `**` crosses levels')
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'Rename folder OLD (and everything below it) to NEW at the destination (repeatable)')
            [CompletionResult]::new('--src-maildir-layout', '--src-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir SRC: auto (whatever the tree holds, both layouts if it holds both), maildir++ (.Archive.2023/), fs (Archive/2023/)')
            [CompletionResult]::new('--dst-maildir-layout', '--dst-maildir-layout', [CompletionResultType]::ParameterName, 'Subfolder layout of a maildir DST: auto (that of the existing tree, maildir++ for a new one), maildir++, fs')
            [CompletionResult]::new('--src-user', '--src-user', [CompletionResultType]::ParameterName, 'User name for SRC, when not in its URL (e.g. one containing `@`)')
            [CompletionResult]::new('--src-admin', '--src-admin', [CompletionResultType]::ParameterName, 'Log in to SRC as administrator ADMIN (its password goes in --src-password-…) and act as SRC''s user (SASL PLAIN)')
            [CompletionResult]::new('--src-password-file', '--src-password-file', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--src-password-env', '--src-password-env', [CompletionResultType]::ParameterName, 'Read SRC''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--src-password-command', '--src-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read SRC''s password (or token) from its first line of output')
            [CompletionResult]::new('--src-auth', '--src-auth', [CompletionResultType]::ParameterName, 'How to log in to SRC: auto (PLAIN if offered, else LOGIN / USER+PASS), login, plain, xoauth2, oauthbearer (IMAP), user, apop (POP3)')
            [CompletionResult]::new('--src-ca-file', '--src-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for SRC (self-signed or private CA servers)')
            [CompletionResult]::new('--dst-user', '--dst-user', [CompletionResultType]::ParameterName, 'User name for DST, when not in its URL')
            [CompletionResult]::new('--dst-admin', '--dst-admin', [CompletionResultType]::ParameterName, 'Log in to DST as administrator ADMIN and act as DST''s user (SASL PLAIN)')
            [CompletionResult]::new('--dst-password-file', '--dst-password-file', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from the first line of FILE')
            [CompletionResult]::new('--dst-password-env', '--dst-password-env', [CompletionResultType]::ParameterName, 'Read DST''s password (or token) from environment variable VAR')
            [CompletionResult]::new('--dst-password-command', '--dst-password-command', [CompletionResultType]::ParameterName, 'Run CMD with sh and read DST''s password (or token) from its first line of output')
            [CompletionResult]::new('--dst-auth', '--dst-auth', [CompletionResultType]::ParameterName, 'How to log in to DST: auto, login, plain, xoauth2, oauthbearer')
            [CompletionResult]::new('--dst-ca-file', '--dst-ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file for DST')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, for SRC and DST both (--src-ca-file and --dst-ca-file win)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, '`none` keeps imap:// and pop3:// connections unencrypted (only allowed to loopback addresses)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up on a server that does not answer for SECS seconds')
            [CompletionResult]::new('--mbox-format', '--mbox-format', [CompletionResultType]::ParameterName, 'How mbox files keep `From ` lines apart: auto (each file as it shows itself: mboxcl2 when its first message has an exact Content-Length, else mboxrd; new files mboxrd), mboxrd, mboxo, mboxcl2')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--content', '--content', [CompletionResultType]::ParameterName, 'Also compare each message''s bytes (line ends, mbox quoting and mbox flag headers aside), reading every message of both sides whole')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'IMAP: also take folders of other users'' and shared namespaces, under their full names (by default only your own folders)')
            [CompletionResult]::new('--merge', '--merge', [CompletionResultType]::ParameterName, 'Copy every source folder into the folder DST''s URL names (imaps://host/Restored); without it that folder is their parent (Restored/Sent, …)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Accept any server certificate (DANGEROUS: anyone on the path can read your mail and password)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;state' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the jobs'' states: id, last run, its status and counts, source and destination')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;state;list' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;state;show' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Print one JSON line per message recorded instead: folder, source key, fingerprint, destination folder and key, flags as copied, bytes, when stored')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;state;forget' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;state;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the jobs'' states: id, last run, its status and counts, source and destination')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;state;help;list' {
            break
        }
        'mailtug;state;help;show' {
            break
        }
        'mailtug;state;help;forget' {
            break
        }
        'mailtug;state;help;help' {
            break
        }
        'mailtug;run' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Run every job of the config file, in name order')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;config' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the config file and print each job as the command line it runs (without secrets)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;config;check' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;config;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the config file and print each job as the command line it runs (without secrets)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;config;help;check' {
            break
        }
        'mailtug;config;help;help' {
            break
        }
        'mailtug;bulk' {
            [CompletionResult]::new('--accounts', '--accounts', [CompletionResultType]::ParameterName, 'Copy up to N account pairs at the same time')
            [CompletionResult]::new('--max-connections-per-host', '--max-connections-per-host', [CompletionResultType]::ParameterName, 'Open at most N connections to any one host across all accounts (a row''s --jobs shrinks to fit)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Connections per side for each account, unless its row says (see copy --jobs)')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Where to write report.jsonl, summary.json, failed.csv and each account''s output')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Try an account again up to N times after a network failure or a busy server (never after a refused login)')
            [CompletionResult]::new('--retry-wait', '--retry-wait', [CompletionResultType]::ParameterName, 'Wait SECS before the first retry of an account, twice as long before each next one')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard I of N of the rows (0 <= I < N), by a stable hash of each row''s id; without it, from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX')
            [CompletionResult]::new('--shards', '--shards', [CompletionResultType]::ParameterName, 'How many shards there are, when the engine does not say (Kubernetes, AWS Batch; or MAILTUG_SHARDS)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--skip-completed', '--skip-completed', [CompletionResultType]::ParameterName, 'Skip the accounts the report directory''s report.jsonl says went well')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Mirror each account pair instead of copying it (see mirror)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;report' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Merge the report directories of bulk shards into one report')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;report;merge' {
            [CompletionResult]::new('--into', '--into', [CompletionResultType]::ParameterName, 'Write the merged report.jsonl, summary.json and failed.csv here (else only print the summary)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;report;help' {
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Merge the report directories of bulk shards into one report')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;report;help;merge' {
            break
        }
        'mailtug;report;help;help' {
            break
        }
        'mailtug;auth' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in an account, and keep its tokens')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;auth;login' {
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Who issues the tokens (found from the account''s host name when not given)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The mail address to sign in')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The client ID of the OAuth client you registered with the provider')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client''s secret (Google desktop-app clients have one) from the first line of FILE')
            [CompletionResult]::new('--client-secret-env', '--client-secret-env', [CompletionResultType]::ParameterName, 'Read the client''s secret from environment variable VAR')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'Microsoft: the directory to sign in to (common, organizations, consumers, or a tenant ID or domain)')
            [CompletionResult]::new('--flow', '--flow', [CompletionResultType]::ParameterName, 'browser: a browser comes back to a port on 127.0.0.1; device: enter a code in any browser (default: browser for Google, device for Microsoft)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up when the sign-in has not come back within SECS (Microsoft''s codes last 15 minutes)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Print the sign-in address without starting a browser')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;auth;status' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Refresh each access token now, proving the provider still accepts the sign-in (exit 8 if it does not)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;auth;logout' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read named accounts and jobs from FILE (default: $MAILTUG_CONFIG, else $XDG_CONFIG_HOME/mailtug/config.toml)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON Lines events on stdout, one object per line (see mailtug(1))')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal (a log, tmux''s pipe-pane)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress (the summary line still comes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr; -vv for debugging')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mailtug;auth;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in an account, and keep its tokens')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;auth;help;login' {
            break
        }
        'mailtug;auth;help;status' {
            break
        }
        'mailtug;auth;help;logout' {
            break
        }
        'mailtug;auth;help;help' {
            break
        }
        'mailtug;help' {
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy messages from SRC to DST, every folder or those selected')
            [CompletionResult]::new('mirror', 'mirror', [CompletionResultType]::ParameterValue, 'Copy what is new, then make DST''s flags and deletions follow SRC')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a copy from SRC to DST would do, and whether it can')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the folders of an endpoint with message counts and sizes')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that DST holds every message of SRC, folder by folder')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Inspect or remove the state of jobs')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run jobs named in the config file (see mailtug-config(5) in mailtug(1))')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check the config file')
            [CompletionResult]::new('bulk', 'bulk', [CompletionResultType]::ParameterValue, 'Copy many account pairs listed in a manifest, several at a time')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Work with bulk reports')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Sign in to Gmail or Microsoft 365 once (OAuth2), for IMAP and POP3')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mailtug;help;copy' {
            break
        }
        'mailtug;help;mirror' {
            break
        }
        'mailtug;help;plan' {
            break
        }
        'mailtug;help;ls' {
            break
        }
        'mailtug;help;verify' {
            break
        }
        'mailtug;help;state' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the jobs'' states: id, last run, its status and counts, source and destination')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print a job''s state as JSON: by id (or its first characters) from `state list`, a file path, or SRC DST')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Remove a job''s state, so the next run of its job starts over (relying on dedup): by id, id prefix, file or SRC DST')
            break
        }
        'mailtug;help;state;list' {
            break
        }
        'mailtug;help;state;show' {
            break
        }
        'mailtug;help;state;forget' {
            break
        }
        'mailtug;help;run' {
            break
        }
        'mailtug;help;config' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check the config file and print each job as the command line it runs (without secrets)')
            break
        }
        'mailtug;help;config;check' {
            break
        }
        'mailtug;help;bulk' {
            break
        }
        'mailtug;help;report' {
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Merge the report directories of bulk shards into one report')
            break
        }
        'mailtug;help;report;merge' {
            break
        }
        'mailtug;help;auth' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in an account, and keep its tokens')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the kept sign-ins: account, provider, until when the access token is good, whether it can be refreshed')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget an account''s sign-in here, and revoke it where the provider allows (Google)')
            break
        }
        'mailtug;help;auth;login' {
            break
        }
        'mailtug;help;auth;status' {
            break
        }
        'mailtug;help;auth;logout' {
            break
        }
        'mailtug;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
