#!/usr/bin/env python3
"""A sweep of 254 hosts on the test bed (192.0.2.0/24): the three test-bed phones with their
service mix, and 251 more addresses that exist but run nothing (they answer with RST and
ICMP port-unreachable). Reports wall time and the probe's peak RSS, median of 3 runs.
Needs root. usage: scripts/bench_probe.py [--timeouts]
  --timeouts  make the 251 silent addresses drop everything instead (worst case: every probe times out)"""
import os, resource, statistics, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BED = os.path.join(ROOT, "scripts", "testbed.sh")
drop = "--timeouts" in sys.argv

subprocess.run([BED, "up"], check=True, stdout=subprocess.DEVNULL)
try:
    for n in range(13, 255):
        subprocess.run(["ip", "-n", "hs-empty", "addr", "add", f"192.0.2.{n}/24", "dev", "v-hs-empty"], check=True)
    if drop:
        # Silence without refusals: drop everything to the extra addresses inside hs-empty.
        subprocess.run(["ip", "netns", "exec", "hs-empty", "sh", "-c",
                        "command -v nft >/dev/null || exit 3; nft add table inet hsbench; nft add chain inet hsbench in '{ type filter hook input priority 0; }'; "
                        "nft add rule inet hsbench in ip daddr 192.0.2.13-192.0.2.254 drop"], check=True)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        p = subprocess.run([BED, "exec", os.path.join(ROOT, "target/release/hookswitch"), "probe", "192.0.2.0/24",
                            "--allow", "192.0.2.0/24", "--format", "json", "-o", "/dev/null", "--timeout-ms", "1000"], capture_output=True)
        times.append(time.perf_counter() - t)
        assert p.returncode in (0, 1), p.stderr
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"bench_probe: 254 hosts ({'silent hosts drop packets' if drop else 'silent hosts refuse'}): "
          f"median {statistics.median(times):.2f} s (runs {', '.join(f'{x:.2f}' for x in times)}), peak RSS {rss:.1f} MiB")
finally:
    subprocess.run([BED, "down"], stdout=subprocess.DEVNULL)
