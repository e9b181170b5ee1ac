# Helpers of the broker tests (acl_test.sh, tls_test.sh), sourced after
# `dir` is set: check WHAT COMMAND... counts failures; pw USER is the user's
# generated password.
failures=0
check() {  # check WHAT COMMAND...: passes when COMMAND succeeds
  local what=$1
  shift
  if "$@"; then
    echo "ok:     $what"
  else
    echo "FAILED: $what"
    failures=$((failures + 1))
  fi
}
none() { ! grep -q "$@"; }
empty() { [[ -z $1 ]]; }
pw() { awk -v u="$1" '$1 == u { print $2 }' "$dir/broker/credentials"; }
