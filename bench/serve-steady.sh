#!/usr/bin/env bash
# Steady-state CPU and memory of `gwdoctor serve` against the loopback fakes:
# GATEWAYS gateways × ENDPOINTS endpoints each (fakecloud.Fleet), LATENCY
# added to every cloud and Kubernetes call, runs every INTERVAL for SECONDS.
# It reads serve's own /metrics (process_cpu_seconds_total,
# process_resident_memory_bytes, gwdoctor_runs_total) at the start and the
# end of the window, and samples the RSS every 2 s for its peak.
#   bash bench/serve-steady.sh                   # 10 × 1000, 20ms, 15s, 180 s
#   INTERVAL=60s SECONDS_=600 bash bench/serve-steady.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GATEWAYS=${GATEWAYS:-10} ENDPOINTS=${ENDPOINTS:-1000} LATENCY=${LATENCY:-20ms}
INTERVAL=${INTERVAL:-15s} WINDOW=${SECONDS_:-180} PORT=${PORT:-19108}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/gwdoctor" ./cmd/gwdoctor
go build -o "$dir/fakelive" ./internal/fakecloud/fakelive
"$dir/fakelive" -scenario fleet -gateways "$GATEWAYS" -endpoints "$ENDPOINTS" -latency "$LATENCY" >"$dir/fake.out" 2>&1 &
for _ in $(seq 100); do grep -q 'serve --live' "$dir/fake.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://127[^ ]*' "$dir/fake.out" | head -1)
kc=$(grep -o -- '--kubeconfig [^ ]*' "$dir/fake.out" | head -1 | cut -d' ' -f2)
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIfake ALIBABA_CLOUD_ACCESS_KEY_SECRET=fake-secret ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
"$dir/gwdoctor" serve --live --aliyun-endpoint "$url" --kubeconfig "$kc" --region cn-hangzhou --all-gateways \
  --interval "$INTERVAL" --listen "127.0.0.1:$PORT" 2>"$dir/serve.log" &
pid=$!
until curl -sf "localhost:$PORT/readyz" >/dev/null; do sleep 0.5; done
metric() { curl -s "localhost:$PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {printf "%.6f", s}'; }
cpu0=$(metric process_cpu_seconds_total); runs0=$(metric gwdoctor_runs_total); t0=$(date +%s.%N)
peak=0
end=$((SECONDS + WINDOW))
while [ $SECONDS -lt $end ]; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 2
done
cpu1=$(metric process_cpu_seconds_total); runs1=$(metric gwdoctor_runs_total); t1=$(date +%s.%N)
rss=$(metric process_resident_memory_bytes); heap=$(metric go_memstats_heap_inuse_bytes)
dur=$(curl -s "localhost:$PORT/metrics" | awk '/^gwdoctor_collection_duration_seconds_sum/ {s+=$2} /^gwdoctor_collection_duration_seconds_count/ {n+=$2} END {printf "%.3f", s/n}')
awk -v c0="$cpu0" -v c1="$cpu1" -v r0="$runs0" -v r1="$runs1" -v t0="$t0" -v t1="$t1" -v g="$GATEWAYS" \
    -v rss="$rss" -v peak="$peak" -v heap="$heap" -v dur="$dur" -v iv="$INTERVAL" 'BEGIN {
  cpu = c1 - c0; runs = r1 - r0; wall = t1 - t0
  per = cpu / runs
  printf "window %.0f s at --interval %s: %d gateway runs, %.2f CPU-s (%.1f%% of one core)\n", wall, iv, runs, cpu, 100 * cpu / wall
  printf "CPU per gateway run: %.3f s; mean collection time %.3f s\n", per, dur
  printf "scaled to a 60 s interval, %d gateways: %.4f cores (%.1f millicores)\n", g, per * g / 60, 1000 * per * g / 60
  printf "RSS now %.0f MiB, peak %.0f MiB; Go heap in use %.0f MiB\n", rss / 1048576, peak / 1024, heap / 1048576
}'
grep -c '"msg":"run finished"' "$dir/serve.log" | sed 's/^/run lines logged: /'
grep '"level":"WARN"\|"level":"ERROR"' "$dir/serve.log" | head -3 || true
