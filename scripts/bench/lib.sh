# Shared by the scripts in scripts/bench (sourced, not run).

# machine: the line every benchmark prints about where it ran: cores, the
# CPU as /proc/cpuinfo names it, memory, Go, and the load average now.
machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
	echo "$(nproc) cores, ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/{print $2}') GiB, $(go env GOVERSION 2>/dev/null || echo 'no go'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ratio WHAT OURS PEER PEER_VALUE OUR_VALUE UNIT: one row of the table
# `make bench` prints, appended to $BENCH_SUMMARY when it is set: our
# figure over the peer tool's in the same run (below 1: we are faster or
# smaller), with the load average at the time.
ratio() {
	local what=$1 ours=$2 peer=$3 theirs=$4 mine=$5 unit=$6
	[ -n "${BENCH_SUMMARY:-}" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$what" "$ours" "$peer" "$mine" "$theirs" "$unit" "$(cut -d' ' -f1 /proc/loadavg)" >>"$BENCH_SUMMARY"
}

# table FILE: the rows ratio() collected, as the Markdown table that
# docs/benchmarks.md records.
table() {
	echo "| what | trustline | peer | trustline's figure | peer's figure | ratio (trustline / peer) | load average |"
	echo "|---|---|---|---|---|---|---|"
	awk -F'\t' '{
		r = ($5 + 0 > 0) ? sprintf("%.2f", $4 / $5) : "-"
		printf "| %s | %s | %s | %s %s | %s %s | **%s** | %s |\n", $1, $2, $3, $4, $6, $5, $6, r, $7
	}' "$1"
}

# start_registry DIR: starts go-containerregistry's registry (built into
# DIR/registry) on a free loopback port, sets regpid (for the caller's
# cleanup) and port, or exits 2 when it does not come up in 10 s.
start_registry() {
	local dir=$1
	: >"$dir/registry.log"
	"$dir/registry" -port 0 2>"$dir/registry.log" &
	regpid=$!
	for _ in $(seq 100); do
		port="$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$dir/registry.log")"
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "registry did not start: $(cat "$dir/registry.log")" >&2
	exit 2
}
