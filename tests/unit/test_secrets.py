"""The secret scan of what would be sent into the image: each miss of the old scan."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest

from workbench.steps.serve.secrets import scan

AWS = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so that this file itself is not a finding


def test_finds_what_the_first_scan_missed(tmp_path: Path) -> None:
    (tmp_path / "prod.env").write_text("X=1\n")
    (tmp_path / "db.py").write_text(
        "import os\nURL = 'postgresql://app:" + "hunter2" + "@db.internal:5432/churn'\n"
    )
    (tmp_path / "settings.py").write_text('\n\nDB_PASSWORD = "' + "s3cr3t-value" + '"\n')
    joblib.dump({"model": [1, 2, 3], "note": f"key {AWS}"}, tmp_path / "model.joblib", compress=3)
    big = tmp_path / "weights.bin"
    big.write_bytes(b"\0" * (5 << 20) + f"aws {AWS}".encode())  # past the first 4 MiB
    (tmp_path / "request.json").write_text(
        '{"properties": {"x": {"description": "call with token ghp_' + "a" * 36 + '"}}}'
    )
    found = scan(tmp_path)
    assert "prod.env: a file named like a secret" in found
    assert "db.py, line 2: contains a database or broker URL with a password" in found
    assert "settings.py, line 3: contains a password or token assigned in code" in found
    assert "model.joblib (inside its zlib compression): contains an AWS access key id" in found
    assert "weights.bin, line 1: contains an AWS access key id" in found
    assert "request.json, line 1: contains a GitHub token" in found
    assert not any("hunter2" in f or AWS in f for f in found)  # never the secret itself


def test_no_false_alarm_on_ordinary_model_code(tmp_path: Path) -> None:
    (tmp_path / "predict.py").write_text(
        "import os\n"
        "PASSWORD = os.environ['DB_PASSWORD']\n"
        "password = ''\n"
        'token = "{{ token }}"\n'
        "URL = 'postgresql://db.internal:5432/churn'\n"
        "SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n"
    )
    joblib.dump({"weights": list(range(1000))}, tmp_path / "model.joblib", compress=3)
    assert scan(tmp_path) == []


def test_the_maintained_detector_adds_what_the_own_rules_do_not_know(tmp_path: Path) -> None:
    token = "sk-" + "proj-" + "A1b2C3d4E5f6G7h8I9j0" + "T3BlbkFJ" + "K1l2M3n4O5p6Q7r8S9t0"
    (tmp_path / "client.py").write_text(f"\n\nOPENAI = '{token}'\n")
    found = scan(tmp_path)
    assert any(
        f.startswith("client.py, line 3: contains a") and "detect-secrets" in f for f in found
    ), found
    assert not any(token in f for f in found)


def test_every_joblib_compression_is_opened_or_said_unscanned(tmp_path: Path) -> None:
    """joblib's `compress='lzma'` writes the lzma "alone" format, which the scan did not know:
    a token inside it passed as "no keys, tokens or credentials". lz4 (not installed here)
    is written by hand with its frame magic: what the scan cannot open is said so."""
    token = "ghp_" + "b" * 36
    for method in ("zlib", "gzip", "bz2", "xz", "lzma"):
        folder = tmp_path / method
        folder.mkdir()
        joblib.dump({"token": token}, folder / "model.joblib", compress=(method, 3))
        unscanned: list[str] = []
        found = scan(folder, unscanned)
        assert any("contains a GitHub token" in f for f in found), (method, found)
        assert unscanned == []
    lz4 = tmp_path / "lz4"
    lz4.mkdir()
    (lz4 / "model.joblib").write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 64)
    unscanned = []
    assert scan(lz4, unscanned) == []
    assert unscanned == [
        "model.joblib: lz4 compression, which the scanner cannot open: its content not scanned"
    ]


def test_an_archive_past_the_member_bound_is_said_partly_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from workbench.steps.serve import secrets

    monkeypatch.setattr(secrets, "MAX_MEMBERS", 3)
    with zipfile.ZipFile(tmp_path / "weights.npz", "w") as archive:
        for i in range(5):
            archive.writestr(f"w{i}.npy", b"\0" * 16)
    unscanned: list[str] = []
    scan(tmp_path, unscanned)
    assert unscanned == ["weights.npz: its members past the first 3 not scanned"]


def test_a_file_inflating_past_the_bound_is_said_partly_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.steps.serve import secrets

    monkeypatch.setattr(secrets, "MAX_INFLATED", 1 << 20)
    for method in ("zlib", "gzip"):
        folder = tmp_path / method
        folder.mkdir()
        joblib.dump({"weights": b"\0" * (3 << 20)}, folder / "model.joblib", compress=(method, 3))
        unscanned: list[str] = []
        scan(folder, unscanned)
        assert unscanned == ["model.joblib: what it inflates to past 1 MB not scanned"], method
        small = tmp_path / f"{method}-small"
        small.mkdir()
        joblib.dump({"weights": b"\0" * 1000}, small / "model.joblib", compress=(method, 3))
        unscanned = []
        scan(small, unscanned)
        assert unscanned == []
