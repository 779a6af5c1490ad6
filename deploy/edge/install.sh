#!/bin/sh
# Installs the Chaverim ALPR edge collector on a Raspberry Pi (Raspberry Pi OS / Debian, arm64) as a
# systemd service running as its own user. Run as root from a checkout of the repository:
#
#   sudo deploy/edge/install.sh [--claim CODE --central URL] [--port 8090] [--pin-file FILE]
#
# It installs build tools for the SQLite module, copies the checkout to /opt/chaverim-alpr, installs
# its dependencies, creates the chaverim-edge user and /var/lib/chaverim-edge, writes a base
# configuration if there is none, sets the device page's PIN (asked for on the terminal when none is
# set yet; the first line of FILE with --pin-file), claims the collector when a code is given, and
# starts the service. Without a code, the collector is claimed from its device page, which needs the PIN.
set -eu

PREFIX=/opt/chaverim-alpr
STATE=/var/lib/chaverim-edge
SERVICE_USER=chaverim-edge
CODE=""
CENTRAL=""
PORT=8090
PIN_FILE=""

while [ $# -gt 0 ]; do
  case "$1" in
    --claim) CODE="$2"; shift 2 ;;
    --central) CENTRAL="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --pin-file) PIN_FILE="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then echo "run as root (sudo)" >&2; exit 1; fi
if [ -n "$CODE" ] && [ -z "$CENTRAL" ]; then echo "--claim needs --central URL" >&2; exit 2; fi
if [ -n "$PIN_FILE" ] && [ ! -r "$PIN_FILE" ]; then echo "--pin-file $PIN_FILE cannot be read" >&2; exit 2; fi

NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from https://nodejs.org or your distribution, then run this again." >&2
  exit 1
fi

echo "== build tools for the SQLite module"
apt-get update -q
apt-get install -y -q python3 make g++ rsync

SRC=$(cd "$(dirname "$0")/../.." && pwd)
echo "== installing $SRC to $PREFIX"
mkdir -p "$PREFIX"
rsync -a --delete --exclude node_modules --exclude .git --exclude data --exclude edge-data "$SRC/" "$PREFIX/"
(cd "$PREFIX" && npm ci --no-audit --no-fund && npm run -s edge:build)

echo "== user $SERVICE_USER and $STATE"
id "$SERVICE_USER" >/dev/null 2>&1 || useradd --system --home-dir "$STATE" --shell /usr/sbin/nologin "$SERVICE_USER"
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE"
if [ ! -f "$STATE/config.yaml" ]; then
  cat > "$STATE/config.yaml" <<YAML
# Base configuration of this collector. Central pushes go to central.yaml; local changes to local.yaml.
listen:
  host: 0.0.0.0
  port: $PORT
cameras: []
YAML
  chown "$SERVICE_USER:$SERVICE_USER" "$STATE/config.yaml"
fi

# The device page takes no change and no claim without the PIN, so that nobody who finds the
# collector on the network can claim it or change its cameras; it is kept hashed in the encrypted secrets.
echo "== the device page's PIN"
EDGE="node edge/dist/main.mjs"
if [ -n "$PIN_FILE" ]; then
  (cd "$PREFIX" && runuser -u "$SERVICE_USER" -- env EDGE_DIR="$STATE" $EDGE set-pin) < "$PIN_FILE"
elif [ -t 0 ]; then
  # Asked twice, not echoed; a PIN set by an earlier install is kept.
  (cd "$PREFIX" && runuser -u "$SERVICE_USER" -- env EDGE_DIR="$STATE" $EDGE set-pin --if-unset)
else
  echo "no terminal to ask for the PIN on: unless one is set already, the device page refuses every change and claim until" >&2
  echo "  cd $PREFIX && sudo -u $SERVICE_USER env EDGE_DIR=$STATE $EDGE set-pin" >&2
fi

if [ -n "$CODE" ]; then
  echo "== claiming this collector at $CENTRAL"
  (cd "$PREFIX" && runuser -u "$SERVICE_USER" -- env EDGE_DIR="$STATE" node edge/dist/main.mjs claim "$CODE" --central "$CENTRAL")
fi

echo "== systemd service"
install -m 0644 "$PREFIX/deploy/edge/chaverim-edge.service" /etc/systemd/system/chaverim-edge.service
systemctl daemon-reload
systemctl enable chaverim-edge.service
systemctl restart chaverim-edge.service
echo "installed. Status: sudo -u $SERVICE_USER env EDGE_DIR=$STATE sh -c 'cd $PREFIX && npm run -s edge -- status'"
ADDRESS=$(hostname -I 2>/dev/null | cut -d' ' -f1)
echo "The device page (status, claim, cameras): http://${ADDRESS:-<this device>}:$PORT/"
