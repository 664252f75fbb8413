#!/usr/bin/env python3
"""End-to-end figures for the real binary: audit N copies of the bundled examples in each
output format and report wall time, files/s and the child's peak RSS (getrusage).
Usage: scripts/bench_cli.py [N] (default 10000). Runs target/release/hookswitch."""
import os, resource, shutil, subprocess, sys, tempfile, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = os.path.join(root, "target", "release", "hookswitch")
src = os.path.join(root, "examples", "configs")
examples = sorted(
    os.path.join(src, v, f)
    for v in os.listdir(src)
    for f in os.listdir(os.path.join(src, v))
    if not f.endswith(".boot") and not f.startswith("000000000000")
)
work = tempfile.mkdtemp(prefix="hookswitch-bench-")
corpus = os.path.join(work, "corpus")
for i in range(n):
    sub = os.path.join(corpus, "site%03d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    shutil.copy(examples[i % len(examples)], os.path.join(sub, "%05d-%s" % (i, os.path.basename(examples[i % len(examples)]))))
print("bench_cli: %d files, %d distinct examples" % (n, len(examples)))
for fmt in ["human", "json", "sarif", "cklb"]:
    out = os.path.join(work, "report." + fmt)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        # A fresh process each time; RUSAGE_CHILDREN's maxrss is the largest child so far,
        # so formats are run in order of expected footprint.
        p = subprocess.run([binary, "audit", "--format", fmt, "--model", "GRP2612", "-o", out, corpus])
        times.append(time.perf_counter() - t)
        assert p.returncode in (0, 1), p.returncode
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("  %-6s median %.2fs  %6.0f files/s  peak RSS so far %.1f MiB  report %.1f MiB"
          % (fmt, times[1], n / times[1], rss, os.path.getsize(out) / 2**20))
shutil.rmtree(work)
