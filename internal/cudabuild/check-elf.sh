#!/bin/sh
# check-elf.sh BINARY...: fail unless each binary needs only libcuda.so.1,
# libcublas.so.$CUBLAS_MAJOR and glibc's libraries, with symbol versions on glibc only
# (no versioned libcublas.so.11 requirement). Binaries that do not link CUDA pass too.
set -eu
N=${CUBLAS_MAJOR:-13}
bad=0
for b in "$@"; do
  needed=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  vers=$(readelf -V "$b" | sed -n '/version_r/,$p' | sed -n 's/.*File: \([^ ]*\).*/\1/p' | tr '\n' ' ')
  echo "check-elf: $(basename "$b"): NEEDED: ${needed:-none} | versions from: ${vers:-none}"
  for lib in $needed; do
    case $lib in
      libcuda.so.1|"libcublas.so.$N"|libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|libresolv.so.2) ;;
      *) echo "check-elf: $(basename "$b"): unexpected dependency $lib"; bad=1 ;;
    esac
  done
  for lib in $vers; do
    case $lib in
      libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|libresolv.so.2) ;;
      *) echo "check-elf: $(basename "$b"): symbol versions required from $lib"; bad=1 ;;
    esac
  done
  if readelf -d "$b" | grep -qE '\((RPATH|RUNPATH)\)'; then
    echo "check-elf: $(basename "$b"): has an RPATH/RUNPATH (the stubs dir must not leak in)"; bad=1
  fi
done
exit $bad
