#!/usr/bin/env bash
# Compile benchmark (DESIGN.md §7): for each project size N, time side by
# side, best of $RUNS runs, (a) the floor - a single-threaded libyaml parse
# of every file, (b) `struere check` with STRUERE_THREADS=1 and with the
# default thread count, (c) ajv-cli validating the same definitions as JSON
# against the schemas struere exports. Prints a Markdown table on stdout;
# progress goes to stderr.
#
#   bench/compile.sh [N ...]          default: 1000 10000 100000
#   RUNS=5 STRUERE=path/to/struere bench/compile.sh 10000
#
# Generated projects are kept in build/bench/proj-N (and their JSON form in
# build/bench/json-N) and reused; delete them to regenerate.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
work=$root/build/bench
struere=${STRUERE:-$root/build/release/struere}
runs=${RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)

die() { echo "compile.sh: $*" >&2; exit 1; }
say() { echo "compile.sh: $*" >&2; }

for n in "${sizes[@]}"; do
    if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 7 ]; then
        die "size '$n' is not a number >= 7"
    fi
done

# --- prerequisites ---------------------------------------------------------

[ -x "$struere" ] || die "$struere is missing or not executable.
Build the compiler first (make; the release build goes to build/release/struere),
or point STRUERE=/path/to/struere at one."

timebin=/usr/bin/time
if [ ! -x "$timebin" ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        say "installing GNU time"
        apt-get install -y -q time >&2 || die "could not install GNU time (apt-get install time)"
    else
        die "GNU time is missing at /usr/bin/time (apt-get install time)"
    fi
fi
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
python3 -c 'import yaml' 2>/dev/null || die "bench/to-json.py needs PyYAML (pip install pyyaml)"
command -v node >/dev/null || die "node is missing (ajv-cli baseline)"

mkdir -p "$work"

floor=$work/floor
if [ ! -x "$floor" ] || [ "$bench/floor.c" -nt "$floor" ]; then
    say "building $floor"
    # shellcheck disable=SC2046
    ${CC:-cc} -O2 "$bench/floor.c" $(pkg-config --cflags --libs yaml-0.1) -o "$floor" \
        || die "could not build bench/floor.c (needs libyaml-dev and pkg-config)"
fi

if [ ! -x "$bench/ajv/node_modules/.bin/ajv" ]; then
    say "installing ajv-cli (npm ci in bench/ajv)"
    (cd "$bench/ajv" && npm ci --no-audit --no-fund >&2) || die "npm ci in bench/ajv failed"
fi

schemas=$work/schemas
rm -rf "$schemas"
"$struere" schema export "$schemas" >&2 || die "'struere schema export' failed"
for k in project agent data role automation tool eval fixture; do
    [ -f "$schemas/$k.json" ] || die "'struere schema export' wrote no $schemas/$k.json"
done

# --- timing ----------------------------------------------------------------

# measure NAME CMD...: run CMD $runs times; set best_s (wall seconds, from
# bash's microsecond clock) and best_mb (peak RSS of that run, from GNU
# time's %M). Output goes to $work/last.out / last.err; a failing run aborts.
measure() {
    local name=$1; shift
    local i t0 t1 s rss
    best_s='' best_mb=''
    for ((i = 1; i <= runs; i++)); do
        t0=$EPOCHREALTIME
        if ! "$timebin" -f "%e %M" -o "$work/last.time" "$@" \
                >"$work/last.out" 2>"$work/last.err"; then
            sed -n '1,20p' "$work/last.err" "$work/last.out" >&2
            die "$name failed (exit non-zero): $*"
        fi
        t1=$EPOCHREALTIME
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        rss=$(awk 'END { printf "%.1f", $2 / 1024 }' "$work/last.time")
        if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
            best_s=$s best_mb=$rss
        fi
    done
    say "  $name: best ${best_s}s, ${best_mb} MB"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- header ----------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$cpu" ] || cpu=$(uname -m)
echo "# struere compile benchmark"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) cores, ${cpu}, $(uname -sr)"
echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- struere: $("$struere" --version 2>/dev/null | head -1 || true) ($struere)"
echo "- libyaml $(pkg-config --modversion yaml-0.1), node $(node --version)," \
     "ajv-cli $(node -p 'require(process.argv[1]).version' "$bench/ajv/node_modules/ajv-cli/package.json")," \
     "ajv $(node -p 'require(process.argv[1]).version' "$bench/ajv/node_modules/ajv/package.json")"
echo "- command: bench/compile.sh ${sizes[*]} (best of $runs, wall clock; peak RSS from GNU time)"
echo

table="| N | files | floor s | struere s (1 thread) | struere s ($(nproc) cores) | ajv s | struere/floor | struere 1t/floor | ajv/struere | floor MB | struere 1t MB | struere MB | ajv MB |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
notes=()

for n in "${sizes[@]}"; do
    proj=$work/proj-$n json=$work/json-$n
    if [ ! -f "$proj.done" ]; then
        say "generating $n definitions into $proj"
        rm -rf "$proj" "$json" "$json.done"
        python3 "$bench/gen-project.py" "$n" "$proj" || die "gen-project.py failed"
        touch "$proj.done"
    fi
    if [ ! -f "$json.done" ]; then
        say "converting $proj to JSON in $json (not timed)"
        rm -rf "$json"
        python3 "$bench/to-json.py" "$proj" "$json" || die "to-json.py failed"
        touch "$json.done"
    fi

    # Gate (untimed; also warms the page cache): the project must be valid.
    if ! "$struere" -C "$proj" check >"$work/check.out" 2>&1; then
        sed -n '1,30p' "$work/check.out" >&2
        die "struere check rejected the generated project $proj (above).
Run bench/check-project.py $proj: if it reports no problems, the generator
agrees with DESIGN.md and the compiler is at fault."
    fi
    ajv_mark=
    if ! "$bench/ajv/validate.sh" "$schemas" "$json" 2>"$work/ajv.err" >/dev/null; then
        ajv_mark='\*'
        notes+=("\\* N=$n: ajv-cli reported invalid files against the exported schemas (first: $(grep -m1 ' invalid$' "$work/ajv.err" || echo '?')); its time is still shown.")
        say "warning: ajv-cli rejected some files for N=$n; see $work/ajv.err"
        cp "$work/ajv.err" "$work/ajv-$n.err"
    fi

    say "N=$n"
    measure floor "$floor" "$proj"
    files=$(awk '{ print $2 }' "$work/last.out")
    floor_s=$best_s floor_mb=$best_mb

    measure "struere check (1 thread)" env STRUERE_THREADS=1 "$struere" -C "$proj" check
    st1_s=$best_s st1_mb=$best_mb

    measure "struere check" env -u STRUERE_THREADS "$struere" -C "$proj" check
    st_s=$best_s st_mb=$best_mb

    # validate.sh exits 1 on invalid files; time it anyway once flagged above.
    if [ -n "$ajv_mark" ]; then
        # shellcheck disable=SC2016 # expanded by the inner sh
        measure ajv-cli sh -c '"$0" "$@" || true' "$bench/ajv/validate.sh" "$schemas" "$json"
    else
        measure ajv-cli "$bench/ajv/validate.sh" "$schemas" "$json"
    fi
    ajv_s=$best_s ajv_mb=$best_mb

    table+="
| $n | $files | $floor_s | $st1_s | $st_s | $ajv_s$ajv_mark | $(ratio "$st_s" "$floor_s") | $(ratio "$st1_s" "$floor_s") | $(ratio "$ajv_s" "$st_s") | $floor_mb | $st1_mb | $st_mb | $ajv_mb |"
done

echo "$table"
echo
echo "struere/floor and ajv/struere use the default (all cores) struere run."
echo "Targets (DESIGN.md §7, at N=10000): struere/floor <= 1.5 (aim < 1), ajv/struere >= 3."
echo "ajv is one ajv-cli run per definition kind (8 node start-ups), validating the"
echo "JSON conversion (bench/to-json.py, not timed) against \`struere schema export\`."
for note in "${notes[@]+"${notes[@]}"}"; do
    echo
    echo "$note"
done
