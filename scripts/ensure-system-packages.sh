#!/usr/bin/env bash
# System packages the project needs beyond Python: Java 17+ and Maven run the local Kafka broker;
# Debian's Chromium renders JavaScript-built pages (a browser download does not work everywhere).
# Installs them with apt-get when missing and we are root; otherwise says what to install.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
[ -x "${CLUEWATCH_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)   # sources with render: true
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (Kafka broker: Java/Maven; JavaScript-rendered sources: chromium)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "missing: ${missing[*]} — install them (e.g. sudo apt-get install ${missing[*]})," \
       "or set CLUEWATCH_KAFKA_BOOTSTRAP to an existing Kafka cluster" >&2
  [ -n "${CLUEWATCH_KAFKA_BOOTSTRAP:-}" ] || exit 1
fi
