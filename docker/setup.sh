#!/bin/sh
# One-shot set-up of a fresh or existing deployment; every step is idempotent, so it runs on every `up`.
set -eu
modpipe topics ensure
modpipe storage init
modpipe search init
python /opt/modpipe/docker/wait_for.py kibana "${KIBANA_URL}"
# Kibana runs with security on: import as the set-up's Elasticsearch user (its password in MODPIPE_KIBANA_PASSWORD).
modpipe kibana import --url "${KIBANA_URL}" --user "${MODPIPE__ELASTICSEARCH__USERNAME}" --review-url "${REVIEW_PUBLIC_URL}"
