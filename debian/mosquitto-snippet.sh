#!/bin/sh
# mosquitto-snippet.sh DEPLOY_CONF -- /etc/mosquitto/conf.d/pantau.conf from deploy/mosquitto.conf,
# printed on stdout: every setting commented out ("#setting", the prose stays "# prose"), so
# that installing pantau-broker-plugin changes nothing in a mosquitto already configured.
# The settings Debian's /etc/mosquitto/mosquitto.conf makes itself (persistence,
# persistence_location, log_dest) are left out: mosquitto refuses a second persistence_location.
set -eu
cat <<'HEAD'
# /etc/mosquitto/conf.d/pantau.conf -- pantau's broker settings (pantau-broker-plugin).
#
# DISABLED AS SHIPPED: every setting below is commented out ("#setting"), so that installing
# the package changes nothing in a mosquitto that is already configured. Enabling it makes
# the plugin the authority for every client on every listener of this broker
# (per_listener_settings false, allow_anonymous false) and opens listeners 1883 (loopback),
# 8883, 8884 and 8885: do it on a broker that serves pantau only, once the files named
# below exist (docs/operations.md "Install"):
#   sed -i 's/^#\([a-z]\)/\1/' /etc/mosquitto/conf.d/pantau.conf && systemctl restart mosquitto
# The file is a conffile: an edited copy survives upgrades.
# persistence, persistence_location and log_dest come from Debian's mosquitto.conf.
#
HEAD
sed -e '/^persistence /d' -e '/^persistence_location /d' -e '/^log_dest /d' \
    -e 's/^\([a-z]\)/#\1/' "$1"
