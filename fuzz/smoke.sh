#!/usr/bin/env bash
# Fuzz smoke for CI: builds every fuzz target and runs each for 20 s on its committed seeds
# (fuzz/seeds/<target>/), failing on the first crash, timeout or leak libFuzzer reports.
# Needs a nightly toolchain (`cargo +nightly`); installs cargo-fuzz if it is missing. Without a
# nightly toolchain it prints one "skipped" line and exits 0.
#
#   fuzz/smoke.sh            every target, 20 s each
#   FUZZ_SECONDS=5 fuzz/smoke.sh analyze dns_message
#
# New inputs go to a temporary corpus directory (removed on exit), never into fuzz/seeds/.
# Crash reproducers are kept in fuzz/artifacts/<target>/ and named in the failure message.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipped: fuzz smoke needs a nightly toolchain"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz"
    timeout 900 cargo install cargo-fuzz --locked --quiet
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

timeout 1800 cargo +nightly fuzz build --fuzz-dir fuzz

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    seeds=fuzz/seeds/$target
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo "fuzz smoke: $target has no seeds in $seeds (run fuzz/make-seeds.py)" >&2
        failed+=("$target")
        continue
    fi
    mkdir -p "$work/$target"
    log=$work/$target.log
    start=$(date +%s)
    # -timeout: one input taking over 10 s is a failure too. The outer timeout only guards
    # against libFuzzer itself hanging.
    if timeout $((seconds + 120)) cargo +nightly fuzz run --fuzz-dir fuzz "$target" \
        "$work/$target" "$seeds" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
        echo "fuzz smoke: $target ok (${runs:-?} runs, ${cov:-cov: ?}, $(($(date +%s) - start)) s)"
    else
        echo "fuzz smoke: $target FAILED" >&2
        grep -E 'ERROR: libFuzzer|panicked at|SUMMARY|Test unit written to' "$log" >&2 || tail -n 40 "$log" >&2
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets ran ${seconds} s each without a crash"
