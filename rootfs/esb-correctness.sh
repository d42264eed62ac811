# Sourced by /init for esb.phase=correctness (see README.md). Runs the named
# checks (esb.check=name[,name...], default: all of them, in the order
# `esbcheck list` names them) one after the other; each mounts what it needs
# itself and leaves nothing mounted. The mount options for sharing come in
# esb.share with "{domain}" standing for the domain (the series'
# shareMountOptions); esb.seconds scales the budget of the time-bounded
# checks (30 = their defaults). Extra images (a forged one, corrupted ones)
# are listed in /check/cases, appended to the initramfs by the host. Every
# line goes to the esb.samples port.
CHECKS=$(arg esb.check); [ -n "$CHECKS" ] || CHECKS=all
if [ "$CHECKS" = all ]; then CHECKS=$(esbcheck list | tr '\n' ,); CHECKS=${CHECKS%,}; fi
# esb.digest is what every read is checked with, as in the read-all phase (xxh64 unless sha256)
export ESB_SHARE="$(arg esb.share)" ESB_SECONDS="$(arg esb.seconds)" ESB_ONLY="$(arg esb.cases)" ESB_CASES=/check/cases ESB_DIGEST="$DIGEST"
mkdir -p /mnt/ref /mnt/ca /mnt/cb /mnt/cx /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
# kmemleak's control file, on a sanitizer kernel (esbcheck's leak oracle)
mount -t debugfs none /sys/kernel/debug 2>/dev/null
echo "esb: correctness checks=$CHECKS share=$ESB_SHARE"
if ! esbcheck refs >>"$OUT"; then
  emit error refs "the reference read of A and B with sharing off failed"
else
  for c in $(echo "$CHECKS" | tr , ' '); do
    echo "esb: check $c"
    esbcheck "$c" >>"$OUT"; rc=$?
    echo "esb: check $c ended (exit $rc)"
    # the host judges the signal: SIGBUS is a page the kernel could not supply, anything else the program's fault
    [ $rc -gt 128 ] && emit error "check $c" "esbcheck $c was killed by signal $((rc - 128))"
  done
fi
echo "esb: correctness done"
