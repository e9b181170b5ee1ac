#!/usr/bin/env bash
# A private Mosquitto broker for the fleet programs and their tests: on
# 127.0.0.1 only, on a free port, with a password file and an ACL generated
# for one server and N devices. Nothing outside DIR is touched.
#
#   broker.sh start DIR [DEVICES] [tls]
#                                   write DIR/{mosquitto.conf,passwd,acl}, start
#                                   the broker, wait until it accepts logins,
#                                   write DIR/broker.env (PORT, PID, HOST, and
#                                   CAFILE with tls) and DIR/credentials (user
#                                   password per line); with tls the listener
#                                   speaks only TLS (a test CA and a broker
#                                   certificate for 127.0.0.1 made with openssl
#                                   in DIR/tls; clients verify it with CAFILE)
#   broker.sh stop DIR              stop the broker started in DIR
#   broker.sh restart DIR [PAUSE]   stop it, wait PAUSE s (2), start it again
#                                   on the same port (sessions and retained
#                                   messages are gone: clients must cope)
#
# Topics (PREFIX = tinyadapt/fleet):
#   PREFIX/theta              the round's global weights; retained; only the
#                             server may publish, everyone may read
#   PREFIX/update/<device>    a device's update; only <device> may publish it,
#                             only the server may read it
#   PREFIX/status/<user>      each client's own will/status topic
# Users: `server` and `device-0` ... `device-(N-1)`, each with a random
# password; with BROKER_PROBE_USER=NAME in the environment one more user NAME
# that may write any PREFIX/update/# topic (and read nothing): the hostile
# client of the test fleet.hostile, a stand-in for a stolen account or a
# misconfigured ACL. Installs Debian's mosquitto when it is missing.
set -euo pipefail

die() {
  echo "broker.sh: $*" >&2
  exit 1
}

need_mosquitto() {
  if command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]]; then
    return
  fi
  echo "broker.sh: installing mosquitto (Debian)" >&2
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq mosquitto mosquitto-clients >&2 ||
    die "cannot install mosquitto"
}

mosquitto_bin() {
  command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto
}

free_port() {
  # The kernel picks an unused port; the broker binds it right after.
  local py
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
      "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
      return
    fi
  done
  die "python3 is needed to find a free port"
}

# A throw-away CA and the broker's certificate (CN and subjectAltName
# 127.0.0.1, which clients check), valid for 2 days.
make_certificates() {
  local t=$1/tls
  command -v openssl >/dev/null 2>&1 || die "openssl is needed for tls (apt-get install openssl)"
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tinyadapt fleet test CA" \
    -keyout "$t/ca.key" -out "$t/ca.crt" >/dev/null 2>&1 || die "openssl: cannot make the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$t/broker.key" -out "$t/broker.csr" \
    >/dev/null 2>&1 || die "openssl: cannot make the broker's key"
  printf 'subjectAltName=IP:127.0.0.1\n' >"$t/san.ext"
  openssl x509 -req -in "$t/broker.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/san.ext" -out "$t/broker.crt" >/dev/null 2>&1 || die "openssl: cannot sign the broker's certificate"
  chmod 600 "$t/ca.key" "$t/broker.key"
}

start() {
  local dir=$1 devices=${2:-4} tls=${3:-}
  [[ $devices =~ ^[0-9]+$ ]] || die "DEVICES must be a number, got '$devices'"
  [[ -z $tls || $tls == tls ]] || die "the third argument is 'tls' or nothing, got '$tls'"
  need_mosquitto
  command -v mosquitto_passwd >/dev/null 2>&1 || die "mosquitto_passwd is missing (apt-get install mosquitto)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ ! -f $dir/broker.env ]] || die "$dir already has a broker (broker.sh stop $dir)"

  local users=(server)
  for ((i = 0; i < devices; ++i)); do users+=("device-$i"); done
  local probe=${BROKER_PROBE_USER:-}
  [[ -z $probe || $probe =~ ^[a-z][a-z0-9_]*$ ]] || die "BROKER_PROBE_USER must be a plain name, got '$probe'"
  [[ -z $probe ]] || users+=("$probe")
  : >"$dir/passwd"
  : >"$dir/credentials"
  chmod 600 "$dir/passwd" "$dir/credentials"
  local u pw
  for u in "${users[@]}"; do
    pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    mosquitto_passwd -b "$dir/passwd" "$u" "$pw"
    echo "$u $pw" >>"$dir/credentials"
  done

  {
    echo "# The server publishes θ and reads every update."
    echo "user server"
    echo "topic write tinyadapt/fleet/theta"
    echo "topic read tinyadapt/fleet/update/+"
    echo "topic readwrite tinyadapt/fleet/status/server"
    for ((i = 0; i < devices; ++i)); do
      printf '\n# A device reads θ and writes only its own update and status topics.\n'
      echo "user device-$i"
      echo "topic read tinyadapt/fleet/theta"
      echo "topic write tinyadapt/fleet/update/device-$i"
      echo "topic readwrite tinyadapt/fleet/status/device-$i"
    done
    if [[ -n $probe ]]; then
      printf '\n# A test user that may write any update topic (BROKER_PROBE_USER).\n'
      echo "user $probe"
      echo "topic write tinyadapt/fleet/update/#"
      echo "topic readwrite tinyadapt/fleet/status/$probe"
    fi
  } >"$dir/acl"

  local port
  port=$(free_port)
  [[ -z $tls ]] || make_certificates "$dir"
  cat >"$dir/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous false
password_file $dir/passwd
acl_file $dir/acl
listener $port 127.0.0.1
persistence false
max_inflight_messages 20
max_queued_messages 10000
max_packet_size 1048576
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
log_type subscribe
connection_messages true
EOF
  if [[ -n $tls ]]; then
    printf 'cafile %s\ncertfile %s\nkeyfile %s\ntls_version tlsv1.2\n' \
      "$dir/tls/ca.crt" "$dir/tls/broker.crt" "$dir/tls/broker.key" >>"$dir/mosquitto.conf"
  fi
  # Started as root, mosquitto drops to the `mosquitto` user: it must be able
  # to read its files and write its log.
  if [[ $(id -u) -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto "$dir" "$dir/passwd" "$dir/acl" "$dir/mosquitto.conf"
    [[ -z $tls ]] || chown -R mosquitto "$dir/tls"
  fi
  launch "$dir" "$port"
  echo "broker.sh: mosquitto on 127.0.0.1:$port, ${#users[@]} users, config in $dir" >&2
}

# Starts mosquitto with DIR's config on PORT and waits until the server can
# log in; writes DIR/broker.env.
launch() {
  local dir=$1 port=$2
  "$(mosquitto_bin)" -c "$dir/mosquitto.conf" >>"$dir/stdout.log" 2>&1 &
  local pid=$!
  printf 'HOST=127.0.0.1\nPORT=%s\nPID=%s\n' "$port" "$pid" >"$dir/broker.env"
  local tls_args=()
  if grep -q '^certfile ' "$dir/mosquitto.conf"; then
    printf 'CAFILE=%s\n' "$dir/tls/ca.crt" >>"$dir/broker.env"
    tls_args=(--cafile "$dir/tls/ca.crt")
  fi

  # Ready when the server can log in (a few hundred ms).
  local server_pw
  server_pw=$(awk '$1 == "server" { print $2 }' "$dir/credentials")
  for ((i = 0; i < 100; ++i)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$dir/stdout.log" "$dir/mosquitto.log" >&2 2>/dev/null || true
      rm -f "$dir/broker.env"
      die "mosquitto exited during start-up"
    fi
    if command -v mosquitto_pub >/dev/null 2>&1; then
      if mosquitto_pub -h 127.0.0.1 -p "$port" -u server -P "$server_pw" -q 1 "${tls_args[@]}" \
          -t tinyadapt/fleet/status/server -m ready >/dev/null 2>&1; then
        return
      fi
    elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/broker.env"
  die "mosquitto did not accept a login on port $port within 10 s"
}

# Stops the broker process started in DIR (config and broker.env stay).
halt() {
  local dir=$1 pid
  pid=$(sed -n 's/^PID=//p' "$dir/broker.env")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for ((i = 0; i < 50; ++i)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

stop() {
  local dir=$1
  [[ -f $dir/broker.env ]] || die "no broker.env in $dir"
  halt "$dir"
  rm -f "$dir/broker.env"
}

# The broker goes away for PAUSE seconds and comes back on the same port,
# with no memory of sessions or retained messages (persistence false).
restart() {
  local dir=$1 pause=$2 port
  [[ -f $dir/broker.env ]] || die "no broker.env in $dir"
  port=$(sed -n 's/^PORT=//p' "$dir/broker.env")
  halt "$dir"
  echo "broker.sh: mosquitto stopped; back in $pause s on port $port" >&2
  sleep "$pause"
  launch "$dir" "$port"
  echo "broker.sh: mosquitto restarted on 127.0.0.1:$port" >&2
}

case "${1:-}" in
  start) [[ $# -ge 2 && $# -le 4 ]] || die "usage: broker.sh start DIR [DEVICES] [tls]"; start "$2" "${3:-4}" "${4:-}" ;;
  stop) [[ $# -eq 2 ]] || die "usage: broker.sh stop DIR"; stop "$2" ;;
  restart) [[ $# -ge 2 && $# -le 3 ]] || die "usage: broker.sh restart DIR [PAUSE]"; restart "$2" "${3:-2}" ;;
  *) die "usage: broker.sh start DIR [DEVICES] [tls] | broker.sh stop DIR | broker.sh restart DIR [PAUSE]" ;;
esac
