# report.gp — the benchmark's chart: each engine's throughput as a ratio to
# LMDB, per workload row (log scale; 1.0 = as fast as LMDB, above = faster).
#
# Reads the ratios.tsv that bench/main.c writes (a header line, then one
# row per workload: label, then one ratio column per engine; NaN = no row)
# and writes a PNG. Called by `make bench` / `make bench-full`:
#   gnuplot -e "datafile='DIR/ratios.tsv'; outfile='DIR/latest.png'" bench/report.gp
# Must never compute anything: every number comes from the TSV.

if (!exists("datafile")) datafile = 'bench/results/ratios.tsv'
if (!exists("outfile")) outfile = 'bench/results/latest.png'

set terminal pngcairo size 1600,700 font "sans,10"
set output outfile
set datafile separator "\t"
set datafile missing "NaN"
set title "Throughput relative to LMDB (same machine, same run; higher is better)"
set ylabel "ops/s ÷ LMDB ops/s (log scale)"
set logscale y
set yrange [0.01:100]
set grid ytics
set key outside right top
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -40 scale 0 font ",9"
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "black"
plot datafile using 2:xtic(1) title columnheader(2), \
     '' using 3 title columnheader(3), \
     '' using 4 title columnheader(4), \
     '' using 5 title columnheader(5), \
     '' using 6 title columnheader(6)
