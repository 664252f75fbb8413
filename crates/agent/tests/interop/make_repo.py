"""Build a TUF repository with python-tuf's Metadata API (consistent snapshots, Ed25519),
with a delegated role, for hookswitch-agent to consume.
usage: make_repo.py OUT_DIR   (writes OUT_DIR/metadata, OUT_DIR/targets)"""
import os, sys
from datetime import datetime, timedelta, timezone
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (DelegatedRole, Delegations, Metadata, MetaFile, Root, Snapshot,
                              TargetFile, Targets, Timestamp)
from tuf.api.serialization.json import JSONSerializer

out = sys.argv[1]
meta_dir, targets_dir = os.path.join(out, "metadata"), os.path.join(out, "targets")
os.makedirs(meta_dir, exist_ok=True)
expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
signers = {r: CryptoSigner(Ed25519PrivateKey.generate()) for r in ["root", "targets", "snapshot", "timestamp", "config"]}

root = Root(expires=expires, consistent_snapshot=True)
for role in ["root", "targets", "snapshot", "timestamp"]:
    root.add_key(signers[role].public_key, role)

def put_target(path, data):
    info = TargetFile.from_data(path, data, ["sha256"])
    d, base = os.path.split(path)
    os.makedirs(os.path.join(targets_dir, d), exist_ok=True)
    with open(os.path.join(targets_dir, d, f"{info.hashes['sha256']}.{base}"), "wb") as f:
        f.write(data)
    return info

targets = Targets(expires=expires)
targets.targets["firmware/phone.rom"] = put_target("firmware/phone.rom", b"python-built firmware\n")
config = Targets(expires=expires)
config.targets["config/001565aabbcc.cfg"] = put_target("config/001565aabbcc.cfg", b"static.wifi.enable = 0\n")
targets.delegations = Delegations(keys={signers["config"].public_key.keyid: signers["config"].public_key},
                                  roles={"config": DelegatedRole("config", [signers["config"].public_key.keyid], 1, True, ["config/*"])})

def write(md, name):
    with open(os.path.join(meta_dir, name), "wb") as f:
        f.write(md.to_bytes(JSONSerializer(compact=True)))

def signed(obj, role):
    md = Metadata(obj)
    md.sign(signers[role])
    return md

write(signed(config, "config"), "1.config.json")
write(signed(targets, "targets"), "1.targets.json")
snapshot = Snapshot(expires=expires)
snapshot.meta["config.json"] = MetaFile(1)
write(signed(snapshot, "snapshot"), "1.snapshot.json")
snap_bytes = open(os.path.join(meta_dir, "1.snapshot.json"), "rb").read()
timestamp = Timestamp(expires=expires)
timestamp.snapshot_meta = MetaFile(1, length=len(snap_bytes), hashes={"sha256": __import__("hashlib").sha256(snap_bytes).hexdigest()})
write(signed(timestamp, "timestamp"), "timestamp.json")
write(signed(root, "root"), "1.root.json")
print("make_repo: ok")
