#!/bin/sh
# expect_exit.sh STATUS REGEX COMMAND...: runs COMMAND, passes when it exits
# with STATUS and its output (stdout and stderr, lines joined by spaces)
# matches the extended REGEX.
status=$1 regex=$2
shift 2
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$status" ]; then
  echo "expect_exit: exit status $rc, expected $status" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | tr '\n' ' ' | grep -Eq -- "$regex"; then
  echo "expect_exit: output does not match /$regex/" >&2
  exit 1
fi
