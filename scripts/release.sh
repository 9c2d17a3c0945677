#!/usr/bin/env bash
# Builds lockgate's release archives: static binaries (CGO_ENABLED=0,
# -trimpath) for linux and darwin on amd64 and arm64, each in
# lockgate-VERSION-OS-ARCH.tar.gz with LICENSE, README.md and CHANGELOG.md,
# and SHA256SUMS over the archives.
#
#   scripts/release.sh [-o DIR] [OS/ARCH ...]
#
# DIR defaults to dist/; with no OS/ARCH, all four. The version is
# `git describe --tags --always --dirty` (override with VERSION=…), the
# commit `git rev-parse HEAD`, the date the commit's (so that two builds of
# one commit are byte-identical). `lockgate version -o json` shows them.
# GZIP_LEVEL (1-9, default 9) sets the archives' compression: releases use
# 9; TestReleaseScript uses 1, as -9 costs it seconds and proves nothing more.
# Tested by TestReleaseScript (cmd/lockgate/packaging_test.go).
set -euo pipefail

out=dist
while getopts o: opt; do
  case $opt in
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-o DIR] [OS/ARCH ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
date="${DATE:-$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$epoch" +%Y-%m-%dT%H:%M:%SZ)}"
level="${GZIP_LEVEL:-9}"
case $level in
  [1-9]) ;;
  *) echo "release: GZIP_LEVEL=$level: want a compression level from 1 to 9" >&2; exit 2 ;;
esac
ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$date"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

archives=()
for target in "${targets[@]}"; do
  goos="${target%/*}" goarch="${target#*/}"
  case "$goos/$goarch" in
    linux/amd64 | linux/arm64 | darwin/amd64 | darwin/arm64) ;;
    *) echo "release: unsupported target $target (linux or darwin, amd64 or arm64)" >&2; exit 2 ;;
  esac
  name="lockgate-$version-$goos-$goarch"
  echo "building $name"
  mkdir -p "$work/$name"
  CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" \
    go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$work/$name/lockgate" ./cmd/lockgate
  cp LICENSE README.md CHANGELOG.md "$work/$name/"
  # Same files, same order, same times, same owner: the same archive.
  tarflags=()
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    tarflags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
  fi
  tar -C "$work" "${tarflags[@]}" -cf - "$name" | gzip -n "-$level" > "$out/$name.tar.gz"
  archives+=("$name.tar.gz")
done

cd "$out"
if command -v sha256sum >/dev/null; then
  sha256sum "${archives[@]}" > SHA256SUMS
else
  shasum -a 256 "${archives[@]}" > SHA256SUMS
fi
cat SHA256SUMS
