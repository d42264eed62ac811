#!/bin/sh
# mmdebstrap customize hook for a workload side with pip packages
# (rootfs.a.pip / rootfs.b.pip):
#
#   esb-pip-install.sh ROOTFS VENV REQUIREMENTS
#
# REQUIREMENTS has one `name==version --hash=sha256:...` line per package,
# dependencies included. The wheels are downloaded on the host, with the
# host's pip and its index and proxy settings, for the rootfs' Python, glibc
# and architecture; then installed inside the rootfs into VENV (made with the
# rootfs' own python3 -m venv) from that directory only. Both steps check every
# file against its hash (--require-hashes), and `pip check` must pass.
# Inside the rootfs, commands run with a clean environment: the host's
# PIP_* and PYTHON* variables are for the download only.
#
# Byte-identical packages must give byte-identical files in A and B, so the
# installed files get one fixed mtime and the .pyc files are compiled after
# that: a .pyc records its source's mtime, and install times would otherwise
# make every .pyc differ between the two images.
set -eu
root=$1 venv=$2 req=$3
epoch=${SOURCE_DATE_EPOCH:-0}
in_root() { chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "esb-pip-install: the host's python3 has no pip (Debian: apt-get install python3-pip)" >&2
  exit 1
fi

# shellcheck disable=SC2046
set -- $(in_root python3 -c 'import platform, sys, sysconfig
print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1], sysconfig.get_platform().split("-", 1)[1])')
pyver=$1 glibc=$2 arch=$3
case $glibc in 2.[0-9]*) ;; *) echo "esb-pip-install: cannot tell the rootfs' glibc version (got '$glibc')" >&2; exit 1 ;; esac

# every manylinux tag a glibc 2.N system runs: manylinux_2_N down to 2_5, and the old aliases
plats="--platform manylinux2014_$arch --platform manylinux2010_$arch --platform manylinux1_$arch"
y=${glibc#2.}
while [ "$y" -ge 5 ]; do
  plats="$plats --platform manylinux_2_${y}_$arch"
  y=$((y - 1))
done

wheels=$root/tmp/esb-wheels
rm -rf "$wheels"
mkdir -p "$wheels"
cp "$req" "$wheels/requirements.txt"
# ESB_WHEEL_STORE keeps every wheel once fetched: a side is built again from
# it without the index (pip still checks each file against its pinned hash)
store=${ESB_WHEEL_STORE:-}
fetch() {
  # shellcheck disable=SC2086
  python3 -m pip download --disable-pip-version-check --no-cache-dir --no-deps --require-hashes --only-binary=:all: \
    --python-version "$pyver" --implementation cp --abi "cp$(echo "$pyver" | tr -d .)" $plats \
    -d "$wheels" -r "$wheels/requirements.txt" "$@"
}
if [ -n "$store" ] && [ -d "$store" ] && fetch --no-index --find-links "$store" >/dev/null 2>&1; then
  echo "esb-pip-install: $(grep -c . "$req") wheels for CPython $pyver, glibc $glibc, $arch from $store"
else
  echo "esb-pip-install: downloading $(grep -c . "$req") wheels for CPython $pyver, glibc $glibc, $arch"
  fetch
  if [ -n "$store" ]; then mkdir -p "$store" && cp -n "$wheels"/*.whl "$store"/; fi
fi

in_root python3 -m venv "$venv"
in_root "$venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir --no-compile \
  --no-index --find-links /tmp/esb-wheels --no-deps --require-hashes -r /tmp/esb-wheels/requirements.txt
in_root "$venv/bin/python" -m pip check
rm -rf "$wheels"

find "$root$venv" -exec touch -h -d "@$epoch" {} +
# a file that does not compile (a template, Python 2 leftovers) is no error: pip skips those too
in_root "$venv/bin/python" -m compileall -q -f --invalidation-mode timestamp "$venv" >/dev/null || true
echo "esb-pip-install: installed into $venv: $(in_root "$venv/bin/python" -m pip list --format=freeze 2>/dev/null | tr '\n' ' ')"
