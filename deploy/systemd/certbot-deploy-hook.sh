#!/bin/sh
# certbot deploy hook: copy a renewed certificate to where paygate-relay reads it
# (config.json listen.tls) and tell the relay. Install as
#   /etc/letsencrypt/renewal-hooks/deploy/paygate-relay   (root:root 0755)
# certbot runs it after each successful renewal with RENEWED_LINEAGE set
# (e.g. /etc/letsencrypt/live/paygate.example.com).
set -eu
dest=/etc/paygate-relay/tls
[ -n "${RENEWED_LINEAGE:-}" ] || { echo "RENEWED_LINEAGE is not set (run by certbot --deploy-hook)" >&2; exit 1; }
install -d -m 0750 -o root -g paygate-relay "$dest"
# Copy the key first: the relay refuses a mismatched pair and keeps serving the old
# one, so a watcher firing between the two copies does no harm; the reload below
# then loads the complete new pair.
install -m 0640 -o root -g paygate-relay "$RENEWED_LINEAGE/privkey.pem" "$dest/privkey.pem.new"
install -m 0640 -o root -g paygate-relay "$RENEWED_LINEAGE/fullchain.pem" "$dest/fullchain.pem.new"
mv -f "$dest/privkey.pem.new" "$dest/privkey.pem"
mv -f "$dest/fullchain.pem.new" "$dest/fullchain.pem"
systemctl reload paygate-relay.service
