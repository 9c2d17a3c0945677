# tracestates.awk: where a lock-check run's time goes, from a runtime trace.
#
#   cd internal/httpapi
#   flock /tmp/bench.lock /tmp/httpapi.test -test.run '^$' \
#     -test.bench 'LockCheckHTTP/lockgate-sqlite' -test.benchtime 20000x -test.trace /tmp/lc.trace
#   go tool trace -d=parsed /tmp/lc.trace > /tmp/lc.parsed
#   end=$(grep -o 'Time=[0-9]*' /tmp/lc.parsed | tail -1 | cut -d= -f2)
#   awk -v lo=$((end-1000000000)) -v hi=$((end-100000000)) -f bench/lockcheck/tracestates.awk /tmp/lc.parsed
#
# lo and hi (trace nanoseconds) pick a window inside the measured part of
# the run (the trace starts before the store is opened). For every moment
# of the window it counts the goroutines running (r), in a system call
# (s: the P is held, the runtime counts it busy) and runnable (rq), and how
# many handlers wait for their attempt's commit (a goroutine parked with
# store.(*batcher).write on its stack), and prints the share of the window
# spent in each combination, most first; "all-wait" is the share of the
# window with no goroutine running or runnable and 60 or more of the
# benchmark's 64 handlers waiting on a commit.
function flush() {
	if (pend == "") return
	split(pend, p, " "); g = p[1]; from = p[2]; to = p[3]; t = p[4] + 0
	if (last > 0 && t > lo && t < hi) {
		d = t - last; tot += d
		k = (run > 2 ? 2 : run) "r/" (sys > 2 ? 2 : sys) "s/" (rq > 0 ? "rq" : "--")
		dur[k] += d
		if (run == 0 && rq == 0 && cw >= 60) allwait += d
		cwsum += cw * d
	}
	last = t
	if (from == "Running") run--; if (from == "Syscall") sys--; if (from == "Runnable") rq--
	if (from == "Waiting" && wc[g]) { cw--; wc[g] = 0 }
	if (to == "Running") run++; if (to == "Syscall") sys++; if (to == "Runnable") rq++
	if (to == "Waiting" && stk ~ /batcher\)\.write/) { cw++; wc[g] = 1 }
	pend = ""; stk = ""
}
/StateTransition/ && /GoID=/ {
	flush()
	match($0, /Time=[0-9]+/); t = substr($0, RSTART + 5, RLENGTH - 5)
	match($0, /GoID=[0-9]+/); g = substr($0, RSTART + 5, RLENGTH - 5)
	match($0, /[A-Za-z]+->[A-Za-z]+/); split(substr($0, RSTART, RLENGTH), a, "->")
	pend = g " " a[1] " " a[2] " " t
	next
}
/^\t[a-zA-Z]/ { if (pend != "") stk = stk " " $1; next }
/^M=/ { flush() }
END {
	flush()
	if (tot == 0) { print "no events in the window"; exit 1 }
	n = 0
	for (k in dur) order[++n] = k
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (dur[order[j]] > dur[order[i]]) { x = order[i]; order[i] = order[j]; order[j] = x }
	for (i = 1; i <= n && i <= 10; i++) printf "%-10s %5.1f%%\n", order[i], 100 * dur[order[i]] / tot
	printf "all-wait   %5.1f%%\nwindow %.3f s, handlers waiting on a commit %.1f on average\n", 100 * allwait / tot, tot / 1e9, cwsum / tot
}
