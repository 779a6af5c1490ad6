#!/usr/bin/env bash
# Opens the Chaverim ALPR wall full screen in Chromium's kiosk app mode: no address bar, no tabs, no
# Electron or Tauri. Run it from the kiosk user's graphical session (autostart), e.g.
#   deploy/kiosk/wall-kiosk.sh https://alpr.example.org
# Pair the screen once with a code from Admin > Displays ("Pair this screen" on the wall); it then
# stays signed in for DISPLAY_SESSION_DAYS. Chromium is restarted if it exits, so a crash fixes itself.
set -euo pipefail

url="${1:-${ALPR_URL:-http://localhost:8080}}"
url="${url%/}/wall"
browser="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
profile="${KIOSK_PROFILE:-${XDG_STATE_HOME:-$HOME/.local/state}/chaverim-alpr-kiosk}"

if [ -z "$browser" ]; then
  echo "no Chromium found: install it (apt-get install chromium) or set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
mkdir -p "$profile"

# Keep the screen awake where X11 tools exist (a kiosk has no one to move the mouse).
if command -v xset >/dev/null && [ -n "${DISPLAY:-}" ]; then
  xset s off -dpms s noblank || true
fi

while true; do
  # A crash leaves "exited_cleanly": false behind, and Chromium would offer to restore the session.
  if [ -f "$profile/Default/Preferences" ]; then
    sed -i 's/"exited_cleanly":false/"exited_cleanly":true/; s/"exit_type":"[^"]*"/"exit_type":"Normal"/' \
      "$profile/Default/Preferences" || true
  fi
  "$browser" \
    --kiosk \
    --app="$url" \
    --user-data-dir="$profile" \
    --no-first-run \
    --noerrdialogs \
    --disable-infobars \
    --disable-session-crashed-bubble \
    --disable-translate \
    --disable-features=TranslateUI \
    --autoplay-policy=no-user-gesture-required \
    --check-for-update-interval=31536000 \
    "${@:2}" || true
  echo "chromium exited; starting it again in 5 s" >&2
  sleep 5
done
