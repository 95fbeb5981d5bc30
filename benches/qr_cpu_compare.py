#!/usr/bin/env python3
"""CPU time of kuzet's QR pipeline, plain rqrr and zbarimg on one corpus, alternated N times.

Usage: qr_cpu_compare.py QR_EVAL_BIN CORPUS_DIR [ROUNDS]

QR_EVAL_BIN is the classifier's `qr_eval` bench binary (benches/qr_compare.sh prints how it is
built). Each round runs, pinned to core 0: `QR_EVAL_BIN --bench CORPUS` (kuzet's pipeline),
`QR_EVAL_BIN --bench --plain-rqrr CORPUS` and one `zbarimg --xml` process over the same images
(as benches/qr_peers.py runs it). It reports each decoder's least user+system CPU time over the
rounds (the child's own rusage, so other load on the machine inflates it less than wall time)
and the ratios against zbar: of the least times, and the median (and range) of the ratios
within each round. Decode counts come from qr_compare.sh; this script only times.
"""
import csv, os, resource, subprocess, sys


def cpu_seconds(cmd, cwd=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["taskset", "-c", "0", *cmd], cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, root = sys.argv[1], os.path.abspath(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    images = []
    with open(os.path.join(root, "manifest.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["image"] not in images:
                images.append(row["image"])
    runs = {
        "kuzet": [binary, "--bench", root],
        "plain-rqrr": [binary, "--bench", "--plain-rqrr", root],
        "zbar": ["zbarimg", "--xml", "-q", "-Sdisable", "-Sqrcode.enable", *images],
    }
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, cmd in runs.items():
            times[name].append(cpu_seconds(cmd, cwd=root))
    n = len(images)
    for name, secs in times.items():
        best = min(secs)
        # The ratio within each round (runs seconds apart share the machine's state), median.
        per_round = sorted(z / s for z, s in zip(times["zbar"], secs))
        median = per_round[len(per_round) // 2]
        print(f"{name:<11} {best:7.3f} CPU-s  {n / best:7.1f} images per CPU-s  "
              f"{min(times['zbar']) / best:5.2f}x zbar (least times), "
              f"{median:5.2f}x zbar (median of rounds, {per_round[0]:.2f}-{per_round[-1]:.2f})")


if __name__ == "__main__":
    main()
