#!/usr/bin/env python3
"""Run `hookswitch probe`, nmap and SIPVicious svmap against the same test bed, in the same
run, and report wall time, agreement host by host and service by service, and every case
where one finds what the other misses. Needs root; brings the test bed up and down.

usage: scripts/compare_nmap.py   (uses target/release/hookswitch; installs nmap and sipvicious)"""
import json, os, resource, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BED = os.path.join(ROOT, "scripts", "testbed.sh")
HOSTS = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
TCP = [22, 23, 80, 443, 5060, 5061, 8080, 8443]
UDP = [69, 161, 5060]


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_tools(work):
    if subprocess.run(["sh", "-c", "command -v nmap"], capture_output=True).returncode != 0:
        sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", "nmap")
    venv = os.path.join(ROOT, "target", "svmap-venv")
    if not os.path.exists(os.path.join(venv, "bin", "sipvicious_svmap")):
        sh(sys.executable, "-m", "venv", venv)
        sh(os.path.join(venv, "bin", "pip"), "install", "-q", "sipvicious")
    return os.path.join(venv, "bin", "sipvicious_svmap")


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run([BED, "exec", *cmd], capture_output=True, text=True)
    return time.perf_counter() - t, p


def main():
    work = tempfile.mkdtemp(prefix="hs-compare-")
    svmap = ensure_tools(work)
    sh(BED, "up", stdout=subprocess.DEVNULL)
    try:
        ours_t, ours = timed([os.path.join(ROOT, "target/release/hookswitch"), "probe", *HOSTS, "--allow", "192.0.2.0/24", "--format", "json", "--timeout-ms", "1000"])
        report = json.loads(ours.stdout)
        with open(os.path.join(work, "communities"), "w") as f:
            f.write("public\nprivate\n")
        with open(os.path.join(work, "tftp-files"), "w") as f:
            f.write("SEPDefault.cnf\ny000000000000.cfg\n000000000000.cfg\n")
        xml_out = os.path.join(work, "nmap.xml")
        nmap_cmd = ["nmap", "-n", "-Pn", "-sS", "-sU", "-p", "T:" + ",".join(map(str, TCP)) + ",U:" + ",".join(map(str, UDP)),
                    "--script", "sip-methods,snmp-info,snmp-brute,tftp-enum,ssh2-enum-algos,http-title",
                    "--script-args", f"snmp-brute.communitiesdb={work}/communities,tftp-enum.filelist={work}/tftp-files",
                    "-oX", xml_out, *HOSTS]
        nmap_t, nmap = timed(nmap_cmd)
        sv_t, sv = timed([svmap, "-p", "5060", "192.0.2.10-12"])
    finally:
        sh(BED, "down", stdout=subprocess.DEVNULL)

    ours_open = {(h["address"], s["proto"], s["port"]) for h in report["hosts"] for s in h["services"] if s["state"] == "open"}
    nmap_open, scripts = set(), {}
    for host in ET.parse(xml_out).getroot().iter("host"):
        addr = host.find("address").get("addr")
        for port in host.iter("port"):
            state = port.find("state").get("state")
            key = (addr, port.get("protocol"), int(port.get("portid")))
            if state == "open":
                nmap_open.add(key)
            for s in port.iter("script"):
                scripts[(key, s.get("id"))] = (s.get("output") or "").strip().replace("\n", " | ")[:160]
    sv_hosts = {line.split("|")[1].strip().split(":")[0] for line in sv.stdout.splitlines() if line.startswith("| 192.0.2.")}
    if not sv_hosts and sv.returncode != 0:
        print(f"svmap failed: {sv.stderr.strip()[:300]}")

    print(f"wall time: hookswitch {ours_t:.2f} s, nmap {nmap_t:.2f} s, svmap {sv_t:.2f} s")
    print(f"peak RSS of the largest child so far: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} MiB")
    print("\nservice by service (open):")
    for key in sorted(ours_open | nmap_open):
        a, b = key in ours_open, key in nmap_open
        print(f"  {key[0]:<12} {key[2]:>5}/{key[1]:<3} hookswitch={'open' if a else '-':<5} nmap={'open' if b else '-':<5} {'agree' if a == b else 'DISAGREE'}")
    print("\nnmap script results:")
    for (key, sid), out in sorted(scripts.items()):
        print(f"  {key[0]} {key[2]}/{key[1]} {sid}: {out}")
    print(f"\nsvmap saw SIP on: {sorted(sv_hosts) or 'none'}; hookswitch: {sorted({k[0] for k in ours_open if k[2] == 5060})}")
    missed_by_us = nmap_open - ours_open
    missed_by_nmap = ours_open - nmap_open
    print(f"\nopen services nmap found that hookswitch missed: {sorted(missed_by_us) or 'none'}")
    print(f"open services hookswitch found that nmap missed: {sorted(missed_by_nmap) or 'none'}")
    ours_findings = {(h["address"], f["control"]) for h in report["hosts"] for f in h["findings"] if f["status"] == "fail"}
    print(f"hookswitch failing findings: {len(ours_findings)} ({', '.join(sorted(c for _, c in ours_findings))})")


if __name__ == "__main__":
    main()
