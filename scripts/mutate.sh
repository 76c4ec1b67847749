#!/bin/bash
# mutate.sh - mutation testing: plant one bug at a time, check the tests notice.
#
# Usage: scripts/mutate.sh [--list FILE] [--id ID]... [--sample K] [--seed S]
#                          [--budget SEC] [-j N] [--dir DIR] [--check]
#   (no selection)  every mutation of the list
#   --id ID         only that one (repeatable)
#   --sample K      K mutations drawn by a seed (default: today's UTC date, so
#                   a daily CI run rotates through the list); --seed S replays
#   --budget SEC    start no mutation after SEC seconds (the rest: "not run")
#   -j N            ninja and ctest parallelism (default 2)
#   --dir DIR       work directory (default build-mutate; one run at a time each)
#   --check         only validate the list (every text occurs exactly once)
#
# The list (tests/mutations.tsv) has one mutation a line, tab-separated:
#   id  file  text  replacement  tests  expect  breaks
# text must occur exactly once in file (else the whole run refuses: the list
# cannot rot silently); \t, \n and \\ in text and replacement are escapes.
# tests are ctest names, comma-separated: only those run for this mutation.
# expect is "killed", or "equivalent" when no test can tell (the last column
# then says why).  Lines starting with # and blank lines are ignored.
#
# The work happens on a copy of the source tree (build-mutate/tree, synced
# from this checkout at the start), built in build-mutate/build: the
# checkout is never modified, so editing it during a run is safe.  Each
# mutation is applied to the copy, rebuilt incrementally (only the named
# tests and the tide binary), its tests run under a timeout (a hang counts
# as killed), and the file restored (also on failure or Ctrl-C).  The clean
# copy is built and its tests run first: a mutation is judged only by tests
# that pass without it.  Logs: build-mutate/logs/ID.log.
#
# Exit status: 0 when every mutation was killed or is a listed equivalent;
# 1 on an unexplained survivor, an equivalent that was killed (fix the list),
# or a mutant that does not compile; 2 on a bad list or usage.
set -u
cd "$(dirname "$0")/.."
root=$PWD
list=tests/mutations.tsv
ids=()
sample=0
seed=$(date -u +%Y%m%d)
budget=0
jobs=2
check_only=0
work=build-mutate
while [ $# -gt 0 ]; do
    case "$1" in
    --list) list=$2; shift ;;
    --id) ids+=("$2"); shift ;;
    --sample) sample=$2; shift ;;
    --seed) seed=$2; shift ;;
    --budget) budget=$2; shift ;;
    -j) jobs=$2; shift ;;
    --dir) work=$2; shift ;;
    --check) check_only=1 ;;
    *) sed -n '2,/^set -u/p' "$0" | sed '$d' >&2; exit 2 ;;
    esac
    shift
done

case "$work" in /*) ;; *) work=$root/$work ;; esac
tree=$work/tree
bdir=$work/build
logs=$work/logs
mkdir -p "$tree" "$logs"

# --- the list: parse, validate against the checkout, select -----------------
# Prints the selected mutations as NUL-separated records of 7 fields
# (escapes decoded), or the errors of the list on stderr and exits 2.
select_mutations() {
    perl -e '
        use strict; use warnings;
        my ($list, $root, $sample, $seed, @want) = @ARGV;
        my (%seen, @all, $bad);
        open(my $fh, "<", $list) or die "$list: $!\n";
        sub unesc { my $s = shift; $s =~ s/\\(.)/$1 eq "t" ? "\t" : $1 eq "n" ? "\n" : $1/ge; $s }
        while (my $line = <$fh>) {
            chomp $line;
            next if $line =~ /^\s*(#|$)/;
            my @f = split /\t/, $line, -1;
            my $where = "$list:$.";
            if (@f != 7) { warn "$where: ", scalar(@f), " fields, want 7\n"; $bad = 1; next }
            my ($id, $file, $text, $repl, $tests, $expect) = @f;
            if ($seen{$id}++) { warn "$where: duplicate id $id\n"; $bad = 1 }
            if ($expect ne "killed" && $expect ne "equivalent") {
                warn "$where: $id: expect is \"$expect\", want killed or equivalent\n"; $bad = 1;
            }
            if ($tests !~ /^[\w.-]+(,[\w.-]+)*$/) { warn "$where: $id: bad test list \"$tests\"\n"; $bad = 1 }
            my ($t, $r) = (unesc($text), unesc($repl));
            if ($t eq $r) { warn "$where: $id: replacement equals text\n"; $bad = 1 }
            my $src;
            if (open(my $sf, "<", "$root/$file")) { local $/; $src = <$sf>; close $sf }
            else { warn "$where: $id: cannot read $file\n"; $bad = 1; next }
            my ($n, $pos) = (0, 0);
            while (($pos = index($src, $t, $pos)) >= 0) { $n++; $pos += length($t) || 1 }
            if ($n != 1) { warn "$where: $id: text occurs $n times in $file (want exactly once): $text\n"; $bad = 1 }
            push @all, [$id, $file, $t, $r, $tests, $expect, $f[6]];
        }
        exit 2 if $bad;
        my @sel = @all;
        if (@want) {
            my %byid = map { $_->[0] => $_ } @all;
            for (@want) { exists $byid{$_} or do { warn "no mutation $_ in $list\n"; exit 2 } }
            @sel = map { $byid{$_} } @want;
        } elsif ($sample > 0) {
            srand($seed =~ /^\d+$/ ? $seed : unpack("%32C*", $seed));
            for (my $i = $#sel; $i > 0; $i--) { my $j = int(rand($i + 1)); @sel[$i, $j] = @sel[$j, $i] }
            splice(@sel, $sample) if $sample < @sel;
        }
        print join("\0", @$_), "\0" for @sel;
    ' "$list" "$root" "$sample" "$seed" "${ids[@]}"
}

records=$work/selected
if ! select_mutations >"$records"; then
    echo "mutate: $list is not valid (above); nothing run" >&2
    exit 2
fi
mapfile -d '' -t rec <"$records"
count=$((${#rec[@]} / 7))
if [ "$check_only" = 1 ]; then
    echo "mutate: $list is valid ($count mutations)"
    exit 0
fi
[ "$count" -gt 0 ] || { echo "mutate: nothing selected" >&2; exit 2; }
if [ "$sample" -gt 0 ]; then echo "mutate: a sample of $count (seed $seed; replay with --seed $seed)"; fi

# --- the copy of the tree ----------------------------------------------------
# Copy what differs (a changed file gets a new mtime, so ninja rebuilds it)
# and delete what the checkout no longer has.
sync_tree() {
    local files f
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        files=$(git -C "$root" ls-files -co --exclude-standard | grep -v -E '^(build|tide-data)')
    else
        files=$(cd "$root" && find . -type f ! -path './build*' ! -path './.git/*' | sed 's|^\./||')
    fi
    declare -A keep=()
    while IFS= read -r f; do
        [ -f "$root/$f" ] || continue
        keep[$f]=1
        if ! cmp -s "$root/$f" "$tree/$f"; then
            mkdir -p "$(dirname "$tree/$f")"
            cp "$root/$f" "$tree/$f"
        fi
    done <<<"$files"
    while IFS= read -r f; do
        [ -n "${keep[$f]:-}" ] || rm -f "$tree/$f"
    done < <(cd "$tree" && find . -type f | sed 's|^\./||')
}
sync_tree

# The mutated file and its clean content, restored on any exit.
cur_file=""
restore() {
    if [ -n "$cur_file" ]; then
        cat "$work/clean" >"$tree/$cur_file"
        cur_file=""
    fi
}
trap 'restore' EXIT
trap 'restore; echo "mutate: interrupted" >&2; exit 130' INT TERM

if [ ! -f "$bdir/build.ninja" ]; then
    cmake -S "$tree" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$logs/configure.log" 2>&1 ||
        { echo "mutate: cmake failed: $logs/configure.log" >&2; exit 1; }
fi

# ninja targets and a ctest regex for a comma-separated test list.
targets_of() { echo "tide $(echo "$1" | tr ',' '\n' | grep -v '^e2e_' | tr '\n' ' ')"; }
regex_of() { echo "^($(echo "$1" | sed 's/,/|/g'))\$"; }

# --- baseline: the named tests pass on the clean tree -------------------------
declare -A base_s=()
all_tests=$(for ((i = 0; i < count; i++)); do echo "${rec[i * 7 + 4]}"; done | tr ',' '\n' | sort -u | paste -sd,)
echo "mutate: building the clean tree and running its tests ($all_tests)"
# shellcheck disable=SC2046
if ! ninja -C "$bdir" -j "$jobs" $(targets_of "$all_tests") >"$logs/baseline-build.log" 2>&1; then
    echo "mutate: the clean tree does not build: $logs/baseline-build.log" >&2
    exit 1
fi
ctest --test-dir "$bdir" -R "$(regex_of "$all_tests")" -j "$jobs" --output-on-failure >"$logs/baseline.log" 2>&1
base_rc=$?
for t in $(echo "$all_tests" | tr ',' ' '); do
    s=$(sed -n -E "s/^.*Test +#[0-9]+: $t \.+ +Passed +([0-9.]+) sec.*$/\1/p" "$logs/baseline.log")
    if [ -z "$s" ]; then
        echo "mutate: $t does not pass (or does not exist) on the clean tree: $logs/baseline.log" >&2
        exit 1
    fi
    base_s[$t]=$s
done
[ "$base_rc" = 0 ] || { echo "mutate: the baseline failed: $logs/baseline.log" >&2; exit 1; }

# --- one mutation at a time ---------------------------------------------------
n_killed=0 n_equiv=0 n_surv=0 n_equiv_killed=0 n_error=0 n_notrun=0
survivors="" problems=""
start=$(date +%s)
for ((i = 0; i < count; i++)); do
    id=${rec[i * 7]} file=${rec[i * 7 + 1]} text=${rec[i * 7 + 2]} repl=${rec[i * 7 + 3]}
    tests=${rec[i * 7 + 4]} expect=${rec[i * 7 + 5]}
    if [ "$budget" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$budget" ]; then
        n_notrun=$((count - i))
        echo "mutate: time budget of ${budget}s spent; $n_notrun not run"
        break
    fi
    t0=$(date +%s)
    log=$logs/$id.log
    cp "$tree/$file" "$work/clean"
    cur_file=$file
    TEXT=$text REPL=$repl perl -0777 -i -pe '
        my $p = index($_, $ENV{TEXT});
        die "text not found\n" if $p < 0;
        substr($_, $p, length($ENV{TEXT})) = $ENV{REPL};' "$tree/$file" || {
        restore
        echo "mutate: $id: could not apply" >&2
        exit 1
    }
    # Timeout: 3 times what the tests took on the clean tree, plus 20 s.
    limit=$(for t in $(echo "$tests" | tr ',' ' '); do echo "${base_s[$t]}"; done |
        awk '{ s += $1 } END { printf "%d", 3 * s + 20 }')
    # shellcheck disable=SC2046
    if ! ninja -C "$bdir" -j "$jobs" $(targets_of "$tests") >"$log" 2>&1; then
        result="error: does not compile"
        n_error=$((n_error + 1))
        problems="$problems $id"
    else
        timeout -k 5 "$limit" ctest --test-dir "$bdir" -R "$(regex_of "$tests")" -j "$jobs" \
            --output-on-failure >>"$log" 2>&1
        rc=$?
        failed=$(sed -n -E 's/^[[:space:]]+[0-9]+ - ([^ ]+) .*$/\1/p' "$log" | paste -sd,)
        if [ "$rc" = 0 ]; then
            if [ "$expect" = equivalent ]; then
                result="survived (listed equivalent)"
                n_equiv=$((n_equiv + 1))
            else
                result="SURVIVED"
                n_surv=$((n_surv + 1))
                survivors="$survivors $id"
            fi
        else
            if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timeout ${limit}s"; else why="by ${failed:-?}"; fi
            if [ "$expect" = equivalent ]; then
                result="killed $why, but listed equivalent: fix the list"
                n_equiv_killed=$((n_equiv_killed + 1))
                problems="$problems $id"
            else
                result="killed $why"
                n_killed=$((n_killed + 1))
            fi
        fi
    fi
    restore
    printf '%-28s %-40s %4ss  %s\n' "$id" "$file" $(($(date +%s) - t0)) "$result"
done

ran=$((n_killed + n_equiv + n_surv + n_equiv_killed + n_error))
judged=$((n_killed + n_surv))
echo "mutate: $ran run: $n_killed killed, $n_surv survived, $n_equiv equivalent, $n_error not compiling," \
    "$n_equiv_killed equivalents killed, $n_notrun not run; score $n_killed/$judged killed" \
    "(equivalents excluded)"
[ -z "$survivors" ] || echo "mutate: unexplained survivors:$survivors (logs in $logs)"
[ -z "$problems" ] || echo "mutate: list problems:$problems (logs in $logs)"
[ -z "$survivors$problems" ]
