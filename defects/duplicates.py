"""Duplicate finder engine: the defects of a project most similar to a title and description, with a 0-1 score.

Callers go through `defects.selectors.defect_similar_list` / `defect_similar_to` (the defect page, the create
form's as-you-type suggestions and the API all use those two).

Three steps, so the cost stays flat as a project grows:

1. The query. Words of the title and the first DESCRIPTION_CHARS of the description, without stop words and
   without noise: URLs and file paths are cut out, and build hashes, plain numbers,
   timestamps and very long tokens are dropped (`is_noise`). Each word is weighted by its rarity (inverse
   document frequency from a cached, evenly spread sample of the project's defects, `word_stats`).
2. Candidates, at most 100 rows, through indexes:
   - PostgreSQL, in one statement (defects/duplicates_pg.py): rows retrieved by the query's rare words and
     by pairs of its commoner words (GIN indexes, under a row budget), ranked in the database by the
     rarity weight of every query word they hold (a BM25-like sum, title words counting double), plus the
     titles closest by `pg_trgm` word similarity to the title's words the sample has never seen (typos
     such as "acounts").
   - SQLite (embedded mode): one pass over the titles scoring each row by the summed rarity weight of the
     query words it contains; words the sample has never seen are also looked for by their 4-letter pieces,
     which is how a typo still finds the word it misspells.
3. One scorer in Python for both databases (`score`): IDF-weighted token overlap (weighted Ochiai) of the
   titles and of title + description, plus the trigram similarity of the titles; on PostgreSQL blended
   with the database's ranking (SQL_BLEND), which judges the whole stored text.

Measured quality and latency: docs/benchmarks.md, "Duplicate finder" (bench/duplicates_recall.py, labels
from bench/duplicates_labels.py).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache, reduce

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, FloatField, Q, Value, When
from django.db.models.functions import Mod, Substr

from . import duplicates_pg
from .models import Defect

MIN_SCORE = 0.1
SQLITE_CANDIDATES = 100
SQL_BLEND = 0.3  # weight of the database's ranking (scaled 0-1 by the best candidate's) beside the scorer's
DESCRIPTION_CHARS = 1000
TITLE_CHARS = 300
MAX_TERMS = 12
SQLITE_TITLE_WORDS = 3  # SQLite scans anyway: the title's least common words join even when common
MAX_MATCH_ROWS = 1000  # the retrieval query may match about this many defects (what the ranking reads)
RANK_WORDS = 24  # words the database ranks candidates by (its cost grows with them)
COMMON_SHARE = 0.3  # a word in more than this share of the defects tells them apart too little to search by
COMMON_MIN_SAMPLE = 20  # ... in a project of at least this many defects
SAMPLE_SIZE = 1000
SAMPLE_TTL = 600  # seconds a project's word-frequency sample is reused
LOCAL_TTL = 60  # seconds a process keeps it without asking the shared cache
WEIGHT_TITLE, WEIGHT_ALL, WEIGHT_TRIGRAM = 0.3, 0.5, 0.2

_STOP_TEXT = """a an and are as at be been but by can could did do does for from had has have how if in into is it its
    may might more must no not of on or our should so such than that the their then there these they this
    those to too was we were when where which while will with would you your after before being all also any
    because both each few get gets got here just like make makes many most much new now off once only other
    out over same some still them very via what who why use used using whenever shall i me my"""
STOPWORDS = frozenset(_STOP_TEXT.split())

_URL = re.compile(r"\b(?:[a-z][a-z0-9+.\-]*://|www\.)\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:|~|\.{1,2})?(?:[/\\][\w.\-$@]+){2,}[/\\]?")
_WORD = re.compile(r"[A-Za-z0-9_]+(?:[.\-][A-Za-z0-9_]+)*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SEPARATORS = re.compile(r"[.\-_]")
_SIMPLE = re.compile(r"[a-z0-9]+")
_HEX = re.compile(r"(?=[0-9a-f_\-]*\d)(?=[0-9a-f_\-]*[a-f])[0-9a-f_\-]{7,}")
_ALNUM = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d")
_VERSION = re.compile(r"\d{1,4}(?:\.\d{1,4}){1,3}(?:[.\-]?[a-z]{1,5}\d{0,2})?")
MAX_WORD = 40


def is_noise(word: str) -> bool:
    """A token that says nothing about the problem: a hash, a number, a version, a timestamp, a blob.

    Identifiers that start with letters are kept, numbers included (CVE-2022-2047, HADOOP-17890, log4j), and
    so are version strings (3.3.4, 30.1.1-jre): the same version in two reports is a real clue.
    """
    w = word.lower()
    if len(w) > MAX_WORD:
        return True  # a blob
    if _VERSION.fullmatch(w):
        return False
    if not any(c.isalpha() for c in w):
        return True  # numbers, dates
    if _HEX.fullmatch(w):
        return True  # build hashes, commit ids, uuids
    return w[0].isdigit() and len(_DIGITS.findall(w)) * 2 > len(w)  # 2021-09-08t00, 30s1, 0x-like counters


def clean(text: str) -> str:
    """The text without URLs and file paths (their parts would otherwise pass for words)."""
    return _PATH.sub(" ", _URL.sub(" ", text or ""))


def words(text: str) -> list[str]:
    """Whole words as the full-text parser sees them (lower-cased), in order, without stop words and noise."""
    out: list[str] = []
    for match in _WORD.finditer(clean(text)):
        lowered = match.group(0).lower().strip("._-")
        if len(lowered) > 1 and lowered not in STOPWORDS and not is_noise(lowered):
            out.append(lowered)
    return out


def tokens(text: str) -> set[str]:
    """Lower-cased words and identifier parts, without stop words, noise and one-letter words.

    `S3AInputStream.read()` gives s3ainputstream.read, s3ainputstream, read, input, stream, ...: whole
    identifiers match exactly, their parts still match loosely.
    """
    out: set[str] = set()
    for match in _WORD.finditer(clean(text)):
        out.update(_word_tokens(match.group(0)))
    return out


@lru_cache(maxsize=200_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    """The tokens of one word (cached: the same words come back in every description)."""
    lowered = word.lower()
    if word.isalpha() and len(word) <= MAX_WORD and (word.islower() or word[1:].islower()):
        return (lowered,) if len(lowered) > 1 and lowered not in STOPWORDS else ()
    if is_noise(lowered):
        return ()
    out: set[str] = set()
    if len(lowered) > 1 and lowered not in STOPWORDS:
        out.add(lowered)
    if len(word) > 3 and not _SIMPLE.fullmatch(word):
        for piece in _SEPARATORS.split(word):
            if len(piece) > 2 and piece.lower() not in STOPWORDS and not is_noise(piece):
                out.add(piece.lower())
            for part in _CAMEL.findall(piece):
                part = part.lower()
                if len(part) > 2 and part not in STOPWORDS and not is_noise(part):
                    out.add(part)
    return tuple(out)


def trigrams(text: str) -> set[str]:
    """The trigrams pg_trgm takes from a text: each alphanumeric word, lower-cased, padded '  w '."""
    grams: set[str] = set()
    for word in _ALNUM.findall((text or "").lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def trigram_similarity(query: set[str], title: set[str]) -> float:
    """How close two titles are by trigrams: pg_trgm's similarity() (shared over all), or, when higher, 0.8 of
    the share of the query's trigrams found in the title (close to word_similarity(): a short or misspelt
    query inside a longer title)."""
    if not query or not title:
        return 0.0
    shared = len(query & title)
    return max(shared / len(query | title), 0.8 * shared / len(query))


@dataclass
class Similar:
    defect: Defect
    score: float


@dataclass
class WordStats:
    """Document frequencies of words in a sample of a project's defects, and the project's size."""

    sample: int
    df: dict[str, int]
    total: int = 0  # defects in the project (the sample's size for small projects)
    title_df: dict[str, int] = field(default_factory=dict)  # the same, in titles only
    _idf: dict[str, float] = field(default_factory=dict, repr=False)

    def idf(self, word: str) -> float:
        value = self._idf.get(word)
        if value is None:
            value = self._idf[word] = math.log((self.sample + 1) / (self.df.get(word, 0) + 1)) + 1.0
        return value

    def share(self, word: str) -> float:
        return self.df.get(word, 0) / self.sample if self.sample else 0.0

    def title_share(self, word: str) -> float:
        return self.title_df.get(word, 0) / self.sample if self.sample else 0.0


_LOCAL: dict[str, tuple[float, WordStats]] = {}  # per process, in front of the shared cache


def word_stats(*, project_id: int) -> WordStats:
    """Word frequencies of the project, from an evenly spread sample of SAMPLE_SIZE defects.

    Cached SAMPLE_TTL seconds (shared cache, and LOCAL_TTL in the process), keyed by the project's size up to
    SAMPLE_SIZE + 1, so a small project's sample is read again as soon as a defect is added.
    """
    # How many defects, counting no further than needed to tell a small project from a large one.
    # No ordering: the model's default (-created_at) would sort the whole project before the LIMIT.
    seen = Defect.objects.filter(project_id=project_id).order_by().values("id")[: SAMPLE_SIZE + 1].count()
    if seen == 0:
        return WordStats(sample=0, df={})
    key = _stats_key(project_id=project_id, seen=seen)
    now = time.monotonic()
    local = _LOCAL.get(key)
    if local is not None and local[0] > now:
        return local[1]
    cached = cache.get(key)
    if cached is not None:
        stats = WordStats(sample=cached[0], df=cached[1], total=cached[2], title_df=cached[3])
    else:
        qs = Defect.objects.filter(project_id=project_id).order_by("id")
        total = seen
        if seen > SAMPLE_SIZE:
            total = qs.count()
            # Every n-th row by id: spread over the project's history, and the same sample every time.
            qs = qs.annotate(slot=Mod("id", Value(total // SAMPLE_SIZE + 1))).filter(slot=0)
        rows = qs.annotate(head=Substr("description", 1, DESCRIPTION_CHARS)).values_list("title", "head")
        df: Counter[str] = Counter()
        title_df: Counter[str] = Counter()
        count = 0
        for title, head in rows[:SAMPLE_SIZE]:
            count += 1
            in_title = tokens(title)
            title_df.update(in_title)
            df.update(in_title | tokens(head or ""))
        stats = WordStats(sample=count, df=dict(df), total=total, title_df=dict(title_df))
        cache.set(key, (stats.sample, stats.df, stats.total, stats.title_df), SAMPLE_TTL)
    if len(_LOCAL) > 64:
        _LOCAL.clear()
    _LOCAL[key] = (now + LOCAL_TTL, stats)
    return stats


def word_stats_forget(*, project_id: int) -> None:
    """Drop a project's cached sample (after a bulk load, so the next query samples the new rows)."""
    _LOCAL.clear()
    cache.delete(_stats_key(project_id=project_id, seen=SAMPLE_SIZE + 1))


def _stats_key(*, project_id: int, seen: int) -> str:
    return f"defects:wordstats:v6:{project_id}:{seen}"


@dataclass
class Query:
    """A title and description prepared for retrieval and scoring."""

    title: str
    title_tokens: set[str]
    all_tokens: set[str]
    title_trigrams: set[str]
    terms: list[str]  # the words worth searching by alone, rarest first (retrieval_terms)
    title_words: list[str]  # the title's words, in order
    rank_words: list[str]  # the words candidates are retrieved and ranked by (the title's, then the terms)

    @property
    def empty(self) -> bool:
        return not self.all_tokens


def prepare(*, title: str, description: str, stats: WordStats) -> Query:
    title = (title or "").strip()[:TITLE_CHARS]
    description = (description or "")[:DESCRIPTION_CHARS]
    title_tokens = tokens(title)
    all_tokens = title_tokens | tokens(description)
    terms = retrieval_terms(title=title, description=description, stats=stats)
    title_words = words(title)
    return Query(
        title=title,
        title_tokens=title_tokens,
        all_tokens=all_tokens,
        title_trigrams=trigrams(" ".join(title_words)),
        terms=terms,
        title_words=title_words,
        rank_words=list(dict.fromkeys(title_words + terms))[:RANK_WORDS],
    )


def _common_share(stats: WordStats) -> float:
    """COMMON_SHARE, once the project is large enough for a word's frequency to say something."""
    return COMMON_SHARE if stats.sample >= COMMON_MIN_SAMPLE else 1.0


def retrieval_terms(*, title: str, description: str, stats: WordStats) -> list[str]:
    """The words to retrieve candidates by (an OR of them), rarest first.

    Words are taken rarest first while the defects they can match together stay under MAX_MATCH_ROWS (the
    rows the database ranks, which is what a query costs); words in more than COMMON_SHARE of the defects
    are left out whatever the project's size. A word the sample never saw costs next to
    nothing, so a typo or a stray identifier joins the query without pushing the real words out; when such
    words are all there is, the title's trigram search (PostgreSQL) or its commonest words (SQLite) still
    bring candidates.
    """
    all_words = list(dict.fromkeys(words(title) + words(description[:DESCRIPTION_CHARS])))
    rarity = {w: stats.share(w) for w in all_words}
    common = _common_share(stats)
    size = max(stats.total, stats.sample, 1)
    limit = MAX_MATCH_ROWS / size  # as a share of the project
    floor = 1 / stats.sample if stats.sample else 0.0  # what a word the sample never saw may still match
    chosen: list[str] = []
    budget = 0.0
    for word in sorted(all_words, key=lambda w: (rarity[w], -len(w))):
        cost = rarity[word] or floor
        if len(chosen) < MAX_TERMS and budget + cost <= limit and rarity[word] <= common:
            chosen.append(word)
            budget += cost
    return chosen


def _weighted_ochiai(a: set[str], b: set[str], stats: WordStats) -> float:
    if not a or not b:
        return 0.0
    shared = a & b
    if not shared:
        return 0.0
    idf = stats.idf
    return sum(map(idf, shared)) / math.sqrt(sum(map(idf, a)) * sum(map(idf, b)))


def score(*, query: Query, title: str, description: str, stats: WordStats) -> float:
    """Similarity of a candidate to the query, 0-1: title overlap, whole-text overlap, title trigrams."""
    c_title = tokens(title)
    return (
        WEIGHT_TITLE * _weighted_ochiai(query.title_tokens, c_title, stats)
        + WEIGHT_ALL * _weighted_ochiai(query.all_tokens, c_title | tokens(description), stats)
        + WEIGHT_TRIGRAM * trigram_similarity(query.title_trigrams, trigrams(" ".join(words(title))))
    )


def _like_pieces(word: str) -> list[str]:
    """4-letter pieces of a word, so a LIKE on them still meets the word a typo misspells."""
    if len(word) < 6:
        return [word[:3], word[-3:]] if len(word) >= 5 else []
    return [word[i : i + 4] for i in range(0, len(word) - 3, 2)]


def _balanced_sum(terms: list):
    """a + b + ... as a balanced tree: SQLite's parser overflows on a left-deep chain of some 50 additions."""
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return _balanced_sum(terms[:middle]) + _balanced_sum(terms[middle:])


def _title_candidates(
    *, project_id: int, query: Query, stats: WordStats, exclude_id: int | None
) -> list[int]:
    """Any database: ids of the rows whose titles hold the most (rarity-weighted) query words."""
    weights: dict[str, float] = {}
    title_words = sorted(dict.fromkeys(words(query.title)), key=stats.share)
    for term in query.terms + [w for w in title_words if w not in query.terms][:SQLITE_TITLE_WORDS]:
        weights[term] = max(weights.get(term, 0.0), stats.idf(term))
        if stats.df.get(term, 0) == 0:  # never seen: maybe a typo, look for its pieces too
            for piece in _like_pieces(term):
                weights[piece] = max(weights.get(piece, 0.0), stats.idf(term) / 4)
    if not weights:
        return []
    weight = _balanced_sum(
        [
            Case(When(title__icontains=term, then=Value(w)), default=Value(0.0), output_field=FloatField())
            for term, w in weights.items()
        ]
    )
    qs = (
        Defect.objects.filter(project_id=project_id)
        .filter(reduce(lambda a, b: a | b, [Q(title__icontains=t) for t in weights]))
        .annotate(match_weight=weight)
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-match_weight", "-id").values_list("pk", flat=True)[:SQLITE_CANDIDATES])


def find(
    *, project_id: int, title: str, description: str = "", exclude_id: int | None = None, limit: int = 5
) -> list[Similar]:
    """The `limit` defects of the project most similar to the text, best first, each with a 0-1 score.

    Four queries once the project's word sample is cached (its size probe, the trigram threshold, the
    candidates, the candidates' rows), six when the sample is read; never more, whatever the project's size.
    On SQLite there is no database ranking: the scorer alone orders the candidates.
    """
    if not (title or "").strip() and not (description or "").strip():
        return []
    stats = word_stats(project_id=project_id)
    query = prepare(title=title, description=description or "", stats=stats)
    if query.empty:
        return []
    if connection.vendor == "postgresql":
        ranks = duplicates_pg.candidates(
            project_id=project_id, query=query, stats=stats, exclude_id=exclude_id
        )
    else:
        ids = _title_candidates(project_id=project_id, query=query, stats=stats, exclude_id=exclude_id)
        ranks = dict.fromkeys(ids, 0.0)
    if not ranks:
        return []
    best_rank = max(ranks.values()) or 1.0
    rows = (
        Defect.objects.filter(pk__in=list(ranks), project_id=project_id)
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
    found = []
    for row in rows:
        value = score(query=query, title=row.title, description=row.desc_head or "", stats=stats)
        if best_rank > 0:  # PostgreSQL ranked the candidates: blend it in (trigram-only candidates have 0)
            value = (value + SQL_BLEND * ranks[row.pk] / best_rank) / (1 + SQL_BLEND)
        if value >= MIN_SCORE:
            found.append(Similar(defect=row, score=round(min(value, 1.0), 4)))
    found.sort(key=lambda s: (-s.score, -s.defect.pk))
    return found[:limit]
