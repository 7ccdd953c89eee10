"""Duplicate finder: the defects of a project most similar to a title and description, ranked with a score.

Two stages, so the cost stays flat as a project grows:

1. Candidate retrieval, bounded to CANDIDATES rows, through what the database indexes. The query's words
   are weighted by rarity (inverse document frequency estimated from a cached, evenly spread sample of the
   project's defects) and the rarest ones are used:
   - PostgreSQL: full-text OR-query over the stored, weighted `search_vector` column (title A, first 1,500
     characters of the description B; GIN index, migration 0002), best CANDIDATES by `ts_rank`.
   - SQLite (and PostgreSQL when the full-text query finds nothing, e.g. only stop words): one pass over
     the titles scoring each row by the summed weight of the rare words it contains (`title LIKE`; on
     PostgreSQL the GIN trigram index on `title` serves these), best CANDIDATES by that score.
2. Re-ranking of the candidates in Python with one scorer on both databases: IDF-weighted token overlap
   (weighted Ochiai coefficient) of the titles (60 %) and of title + description (40 %).

The score is between 0 and 1; candidates under MIN_SCORE are dropped. Measured quality and latency:
docs/benchmarks.md, "Duplicate finder" (bench/duplicates_recall.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from operator import add

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, FloatField, Value, When
from django.db.models.functions import Mod, Substr

from .models import Defect

MIN_SCORE = 0.08
CANDIDATES = 150
DESCRIPTION_CHARS = 1000
RETRIEVAL_TERMS = 8
SAMPLE_SIZE = 1000
SAMPLE_TTL = 600  # seconds a project's word-frequency sample is reused
COMMON_FRACTION = 0.05  # words in more than this share of defects are too common to retrieve by

_STOP_TEXT = """a an and are as at be been but by can could did do does for from had has have how if in into is it its
    may might more must no not of on or our should so such than that the their then there these they this
    those to too was we were when where which while will with would you your after before being all also any
    because both each few get gets got here just like make makes many most much new now off once only other
    out over same some still them very via what who why use used using whenever shall"""
STOPWORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[A-Za-z0-9_]+(?:[.\-][A-Za-z0-9_]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
_SEPARATORS = re.compile(r"[.\-_]")
_SIMPLE = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> set[str]:
    """Lower-cased words and identifier parts, without stop words and one-letter noise.

    `S3AInputStream.read()` gives s3ainputstream.read, s3ainputstream, read, input, stream, ...: whole
    identifiers match exactly, their parts still match loosely.
    """
    out: set[str] = set()
    for match in _WORD.finditer(text or ""):
        word = match.group(0)
        lowered = word.lower()
        if len(lowered) > 1 and lowered not in STOPWORDS:
            out.add(lowered)
        if len(word) > 3 and not _SIMPLE.fullmatch(word):
            for piece in _SEPARATORS.split(word):
                if len(piece) > 2 and piece.lower() not in STOPWORDS:
                    out.add(piece.lower())
                for part in _CAMEL.findall(piece):
                    part = part.lower()
                    if len(part) > 2 and part not in STOPWORDS:
                        out.add(part)
    return out


@dataclass
class Similar:
    defect: Defect
    score: float


@dataclass
class WordStats:
    """Document frequencies of words in a sample of a project's defects."""

    sample: int
    df: dict[str, int]
    _idf: dict[str, float] = field(default_factory=dict, repr=False)

    def idf(self, word: str) -> float:
        value = self._idf.get(word)
        if value is None:
            value = self._idf[word] = math.log((self.sample + 1) / (self.df.get(word, 0) + 1)) + 1.0
        return value

    def share(self, word: str) -> float:
        return self.df.get(word, 0) / self.sample if self.sample else 0.0


def word_stats(*, project_id: int) -> WordStats:
    """Word frequencies of the project, from an evenly spread sample of SAMPLE_SIZE defects (cached SAMPLE_TTL s).

    Small projects (up to SAMPLE_SIZE defects) are read whole and not cached, so the figures are exact.
    """
    # How many defects, counting no further than needed to tell a small project from a large one.
    seen = Defect.objects.filter(project_id=project_id).values("id")[: SAMPLE_SIZE + 1].count()
    if seen == 0:
        return WordStats(sample=0, df={})
    key = f"defects:wordstats:{project_id}"
    qs = Defect.objects.filter(project_id=project_id)
    large = seen > SAMPLE_SIZE
    if large:
        cached = cache.get(key)
        if cached is not None:
            return WordStats(sample=cached[0], df=cached[1])
        total = qs.count()
        # Every n-th row by id: spread over the project's history, and the same sample every time.
        qs = qs.annotate(slot=Mod("id", Value(total // SAMPLE_SIZE + 1))).filter(slot=0)
    rows = qs.annotate(head=Substr("description", 1, DESCRIPTION_CHARS)).values_list("title", "head")[
        :SAMPLE_SIZE
    ]
    df: Counter[str] = Counter()
    count = 0
    for title, head in rows:
        count += 1
        df.update(tokens(title) | tokens(head or ""))
    stats = WordStats(sample=count, df=dict(df))
    if large:
        cache.set(key, (stats.sample, stats.df), SAMPLE_TTL)
    return stats


def _weighted_ochiai(a: set[str], b: set[str], stats: WordStats) -> float:
    if not a or not b:
        return 0.0
    shared = a & b
    if not shared:
        return 0.0
    idf = stats.idf
    return sum(map(idf, shared)) / math.sqrt(sum(map(idf, a)) * sum(map(idf, b)))


def score(*, q_title: set[str], q_all: set[str], title: str, description: str, stats: WordStats) -> float:
    """Similarity of a candidate to the query: 0.6 title overlap + 0.4 title+description overlap."""
    c_title = tokens(title)
    return 0.6 * _weighted_ochiai(q_title, c_title, stats) + 0.4 * _weighted_ochiai(
        q_all, c_title | tokens(description), stats
    )


def retrieval_terms(*, title: str, description: str, stats: WordStats) -> list[str]:
    """The query's plain words (usable in a tsquery and LIKE), rarest first, common ones dropped."""
    words: dict[str, None] = {}
    for text in (title, description[:DESCRIPTION_CHARS]):
        for word in _PLAIN.findall(text or ""):
            lowered = word.lower()
            if lowered not in STOPWORDS:
                words.setdefault(lowered, None)
    ranked = sorted(words, key=lambda w: (stats.df.get(w, 0), -len(w)))
    rare = [w for w in ranked if stats.share(w) <= COMMON_FRACTION]
    # Common words alone would match a large share of the project: then only the three least common.
    return rare[:RETRIEVAL_TERMS] if rare else ranked[:3]


def _fts_candidates(*, project_id: int, terms: list[str], exclude_id: int | None) -> list[int]:
    """PostgreSQL: ids of the best full-text matches of any of the terms."""
    query = " | ".join(terms)
    sql = """
        SELECT id FROM defects_defect
        WHERE project_id = %s AND search_vector @@ to_tsquery('english', %s) AND id <> %s
        ORDER BY ts_rank(search_vector, to_tsquery('english', %s)) DESC, id DESC
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, query, exclude_id or 0, query, CANDIDATES])
        return [row[0] for row in cursor.fetchall()]


def _title_candidates(
    *, project_id: int, terms: list[str], stats: WordStats, exclude_id: int | None
) -> list[int]:
    """Any database: ids of the rows whose titles hold the most (rarity-weighted) query terms."""
    if not terms:
        return []
    weight = reduce(
        add,
        [
            Case(
                When(title__icontains=term, then=Value(stats.idf(term))),
                default=Value(0.0),
                output_field=FloatField(),
            )
            for term in terms
        ],
    )
    qs = Defect.objects.filter(project_id=project_id).annotate(match_weight=weight).filter(match_weight__gt=0)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-match_weight", "-id").values_list("pk", flat=True)[:CANDIDATES])


def similar_defects(
    *, project_id: int, title: str, description: str = "", exclude_id: int | None = None, limit: int = 5
) -> list[Similar]:
    """The `limit` defects of the project most similar to the text, best first, each with a 0-1 score."""
    title = (title or "").strip()[:300]
    description = (description or "")[:DESCRIPTION_CHARS]
    if not title and not description:
        return []
    stats = word_stats(project_id=project_id)
    terms = retrieval_terms(title=title, description=description, stats=stats)
    if not terms:
        return []
    ids: list[int] = []
    if connection.vendor == "postgresql":
        ids = _fts_candidates(project_id=project_id, terms=terms, exclude_id=exclude_id)
    if not ids:
        ids = _title_candidates(project_id=project_id, terms=terms, stats=stats, exclude_id=exclude_id)
    if not ids:
        return []
    rows = (
        Defect.objects.filter(pk__in=ids)
        .annotate(desc_head=Substr("description", 1, DESCRIPTION_CHARS))
        .only(
            "id",
            "key",
            "title",
            "status",
            "resolution",
            "severity",
            "project_id",
            "duplicate_of_id",
            "external_id",
        )
    )
    q_title = tokens(title)
    q_all = q_title | tokens(description)
    found = []
    for row in rows:
        value = score(
            q_title=q_title, q_all=q_all, title=row.title, description=row.desc_head or "", stats=stats
        )
        if value >= MIN_SCORE:
            found.append(Similar(defect=row, score=round(min(value, 1.0), 4)))
    found.sort(key=lambda s: (-s.score, -s.defect.pk))
    return found[:limit]


def similar_to_defect(*, defect: Defect, limit: int = 5) -> list[Similar]:
    """Defects of the same project most similar to an existing defect (itself excluded)."""
    return similar_defects(
        project_id=defect.project_id,
        title=defect.title,
        description=defect.description,
        exclude_id=defect.pk,
        limit=limit,
    )
