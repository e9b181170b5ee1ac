#!/usr/bin/env bash
# The fleet broker's access control (examples/federation/broker.sh), with a real
# Mosquitto on 127.0.0.1: logins with a wrong password, an unknown user or no
# user are refused; a device may publish only its own update topic, never
# another device's or θ; only the server reads updates; everyone reads θ.
#
#   acl_test.sh BROKER_SH WORKDIR
set -euo pipefail

broker=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
"$broker" start "$dir/broker" 3
trap '"$broker" stop "$dir/broker" || true' EXIT
# shellcheck disable=SC1091
source "$dir/broker/broker.env"

command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null ||
  { echo "acl_test: mosquitto_pub/mosquitto_sub missing (apt-get install mosquitto-clients)" >&2; exit 1; }

# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"
pub() {  # pub USER PASSWORD TOPIC MESSAGE [extra args]: MQTT v5, QoS 1; prints the client's output
  local user=$1 pass=$2 topic=$3 msg=$4
  shift 4
  mosquitto_pub -h "$HOST" -p "$PORT" -V mqttv5 -q 1 -u "$user" -P "$pass" -t "$topic" -m "$msg" "$@" 2>&1 || true
}
sub() {  # sub USER TOPIC OUTFILE: collect messages for 3 s in the background
  mosquitto_sub -h "$HOST" -p "$PORT" -V mqttv5 -q 1 -u "$1" -P "$(pw "$1")" -t "$2" -v -W 3 >"$3" 2>&1 &
}
T=tinyadapt/fleet

# --- logins
out=$(pub device-0 wrong-password $T/update/device-0 x)
check "a wrong password is refused ($out)" grep -qi "not authori[sz]ed" <<<"$out"
out=$(pub intruder "$(pw device-0)" $T/update/device-0 x)
check "an unknown user is refused" grep -qi "not authori[sz]ed" <<<"$out"
out=$(mosquitto_pub -h "$HOST" -p "$PORT" -V mqttv5 -q 1 -t $T/update/device-0 -m x 2>&1 || true)
check "an anonymous client is refused" grep -qi "not authori[sz]ed" <<<"$out"

# --- publishing and reading
sub server "$T/update/+" "$dir/server_updates.txt"
sub device-1 "$T/update/+" "$dir/device1_updates.txt"
sub device-2 "$T/theta" "$dir/device2_theta.txt"
sleep 1  # the subscriptions are in place

out=$(pub device-0 "$(pw device-0)" $T/update/device-0 own-update)
check "a device publishes its own update" empty "$out"
out=$(pub device-0 "$(pw device-0)" $T/update/device-1 forged-update)
check "a device publishing another device's update is refused ($out)" grep -q "Not authorized" <<<"$out"
out=$(pub device-1 "$(pw device-1)" $T/theta forged-theta)
check "a device publishing theta is refused ($out)" grep -q "Not authorized" <<<"$out"
out=$(pub server "$(pw server)" $T/theta real-theta -r)
check "the server publishes theta (retained)" empty "$out"
wait

check "the server received the device's own update" grep -qx "$T/update/device-0 own-update" "$dir/server_updates.txt"
check "no forged update reached the server" none forged "$dir/server_updates.txt"
check "a device reads no other device's update" none update "$dir/device1_updates.txt"
check "a device received the server's theta" grep -qx "$T/theta real-theta" "$dir/device2_theta.txt"
check "no forged theta reached a device" none forged "$dir/device2_theta.txt"

# A device that connects later gets the retained theta at once.
out=$(mosquitto_sub -h "$HOST" -p "$PORT" -V mqttv5 -u device-1 -P "$(pw device-1)" -t $T/theta -C 1 -W 3 2>&1 || true)
check "a late device gets the retained theta ($out)" test "$out" = real-theta

if [[ $failures -ne 0 ]]; then
  echo "acl_test: $failures check(s) FAILED; broker log:"
  cat "$dir/broker/mosquitto.log"
  exit 1
fi
echo "acl_test: all checks passed"
