"""python-tuf ngclient against a repository hookswitch published.
usage: ngclient_fetch.py METADATA_URL TARGETS_URL METADATA_DIR DOWNLOAD_DIR TARGET...
METADATA_DIR must hold the trusted root.json. Exit 0 if every target verifies."""
import sys
from tuf.ngclient import Updater

metadata_url, targets_url, metadata_dir, download_dir, *names = sys.argv[1:]
import os
with open(os.path.join(metadata_dir, "root.json"), "rb") as f:
    trusted_root = f.read()
updater = Updater(metadata_dir=metadata_dir, metadata_base_url=metadata_url,
                  target_dir=download_dir, target_base_url=targets_url, bootstrap=trusted_root)
updater.refresh()
for name in names:
    info = updater.get_targetinfo(name)
    if info is None:
        print(f"ngclient: {name}: not found", file=sys.stderr)
        sys.exit(2)
    path = updater.download_target(info)
    print(f"ngclient: {name} -> {path} ({info.length} bytes)")
