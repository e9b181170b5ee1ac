#!/usr/bin/env bash
# fleet.hostile: bad input through the real broker during a federation.
#
#   hostile_test.sh RUN_LOCAL BIN WORKDIR [DEVICES ROUNDS]
#
# Two runs of run_local.sh (5 devices, 6 rounds, the coordinate-wise median,
# --dump): a clean one, and one with fleet_hostile (--hostile 2), which logs
# in as device-2 (a second client next to the honest device-2) and as the
# broker user `probe` and, for every round's θ, sends garbage, half a
# message, 64 KB, a forged device id, another model's signature (CRCs
# valid), the previous round's update, the same update on device-3's topic
# and on the θ topic (both refused by the broker's ACL), updates on two
# unknown topics and from a device outside the fleet.
#
# Fails unless:
#   - both runs close every round and the server's θ equals its in-process
#     replay bit for bit (run_local.sh with --exact);
#   - the server counted each hostile message under its reason, exactly as
#     many as fleet_hostile sent (malformed = garbage + truncated + signature,
#     with the decoder's reason for each), no ACL-refused message arrived,
#     and nothing else was ignored;
#   - both runs accepted the same number of updates and the final θ of the
#     hostile run is bit-identical to the clean run's (the median of a round
#     does not depend on the order in which its updates arrive, and every
#     device's update depends only on θ, the seed, its id and the round, so
#     the two runs must agree exactly).
set -euo pipefail
run_local=$1 bin=$2 work=$3 devices=${4:-5} rounds=${5:-6}
fail() {
  echo "fleet.hostile: FAIL: $*" >&2
  exit 1
}
rm -rf "$work"
mkdir -p "$work"
args=(--bin "$bin" --test-tasks 20 --devices "$devices" --rounds "$rounds" --rule median --dump --deadline 20)
bash "$run_local" "${args[@]}" --workdir "$work/clean" >"$work/clean.out" 2>&1 ||
  { tail -20 "$work/clean.out" >&2; fail "the clean run failed"; }
bash "$run_local" "${args[@]}" --workdir "$work/hostile" --hostile 2 >"$work/hostile.out" 2>&1 ||
  { tail -20 "$work/hostile.out" >&2; fail "the hostile run failed"; }
for r in clean hostile; do
  grep -q "run_local: ok: $rounds rounds" "$work/$r.out" || fail "$r: not every round closed"
  grep -q "bit-identical" "$work/$r.out" || fail "$r: theta differs from the in-process replay"
done

# What fleet_hostile sent, and what the server counted.
sent=$(grep "^hostile: sent" "$work/hostile/hostile.log") || fail "fleet_hostile printed no summary"
echo "$sent"
s() { sed -n "s/.* $1 \([0-9]*\).*/\1/p" <<<"$sent"; }
summary=$(grep "server: updates accepted" "$work/hostile/server.log" | tail -1)
echo "$summary"
c() { sed -n "s/.*[:;,] $1 \([0-9]*\).*/\1/p" <<<"$summary"; }
check() {  # what, expected, counted
  echo "  $1: sent $2, counted $3"
  [[ -n $2 && -n $3 && $2 -eq $3 ]] || fail "$1: sent $2, the server counted ${3:-nothing}"
}
[[ $(s garbage) -ge $rounds ]] || fail "fleet_hostile missed rounds: $sent"
check "unknown topic" "$(s unknown_topic)" "$(c "unknown topic")"
check "unknown device" "$(s unknown_device)" "$(c "unknown device")"
check "oversized" "$(s oversized)" "$(c oversized)"
check "malformed" $(($(s garbage) + $(s truncated) + $(s signature))) "$(c malformed)"
check "forged device id" "$(s forged)" "$(c "forged device id")"
check "replayed or late" "$(s replayed)" "$(c "replayed or late")"
log=$work/hostile/server.log
check "malformed: bad magic (garbage)" "$(s garbage)" "$(grep -c 'from device-2 (100 bytes): not a tinyadapt message' "$log")"
check "malformed: truncated" "$(s truncated)" "$(grep -c 'from device-2 ([0-9]* bytes): message truncated' "$log")"
check "malformed: signature" "$(s signature)" "$(grep -c 'from device-2 ([0-9]* bytes): message for another model' "$log")"
# The ACL-refused copies never arrived: they would be counted as forged
# (device-3's topic) or refused by the devices (θ topic).
for what in "future round" duplicate "refused by the server" "dropped unread (queue full)"; do
  check "$what" 0 "$(c "$what")"
done
if grep -l "refused theta" "$work"/hostile/device-*.log; then fail "a device received a θ the server did not send"; fi
accepted() { grep "server: updates accepted" "$work/$1/server.log" | tail -1 | sed 's/.*updates accepted \([0-9]*\).*/\1/'; }
check "updates accepted (clean run: $(accepted clean))" "$(accepted clean)" "$(accepted hostile)"

# The final θ (the server's last θ message), bit for bit.
final() { ls "$work/$1/messages/"*server_sent_theta_r"$rounds".msg | tail -1; }
cmp "$(final clean)" "$(final hostile)" || fail "the final theta differs from the clean run's"
echo "fleet.hostile: ok: $rounds rounds; every hostile message counted under its reason; final theta bit-identical to the clean run ($(wc -c <"$(final clean)") bytes)"
