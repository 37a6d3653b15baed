#!/bin/sh
# Stands in for ssh in the remote-rank tests (MLX_TS_SSH=this file): takes ssh's arguments, skips its
# options, and runs the remote command on this machine as sshd would, through a shell, with the words after
# the host joined by spaces (so the session's quoting is exercised for real). The command runs in a new
# session (setsid) and not as this script's own process, as on another host: it is no child of the
# session's process and is not in its process group, so only the session's own clean-up can end it.
# $FAKE_SSH_LOG, when set, gets one line per call: the host.
while [ $# -gt 0 ]; do
  case "$1" in
    -o) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
host=$1
shift
[ -n "$FAKE_SSH_LOG" ] && echo "$host" >> "$FAKE_SSH_LOG"
setsid sh -c "$*"
