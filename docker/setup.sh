#!/bin/sh
# One-shot set-up of a fresh or existing deployment; every step is idempotent, so it runs on every `up`.
set -eu
modpipe topics ensure
modpipe storage init
modpipe search init
python /opt/modpipe/docker/wait_for.py kibana "${KIBANA_URL}"
modpipe kibana import --url "${KIBANA_URL}"
