#!/usr/bin/env bash
# The fleet broker with TLS (examples/federation/broker.sh start DIR N tls),
# with a real Mosquitto on 127.0.0.1: a client that verifies the broker with
# the test CA and logs in is served; a client without TLS, one that trusts
# another CA, and one with TLS but a wrong password are refused; the ACL
# still holds over TLS.
#
#   tls_test.sh BROKER_SH WORKDIR
set -euo pipefail

broker=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
"$broker" start "$dir/broker" 2 tls
trap '"$broker" stop "$dir/broker" || true' EXIT
# shellcheck disable=SC1091
source "$dir/broker/broker.env"

# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"
pub() {  # pub USER PASSWORD TOPIC MESSAGE [extra args]: exit status of mosquitto_pub
  local user=$1 pass=$2 topic=$3 msg=$4
  shift 4
  timeout 10 mosquitto_pub -h "$HOST" -p "$PORT" -q 1 -u "$user" -P "$pass" -t "$topic" -m "$msg" "$@" >/dev/null 2>&1
}
refused() { ! pub "$@"; }
T=tinyadapt/fleet

check "the broker.env names the CA" test -f "$CAFILE"
check "a client with the CA and its password is served" pub device-0 "$(pw device-0)" $T/update/device-0 x --cafile "$CAFILE"
check "a client without TLS is refused" refused device-0 "$(pw device-0)" $T/update/device-0 x
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" -keyout "$dir/other.key" \
  -out "$dir/other.crt" >/dev/null 2>&1
check "a client that trusts another CA is refused" refused device-0 "$(pw device-0)" $T/update/device-0 x --cafile "$dir/other.crt"
check "a wrong password over TLS is refused" refused device-0 wrong $T/update/device-0 x --cafile "$CAFILE"

# The ACL over TLS: device-1's forged θ never reaches a subscriber.
timeout 10 mosquitto_sub -h "$HOST" -p "$PORT" -q 1 -u device-0 -P "$(pw device-0)" --cafile "$CAFILE" \
  -t $T/theta -v -W 3 >"$dir/theta.txt" 2>&1 &
sleep 1
pub device-1 "$(pw device-1)" $T/theta forged --cafile "$CAFILE" || true
pub server "$(pw server)" $T/theta real --cafile "$CAFILE" || true
wait || true
check "the server's theta arrives over TLS" grep -qx "$T/theta real" "$dir/theta.txt"
check "a device's theta does not" none forged "$dir/theta.txt"

if [[ $failures -ne 0 ]]; then
  echo "tls_test: $failures check(s) FAILED; broker log:"
  cat "$dir/broker/mosquitto.log"
  exit 1
fi
echo "tls_test: all checks passed"
