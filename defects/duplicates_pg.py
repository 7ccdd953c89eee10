"""Duplicate finder, PostgreSQL: candidates retrieved and ranked by the database in one statement.

Retrieval goes through GIN indexes only and stays under a row budget (MAX_MATCH_ROWS, estimated from the
project's word sample), because ranking is what a query costs:

- an OR over the stored `search_vector` of the query's words that are rare enough alone, and of pairs of its
  commoner words: `netty & upgrade` matches few defects of a large project even when each word alone matches
  thousands, so words that are common at 100,000 defects still bring the rows that hold several of them;
- the same over the titles' own tsvector for words common in descriptions but rare among titles;
- the titles closest by `pg_trgm` word similarity to the title's words the sample has never seen (a typo such
  as "acounts" finds "accounts").

Ranking (over the retrieved rows only) is BM25-like: the sum of the rarity weights (IDF) of the query words a
row holds, a word in its title (weight A) counting TITLE_WEIGHT times, divided by a length factor, so a defect
sharing several of the query's words outranks one that shares a single rare word among hundreds of others.
Each row's tsvector is decompressed once (the LATERAL copy), not once per word. The best SQL_CANDIDATES rows
and the trigram rows go on to the Python scorer (defects/duplicates.py) with their database rank.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from .duplicates import Query, WordStats

SQL_CANDIDATES = 80
TRIGRAM_CANDIDATES = 20
TRIGRAM_THRESHOLD = 0.6  # pg_trgm word_similarity of the unseen words to a title, for it to be a candidate
TRIGRAM_WORDS = 3
TRIGRAM_WORD_CHARS = (4, 24)  # unseen words outside these lengths are ids or fragments, not misspellings
MAX_MATCH_ROWS = 1000  # rows the retrieval may match, by the sample's estimate (what the ranking reads)
PAIR_WORDS = 8  # the rarest of the words too common alone are combined in pairs
PAIR_CORRELATION = 5.0  # words of one report meet more often than chance: a pair is costed this much higher
TITLE_WEIGHT = 2.0
LENGTH_NORM = 0.5  # share of the rank divided by sqrt(distinct words / 100) of the candidate


def _quote(word: str) -> str:
    return f"'{word}'"  # words are [a-z0-9_.-] only (duplicates.words): nothing to escape


def retrieval_clauses(*, query: Query, stats: WordStats) -> tuple[list[str], list[str]]:
    """The OR-query's clauses over the whole text (words, pairs of words) and over titles only.

    Clauses are taken cheapest first while the defects they can match, estimated from the sample (a word it
    never saw may still match 1/sample of the project), stay under MAX_MATCH_ROWS.
    """
    size = max(stats.total, stats.sample, 1)
    floor = 1 / stats.sample if stats.sample else 0.0
    budget = MAX_MATCH_ROWS / size

    def share(word: str) -> float:
        return stats.share(word) or floor

    whole, alone, spent = [], set(), 0.0
    for word in sorted(query.rank_words, key=share):
        if spent + share(word) <= budget:
            whole.append(_quote(word))
            alone.add(word)
            spent += share(word)
    # Pairs of the words too common to search by alone (a pair with a word searched alone adds nothing).
    rest = sorted((w for w in query.rank_words if w not in alone), key=share)[:PAIR_WORDS]
    pairs = []
    for a, b in combinations(rest, 2):
        pairs.append((share(a) * share(b) * PAIR_CORRELATION, f"{_quote(a)} & {_quote(b)}"))
    for cost, clause in sorted(pairs):
        if spent + cost <= budget:
            whole.append(clause)
            spent += cost
    titles, spent = [], 0.0
    for word in sorted(query.rank_words, key=stats.title_share):
        cost = stats.title_share(word) or floor
        too_common = stats.share(word) * size > MAX_MATCH_ROWS / 4  # else the whole-text clause has it
        if too_common and spent + cost <= budget / 2:
            titles.append(_quote(word))
            spent += cost
    return whole, titles


def trigram_text(*, query: Query, stats: WordStats) -> str:
    """The title's words the sample has never seen and that could be misspellings, for the trigram search."""
    low, high = TRIGRAM_WORD_CHARS
    unseen = [
        w
        for w in dict.fromkeys(query.title_words)
        if not stats.df.get(w) and w.isalpha() and low <= len(w) <= high
    ]
    return " ".join(unseen[:TRIGRAM_WORDS])


def candidates(
    *, project_id: int, query: Query, stats: WordStats, exclude_id: int | None
) -> dict[int, float]:
    """Candidate ids with their database rank (0 for the trigram-only ones), in one statement."""
    whole, titles = retrieval_clauses(query=query, stats=stats)
    parts, params = [], []
    if whole or titles:
        ranks, rank_params = [], []
        for word in query.rank_words:
            ranks.append(
                "CASE WHEN sv @@ to_tsquery('simple', %s) THEN %s WHEN sv @@ to_tsquery('simple', %s) THEN %s ELSE 0 END"
            )
            idf = stats.idf(word)
            rank_params += [f"{_quote(word)}:A", idf * TITLE_WEIGHT, _quote(word), idf]
        match, match_params = [], []
        if whole:
            match.append("search_vector @@ to_tsquery('simple', %s)")
            match_params.append(" | ".join(f"({clause})" for clause in whole))
        if titles:
            match.append("to_tsvector('simple'::regconfig, title) @@ to_tsquery('simple', %s)")
            match_params.append(" | ".join(titles))
        # Only fixed fragments and placeholders are joined here; every value is a parameter.
        parts.append(
            f"""(SELECT id, ({" + ".join(ranks)}) / (1 - %s + %s * sqrt(length(sv) / 100.0)) AS rank
                FROM defects_defect, LATERAL (SELECT search_vector || ''::tsvector AS sv OFFSET 0) detoasted
                WHERE project_id = %s AND id <> %s AND ({" OR ".join(match)})
                ORDER BY rank DESC, id DESC LIMIT %s)"""  # noqa: S608
        )
        params += [*rank_params, LENGTH_NORM, LENGTH_NORM, project_id, exclude_id or 0, *match_params]
        params.append(SQL_CANDIDATES)
    text = trigram_text(query=query, stats=stats)
    if text:
        # `<%` (word similarity at least the session's threshold) is served by the GIN trigram index.
        parts.append(
            """(SELECT id, 0 FROM defects_defect WHERE project_id = %s AND %s <%% title AND id <> %s
                ORDER BY word_similarity(%s, title) DESC, id DESC LIMIT %s)"""
        )
        params += [project_id, text, exclude_id or 0, text, TRIGRAM_CANDIDATES]
    if not parts:
        return {}
    found: dict[int, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SET pg_trgm.word_similarity_threshold = {TRIGRAM_THRESHOLD:.2f}")
        cursor.execute(" UNION ALL ".join(parts), params)
        for pk, rank in cursor.fetchall():
            found[pk] = max(found.get(pk, 0.0), float(rank))
    return found
