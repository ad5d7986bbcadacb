"""A labelled copy / reuse set built from ``../shared/corpus/thucnews-1k-articles.tsv``.

Every copy and reuse pair is made by a programmatic edit, so the labels are known:

- ``copy``: an original and its edited copies (and copies of one original between them).
  Edits: ``truncated`` (the first 40–85 %, cut at a sentence end), ``dropped`` (20–40 % of
  the sentences removed), ``boilerplate`` (an agency dateline before, a credit after),
  ``ocr`` (spaces inside words, half-width / dropped / doubled punctuation, 0.5 % look-alike
  characters), ``traditional`` (OpenCC ``s2t``), ``mixed`` (boilerplate + OCR noise +
  traditional on a truncated text).
- ``reuse``: a host article given a span of 60–300 normalised characters of a donor
  article at a sentence boundary (the host is replaced by its reusing version; hosts and
  donors have no copies).
- Everything else is a negative, in particular the many same-category (same-topic) pairs.

Articles of the source file that already share a span of at least :data:`NATURAL_SPAN`
characters with another (THUCNews holds some reprints) are left out, as their true level is
unlabelled; smaller shared text (agency credits) stays as hard negatives. Base articles are
split in halves by a hash of their number: ``tuning`` (rules calibrated here) and
``heldout`` (figures reported). Dates: originals and donors are older than their copies and
hosts, so the earliest dated article is the true source.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import opencc

from semsearch.service.reports.align import align
from semsearch.service.reports.normalise import normalise

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "corpus" / "thucnews-1k-articles.tsv"
NATURAL_SPAN = 50
# Probe for natural overlaps: articles sharing a 16-character normalised shingle are aligned.
_PROBE = 16
COPY_SHARE = 0.4  # of base articles that get copies
REUSE_SHARE = 0.15  # of base articles that are donors (as many are hosts)
EDITS = ("truncated", "dropped", "boilerplate", "ocr", "traditional", "mixed")
_S2T = opencc.OpenCC("s2t")
_SENTENCE = re.compile(r"(?<=[。！？!?])")
_AGENCIES = ("新华社", "中新社", "本报讯", "央视网消息", "人民网", "新浪财经讯", "中国日报网")
_CITIES = ("北京", "上海", "广州", "郑州", "成都", "武汉", "西安", "南京", "深圳", "杭州")
_NAMES = ("王磊", "李静", "张伟", "刘洋", "陈晨", "杨帆", "赵敏", "黄涛", "周婷", "吴刚")
_CREDITS = ("（责任编辑：{}）", "（编辑：{}）", "（来源：{}）", "【编辑：{}】", "（本文作者：{}）")
_LOOKALIKE = {"己": "已", "已": "己", "日": "曰", "未": "末", "人": "入", "土": "士", "力": "刀"}
_HALF = {"，": ",", "。": ".", "：": ":", "；": ";", "！": "!", "？": "?", "（": "(", "）": ")"}


@dataclass(frozen=True)
class Item:
    """One article of the set."""

    id: str
    text: str
    date: str
    split: str
    kind: str  # original, copy:<edit>, donor, host, single
    category: str


@dataclass
class LabelledSet:
    """Articles and the labelled positive pairs (ids sorted in each pair)."""

    items: list[Item] = field(default_factory=list)
    copy_pairs: set[tuple[str, str]] = field(default_factory=set)
    reuse_pairs: set[tuple[str, str]] = field(default_factory=set)
    sources: dict[str, str] = field(default_factory=dict)  # article -> its true source
    removed_natural: int = 0

    def split(self, name: str) -> LabelledSet:
        """The articles and pairs of one split (``tuning`` or ``heldout``)."""
        items = [i for i in self.items if i.split == name]
        ids = {i.id for i in items}
        return LabelledSet(
            items=items,
            copy_pairs={p for p in self.copy_pairs if p[0] in ids},
            reuse_pairs={p for p in self.reuse_pairs if p[0] in ids},
            sources={k: v for k, v in self.sources.items() if k in ids},
            removed_natural=self.removed_natural,
        )

    def copy_free(self) -> set[str]:
        """Articles with no copy in the set (singles, donors, hosts)."""
        in_copy = {a for pair in self.copy_pairs for a in pair}
        return {i.id for i in self.items} - in_copy


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s]


def truncated(text: str, rng: random.Random) -> str:
    """The first 40–85 % of ``text``, ending at a sentence end when there is one."""
    cut = int(len(text) * rng.uniform(0.4, 0.85))
    end = max(text.rfind(p, 0, cut) for p in "。！？")
    return text[: end + 1] if end > len(text) * 0.3 else text[:cut]


def dropped(text: str, rng: random.Random) -> str:
    """``text`` with 20–40 % of its sentences removed (at least one kept)."""
    sentences = _sentences(text)
    if len(sentences) < 3:
        return truncated(text, rng)
    drop = set(
        rng.sample(range(len(sentences)), max(1, int(len(sentences) * rng.uniform(0.2, 0.4))))
    )
    return "".join(s for n, s in enumerate(sentences) if n not in drop)


def boilerplate(text: str, rng: random.Random) -> str:
    """``text`` with an agency dateline before and an editor's credit after."""
    dateline = (
        f"{rng.choice(_AGENCIES)}{rng.choice(_CITIES)}{rng.randint(1, 12)}月"
        f"{rng.randint(1, 28)}日电（记者 {rng.choice(_NAMES)}）"
    )
    return dateline + text + rng.choice(_CREDITS).format(rng.choice(_NAMES))


def ocr(text: str, rng: random.Random) -> str:
    """``text`` with OCR spacing, punctuation and look-alike character noise."""
    out = []
    for char in text:
        roll = rng.random()
        if char in _HALF and roll < 0.3:
            out.append(_HALF[char])
        elif char in _HALF and roll < 0.4:
            continue
        elif char in _HALF and roll < 0.45:
            out.append(char + char)
        elif char in _LOOKALIKE and roll < 0.2:
            out.append(_LOOKALIKE[char])
        elif roll < 0.005 and char not in _HALF:
            out.append(rng.choice("一二人口日"))
        else:
            out.append(char)
        if rng.random() < 0.03:
            out.append(" ")
    return "".join(out)


def traditional(text: str, rng: random.Random) -> str:
    """``text`` in traditional script."""
    return _S2T.convert(text)


def mixed(text: str, rng: random.Random) -> str:
    """A truncated text in traditional script with boilerplate and OCR noise."""
    return traditional(ocr(boilerplate(truncated(text, rng), rng), rng), rng)


_EDIT_FUNCTIONS = {
    "truncated": truncated,
    "dropped": dropped,
    "boilerplate": boilerplate,
    "ocr": ocr,
    "traditional": traditional,
    "mixed": mixed,
}


def reused(host: str, donor: str, rng: random.Random) -> str:
    """``host`` with a span of 60–300 normalised characters of ``donor`` inserted."""
    sentences = _sentences(donor)
    start = rng.randrange(len(sentences))
    want = rng.randint(60, 300)
    span = ""
    for sentence in sentences[start:] + sentences[:start]:
        span += sentence
        if len(normalise(span).text) >= want:
            break
    span = span[: len(span)]
    while len(normalise(span).text) > want + 40 and len(span) > 60:
        span = span[: int(len(span) * 0.8)]
    host_sentences = _sentences(host)
    at = rng.randrange(1, max(2, len(host_sentences)))
    return "".join(host_sentences[:at]) + span + "".join(host_sentences[at:])


def _read(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        category, _, text = line.partition("\t")
        if text.strip():
            rows.append((category, text.strip()))
    return rows


def _natural_overlaps(texts: list[str]) -> set[int]:
    """Articles sharing a span of :data:`NATURAL_SPAN`+ characters with an earlier one.

    Exhaustive over pairs that share a :data:`_PROBE`-character shingle (an inverted index,
    not the LSH under test).
    """
    normal = [normalise(t).text for t in texts]
    postings: dict[str, set[int]] = {}
    for number, text in enumerate(normal):
        for start in range(0, max(0, len(text) - _PROBE + 1)):
            postings.setdefault(text[start : start + _PROBE], set()).add(number)
    pairs = {
        (a, b)
        for owners in postings.values()
        if 1 < len(owners) <= 50
        for a in owners
        for b in owners
        if a < b
    }
    return {b for a, b in pairs if align(normal[a], normal[b]).longest >= NATURAL_SPAN}


def _split_of(number: int) -> str:
    digest = hashlib.sha1(f"thuc-{number}".encode()).digest()
    return "tuning" if digest[0] % 2 == 0 else "heldout"


def _dates(rng: random.Random) -> Iterator[str]:
    while True:
        yield f"2024-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"


def build(path: Path = SOURCE, *, seed: int = 15) -> LabelledSet:
    """Build the labelled set.

    Args:
        path: The THUCNews articles file (``category \\t text`` a line).
        seed: Random seed (the set is the same for the same seed).

    Returns:
        The set, both splits.
    """
    rng = random.Random(seed)
    rows = _read(path)
    natural = _natural_overlaps([t for _, t in rows])
    result = LabelledSet(removed_natural=len(natural))
    base = [(n, c, t) for n, (c, t) in enumerate(rows) if n not in natural]
    rng.shuffle(base)
    n_copy = int(len(base) * COPY_SHARE)
    n_reuse = int(len(base) * REUSE_SHARE)
    originals = base[:n_copy]
    donors = base[n_copy : n_copy + n_reuse]
    hosts = base[n_copy + n_reuse : n_copy + 2 * n_reuse]
    singles = base[n_copy + 2 * n_reuse :]
    dates = _dates(rng)
    edit = 0
    for number, category, text in originals:
        split, original = _split_of(number), f"thuc-{number}"
        day = next(dates)
        result.items.append(Item(original, text, day, split, "original", category))
        group = [original]
        for copy_no in range(rng.randint(1, 3)):
            kind = EDITS[edit % len(EDITS)]
            edit += 1
            copy_id = f"{original}-copy{copy_no}-{kind}"
            copy_text = _EDIT_FUNCTIONS[kind](text, rng)
            later = day.replace("2024", "2025")
            result.items.append(Item(copy_id, copy_text, later, split, f"copy:{kind}", category))
            result.sources[copy_id] = original
            group.append(copy_id)
        result.copy_pairs |= {_pair(a, b) for a in group for b in group if a != b}
    for (dn, dcat, dtext), (hn, hcat, htext) in zip(donors, hosts, strict=True):
        donor_id, host_id = f"thuc-{dn}", f"thuc-{hn}-reuses-{dn}"
        # A pair lives in the donor's split; the host follows it.
        split = _split_of(dn)
        day = next(dates)
        result.items.append(Item(donor_id, dtext, day, split, "donor", dcat))
        host_text = reused(htext, dtext, rng)
        later = day.replace("2024", "2025")
        result.items.append(Item(host_id, host_text, later, split, "host", hcat))
        result.reuse_pairs.add(_pair(donor_id, host_id))
        result.sources[host_id] = donor_id
    for number, category, text in singles:
        result.items.append(
            Item(f"thuc-{number}", text, next(dates), _split_of(number), "single", category)
        )
    return result


if __name__ == "__main__":
    built = build()
    for name in ("tuning", "heldout"):
        part = built.split(name)
        print(
            f"{name}: {len(part.items)} articles, {len(part.copy_pairs)} copy pairs, "
            f"{len(part.reuse_pairs)} reuse pairs, {len(part.copy_free())} copy-free"
        )
    print(f"left out (natural overlaps): {built.removed_natural}")
