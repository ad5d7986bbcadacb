"""Named entities (person, place, organisation) of texts and articles, with offsets.

Usage::

    extractor = EntityExtractor(EntityConfig(tagger=TaggerConfig(threads=1, batch_size=32)))
    for article, passages in prepare_articles(paths, embedder):
        found = extractor.extract_article(article, passages)
        found.passages[0]  # (Mention(start, end, type, printed, folded), ...)
"""

from semsearch.embedder.entities.extract import (
    ArticleEntities,
    EntityConfig,
    EntityExtractor,
    EntityType,
    Mention,
    default_extractor,
)
from semsearch.embedder.entities.model import LacTagger, TaggerConfig
from semsearch.embedder.entities.repair import RepairConfig
from semsearch.embedder.entities.rules import PaperPlace

__all__ = [
    "ArticleEntities",
    "EntityConfig",
    "EntityExtractor",
    "EntityType",
    "LacTagger",
    "Mention",
    "PaperPlace",
    "RepairConfig",
    "TaggerConfig",
    "default_extractor",
]
