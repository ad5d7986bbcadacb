"""Adaptive hybrid fusion: z-score fusion per article with a per-query lexical weight.

Fixed fusion (RRF or a fixed score blend) hurts when the lexical ranking is noise, as for an
English query over Chinese text: a 0.5/0.5 blend loses up to 0.24 nDCG@10 there. The
lexical weight here is :attr:`FusionParams.lexical_weight` scaled to zero when

- the query is written in another script than the corpus (script agreement), or
- almost none of the query's information (IDF-weighted term coverage) occurs in the corpus,

so hybrid falls back to exactly the dense order where BM25 has nothing to say.

How the two rankings are blended was chosen by ``bench/fusion_tuning.py`` on the *tuning
half* of every Chinese-query set in ``../shared/eval`` (a fixed hash split of query ids)
and reported on the held-out half (``docs/bench/fusion.md``):

- **Per article, not per passage.** When results are collapsed to articles, each side's
  article score is its best passage's score and the articles are fused. Fusing passages
  first lets an article's lexically best and semantically best passages compete instead
  of adding up; on long articles (sohu_dc) per-article fusion gains about 0.005.
- **The lead counts.** An article's dense score is half its best passage's cosine and half
  its first passage's (:attr:`FusionParams.lead_weight`): in news the lead says what the
  article is about, so matching it is stronger evidence than matching one later
  paragraph. On sohu_dc (long articles) this gained 0.004 on the tuning half and 0.008 on
  the held-out half; articles of one passage are unaffected.
- **z-score normalisation** over each side's top :attr:`FusionParams.norm_depth`
  candidates, not min-max: min-max pins each list's best to 1 however far it stands out,
  while a z-score keeps "this hit is far above the rest" (a rare exact lexical match, or a
  dense near-duplicate) as a larger value. Using a fixed top-N for the statistics keeps
  the scale independent of how deep the candidate lists were fetched.
- **Weight 0.5** when the lexical side is trusted; the coverage factor is a step (no
  lexical weight below :data:`COVERAGE_FLOOR`, full weight above) because scaling the weight
  with coverage measured slightly worse than not scaling it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from semsearch.index.lexical import ScriptProfile

NORMALISATIONS = ("zscore", "minmax")
# Weight of the lexical side when it is fully trusted (chosen on the tuning half).
BASE_LEXICAL_WEIGHT = 0.5
# Share of an article's dense score that comes from its first passage (see FusionParams).
LEAD_WEIGHT = 0.5
# Candidates per side (after collapsing to articles) whose scores set the normalisation.
NORM_DEPTH = 100
# Script agreement (probability a query letter is in the corpus' dominant script) below
# LOW gives no lexical weight, above HIGH full weight; linear in between. Measured query
# agreements: 0.05-0.06 on the English->Chinese sets, 0.87-0.98 on the Chinese ones.
SCRIPT_AGREEMENT_LOW = 0.3
SCRIPT_AGREEMENT_HIGH = 0.7
# IDF-weighted coverage below FLOOR means most of the query's information is absent from
# the corpus (no lexical weight); from FULL up the lexical side gets its full weight.
COVERAGE_FLOOR = 0.2
COVERAGE_FULL = 0.2
# A candidate one side did not retrieve sits this far below that side's worst retrieved one
# (in normalised units): it was not found, so it ranks below everything that was.
MISSING_GAP = 0.0


@dataclass(frozen=True, kw_only=True)
class FusionParams:
    """How hybrid search blends the dense and lexical rankings (defaults: the chosen rule).

    Attributes:
        lexical_weight: Weight of the lexical side when fully trusted, in ``[0, 1]``.
        normalisation: ``zscore`` or ``minmax`` (each side separately).
        norm_depth: Top candidates per side whose scores set the normalisation.
        per_article: Fuse article scores (best passage per side) when collapsing.
        coverage_floor: Coverage below which the lexical side gets no weight.
        coverage_full: Coverage from which it gets its full weight (linear in between).
        lead_weight: When fusing per article, the share of the article's dense score that
            is its first passage's cosine; the rest is its best passage's.
    """

    lexical_weight: float = BASE_LEXICAL_WEIGHT
    normalisation: str = "zscore"
    norm_depth: int = NORM_DEPTH
    per_article: bool = True
    coverage_floor: float = COVERAGE_FLOOR
    coverage_full: float = COVERAGE_FULL
    lead_weight: float = LEAD_WEIGHT

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}")
        if not 0.0 <= self.lexical_weight <= 1.0 or self.norm_depth < 2:
            raise ValueError("lexical_weight must be in [0, 1] and norm_depth >= 2")
        if not 0.0 <= self.lead_weight <= 1.0:
            raise ValueError("lead_weight must be in [0, 1]")

    @property
    def uses_lead(self) -> bool:
        """Whether per-article fusion needs each article's first-passage cosine."""
        return self.per_article and self.lead_weight > 0


DEFAULT_FUSION = FusionParams()


@dataclass(frozen=True)
class LexicalEvidence:
    """Why the lexical side got the weight it got (returned for diagnostics)."""

    weight: float
    script_agreement: float
    coverage: float
    terms: int


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def lexical_weight(
    terms: Sequence[str],
    document_frequency: Mapping[str, int],
    n_passages: int,
    query: ScriptProfile,
    corpus: ScriptProfile,
    *,
    params: FusionParams = DEFAULT_FUSION,
) -> LexicalEvidence:
    """How much to trust BM25 for this query.

    Args:
        terms: The query's lexical terms.
        document_frequency: Passages containing each term.
        n_passages: Passages in the collection.
        query: Script profile of the query.
        corpus: Script profile of the collection.
        params: Fusion settings (the full weight and the coverage ramp).

    Returns:
        The weight in ``[0, params.lexical_weight]`` and the evidence behind it.
    """
    if not terms or n_passages == 0:
        return LexicalEvidence(0.0, 0.0, 0.0, len(terms))
    q, c = query.cjk_share, corpus.cjk_share
    agreement = q * c + (1.0 - q) * (1.0 - c)
    script_factor = min(
        1.0, max(0.0, (agreement - SCRIPT_AGREEMENT_LOW) / (SCRIPT_AGREEMENT_HIGH - SCRIPT_AGREEMENT_LOW))
    )
    total = sum(_idf(document_frequency.get(t, 0), n_passages) for t in terms)
    found = sum(
        _idf(document_frequency[t], n_passages) for t in terms if document_frequency.get(t, 0) > 0
    )
    coverage = found / total if total > 0 else 0.0
    if coverage < params.coverage_floor:
        coverage_factor = 0.0
    elif coverage >= params.coverage_full:
        coverage_factor = 1.0
    else:
        coverage_factor = coverage / params.coverage_full
    weight = params.lexical_weight * script_factor * coverage_factor
    return LexicalEvidence(weight, agreement, coverage, len(terms))


def normaliser(scores: Sequence[float], params: FusionParams) -> Callable[[float], float]:
    """The map from one side's raw scores to comparable units, fitted on its top candidates.

    Args:
        scores: That side's raw scores (any order).
        params: Which normalisation and how many top scores fit it.

    Returns:
        A function raw score -> normalised score (monotone increasing).
    """
    top = sorted(scores, reverse=True)[: params.norm_depth]
    if not top:
        return lambda value: 0.0
    if params.normalisation == "minmax":
        high, low = top[0], top[-1]
        span = high - low
        if span <= 0:
            return lambda value: 1.0
        # Below the fitted window is clipped to 0, like the bottom of the window.
        return lambda value: max(0.0, (value - low) / span)
    mean = sum(top) / len(top)
    spread = math.sqrt(sum((v - mean) ** 2 for v in top) / len(top))
    if spread <= 0:
        # One candidate (a phrase found in one article): keep raw order, centred on it.
        return lambda value: value - mean
    return lambda value: (value - mean) / spread


class Fused(NamedTuple):
    """One fused candidate: final score plus both raw scores (None when not retrieved).

    A named tuple rather than a frozen dataclass: a search builds hundreds, and a frozen
    dataclass's ``__init__`` cost three times a tuple's.
    """

    id: int
    score: float
    dense: float | None
    lexical: float | None


def _best_per_group(
    ranking: Sequence[tuple[int, float]], group_of: Mapping[int, str]
) -> dict[str, float]:
    best: dict[str, float] = {}
    for key, score in ranking:
        group = group_of.get(key)
        if group is not None and score > best.get(group, -math.inf):
            best[group] = score
    return best


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    weight: float,
    *,
    params: FusionParams = DEFAULT_FUSION,
    article_of: Mapping[int, str] | None = None,
    lead: Mapping[str, float] | None = None,
) -> list[Fused]:
    """Normalise both rankings and blend them, per passage or per article.

    A candidate missing from one side gets that side's worst retrieved normalised score
    (it ranks at the bottom of the list it was not retrieved in). With ``weight == 0`` the
    result is the dense ranking itself, cosines as scores.

    With ``article_of`` (and ``params.per_article``) each side's article score is its best
    passage's score, articles are fused, and each article is represented by its passage
    with the best passage-level blend; that passage carries the article's score and comes
    first, the article's other candidates follow at the end of the list (so callers that
    collapse to articles can still count them). With ``lead`` an article's dense score
    also counts its first passage (``params.lead_weight``).

    Args:
        dense: ``(passage id, cosine)`` best first.
        lexical: ``(passage id, bm25)`` best first.
        weight: Lexical weight in ``[0, 1]``.
        params: Normalisation settings.
        article_of: Article id of every candidate passage, to fuse per article.
        lead: Cosine of each candidate article's first passage (per-article fusion only;
            an article missing here is scored by its best passage alone).

    Returns:
        Candidates, best first (ties broken by dense score, then id).
    """
    if weight <= 0:
        # Without a lexical side hybrid is dense search: keep the cosines, which mean
        # something to a reader and to a score floor, rather than normalised values.
        only_dense = [Fused(key, score, score, None) for key, score in dense]
        only_dense.sort(key=_order)
        return only_dense
    dense_raw = dict(dense)
    lexical_raw = dict(lexical)
    if article_of is not None and params.per_article:
        return _fuse_articles(dense_raw, lexical_raw, weight, params, article_of, lead or {})
    dense_norm = _normalised(dense_raw, params)
    lexical_norm = _normalised(lexical_raw, params)
    dense_floor = min(dense_norm.values(), default=0.0) - MISSING_GAP
    lexical_floor = min(lexical_norm.values(), default=0.0) - MISSING_GAP
    out = [
        Fused(
            id=key,
            score=(1.0 - weight) * dense_norm.get(key, dense_floor)
            + weight * lexical_norm.get(key, lexical_floor),
            dense=dense_raw.get(key),
            lexical=lexical_raw.get(key),
        )
        for key in dense_raw.keys() | lexical_raw.keys()
    ]
    out.sort(key=_order)
    return out


def _order(fused: Fused) -> tuple[float, float, int]:
    return (-fused.score, -(fused.dense if fused.dense is not None else -2.0), fused.id)


def _normalised(raw: Mapping[int, float], params: FusionParams) -> dict[int, float]:
    scale = normaliser(list(raw.values()), params)
    return {key: scale(value) for key, value in raw.items()}


def _fuse_articles(
    dense_raw: Mapping[int, float],
    lexical_raw: Mapping[int, float],
    weight: float,
    params: FusionParams,
    article_of: Mapping[int, str],
    lead: Mapping[str, float],
) -> list[Fused]:
    dense_best = _best_per_group(list(dense_raw.items()), article_of)
    lexical_best = _best_per_group(list(lexical_raw.items()), article_of)
    share = params.lead_weight
    dense_article = {
        article: (1.0 - share) * best + share * lead.get(article, best)
        for article, best in dense_best.items()
    }
    # Fitted on article scores: a long article's many passages must not set the scale.
    dense_scale = normaliser(list(dense_article.values()), params)
    lexical_scale = normaliser(list(lexical_best.values()), params)
    dense_floor = min(map(dense_scale, dense_article.values()), default=0.0) - MISSING_GAP
    lexical_floor = min(map(lexical_scale, lexical_best.values()), default=0.0) - MISSING_GAP

    def blend(dense_score: float | None, lexical_score: float | None) -> float:
        d = dense_floor if dense_score is None else dense_scale(dense_score)
        lex = lexical_floor if lexical_score is None else lexical_scale(lexical_score)
        return (1.0 - weight) * d + weight * lex

    passages: dict[str, list[Fused]] = {}
    for key in dense_raw.keys() | lexical_raw.keys():
        article = article_of.get(key)
        if article is None:  # no stored row: never rank a passage the database lacks
            continue
        d, lex = dense_raw.get(key), lexical_raw.get(key)
        passages.setdefault(article, []).append(Fused(key, blend(d, lex), d, lex))
    heads: list[Fused] = []
    rest: list[Fused] = []
    for article, members in passages.items():
        members.sort(key=_order)
        head = members[0]
        heads.append(
            Fused(
                id=head.id,
                score=blend(dense_article.get(article), lexical_best.get(article)),
                dense=dense_best.get(article),
                lexical=lexical_best.get(article),
            )
        )
        rest += members[1:]
    heads.sort(key=_order)
    rest.sort(key=_order)
    return heads + rest
