#!/usr/bin/env bash
# Benchmark `gwdoctor probe` against `nmap -sT -Pn -n -T4` on the same ports,
# inside two network namespaces that the run creates and removes.
# Needs root, iproute2, nftables and nmap (installed here if missing).
# Usage: bench/probe-bench.sh [-runs N] [-no-nmap]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "probe-bench: needs root (network namespaces, nftables)" >&2
	exit 2
fi
for tool in ip nft; do
	command -v "$tool" >/dev/null || { echo "probe-bench: $tool missing (apt-get install -y iproute2 nftables)" >&2; exit 2; }
done
if ! command -v nmap >/dev/null && [[ " $* " != *" -no-nmap "* ]]; then
	echo "probe-bench: installing nmap for the comparison" >&2
	apt-get install -y nmap >/dev/null
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/gwdoctor" ./cmd/gwdoctor
go build -o "$bin/probebench" ./bench/probebench
"$bin/probebench" -gwdoctor "$bin/gwdoctor" "$@"
