#!/bin/sh
# framelock relay under Agones (see docs/deploy.md). Arguments are passed to `framelock serve`.
#
# 1. Asks the Agones SDK (REST, on localhost) for the address and host port clients reach this
#    GameServer at, and starts the relay public at exactly that address.
# 2. While it runs: marks the GameServer Ready once /readyz answers, pings Agones' health while
#    /healthz answers, keeps the `rooms` counter at the relay's open rooms, and puts an Allocated
#    relay that has had no room for a minute back to Ready (so a fleet scale-down may remove it).
# 3. On SIGTERM the relay drains (no new rooms, running rooms finish up to --drain-secs); once it
#    has exited the GameServer is shut down.
set -eu

SDK="http://localhost:${AGONES_SDK_HTTP_PORT:-9358}"
HTTP="127.0.0.1:9100"
GAME_PORT="${GAME_PORT:-7777}"
KEY_FILE="${KEY_FILE:-/etc/framelock/relay.key}"

sdk() { # METHOD PATH [JSON]
    body=${3:-'{}'}
    curl -sf -X "$1" -H 'Content-Type: application/json' -d "$body" "$SDK$2"
}

# The SDK server may start after this container: retry until the GameServer has an address.
address=""
port=""
while [ -z "$address" ] || [ -z "$port" ]; do
    gs=$(curl -sf "$SDK/gameserver" || true)
    address=$(printf '%s' "$gs" | jq -r '.status.address // empty' 2>/dev/null || true)
    port=$(printf '%s' "$gs" | jq -r '.status.ports[]? | select(.name == "game") | .port' 2>/dev/null || true)
    [ -n "$address" ] && [ -n "$port" ] || sleep 1
done
echo "agones: public at $address:$port"

framelock serve --listen "0.0.0.0:$GAME_PORT" --public-address "$address:$port" \
    --metrics "0.0.0.0:9100" --key-file "$KEY_FILE" "$@" &
relay=$!

agones_loop() {
    ready=0
    empty=0
    while :; do
        if curl -sf "http://$HTTP/healthz" >/dev/null; then
            sdk POST /health >/dev/null || true
        fi
        if [ "$ready" = 0 ] && curl -sf "http://$HTTP/readyz" >/dev/null; then
            sdk POST /ready >/dev/null && ready=1
        fi
        rooms=$(curl -sf "http://$HTTP/metrics" | awk '$1 == "framelock_rooms" { print $2 }' || true)
        if [ -n "$rooms" ]; then
            sdk PATCH /v1beta1/counters/rooms "{\"count\": \"$rooms\"}" >/dev/null || true
            if [ "$rooms" = 0 ]; then empty=$((empty + 1)); else empty=0; fi
            state=$(curl -sf "$SDK/gameserver" | jq -r '.status.state // empty' 2>/dev/null || true)
            # 30 rounds of 2 s: an Allocated relay empty for a minute offers itself for scale-down.
            if [ "$state" = Allocated ] && [ "$empty" -ge 30 ] && curl -sf "http://$HTTP/readyz" >/dev/null; then
                sdk POST /ready >/dev/null || true
                empty=0
            fi
        fi
        sleep 2
    done
}
agones_loop &
loop=$!

# SIGTERM/SIGINT go to the relay (it drains); wait until it has really exited.
trap 'kill -TERM "$relay" 2>/dev/null || true' TERM INT
status=0
while kill -0 "$relay" 2>/dev/null; do
    if wait "$relay"; then status=0; else status=$?; fi
done
kill "$loop" 2>/dev/null || true
sdk POST /shutdown >/dev/null || true
exit "$status"
