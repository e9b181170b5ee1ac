#!/usr/bin/env bash
# A local fleet in one command: a private Mosquitto broker (broker.sh, on
# 127.0.0.1, password file and per-device ACL), the server (fleet_server) and
# the devices (fleet_device, one process each), optionally the emulated
# Cortex-M4 as one more device (fleet_bridge + QEMU); P1 (sine) TinyReptile
# rounds; everything is stopped at the end, also on failure. Exit status 0
# only when the server finished every round, its result agrees with the
# in-process run of the same rounds, and every device process exited 0.
#
#   run_local.sh [--devices 50] [--rounds 20] [--quorum Q] [--deadline 30] [--k 10]
#       [--seed 1] [--eps0 1] [--test-tasks 100] [--bin DIR] [--workdir DIR] [--dump]
#       [--encoding float32|int8|fp16|sparse] [--percent 10]   what the devices send (Δ unless float32)
#       [--csv FILE] [--m4 ELF] [--qemu qemu-system-arm]
#                                 --csv: the server's per-round CSV (and FILE.png, seconds
#                                 per round, when gnuplot is there)
#       [--absent A]              the last A devices never start (rounds close by deadline)
#       [--misbehave IDS:LIST]    devices IDS (e.g. 2 or 0,3) misbehave (fleet_device --misbehave LIST)
#       [--rule reptile|fedavg|median|trimmed_mean|geometric_median]   the server's aggregation
#       [--trim T]                trimmed_mean: updates dropped at each end per coordinate (1)
#       [--clip C]                the server clips every update to norm C (robust rules)
#       [--adaptive-clip]         C of each round from the last one's median |Δ|, starting at --clip
#       [--max-mse-ratio R]       compare with the clean in-process run by the MSE after 32 steps
#                                 (for poisoned devices) instead of bit for bit
#       [--intruder]              one more broker user, device-<N>, outside the server's fleet
#       [--hostile ID]            fleet_hostile logs in as device-ID (a second client) and as a
#                                 broker user `probe` that may write any update topic, and sends
#                                 bad input every round (see fleet_hostile.cpp); it must exit 0
#       [--kill-server-after R]   SIGKILL the server once round R closed, then start it again
#       [--restart-broker-after R]  stop the broker once round R closed, start it again 2 s later
#       [--tls]                   clients talk TLS to the broker (a test CA made by broker.sh)
#
# --bin: the folder with fleet_server and fleet_device (default
# build/host/examples/federation of this checkout). Logs and the broker's
# files are in --workdir (default a new /tmp/fleet.XXXXXX); --dump writes
# every message sent and received to WORKDIR/messages.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
devices=50 rounds=20 quorum="" deadline=30 k=10 seed=1 eps0=1 test_tasks=100
bin="$here/../../build/host/examples/federation" work="" dump=0 csv="" m4_elf="" qemu=qemu-system-arm
absent=0 misbehave="" intruder=0 kill_after="" restart_after="" tls="" encoding=float32 percent=10
rule=reptile max_ratio="" trim=1 hostile="" clip="" adaptive_clip=""

die() {
  echo "run_local: FAILED: $*" >&2
  exit 1
}
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
number() { [[ $2 =~ ^[0-9]+$ ]] || { echo "run_local: $1 needs a number, got '$2'" >&2; exit 2; }; }

while [[ $# -gt 0 ]]; do
  opt=$1
  case $opt in
    --dump) dump=1; shift; continue ;;
    --intruder) intruder=1; shift; continue ;;
    --tls) tls=tls; shift; continue ;;
    --adaptive-clip) adaptive_clip=1; shift; continue ;;
    -h|--help) usage ;;
  esac
  [[ $# -ge 2 ]] || { echo "run_local: missing value after $opt" >&2; exit 2; }
  val=$2
  shift 2
  case $opt in
    --devices) number "$opt" "$val"; devices=$val ;;
    --rounds) number "$opt" "$val"; rounds=$val ;;
    --quorum) number "$opt" "$val"; quorum=$val ;;
    --deadline) deadline=$val ;;
    --k) number "$opt" "$val"; k=$val ;;
    --seed) number "$opt" "$val"; seed=$val ;;
    --eps0) eps0=$val ;;
    --encoding) encoding=$val ;;
    --percent) percent=$val ;;
    --rule) rule=$val ;;
    --trim) number "$opt" "$val"; trim=$val ;;
    --max-mse-ratio) max_ratio=$val ;;
    --clip) clip=$val ;;
    --test-tasks) number "$opt" "$val"; test_tasks=$val ;;
    --bin) bin=$val ;;
    --workdir) work=$val ;;
    --csv) csv=$val ;;
    --m4) m4_elf=$val ;;
    --qemu) qemu=$val ;;
    --absent) number "$opt" "$val"; absent=$val ;;
    --misbehave) misbehave=$val ;;
    --hostile) number "$opt" "$val"; hostile=$val ;;
    --kill-server-after) number "$opt" "$val"; kill_after=$val ;;
    --restart-broker-after) number "$opt" "$val"; restart_after=$val ;;
    *) echo "run_local: unknown option $opt" >&2; usage ;;
  esac
done
[[ $devices -ge 1 && $rounds -ge 1 ]] || die "--devices and --rounds must be at least 1"
[[ $absent -lt $devices ]] || die "--absent must leave at least one device"
[[ -z $hostile || $hostile -lt $devices ]] || die "--hostile must name a device of the fleet"
for p in fleet_server fleet_device ${hostile:+fleet_hostile}; do
  [[ -x $bin/$p ]] || die "$bin/$p not found (build it: cmake --build <dir> --target $p; pass --bin)"
done
if [[ -n $m4_elf ]]; then
  [[ -x $bin/fleet_bridge ]] || die "$bin/fleet_bridge not found (needed with --m4)"
  [[ -f $m4_elf ]] || die "--m4 $m4_elf not found"
  command -v "$qemu" >/dev/null 2>&1 || die "$qemu not found (apt-get install qemu-system-arm)"
fi
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/fleet.XXXXXX)
else
  rm -rf "$work"
  mkdir -p "$work"
fi
work=$(cd "$work" && pwd)

# Fleet: devices 0..N-1 (host processes), then the M4 as device N.
fleet=$devices
m4_id=""
if [[ -n $m4_elf ]]; then m4_id=$fleet; fleet=$((fleet + 1)); fi
users=$fleet
intruder_id=""
if [[ $intruder -eq 1 ]]; then intruder_id=$users; users=$((users + 1)); fi
[[ -n $quorum ]] || quorum=$fleet

pids=()   # everything this script started, stopped by the trap
broker_started=0
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ $broker_started -eq 1 ]]; then "$here/broker.sh" stop "$work/broker" || true; fi
  if [[ $status -ne 0 ]]; then echo "run_local: logs in $work" >&2; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BROKER_PROBE_USER=${hostile:+probe} "$here/broker.sh" start "$work/broker" "$users" $tls
broker_started=1
CAFILE=""
# shellcheck disable=SC1091
source "$work/broker/broker.env"
creds=$work/broker/credentials
common=(--host "$HOST" --port "$PORT" --credentials "$creds" --rounds "$rounds" --seed "$seed" --k "$k")
encode=(--encoding "$encoding" --percent "$percent")
[[ -z $CAFILE ]] || common+=(--cafile "$CAFILE")
dumpdir=()
[[ $dump -eq 0 ]] || dumpdir=(--dump "$work/messages")

server_args=("${common[@]}" --devices "$fleet" --quorum "$quorum" --deadline "$deadline" --eps0 "$eps0"
             --test-tasks "$test_tasks" --checkpoint "$work/server.ckpt" "${dumpdir[@]}" "${encode[@]}" --rule "$rule" --trim "$trim")
[[ -z $csv ]] || server_args+=(--csv "$csv")
[[ -z $clip ]] || server_args+=(--clip "$clip")
[[ -z $adaptive_clip ]] || server_args+=(--adaptive-clip)
if [[ -n $max_ratio ]]; then
  server_args+=(--max-mse-ratio "$max_ratio")
elif [[ -z $m4_elf ]]; then
  server_args+=(--exact)  # host devices: θ bit-identical to the in-process run
fi

server_runs=0
start_server() {
  server_runs=$((server_runs + 1))
  "$bin/fleet_server" "${server_args[@]}" > >(tee -a "$work/server.log") 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
}

echo "run_local: broker 127.0.0.1:$PORT${CAFILE:+ (TLS)}; server; $((devices - absent)) of $devices device processes" \
     "${m4_id:+and the M4 (device-$m4_id) }${intruder_id:+and an intruder (device-$intruder_id) }; $rounds rounds; work $work"
start_server
hostile_pid=""
if [[ -n $hostile ]]; then
  "$bin/fleet_hostile" --host "$HOST" --port "$PORT" --credentials "$creds" ${CAFILE:+--cafile "$CAFILE"} \
    --as "$hostile" --fleet "$fleet" --probe probe --rounds "$rounds" --timeout 900 >"$work/hostile.log" 2>&1 &
  hostile_pid=$!
  pids+=("$hostile_pid")
  # Connected before the devices start, so it sees every round's θ.
  for ((t = 0; t < 100; ++t)); do
    grep -q "as device-$hostile" "$work/hostile.log" 2>/dev/null && break
    kill -0 "$hostile_pid" 2>/dev/null || break
    sleep 0.05
  done
fi
device_pids=() device_names=()
start_device() {  # start_device ID [extra args]
  local id=$1
  shift
  "$bin/fleet_device" --id "$id" "${common[@]}" "${encode[@]}" --timeout 900 "${dumpdir[@]}" "$@" \
    >"$work/device-$id.log" 2>&1 &
  pids+=("$!")
  device_pids+=("$!")
  device_names+=("device-$id")
}
bad_ids=",${misbehave%%:*},"
for ((i = 0; i < devices - absent; ++i)); do
  if [[ -n $misbehave && $bad_ids == *",$i,"* ]]; then
    start_device "$i" --misbehave "${misbehave#*:}"
  else
    start_device "$i"
  fi
done
[[ -z $intruder_id ]] || start_device "$intruder_id"
if [[ -n $m4_id ]]; then
  "$bin/fleet_bridge" --id "$m4_id" "${common[@]}" --elf "$m4_elf" --qemu "$qemu" --workdir "$work/m4" \
    --timeout 900 "${dumpdir[@]}" >"$work/device-$m4_id.log" 2>&1 &
  pids+=("$!")
  device_pids+=("$!")
  device_names+=("device-$m4_id (M4 bridge)")
fi

closed() { grep -q "server: round $1 closed" "$work/server.log" 2>/dev/null; }
# Waits for round R to close while the server runs; false if it exited.
wait_round() {
  while ! closed "$1"; do
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
}

if [[ -n $restart_after ]]; then
  wait_round "$restart_after" || die "the server exited before round $restart_after closed"
  echo "run_local: round $restart_after closed: the broker goes away for 2 s"
  "$here/broker.sh" restart "$work/broker" 2
fi
if [[ -n $kill_after ]]; then
  wait_round "$kill_after" || die "the server exited before round $kill_after closed"
  kill -KILL "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  echo "run_local: round $kill_after closed: server killed with SIGKILL; starting it again"
  start_server
fi

server_status=0
wait "$server_pid" || server_status=$?
[[ $server_status -eq 0 ]] || die "fleet_server exited with status $server_status"

# Devices leave on the final θ; give them a little time.
failed=()
for ((j = 0; j < ${#device_pids[@]}; ++j)); do
  pid=${device_pids[$j]}
  for ((t = 0; t < 300 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0) == 1; ++t)); do sleep 0.1; done
  st=0
  wait "$pid" 2>/dev/null || st=$?
  if [[ $st -ne 0 ]]; then
    failed+=("${device_names[$j]} (exit $st)")
    tail -5 "$work/${device_names[$j]%% *}.log" >&2 || true
  fi
done
[[ ${#failed[@]} -eq 0 ]] || die "device processes failed: ${failed[*]}"
if [[ -n $hostile_pid ]]; then
  st=0
  wait "$hostile_pid" 2>/dev/null || st=$?
  grep "^hostile: sent" "$work/hostile.log" || true
  [[ $st -eq 0 ]] || { tail -5 "$work/hostile.log" >&2; die "fleet_hostile exited with status $st"; }
fi
for ((r = 0; r < rounds; ++r)); do closed "$r" || die "round $r never closed"; done
if [[ -n $m4_id ]]; then
  grep "M4 round" "$work/device-$m4_id.log" || die "the M4 bridge logged no round"
fi
if [[ -n $csv ]]; then
  if command -v gnuplot >/dev/null 2>&1; then
    gnuplot -e "set terminal png size 800,450; set output '$csv.png'; set datafile separator ',';
      set title 'broker-run federation: $fleet devices'; set xlabel 'round'; set ylabel 'seconds to close';
      set key off; plot '$csv' using 1:4 every ::1 with linespoints" && echo "run_local: plot $csv.png"
  else
    echo "run_local: gnuplot not found: no plot (the CSV is $csv)"
  fi
fi
echo "run_local: ok: $rounds rounds, $fleet devices in the fleet, ${#device_pids[@]} device processes exited 0," \
     "server started $server_runs time(s); logs in $work"
