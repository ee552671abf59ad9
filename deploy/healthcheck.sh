#!/bin/sh
# Health check of the container image (installed as cromulent-healthcheck): exits 0 when
# GET /healthz on this server's web listener answers 200, that is the server runs and its
# database answers; 1 otherwise.
#
# The listener speaks HTTPS when [tls] is on and plain HTTP otherwise, on the port of
# CROMULENT_LISTEN or else the server's default (443 with TLS, 4000 without), so this tries
# HTTPS, then HTTP, on each candidate port. It asks over loopback, so it does not check that the
# certificate names this host (it names the public DNS name, not 127.0.0.1); a TLS handshake
# still has to succeed.
set -u

host=127.0.0.1
ports="443 4000"
if [ -n "${CROMULENT_LISTEN:-}" ]; then
    ports="${CROMULENT_LISTEN##*:}"
    case "${CROMULENT_LISTEN%:*}" in
        0.0.0.0 | "[::]") ;;
        *) host="${CROMULENT_LISTEN%:*}" ;;
    esac
fi

for port in $ports; do
    for scheme in https http; do
        if curl --fail --silent --insecure --max-time 3 --output /dev/null "$scheme://$host:$port/healthz"; then
            exit 0
        fi
    done
done
echo "no 200 from GET /healthz on $host port $ports (HTTPS or HTTP)" >&2
exit 1
