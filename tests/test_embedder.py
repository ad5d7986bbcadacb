"""The embedder with the real model: retrieval sanity, cross-lingual, int8 vs fp32, cache."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedder.backends.base import EncoderBackend
from semsearch.embedder.backends.factory import FAST_OPENVINO_PRECISION
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import resolve_model
from semsearch.embedder.settings import Settings
from tests.helpers.paths import shared_path

pytestmark = pytest.mark.slow

DIGITAL = "4月18日，市长何雄调研我市数字经济发展情况，强调要全方位推进数字基础设施建设，全链条壮大数字核心产业，全场景推进数字融合应用。"
PROJECTS = "按照市委统一安排，2023年全市重大项目观摩活动4月19日举行，市领导分别带队，对各开发区、区县（市）年度重点项目进行集中观摩。"
WEATHER = "受冷空气影响，明天夜间到后天我市将出现一次降温降雨天气过程，最低气温降至8℃左右，请市民注意添衣保暖。"


def _ntrex_pairs(n: int) -> tuple[list[str], list[str]]:
    folder = shared_path("eval", "ntrex_en2zh_sentence")
    corpus = {}
    for line in (folder / "corpus.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        corpus[doc["_id"]] = doc["text"]
    queries = {}
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        queries[doc["_id"]] = doc["text"]
    pairs = []
    with (folder / "qrels.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, _score = line.rstrip("\n").split("\t")
            pairs.append((queries[qid], corpus[did]))
            if len(pairs) == n:
                break
    return [q for q, _ in pairs], [d for _, d in pairs]


def test_chinese_query_ranks_relevant_paragraph_first(real_embedder: Embedder) -> None:
    query = real_embedder.embed_queries(["数字经济 核心产业"])[0]
    passages = real_embedder.embed_passages([WEATHER, PROJECTS, DIGITAL])
    scores = passages @ query
    assert int(np.argmax(scores)) == 2
    assert scores[2] > scores[0] + 0.03


def test_vectors_are_normalised_float32(real_embedder: Embedder) -> None:
    vectors = real_embedder.embed_passages([DIGITAL, "short", "Ein deutscher Satz."])
    assert vectors.dtype == np.float32 and vectors.shape == (3, real_embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_english_sentence_retrieves_its_chinese_translation(real_embedder: Embedder) -> None:
    english, chinese = _ntrex_pairs(50)
    scores = real_embedder.embed_queries(english) @ real_embedder.embed_passages(chinese).T
    top1 = int(np.sum(np.argmax(scores, axis=1) == np.arange(len(english))))
    assert top1 >= 45, f"only {top1}/50 translations ranked first"


def test_default_backend_agrees_with_fp32(
    real_settings: Settings,
    real_embedder: Embedder,
    openvino_backend: EncoderBackend,
    fp32_backend: EncoderBackend,
) -> None:
    # auto takes OpenVINO only where it infers in bf16 (AMX / AVX-512 BF16), else onnx-int8.
    bf16 = getattr(openvino_backend, "inference_precision", None) == FAST_OPENVINO_PRECISION
    assert real_embedder.backend_name == ("openvino" if bf16 else "onnx-int8")
    english, chinese = _ntrex_pairs(30)
    texts = [DIGITAL, PROJECTS, WEATHER, *english, *chinese]
    model = resolve_model(real_settings.resolved_model())
    # The session's torch backend, with the prompts and limits from_settings gives it.
    fp32 = Embedder(
        model,
        fp32_backend,
        cache=None,
        batch_size=real_settings.batch_size,
        progress=False,
        max_tokens=min(real_settings.max_seq_length, model.max_seq_length),
    )
    int8 = real_embedder.embed_passages(texts)
    cosines = np.sum(int8 * fp32.embed_passages(texts), axis=1)
    assert cosines.min() >= 0.99
    queries = np.sum(real_embedder.embed_queries(english) * fp32.embed_queries(english), axis=1)
    assert queries.min() >= 0.99


def test_batching_keeps_input_order(real_settings: Settings) -> None:
    embedder = Embedder.from_settings(
        real_settings.model_copy(update={"batch_size": 2, "cache": False})
    )
    texts = [
        WEATHER,
        "短",
        DIGITAL,
        "a much longer English sentence about the city budget",
        PROJECTS,
    ]
    together = embedder.embed_passages(texts)
    alone = np.vstack([embedder.embed_passages([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_cache_makes_reembedding_free(real_settings: Settings, tmp_path: Path) -> None:
    settings = real_settings.model_copy(update={"cache_dir": tmp_path / "cache"})
    embedder = Embedder.from_settings(settings)
    first = embedder.embed_passages([DIGITAL, PROJECTS])
    spent = embedder.model_seconds
    again = Embedder.from_settings(settings)  # a new process would see the same on-disk cache
    second = again.embed_passages([PROJECTS, DIGITAL])
    assert again.model_seconds == 0.0 and spent > 0
    assert np.array_equal(first[::-1], second)
    # A query prompt is a different text to the model: not served from the passage entry.
    again.embed_queries([DIGITAL])
    assert again.model_seconds > 0
    # The compiled model is not the cache's: a fresh cache did not rebuild it there.
    assert not {"onnx", "openvino"} & {p.name for p in (tmp_path / "cache").iterdir()}


def test_count_tokens_includes_prompt_and_specials(
    real_embedder: Embedder, model_dir: Path
) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    expected = len(tokenizer.encode("passage: " + DIGITAL).ids)
    assert real_embedder.count_tokens([DIGITAL]) == [expected]
    assert real_embedder.max_tokens == 512


def test_unknown_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="semsearch model install"):
        resolve_model(str(tmp_path / "nowhere"))


def test_prompt_falls_back_to_document(model_dir: Path) -> None:
    model = resolve_model(str(model_dir))
    assert model.prompt("query") == "query: " and model.prompt("passage") == "passage: "
    only_document = replace(model, prompts={"document": "doc: "})
    assert only_document.prompt("passage") == "doc: " and only_document.prompt("query") == ""
