#!/usr/bin/env bash
# The benchmark's host side (run_tests.sh --bench): the guest runs
# hmm_bench in its "bench" job mode and streams its table and CSV lines
# as KTAP diagnostics; this stage keeps them in a results folder,
# $HMM_BUILD/results/<timestamp>/, as bench.csv (for scripts), table.txt
# and bench.png (for people), and names the folder at the end.
#
# HMM_BENCH_ARGS passes options to hmm_bench (e.g. '-m 64 -r 9'; see
# hmm_bench -h).

# bench_csv RAW: the CSV of a guest's stream, one header line first.
bench_csv() {
	sed -n 's/^# csv: //p' "$1" | awk 'NR == 1 || !/^workload,/'
}

# bench_context RAW: what the figures were measured on. The host's load
# matters: the guest's CPUs are threads of a host that may be busy.
bench_context() {
	sed -n 's/^# # hmm_bench: /# hmm_bench: /p' "$1"
	printf '# host: %s CPUs, load average %s at the end\n' "$(nproc)" \
		"$(cut -d ' ' -f 1-3 /proc/loadavg)"
}

# bench_table CSV: the table of every row, ours and the reference's.
bench_table() {
	awk -F, '
		NR == 1 { next }
		NR == 2 {
			printf "%-12s %-4s %-16s %5s %6s %7s %10s %8s %19s  %s\n",
				"workload", "page", "engine", "batch", "setup",
				"dma-ops", "pages/s", "GiB/s", "GiB/s min..max", "note"
		}
		{
			batch = $4 ? $4 : "-"
			setup = $4 ? $5 "us" : "-"
			ops = $8 >= 0 ? $8 : "-"
			printf "%-12s %-4s %-16s %5s %6s %7s %10.0f %8.3f %9.3f..%-9.3f  %s\n",
				$1, $2, $3, batch, setup, ops, $12, $13, $14, $15, $16
		}' "$1"
}

# bench_ratios CSV: the figures the benchmark is about, in words.
bench_ratios() {
	awk -F, '
		NR == 1 { next }
		$1 == "memcpy" { memcpy = $13 }
		$2 == "4k" && $4 == 512 { v[$1 "/" $3 "/" $5] = $13 }
		END {
			n = split("to-dev to-sys anon-nocopy file-nocopy", w, " ")
			for (i = 1; i <= n; i++) {
				for (c in v) {
					split(c, k, "/")
					if (k[1] != w[i] || k[2] != "batched")
						continue
					b = v[c]
					p = v[w[i] "/per-page/" k[3]]
					if (!p)
						continue
					printf "# %s, 4 KiB, 512-page batches, set-up %sus: batched/per-page %.2fx, batched/memcpy %.3f\n",
						w[i], k[3], b / p, memcpy ? b / memcpy : 0
				}
			}
		}' "$1" | sort
}

# bench_series CSV DIR: one data file per series, "batch gib min max"
# lines, named workload_page_engine_setup.dat.
bench_series() {
	awk -F, -v dir="$2" '
		NR == 1 || $4 == 0 { next }
		{
			f = dir "/" $1 "_" $2 "_" $3 "_" $5 ".dat"
			print $4, $13, $14, $15 > f
		}' "$1"
}

# bench_plot CSV PNG: throughput against batch size, one line a series:
# 4 KiB pages, THP, and the engine's set-up costs side by side.
bench_plot() {
	local csv=$1 png=$2 dir memcpy

	dir=$(mktemp -d)
	bench_series "$csv" "$dir"
	memcpy=$(awk -F, '$1 == "memcpy" { print $13 }' "$csv")
	bench_gnuplot "$dir" "${memcpy:-0}" "$png" > "$dir/plot.gp"
	if ! gnuplot "$dir/plot.gp" > "$dir/gnuplot.log" 2>&1; then
		show_tail "$dir/gnuplot.log"
		rm -rf "$dir"
		die "gnuplot failed"
	fi
	rm -rf "$dir"
}

# bench_plot_lines DIR GLOB...: the plot clauses of the series files of
# DIR whose names match a GLOB, each followed by ", " (a panel may have
# none): a colour per workload (per set-up cost
# for anon-nocopy at a cost), dashes for the per-page engine, open
# squares for the kernel's own device.
bench_plot_lines() {
	local dir=$1 f name color style title glob w engine setup
	local -A colors=(
		[to-dev]='#1f77b4' [to-sys]='#2ca02c' [anon-nocopy]='#d62728'
		[anon-sync]='#9467bd' [file-nocopy]='#ff7f0e'
	)

	shift
	for glob in "$@"; do
		for f in "$dir"/$glob; do
			[[ -f $f ]] || continue
			name=$(basename "$f" .dat)
			IFS=_ read -r w _ engine setup <<< "$name"
			color=${colors[$w]:-#333333}
			[[ $setup != 0 ]] && color='#8c564b'
			title="$w $engine"
			[[ $setup != 0 ]] && title+=" (${setup}us set-up)"
			case $engine in
			per-page) style="yerrorlines dt 2 lw 2 pt 6 ps 1" ;;
			kernel-ref) style="yerrorbars pt 4 ps 2.5 lw 2"
				title="$w, the kernel's test_hmm.ko" ;;
			*) style="yerrorlines dt 1 lw 2 pt 7 ps 1" ;;
			esac
			printf '"%s" using 1:2:3:4 with %s lc rgb "%s" title "%s", ' \
				"$f" "$style" "$color" "$title"
		done
	done
}

bench_gnuplot() {
	local dir=$1 memcpy=$2 png=$3 ceiling

	ceiling="$memcpy with lines lc rgb '#555555' dt 3 lw 2 title 'memcpy by the CPU (ceiling)'"
	cat <<EOF
set terminal pngcairo noenhanced size 1600,1150 font 'sans,11'
set output '$png'
set multiplot layout 2,2 title "test_hmm in the QEMU guest: migration throughput against batch size\nmedian of the runs, bars from the slowest to the fastest run; solid: batched DMA engine (one copy per batch), dashed: per-page engine (one copy per page)"
set logscale x 2
set logscale y 10
set xrange [0.7:740]
set xtics (1, 8, 64, 512)
set xlabel 'batch size (pages)'
set ylabel 'GiB/s'
set autoscale yfix
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
set offsets 0, 0, graph 0.1, graph 0.1
set grid
set key outside below maxrows 4 font ',10' height 1
set title 'Device memory and back (migrate_vma_*), 4 KiB pages'
plot $(bench_plot_lines "$dir" 'to-*_4k_*_0.dat')$ceiling
set title 'System to system (NO_COPY vs the kernel copying), 4 KiB pages'
plot $(bench_plot_lines "$dir" 'anon-*_4k_*_0.dat' 'file-*_4k_*_0.dat')$ceiling
set title 'THP sources (split by the migration)'
plot $(bench_plot_lines "$dir" '*_thp_*_0.dat')$ceiling
set title 'anon-nocopy, 4 KiB pages: an engine with a set-up cost per copy'
plot $(bench_plot_lines "$dir" 'anon-nocopy_4k_*.dat')$ceiling
unset multiplot
EOF
}

# stage_bench_report RAW: the results folder from a --bench run's stream.
stage_bench_report() {
	local raw=$1 dest

	dest=$HMM_BUILD/results/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$dest"
	bench_csv "$raw" > "$dest/bench.csv"
	if (($(wc -l < "$dest/bench.csv") < 2)); then
		info "the guest reported no benchmark figures"
		return 1
	fi
	{
		bench_context "$raw"
		bench_table "$dest/bench.csv"
		bench_ratios "$dest/bench.csv"
	} > "$dest/table.txt"
	bench_plot "$dest/bench.csv" "$dest/bench.png"
	printf '\n'
	cat "$dest/table.txt"
	printf '\n# results: %s (bench.csv, table.txt, bench.png)\n' "$dest"
}
