#!/bin/sh
# corrupt.sh IN OUT truncate N | flip OFFSET: OUT is IN cut to N bytes, or
# IN with the byte at OFFSET inverted (a test file for tinyadapt_msg).
set -e
in=$1 out=$2 how=$3 n=$4
case $how in
  truncate) head -c "$n" "$in" > "$out" ;;
  flip)
    cp "$in" "$out"
    byte=$(od -An -tu1 -j "$n" -N1 "$in" | tr -d ' ')
    printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$out" bs=1 seek="$n" conv=notrunc status=none ;;
  *) echo "corrupt.sh: truncate N | flip OFFSET" >&2; exit 2 ;;
esac
