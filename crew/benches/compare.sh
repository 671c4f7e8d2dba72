#!/usr/bin/env bash
# crew vs GNU parallel, xargs -P and rust-parallel on the workloads of the
# crew issue, timed with hyperfine. Tools that are not installed are skipped.
#
#   bash crew/benches/compare.sh            # prints a markdown report
#   RUNS=10 bash crew/benches/compare.sh    # more runs per measurement
#
# Needs: hyperfine (apt install hyperfine), a release build of crew (built
# here if missing). Optional peers: parallel (apt install parallel), xargs
# (findutils), rust-parallel (cargo install rust-parallel; found on PATH or
# via RUST_PARALLEL=/path/to/rust-parallel). Peak memory needs /usr/bin/time.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${RUNS:-5}"
slow_runs="${SLOW_RUNS:-3}"
jobs_true="${JOBS_TRUE:-5000}"

if ! command -v hyperfine >/dev/null; then
    echo "compare.sh: hyperfine is not installed (apt-get install hyperfine); nothing measured" >&2
    exit 0
fi

target="${CARGO_TARGET_DIR:-$here/target}"
crew="${CREW:-$target/release/crew}"
if [ ! -x "$crew" ]; then
    (cd "$here" && cargo build --release -p workcrew-cli >&2)
fi

parallel_bin="$(command -v parallel || true)"
if [ -n "$parallel_bin" ] && ! "$parallel_bin" --version 2>/dev/null | grep -q GNU; then
    parallel_bin=""   # moreutils' parallel has another syntax
fi
xargs_bin="$(command -v xargs || true)"
rp_bin="${RUST_PARALLEL:-$(command -v rust-parallel || true)}"
time_bin=""
[ -x /usr/bin/time ] && time_bin=/usr/bin/time

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seq "$jobs_true" > "$work/lines"
for _ in $(seq 500); do echo 0.05; done > "$work/sleeps"
for _ in $(seq 20); do echo 20000000; done > "$work/big"
for _ in $(seq 20); do echo 20000000 /dev/zero; done > "$work/big-args"
# GNU parallel asks for a citation once unless this file exists; create it
# in a throwaway HOME so the benchmark never touches the real one.
export HOME="$work/home"
mkdir -p "$HOME/.parallel" && touch "$HOME/.parallel/will-cite"

echo "# crew benchmarks"
echo
echo "Machine: $(nproc) cores, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Tools: crew $("$crew" --version | cut -d' ' -f2)$([ -n "$parallel_bin" ] && echo ", GNU parallel $("$parallel_bin" --version | head -1 | awk '{print $3}')")$([ -n "$xargs_bin" ] && echo ", xargs ($(xargs --version | head -1))")$([ -n "$rp_bin" ] && echo ", $("$rp_bin" --version)")."
echo

# bench NAME RUNS -- then pairs of "label" "command"
bench() {
    local name="$1" count="$2"
    shift 2
    local args=()
    while [ "$#" -gt 0 ]; do
        args+=(-n "$1" "$2")
        shift 2
    done
    echo "## $name"
    echo
    hyperfine -N -i --warmup 1 --runs "$count" --style none \
        --export-markdown "$work/$name.md" --export-json "$work/$name.json" "${args[@]}" >/dev/null 2>&1 || true
    cat "$work/$name.md" 2>/dev/null || echo "(hyperfine failed)"
    echo
}

true_pairs() {
    local keep="$1" out=()
    out+=("crew $keep" "sh -c '$crew -j2 $keep true < $work/lines'")
    [ -n "$parallel_bin" ] && out+=("GNU parallel $keep" "sh -c '$parallel_bin -j2 $keep true < $work/lines'")
    [ -n "$xargs_bin" ] && [ -z "$keep" ] && out+=("xargs -P2" "sh -c '$xargs_bin -P2 -n1 true < $work/lines'")
    [ -n "$rp_bin" ] && out+=("rust-parallel $keep" "sh -c '$rp_bin -j2 $keep true < $work/lines'")
    printf '%s\n' "${out[@]}"
}

mapfile -t pairs < <(true_pairs "")
bench "throughput: $jobs_true x true at -j2" "$slow_runs" "${pairs[@]}"
mapfile -t pairs < <(true_pairs "-k")
bench "keep order: $jobs_true x true at -j2 with -k" "$slow_runs" "${pairs[@]}"

pairs=("crew (no input)" "sh -c '$crew true < /dev/null'" "crew (one job)" "$crew true ::: x")
[ -n "$parallel_bin" ] && pairs+=("GNU parallel (one job)" "$parallel_bin true ::: x")
[ -n "$rp_bin" ] && pairs+=("rust-parallel (one job)" "$rp_bin true ::: x")
pairs+=("plain true (reference)" "true")
bench "startup" "$((runs * 4))" "${pairs[@]}"

pairs=("crew" "sh -c '$crew -j50 sleep < $work/sleeps'")
[ -n "$parallel_bin" ] && pairs+=("GNU parallel" "sh -c '$parallel_bin -j50 sleep < $work/sleeps'")
[ -n "$xargs_bin" ] && pairs+=("xargs -P50" "sh -c '$xargs_bin -P50 -n1 sleep < $work/sleeps'")
[ -n "$rp_bin" ] && pairs+=("rust-parallel" "sh -c '$rp_bin -j50 sleep < $work/sleeps'")
bench "fan-out: 500 x sleep 0.05 at -j50 (ideal 0.5 s)" "$runs" "${pairs[@]}"

pairs=("crew" "$crew --timeout 0.2 sleep ::: 5")
[ -n "$parallel_bin" ] && pairs+=("GNU parallel" "$parallel_bin --timeout 0.2 sleep ::: 5")
[ -n "$rp_bin" ] && pairs+=("rust-parallel" "$rp_bin -t 0.2 sleep ::: 5")
command -v timeout >/dev/null && pairs+=("coreutils timeout (reference)" "timeout 0.2 sleep 5")
bench "timeout: --timeout 0.2 on sleep 5 (ideal 0.2 s)" "$runs" "${pairs[@]}"

if [ -n "$time_bin" ]; then
    echo "## memory: 20 jobs x 20 MB of output, piped to cat (peak RSS of the runner)"
    echo
    echo "| tool | peak RSS | wall time |"
    echo "|:---|---:|---:|"
    measure_rss() {
        local label="$1"
        shift
        local line
        line="$("$time_bin" -f '%M %e' sh -c "$* | cat > /dev/null" 2>&1 >/dev/null | tail -1)"
        # %M of `sh` is the largest of sh and its children: the runner.
        echo "| $label | $(echo "$line" | awk '{printf "%.1f MB", $1/1024}') | $(echo "$line" | awk '{print $2 " s"}') |"
    }
    measure_rss "crew" "$crew -j4 head -c {} /dev/zero < $work/big"
    measure_rss "crew -k" "$crew -k -j4 head -c {} /dev/zero < $work/big"
    [ -n "$parallel_bin" ] && measure_rss "GNU parallel" "$parallel_bin -j4 head -c {} /dev/zero < $work/big"
    [ -n "$xargs_bin" ] && measure_rss "xargs -P4 (ungrouped)" "$xargs_bin -P4 -n2 head -c < $work/big-args"
    [ -n "$rp_bin" ] && measure_rss "rust-parallel" "$rp_bin -j4 head -c < $work/big-args"
    echo
fi

if command -v python3 >/dev/null; then
    echo "## summary"
    echo
    python3 - "$work" "$jobs_true" <<'EOF'
import json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
def load(prefix):
    for name in os.listdir(work):
        if name.startswith(prefix) and name.endswith(".json"):
            return {r["command"]: r for r in json.load(open(os.path.join(work, name)))["results"]}
    return {}
plain, keep = load("throughput"), load("keep order")
print("| tool | jobs/s (true, -j2) | with -k | -k cost |")
print("|:---|---:|---:|---:|")
for label, r in plain.items():
    base = label.strip()
    k = next((v for key, v in keep.items() if key.strip().startswith(base)), None)
    rate = n / r["mean"]
    krate = n / k["mean"] if k else None
    cost = f'{(k["mean"] / r["mean"] - 1) * 100:+.1f} %' if k else "n/a"
    print(f"| {base} | {rate:,.0f} | {f'{krate:,.0f}' if krate else 'n/a'} | {cost} |")
EOF
    echo
fi
