#!/bin/sh
# Runs inside `dbus-run-session`, as an ordinary user (sway refuses root): a headless
# sway with waybar as the tray host (StatusNotifierItem), the person's gnome-keyring,
# a sign-in through the command line, then the app in the tray; clicks "Copy access
# token" through the tray's D-Bus menu, as waybar would, and reads the clipboard back
# with wl-paste. Everything it saw goes to $OUT for tests/wayland.rs to check.
set -eu
: "${OUT:?}" "${APP:?}" "${CLI:?}"
log() { echo "wayland-session: $*" >&2; }
wait_for() { # seconds, description, command…
  limit=$1; what=$2; shift 2
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -gt $((limit * 10)) ] && { log "timed out waiting for $what"; exit 1; }
    sleep 0.1
  done
}
has_name() { gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
  --method org.freedesktop.DBus.NameHasOwner "$1" | grep -q true; }

eval "$(printf %s spotoken-test | gnome-keyring-daemon --unlock --components=secrets)"
wait_for 10 "the keyring" secret-tool search --all service spotoken-probe

BROWSER="$OUT/browser.sh" "$CLI" login --timeout 30 --client-id "$CLIENT_ID" >"$OUT/login.out" 2>"$OUT/login.err"
# The deep link chosen: the app registers spotoken:// for itself when it starts.
sed -i 's/^redirect = .*/redirect = "deep-link"/' "$XDG_CONFIG_HOME/spotoken/settings.toml"
# A copied token is wiped soon, so the tray-only restart below need not wait long for it.
sed -i '1i clipboard_clear_secs = 3' "$XDG_CONFIG_HOME/spotoken/settings.toml"

WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman sway -c "$OUT/sway.conf" >"$OUT/sway.log" 2>&1 &
wait_for 20 "sway" test -S "$XDG_RUNTIME_DIR/wayland-1"
export WAYLAND_DISPLAY=wayland-1
SWAYSOCK=$(ls "$XDG_RUNTIME_DIR"/sway-ipc.*.sock); export SWAYSOCK
wait_for 20 "waybar's tray (the StatusNotifierWatcher)" has_name org.kde.StatusNotifierWatcher

# Started by sway, as a session starts it: straight into the tray.
swaymsg exec "SPOTOKEN_TRAY_RESTART_SECS=1 RUST_LOG=info '$APP' --tray >'$OUT/app.log' 2>&1" >"$OUT/swaymsg.out" 2>&1 \
  || { log "swaymsg exec failed: $(cat "$OUT/swaymsg.out")"; exit 1; }
items() { gdbus call --session --dest org.kde.StatusNotifierWatcher --object-path /StatusNotifierWatcher \
  --method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems; }
any_item() { items | grep -q "'"; }
# The menu of tray item $1 (as the watcher lists it): sets $service and $menu and writes
# the menu's layout to $OUT/$2, as waybar reads it.
read_menu() {
  service=${1%%/*}; path=/${1#*/}
  [ "$service" = "$1" ] && { service=$1; path=/StatusNotifierItem; }
  menu=$(gdbus call --session --dest "$service" --object-path "$path" --method org.freedesktop.DBus.Properties.Get \
    org.kde.StatusNotifierItem Menu | grep -o "'/[^']*'" | tr -d "'")
  gdbus call --session --dest "$service" --object-path "$menu" --method com.canonical.dbusmenu.GetLayout -- 0 -1 "@as []" \
    >"$OUT/$2" 2>&1 || { log "GetLayout failed: $(cat "$OUT/$2")"; exit 1; }
}
# Clicks the entry labelled $1 of the menu read into $OUT/$2, as a click in waybar does.
click() {
  id=$(grep -o "([0-9]*, {[^}]*'label': <'$1'>" "$OUT/$2" | head -1 | grep -o "^([0-9]*" | tr -d '(')
  [ -n "$id" ] || { log "no '$1' in the tray menu ($2)"; exit 1; }
  gdbus call --session --dest "$service" --object-path "$menu" --method com.canonical.dbusmenu.Event "$id" clicked "<''>" 0 >/dev/null
}
wait_for 30 "the app's tray item" any_item
item=$(items | grep -o "'[^']*'" | head -1 | tr -d "'")
read_menu "$item" menu.txt
click "Copy access token" menu.txt
wait_for 20 "the token on the clipboard" sh -c 'wl-paste -n 2>/dev/null | grep -q "^BQ"'
wl-paste -n >"$OUT/clipboard"

# A spotoken:// link handed to the desktop, as a browser on sway hands it: xdg-open
# (generic mode: sway is no desktop environment it knows) runs the registered handler,
# whose second launch passes the link to the running app.
wait_for 20 "spotoken:// to be registered" sh -c '[ "$(xdg-mime query default x-scheme-handler/spotoken)" = spotoken-handler.desktop ]'
xdg-open "spotoken://callback?code=WAYLAND-CODE&state=WAYLAND-STATE" >"$OUT/xdg-open.log" 2>&1 \
  || { log "xdg-open failed: $(cat "$OUT/xdg-open.log")"; exit 1; }
wait_for 20 "the app to receive the link" grep -q "deep link refused" "$OUT/app.log"
grim "$OUT/screen.png" || true
swaymsg -t get_tree >"$OUT/tree.json"

# The window on native Wayland, opened from the tray's menu as a click in waybar opens
# it: it must draw (a screenshot for a person to look at) with no GL driver loaded into
# the app (the window is drawn without a GPU).
click "Open Spotoken" menu.txt
wait_for 30 "the window" sh -c 'swaymsg -t get_tree | grep -q "\"app_id\": \"spotoken-app\""'
wait_for 30 "the window's first paint" grep -q "first paint" "$OUT/app.log"
sleep 1
grim "$OUT/window.png" || true
pid=$(pgrep -u "$(id -u)" -f "$APP --tray" | head -1)
grep -E "/dri/|libLLVM" "/proc/$pid/maps" >"$OUT/gl-maps.txt" || true
echo "$pid" >"$OUT/app.pid"

# Closed by the compositor, the window leaves a tray-only process: the app restarts itself
# (same pid), its tray item comes back for waybar, and Copy works through the new one.
swaymsg '[app_id="spotoken-app"] kill' >/dev/null
wait_for 30 "the tray-only restart" grep -q "restarted as a tray-only process" "$OUT/app.log"
pgrep -u "$(id -u)" -f "$APP --tray" | head -1 >"$OUT/app-after.pid"
another_item() { items | grep -o "'[^']*'" | tr -d "'" | grep -qv "^$item\$"; }
wait_for 30 "the restarted app's tray item" another_item
item=$(items | grep -o "'[^']*'" | tr -d "'" | grep -v "^$item\$" | head -1)
read_menu "$item" menu-after.txt
click "Copy access token" menu-after.txt
wait_for 20 "the token on the clipboard again" sh -c 'wl-paste -n 2>/dev/null | grep -q "^BQ"'
wl-paste -n >"$OUT/clipboard-after"
swaymsg exit >/dev/null 2>&1 || true
