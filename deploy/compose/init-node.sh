#!/bin/sh
# Run once before a node's web and worker processes start (and again on every upgrade):
# creates the node on its first run, brings its database to the code's schema, installs its
# policy and checks it. Safe to run again. Environment:
#   ATRIUM_DOMAIN            the node's public name (first run)
#   ATRIUM_DATABASE_URL      postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB (first run)
#   ATRIUM_PRIVATE_NETWORKS  CIDR of the network the peers' proxy answers on (first run)
#   ATRIUM_CA_FILE           PEM of the CA that signs the peers' certificates (first run)
#   ATRIUM_POLICY_FILE       the node's policy.toml, kept in version control
#   ATRIUM_DATA_DIR          the node's directory (the image sets /data)
set -eu
data=${ATRIUM_DATA_DIR:-/data}
if [ ! -f "$data/atrium.toml" ]; then
  atrium init --data-dir "$data" --domain "${ATRIUM_DOMAIN:?}" --database-url "${ATRIUM_DATABASE_URL:?}"
  # Peers are reached through the TLS proxy on a private network, with the proxy's own CA;
  # everyone reaches this node through that proxy too, so its X-Forwarded-For names the
  # client that the inbox and sign-in limits count.
  sed -i \
    -e "s|^allowed_private_networks = \[\]|allowed_private_networks = [\"${ATRIUM_PRIVATE_NETWORKS:?}\"]|" \
    -e "s|^# ca_file = .*|ca_file = \"${ATRIUM_CA_FILE:?}\"|" \
    -e "s|^# trusted_proxies = .*|trusted_proxies = [\"${ATRIUM_PRIVATE_NETWORKS:?}\"]|" \
    "$data/atrium.toml"
fi
waited=0
until [ -f "${ATRIUM_CA_FILE:?}" ]; do  # the proxy makes its CA on its first start
  [ "$waited" -lt 60 ] || { echo "init-node: no CA at $ATRIUM_CA_FILE after 60 s" >&2; exit 1; }
  sleep 1; waited=$((waited + 1))
done
atrium migrate --data-dir "$data"
cp "${ATRIUM_POLICY_FILE:?}" "$data/policy.toml"
atrium policy check --data-dir "$data"
