#!/usr/bin/env bash
# Whether the per-step times of `mobilenet bench --profile` add up to the end-to-end latency:
# V1, V2, V3-Large and V3-Small at batch 1 and 32, one Markdown table row each (BENCHMARKS.md).
# Run after `make release`, on a quiet machine; extra arguments go to every bench run, e.g.
#     Scripts/profile_overhead.sh --threads 2 --iterations 100
set -euo pipefail
mobilenet="${MOBILENET:-.build/release/mobilenet}"
[ -x "$mobilenet" ] || { echo "profile_overhead: $mobilenet not found; run make release first" >&2; exit 1; }
printf '| variant | batch | steps | end to end p50 | sum of step p50s | between steps |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for variant in v1 v2 v3-large v3-small; do
    for batch in 1 32; do
        # The table's first line names the setting; its last, "steps sum to S µs; end to end ...
        # p50 E µs: D µs (P%) between steps".
        "$mobilenet" bench --variant "$variant" --batch "$batch" --profile --peak-gflops 1 --peak-gbps 1 "$@" | awk -v variant="$variant" -v batch="$batch" '
            NR == 1 { setting = $0 }
            /^ *[0-9]+  / { steps++ }
            /^steps sum to/ { sum = $4; e2e = $14; between = $16; share = $18 }
            END { gsub(/[()]/, "", share); printf "| %s | %d | %d | %s µs | %s µs | %s µs (%s) |\n", variant, batch, steps, e2e, sum, between, share; print setting > "/dev/stderr" }'
    done
done
