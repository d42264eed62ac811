# Sourced by /init for the runtime phase. Each image becomes a container:
# overlayfs (the erofs mount as lower, tmpfs as upper), its own cgroup v2
# group, mount/pid/net/uts/ipc namespaces with only loopback, and the
# workload's /job/container.sh as its first process. A runs first, then B
# while A keeps running, as two containers on one host.
mount -t cgroup2 none /sys/fs/cgroup || { emit error cgroup "cannot mount cgroup2"; finish; }
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
for side in a b; do
  mkdir -p /upper/$side /c/$side
  mount -t tmpfs tmpfs /upper/$side
  mkdir -p /upper/$side/u /upper/$side/w
  if ! mount -t overlay overlay -o lowerdir=/mnt/$side,upperdir=/upper/$side/u,workdir=/upper/$side/w /c/$side 2>/tmp/ovl.err; then
    emit error "overlay-$side" "$(cat /tmp/ovl.err)"; finish
  fi
  mkdir -p /c/$side/proc /c/$side/dev /c/$side/tmp /c/$side/run /c/$side/esb
  mount --bind /dev /c/$side/dev
  mount -t tmpfs tmpfs /c/$side/tmp
  mount -t tmpfs tmpfs /c/$side/run
  cp /job/container.sh /c/$side/esb-job.sh
done
emit settle baseline runtime drop
for side in a b; do
  SIDE=$(echo $side | tr ab AB)
  mkdir /sys/fs/cgroup/$side
  sh -c "echo \$\$ > /sys/fs/cgroup/$side/cgroup.procs
    exec unshare -m -p -f -n -u -i sh -c 'ip link set lo up; mount -t proc proc /c/$side/proc; mkdir -p /c/$side/dev/shm; exec chroot /c/$side /bin/sh /esb-job.sh'" \
    >/upper/$side/console.log 2>&1 &
  # polled every 0.2 s: a 1 s poll cost each boot about 1.6 s of waiting on a container that was done
  ticks=0
  while [ ! -s /c/$side/esb/status ] && [ $ticks -lt $((STEP_TIMEOUT * 5)) ]; do sleep 0.2; ticks=$((ticks + 1)); done
  if [ ! -s /c/$side/esb/status ]; then
    echo "timeout after $((ticks / 5))s" > /c/$side/esb/status
    # the container never got to copy its server's logs: take their tails from outside
    for log in $(cat /c/$side/esb/server-logs 2>/dev/null); do
      [ -f "/c/$side$log" ] && tail -c 16384 "/c/$side$log" > "/c/$side/esb/server-$(basename "$log").log"
    done
  fi
  emit output $SIDE status /c/$side/esb/status
  for f in /c/$side/esb/*.log /c/$side/esb/*.out; do
    [ -f "$f" ] && emit output $SIDE "$(basename "$f")" "$f"
  done
  emit output $SIDE console /upper/$side/console.log
  emit settle after-$SIDE runtime
done
emit cgroup A /sys/fs/cgroup/a
emit cgroup B /sys/fs/cgroup/b
echo "esb: runtime measured"
