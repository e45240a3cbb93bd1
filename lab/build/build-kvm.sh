#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) the xsave-harness authors
#
# build-kvm.sh -- build patched KVM modules (kvm.ko, kvm-amd.ko) for one of Debian's
# stock kernels, out of Debian's linux-source and against Debian's matching
# linux-headers, so that they load into Debian's unmodified kernel image (same
# vermagic and symbol CRCs). Only arch/x86/kvm and virt/kvm are compiled.
#
# Usage:
#   build-kvm.sh --id KERNEL_ID --source SRC --headers HDR [--headers HDR...]
#                [--patch FILE...] --out DIR [--work DIR] [--jobs N]
#
#   --id       the lab kernel id, e.g. debian-6.1+pve (recorded in build-info.txt)
#   --source   linux-source-X.Y_*.deb, or its linux-source-X.Y.tar.xz, or an
#              unpacked source tree (a directory holding arch/x86/kvm and virt/kvm)
#   --headers  either one directory that holds the unpacked (dpkg -x) linux-headers-REL,
#              linux-headers-...-common and linux-kbuild packages (their usr/ tree or
#              usr/src/linux-headers-REL itself), or the three .deb files, one per
#              --headers
#   --patch    a patch applied with patch -p1 to the source tree, in the order given
#              (repeatable; none = stock modules rebuilt, useful as a control)
#   --out      output directory: kvm.ko, kvm-amd.ko, build-info.txt, build.log;
#              replaced atomically, left alone when its build key is unchanged
#   --work     scratch directory (default: OUT.work); unpacked sources are cached there
#   --jobs     make -j (default 2)
#
# Exit status: 0 built or up to date; 1 build failure (log path printed);
# 2 bad arguments or unusable inputs.
set -euo pipefail

SCRIPT_VERSION=1
prog=${0##*/}
die() { echo "$prog: error: $1" >&2; exit "${2:-1}"; }
trap 'echo "$prog: error: unexpected failure (exit $?) at line $LINENO" >&2' ERR
usage() { sed -n '/^# Usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

id= src= out= work= jobs=2
headers=() patches=()
while [ $# -gt 0 ]; do
  case $1 in
    --id) id=${2:?}; shift 2 ;;
    --source) src=${2:?}; shift 2 ;;
    --headers) headers+=("${2:?}"); shift 2 ;;
    --patch) patches+=("${2:?}"); shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "$prog: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$id" ] && [ -n "$src" ] && [ -n "$out" ] && [ ${#headers[@]} -gt 0 ] || usage
[ -e "$src" ] || die "--source $src does not exist" 2
for h in "${headers[@]}"; do [ -e "$h" ] || die "--headers $h does not exist" 2; done
for p in ${patches[@]+"${patches[@]}"}; do [ -f "$p" ] || die "--patch $p is not a file" 2; done
for t in make gcc-12 patch sha256sum xz dpkg-deb; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install build-essential gcc-12 patch xz-utils dpkg)" 2
done
out=$(realpath -m "$out")
work=$(realpath -m "${work:-$out.work}")
mkdir -p "$work"

# --- identity of the inputs: the build key -----------------------------------------
hash_input() { # file -> sha256; directory -> "dir:" + absolute path + kvm sources' hash
  if [ -f "$1" ]; then sha256sum <"$1" | cut -d' ' -f1
  else printf 'dir:%s:' "$(realpath "$1")"
       (cd "$1" && find . \( -path './arch/x86/kvm/*' -o -path './virt/kvm/*' -o -name '.config' \
           -o -name 'Module.symvers' -o -name 'utsrelease.h' \) -type f -print0 \
          | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
  fi
}
key=$( { echo "build-kvm v$SCRIPT_VERSION"; echo "src $(hash_input "$src")"
         for h in "${headers[@]}"; do echo "hdr $(hash_input "$h")"; done
         for p in ${patches[@]+"${patches[@]}"}; do echo "patch $(sha256sum <"$p" | cut -d' ' -f1)"; done
       } | sha256sum | cut -d' ' -f1)
if [ -f "$out/build-info.txt" ] && grep -qx "key=$key" "$out/build-info.txt" \
   && [ -f "$out/kvm.ko" ] && [ -f "$out/kvm-amd.ko" ] \
   && (cd "$out" && sha256sum --quiet -c SHA256SUMS) 2>/dev/null; then
  echo "$prog: $id: up to date ($out)"
  exit 0
fi

# --- headers: unpack the debs if needed, find linux-headers-REL -----------------------
hroot=
if [ -d "${headers[0]}" ] && [ ${#headers[@]} -eq 1 ]; then
  hroot=$(realpath "${headers[0]}")
else
  hkey=$(for h in "${headers[@]}"; do hash_input "$h"; done | sha256sum | cut -c1-16)
  hroot=$work/headers-$hkey
  if [ ! -f "$hroot/.unpacked" ]; then
    rm -rf "$hroot.tmp"; mkdir -p "$hroot.tmp"
    for h in "${headers[@]}"; do
      case $h in *.deb) dpkg-deb -x "$h" "$hroot.tmp" || die "cannot unpack $h" 2 ;;
                 *) die "--headers: give one directory or .deb files, not $h" 2 ;; esac
    done
    touch "$hroot.tmp/.unpacked"; rm -rf "$hroot"; mv "$hroot.tmp" "$hroot"
  fi
fi
kdir=
for c in "$hroot" "$hroot"/usr/src/linux-headers-* "$hroot"/src/linux-headers-*; do
  if [ -f "$c/.config" ] && [ -f "$c/Module.symvers" ] && [ -f "$c/include/generated/utsrelease.h" ]; then kdir=$c; break; fi
done
[ -n "$kdir" ] || die "no linux-headers-REL directory (with .config, Module.symvers) under $hroot" 2
krel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null)
[ -n "$krel" ] || die "no UTS_RELEASE in $kdir/include/generated/utsrelease.h" 2
# Debian's per-flavour Makefile only includes the -common one by its absolute path
# (/usr/src/...): run that one directly (make -f), from the unpacked copy, so nothing under
# the headers needs rewriting and they may live anywhere.
common_mk=$(sed -n 's/^include \(.*\)$/\1/p' "$kdir/Makefile" | head -1)
top_mk=$kdir/Makefile
if [ -n "$common_mk" ]; then
  top_mk=$(dirname "$kdir")/$(basename "$(dirname "$common_mk")")/Makefile
  [ -f "$top_mk" ] || die "$kdir/Makefile includes $common_mk; $top_mk not found (unpack linux-headers-*-common too)" 2
fi
[ -x "$kdir/scripts/basic/fixdep" ] || die "$kdir/scripts is incomplete (unpack linux-kbuild-* too)" 2

# --- source: only arch/x86/kvm and virt/kvm are needed ------------------------------
skey=$(hash_input "$src" | cut -c1-16)
sdir=$work/src-$skey
if [ ! -f "$sdir/.unpacked" ]; then
  rm -rf "$sdir.tmp"; mkdir -p "$sdir.tmp"
  if [ -d "$src" ]; then
    [ -d "$src/arch/x86/kvm" ] && [ -d "$src/virt/kvm" ] || die "$src holds no arch/x86/kvm + virt/kvm" 2
    mkdir -p "$sdir.tmp/arch/x86" "$sdir.tmp/virt"
    cp -a "$src/arch/x86/kvm" "$sdir.tmp/arch/x86/"; cp -a "$src/virt/kvm" "$sdir.tmp/virt/"
  else
    tarball=$src
    if [[ "$src" == *.deb ]]; then
      dpkg-deb --fsys-tarfile "$src" | tar -x -C "$sdir.tmp" --wildcards './usr/src/linux-source-*.tar.xz' \
        || die "$src holds no usr/src/linux-source-*.tar.xz" 2
      tarball=$(ls "$sdir.tmp"/usr/src/linux-source-*.tar.xz)
    fi
    tar -xJf "$tarball" -C "$sdir.tmp" --strip-components=1 --wildcards '*/arch/x86/kvm/*' '*/virt/kvm/*' \
      || die "cannot extract arch/x86/kvm and virt/kvm from $tarball" 2
    rm -rf "$sdir.tmp/usr"
  fi
  touch "$sdir.tmp/.unpacked"; rm -rf "$sdir"; mv "$sdir.tmp" "$sdir"
fi

# --- fresh build tree, patches, build ------------------------------------------------
b=$work/build-$key
trap 'rm -rf "$b"' EXIT  # the build tree is scratch; OUT.tmp keeps the log on failure
rm -rf "$b" "$out.tmp"; mkdir -p "$b" "$out.tmp"
cp -a "$sdir/arch" "$sdir/virt" "$b/"
log=$out.tmp/build.log
: >"$log"
for p in ${patches[@]+"${patches[@]}"}; do
  echo "== patch -p1 < $p" >>"$log"
  (cd "$b" && patch -p1 --forward --batch --no-backup-if-mismatch <"$(realpath "$p")") >>"$log" 2>&1 \
    || { tail -20 "$log" >&2; die "$id: patch $(basename "$p") does not apply (log: $log)"; }
  if grep -q '^Hunk .* with fuzz' "$log"; then die "$id: patch $(basename "$p") applied only with fuzz (log: $log)"; fi
done
# Kbuild for an external module: the KVM Makefile refers to its own and virt/kvm's
# directories through $(srctree) (the headers), and trace.h includes itself through
# include/trace/../../arch/x86/kvm: point both at the copy.
sed -i -e 's|\$(srctree)/arch/x86/kvm|$(src)|g' -e 's|\$(srctree)/virt/kvm|$(src)/../../../virt/kvm|g' "$b/arch/x86/kvm/Makefile"
mkdir -p "$b/include/trace"
start=$(date +%s)
echo "$prog: $id: building kvm.ko, kvm-amd.ko for $krel (-j$jobs)"
if ! make -C "$kdir" -f "$top_mk" M="$b/arch/x86/kvm" -j"$jobs" \
      KCFLAGS="-I$b/include/trace" \
      CONFIG_KVM_INTEL= CONFIG_DEBUG_INFO_BTF_MODULES= \
      modules >>"$log" 2>&1; then
  grep -E 'error|Error' "$log" | head -20 >&2
  die "$id: build failed (log: $log)"
fi
secs=$(( $(date +%s) - start ))
for m in kvm kvm-amd; do
  [ -f "$b/arch/x86/kvm/$m.ko" ] || die "$id: $m.ko was not produced (log: $log)"
  cp "$b/arch/x86/kvm/$m.ko" "$out.tmp/"
done
want=$(strings -a "$out.tmp/kvm.ko" | grep -m1 '^vermagic=' || true)
case $want in "vermagic=$krel "*) ;; *) die "$id: kvm.ko has $want, not for $krel" ;; esac
{ echo "key=$key"; echo "id=$id"; echo "kernelrelease=$krel"; echo "$want"
  echo "build_seconds=$secs"; echo "built_at=$(date -u +%FT%TZ)"
  for p in ${patches[@]+"${patches[@]}"}; do echo "patch=$(basename "$p") $(sha256sum <"$p" | cut -d' ' -f1)"; done
} >"$out.tmp/build-info.txt"
(cd "$out.tmp" && sha256sum kvm.ko kvm-amd.ko >SHA256SUMS)
rm -rf "$b"
# atomic replace: OUT is either the old complete set or the new one
if [ -e "$out" ]; then mv "$out" "$out.old.$$"; fi
mv "$out.tmp" "$out"
rm -rf "$out.old.$$"
echo "$prog: $id: built in ${secs}s -> $out"
