#!/bin/bash
# Starts a private Courier-IMAP (imapd + pop3d, plain and implicit TLS) for
# the tests. Run by tests/support/courier.rs as the first process of a new
# PID and mount namespace (`unshare --pid --fork --kill-child --mount
# --propagation private`): everything below dies with it, and the mounts are
# seen by nothing outside.
#
# Courier's paths are compiled in (/etc/courier, /usr/lib/courier...,
# /run/courier/authdaemon/socket), so the packages unpacked under $ROOT are
# laid over /etc and /usr (read-only overlays), the instance's own
# /etc/courier (config overrides, userdb) is bound on top, and /run is a
# fresh tmpfs. The host's files are never written.
#
# Environment: ROOT (the unpacked packages), DIR (the instance directory),
# IMAP_PORT, IMAPS_PORT, POP3_PORT, POP3S_PORT. Logs: $DIR/*.log.
set -euo pipefail
: "${ROOT:?}" "${DIR:?}" "${IMAP_PORT:?}" "${IMAPS_PORT:?}" "${POP3_PORT:?}" "${POP3S_PORT:?}"

mount -t overlay overlay -o "lowerdir=$ROOT/etc:/etc" /etc
mount -t overlay overlay -o "lowerdir=$ROOT/usr:/usr" /usr
mount --bind "$DIR/etc/courier" /etc/courier
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/courier/authdaemon

# authdaemond logs to stderr (courierlogger would send it to syslog).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c \
    'set -a; . /etc/courier/authdaemonrc; exec /usr/lib/courier/courier-authlib/authdaemond' \
    2>>"$DIR/authdaemond.log" &
for _ in $(seq 500); do
    [[ -S /run/courier/authdaemon/socket ]] && break
    sleep 0.01
done
[[ -S /run/courier/authdaemon/socket ]] || {
    echo "courier-launch: authdaemond did not open its socket" >&2
    exit 1
}

# serve LOG PORT CONFIG... -- PROGRAM...: couriertcpd with the environment the
# init scripts give it (the CONFIG files sourced in order, last wins).
serve() {
    local log=$1 port=$2
    shift 2
    env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin bash -c '
        port=$1; shift
        set -a
        while [[ $1 != -- ]]; do . "/etc/courier/$1"; shift; done
        shift
        set +a
        exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 \
            -nodnslookup -noidentlookup "$port" "$@"' sh "$port" "$@" 2>>"$DIR/$log.log" &
}
imap=(/usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir)
pop3=(/usr/lib/courier/courier/courierpop3login /usr/lib/courier/courier/courierpop3d Maildir)
tls=(/usr/bin/couriertls -server -tcpd)
serve imapd "$IMAP_PORT" imapd imapd-override -- "${imap[@]}"
serve imapd-ssl "$IMAPS_PORT" imapd imapd-ssl imapd-override imapd-ssl-override -- "${tls[@]}" "${imap[@]}"
serve pop3d "$POP3_PORT" pop3d pop3d-override -- "${pop3[@]}"
serve pop3d-ssl "$POP3S_PORT" pop3d pop3d-ssl pop3d-override pop3d-ssl-override -- "${tls[@]}" "${pop3[@]}"

# The first server to end (such as a couriertcpd that found its port taken)
# ends the namespace, and with it every other one: the harness sees it.
wait -n
echo "courier-launch: a server ended; stopping" >&2
exit 1
