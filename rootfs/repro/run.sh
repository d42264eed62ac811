# The rest of run.sh: the variables above it are written for one finding.
#
#   ./run.sh [-n RUNS] [-k BZIMAGE] [-a tcg|kvm] [-t SECONDS]
#
# Builds repro.c (gcc -static), packs it as the initramfs's /init, boots the
# kernel RUNS times with plain QEMU and the images attached, and judges each
# boot by its console: reproduced when a line matches SIGNATURE.
# Exit status: 1 reproduced in at least one run, 0 in none, 2 could not tell
# (a boot gave no verdict, or something is missing).
set -u
here=$(cd "$(dirname "$0")" && pwd)
KERNEL=$here/bzImage
ACCEL=tcg
usage() { echo "usage: ./run.sh [-n RUNS] [-k BZIMAGE] [-a tcg|kvm] [-t SECONDS]  (default: -n $RUNS -k ./bzImage -a tcg -t $TIMEOUT)"; }
while getopts n:k:a:t:h opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    k) case $OPTARG in /*) KERNEL=$OPTARG ;; *) KERNEL=$PWD/$OPTARG ;; esac ;;
    a) ACCEL=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done
case $RUNS in '' | *[!0-9]*) echo "run.sh: -n $RUNS is not a number of runs"; exit 2 ;; esac
case $ACCEL in
  tcg) ACCEL_ARGS="-accel tcg,thread=$TCG_THREAD -cpu max" ;;
  kvm) ACCEL_ARGS="-accel kvm" ;;
  *) echo "run.sh: -a $ACCEL: tcg or kvm"; exit 2 ;;
esac
missing=
command -v qemu-system-x86_64 >/dev/null || missing="$missing qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)"
command -v gcc >/dev/null || missing="$missing gcc (Debian: apt-get install gcc libc6-dev)"
if [ -n "$missing" ]; then echo "run.sh: missing:$missing"; exit 2; fi
[ -r "$KERNEL" ] || { echo "run.sh: $KERNEL: no such kernel image (give one with -k)"; exit 2; }
cd "$here" || exit 2
mkdir -p build logs
if ! gcc -static -O2 -o build/repro repro.c 2>logs/gcc.log; then
  echo "run.sh: gcc -static -O2 -o build/repro repro.c failed (a static libc: Debian's libc6-dev):"; cat logs/gcc.log; exit 2
fi
build/repro --initramfs build/initramfs.cpio || exit 2
drives=
for d in $DISKS; do drives="$drives -drive file=images/$d,if=virtio,format=raw,readonly=on"; done
kernel_sha=$(sha256sum "$KERNEL" | cut -c1-12)
echo "$SCENARIO: $RUNS run(s) of $KERNEL (sha256 $kernel_sha), QEMU $ACCEL, $CPUS vCPUs, $MEMORY MiB; consoles in logs/"
reproduced=0 clean=0 unclear=0 i=1
while [ "$i" -le "$RUNS" ]; do
  log=logs/run-$i.console
  start=$(date +%s)
  # shellcheck disable=SC2086 # ACCEL_ARGS and drives are word lists
  timeout -s KILL "$TIMEOUT" qemu-system-x86_64 $ACCEL_ARGS -m "$MEMORY" -smp "$CPUS" -nodefaults -display none \
    -no-reboot -kernel "$KERNEL" -initrd build/initramfs.cpio -append "$CMDLINE" \
    -serial "file:$log" $drives -net none 2>"logs/run-$i.qemu.stderr"
  rc=$? took=$(($(date +%s) - start))
  tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
  hit=$(grep -Em1 "$SIGNATURE" "$log")
  if [ -n "$hit" ]; then
    reproduced=$((reproduced + 1)); echo "run $i/$RUNS: reproduced (${took}s): $hit"
  elif grep -q '^REPRO-RESULT: not reproduced' "$log"; then
    clean=$((clean + 1)); echo "run $i/$RUNS: not reproduced (${took}s): $(grep -m1 '^REPRO-RESULT' "$log" | cut -d: -f3-)"
  else
    unclear=$((unclear + 1))
    why=$(grep -m1 '^REPRO-RESULT: error' "$log")
    [ -n "$why" ] || { [ "$rc" = 137 ] && why="killed after ${TIMEOUT}s (a hang?)"; } || why="QEMU exit $rc: $(tail -n1 "logs/run-$i.qemu.stderr")"
    echo "run $i/$RUNS: no verdict (${took}s): $why; see $log"
  fi
  i=$((i + 1))
done
echo "$SCENARIO: reproduced in $reproduced of $RUNS run(s), not in $clean, no verdict in $unclear; kernel $KERNEL (sha256 $kernel_sha)"
[ "$reproduced" -gt 0 ] && exit 1
[ "$unclear" -gt 0 ] && exit 2
exit 0
