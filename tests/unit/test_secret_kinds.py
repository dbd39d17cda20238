"""The kinds of secret the scan used to miss (issue 31, point 9), each planted in a .py, a
.yaml, a pickle and a zip/npz; and the files full of hex it must not trip on."""

from __future__ import annotations

import base64
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from workbench.kernel.paths import examples_dir, runtime_dir
from workbench.steps.serve.secrets import scan

# Split so that no scanner reading this file takes it for a secret.
SLACK = "https://hooks.slack" + ".com/services/T0123ABCD/B0456EFGH/" + "abcdEFGHijklMNOPqrstUVWX"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFuYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
AZURE = (
    "DefaultEndpointsProtocol=https;AccountName=churnstore;Account"
    + "Key="
    + base64.b64encode(bytes(range(64))).decode()
    + ";EndpointSuffix=core.windows.net"
)
HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
KINDS = {
    "a Slack webhook URL": SLACK,
    "a JSON web token": JWT,
    "an Azure storage key or connection string": AZURE,
    "a Hugging Face token": HF,
}
SECRETS = [*KINDS.values(), "Zq9-hunter-42x"]


def _assert_never_shown(found: list[str]) -> None:
    for secret in SECRETS:
        for piece in (secret, secret[-16:]):
            assert not any(piece in f for f in found), (piece, found)


def test_each_kind_is_found_in_code_naming_file_and_line(tmp_path: Path) -> None:
    lines = ["import os", *(f"VALUE_{i} = {value!r}" for i, value in enumerate(KINDS.values()))]
    (tmp_path / "settings.py").write_text("\n".join(lines) + "\n")
    found = scan(tmp_path)
    for line, what in enumerate(KINDS, start=2):
        assert f"settings.py, line {line}: contains {what}" in found, found
    _assert_never_shown(found)


def test_password_assignments_in_environment_files_and_code(tmp_path: Path) -> None:
    (tmp_path / "deploy.sh").write_text(
        "#!/bin/sh\nexport DB_PASS=" + "Zq9-hunter-42x\nPASSWORD=" + "Zq9-hunter-42x ./run\n"
    )
    (tmp_path / "config.py").write_text("DB_PASS = '" + "Zq9-hunter-42x'\n")
    found = scan(tmp_path)
    what = "contains a password or key assigned in an environment file"
    assert f"deploy.sh, line 2: {what}" in found, found  # one finding per kind and file
    (tmp_path / "deploy.sh").write_text("cd /srv\nPASSWORD=" + "Zq9-hunter-42x ./run\n")
    assert f"deploy.sh, line 2: {what}" in scan(tmp_path)
    assert any(f.startswith("config.py, line 1: contains a password") for f in found), found
    _assert_never_shown(found)


def test_unquoted_keys_in_yaml(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "model:\n  depth: 4\nservice:\n  api_key: " + "abcd1234efgh5678ijkl\n"
        "  db_password: " + "Zq9-hunter-42x  # prod\n"
    )
    found = scan(tmp_path)
    what = "contains a password or key as a plain YAML value"
    assert f"params.yaml, line 4: {what}" in found, found  # one finding per kind and file
    (tmp_path / "params.yaml").write_text("db:\n  db_password: " + "Zq9-hunter-42x  # prod\n")
    assert f"params.yaml, line 2: {what}" in scan(tmp_path)
    _assert_never_shown(found)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_each_kind_is_found_inside_a_pickle(tmp_path: Path, protocol: int) -> None:
    with (tmp_path / "model.pkl").open("wb") as handle:
        pickle.dump({"weights": [0.5] * 100, "meta": dict(KINDS)}, handle, protocol=protocol)
    found = " | ".join(scan(tmp_path))
    for what in KINDS:
        assert f"contains {what}" in found, found
    assert "model.pkl" in found
    _assert_never_shown([found])


def test_a_token_whose_pickle_length_byte_is_a_letter_is_still_found(tmp_path: Path) -> None:
    """97 characters: pickle writes the length as the byte 'a', glued to the token's start,
    so a rule reading raw bytes sees `ahf_...`; the pickle's own strings are read too."""
    value = HF + " " * (97 - len(HF))
    with (tmp_path / "model.pkl").open("wb") as handle:
        pickle.dump(value, handle, protocol=4)
    assert b"\x8ca" + HF.encode() in (tmp_path / "model.pkl").read_bytes()
    found = scan(tmp_path)
    assert found == ["model.pkl (a string of its pickle): contains a Hugging Face token"]


def test_each_kind_is_found_inside_a_zip_naming_the_member(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "nothing here\n")
        archive.writestr("conf/app.yaml", "x: 1\nslack: " + SLACK + "\n")
        archive.writestr("meta.pkl", pickle.dumps(dict(KINDS), protocol=4))
        archive.writestr("conf/.env", "X=1\n")
    found = scan(tmp_path)
    assert "bundle.zip (member conf/app.yaml): line 2: contains a Slack webhook URL" in found
    assert "bundle.zip (member conf/.env): a file named like a secret" in found
    for what in KINDS:
        assert any(f.startswith("bundle.zip (member meta.pkl)") and what in f for f in found)
    _assert_never_shown(found)


def test_a_secret_in_an_npz_object_array_is_found(tmp_path: Path) -> None:
    np.savez_compressed(
        tmp_path / "arrays.npz",
        weights=np.linspace(0, 1, 1000),
        vocabulary=np.array(["the", "cat", JWT], dtype=object),
    )
    found = scan(tmp_path)
    assert any(
        f.startswith("arrays.npz (member vocabulary.npy)") and "a JSON web token" in f
        for f in found
    ), found
    _assert_never_shown(found)


def test_real_models_and_code_do_not_trip_the_scan(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x = np.random.default_rng(0).normal(size=(300, 6))
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, x[:, 0] > 0)
    joblib.dump(model, tmp_path / "forest.joblib")
    joblib.dump(model, tmp_path / "forest-z.joblib", compress=3)
    with (tmp_path / "forest.pkl").open("wb") as handle:
        pickle.dump(model, handle, protocol=2)
    np.savez_compressed(tmp_path / "arrays.npz", a=x, names=np.array(["a", "b"], dtype=object))
    (tmp_path / "train.py").write_text(
        "import os\nfrom typing import Optional\n"
        "DB_PASS = os.environ['DB_PASS']\n"
        "PASSWORD=os.getenv('PASSWORD')\n"
        "api_key: Optional[str] = None\n"
        "token: str\n"
        "SECRET_KEY = settings.secret_key\n"
        "MAX_TOKENS=512\n"
        "HASH = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'\n"
    )
    (tmp_path / "params.yaml").write_text(
        "api_key: ${API_KEY}\npassword: null\ntoken:\n  type: string\n"
        "secret_name: churn-model-db\nmodel_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\n"
    )
    assert scan(tmp_path) == []
    assert scan(examples_dir() / "iris") == []
    assert scan(runtime_dir()) == []


@pytest.mark.parametrize(
    "line",
    [
        b"TOKENIZER_PATH=models/tokenizer.json",
        b"PASSTHROUGH_COLUMNS=age,income",
        b'cd_pwd = "/opt/app/models"',
        b"OLDPWD=/home/ana/projects",
    ],
)
def test_names_that_only_contain_a_keyword_are_not_secrets(line: bytes) -> None:
    # A correct build refused for a tokenizer's path is a false failure with no way out.
    from workbench.steps.serve.secrets import SECRET_CONTENT

    assert not [what for what, rule in SECRET_CONTENT if rule.search(line)]
