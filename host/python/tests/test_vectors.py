"""Every test vector through the library, as `python3 -m raidakx replay`
runs them, and the replay command's own behaviour."""

import json
import os

import pytest

from conftest import REPO
from raidakx import replay
from raidakx.__main__ import main

VECTORS = replay.load([os.path.join(REPO, "testvectors")])


def test_there_are_vectors():
    assert len(VECTORS) > 300


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(keyexchange, vector):
    assert replay.run(keyexchange, vector) == []


def test_replay_reports_failures(tmp_path, capsys, keyexchange_wasm):
    # Two copies of a vector with a record change (k45): one intact, one
    # with a changed response byte and a changed expected MFS.
    good = next(v for v in VECTORS if v["expect"].get("records"))
    bad = json.loads(json.dumps(good))
    bad["name"] = "broken"
    r = bad["response_hex"]
    bad["response_hex"] = r[:4] + ("00" if r[4:6] != "00" else "01") + r[6:]  # byte 2, the status
    bad["expect"]["records"][0]["mfs"] ^= 1
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"vectors": [good, bad]}))
    wasm = tmp_path / "k.wasm"
    wasm.write_bytes(keyexchange_wasm)
    assert main(["replay", "-wasm", str(wasm), str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL broken: response byte 2 (status): got ")
    assert any(line.startswith("    record (") and "mfs" in line for line in out)
    assert out[-1] == "1 passed, 1 failed"


@pytest.mark.parametrize("argv", [[], ["replay"], ["replay", "-wasm"], ["replay", "-x", "f"], ["check", "f"]])
def test_replay_usage(argv, capsys):
    assert main(argv) == 2
    assert "usage: python3 -m raidakx replay" in capsys.readouterr().err
