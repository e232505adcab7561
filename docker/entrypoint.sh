#!/bin/sh
# Every container of the image runs `modpipe ARGS`. Replicas of one service share their environment, so a worker
# without an explicit MODPIPE__WORKER__ID takes its role plus the container's host name: unique per replica and
# stable across restarts of that container (object keys and Kafka client ids carry it).
set -eu
if [ -z "${MODPIPE__WORKER__ID:-}" ]; then
    # Docker sets HOSTNAME to the container id; /etc/hostname holds the same when it is not exported.
    MODPIPE__WORKER__ID="${MODPIPE_WORKER_ROLE:-worker}-${HOSTNAME:-$(cat /etc/hostname)}"
    export MODPIPE__WORKER__ID
fi
exec modpipe "$@"
