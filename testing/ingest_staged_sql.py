"""The SQL of the staged JUnit ingestion (testing/ingest_staged.py): staging table, settle, cases, results, links.

A test whose identity occurs in one element only (nearly every test of a real report) is settled by a plain
projection of its staged row (SINGLE_CASES); the identities the staging writer saw more than once go through
the full per-identity rules (SETTLE_REPEATS: window + GROUP BY over the identity) into ``junit_repeat``.
CASES is the union of both, one row per test, read by every later statement: the staged rows are scanned, not
copied into a second table.
"""

STAGE_COLUMNS = (
    "seq, identity, where_, suite, classname, name, legacy, message, details, "
    "status, earlier_bad, empty, attempts, duration, reqs, name_reqs, suite_id, rerun, dup"
)
CREATE_STAGE = """
CREATE TEMPORARY TABLE junit_stage (
    seq integer, identity text, where_ text, suite text, classname text, name text, legacy text,
    message text, details text, status varchar(8), earlier_bad boolean, empty boolean, attempts integer,
    duration double precision, reqs integer[], name_reqs integer[], suite_id integer, rerun smallint,
    dup boolean, todo boolean NOT NULL DEFAULT false
) ON COMMIT DROP
"""
CREATE_TABLES = f"""
DROP TABLE IF EXISTS junit_stage, junit_repeat, junit_suite_req, junit_link;
{CREATE_STAGE};
CREATE TEMPORARY TABLE junit_suite_req (suite_id integer, req integer) ON COMMIT DROP
"""
COPY_STAGE = f"COPY junit_stage ({STAGE_COLUMNS}) FROM STDIN WITH (FORMAT text, DELIMITER E'\\x1f')"

# The writer flags an element whose identity it may have seen before (a bit filter: false positives only);
# every element of such an identity, the first one too, takes the full rules.
MARK_REPEATS = """
UPDATE junit_stage s SET dup = true
FROM (SELECT DISTINCT identity FROM junit_stage WHERE dup) r
WHERE s.identity = r.identity AND NOT s.dup
"""

# jest: a candidate is a todo when no other element of its test came before its suite ended (hash joins: a few
# scans of the staging table whatever the number of candidates).
MARK_TODOS = """
UPDATE junit_stage s SET todo = true
FROM (
    SELECT t.seq
    FROM unnest(%s::int[], %s::int[]) AS t(seq, until)
    JOIN junit_stage c ON c.seq = t.seq
    JOIN junit_stage o ON o.identity = c.identity AND o.seq <= t.until
    GROUP BY t.seq
    HAVING count(*) = 1
) ok
WHERE s.seq = ok.seq
"""

# One row per repeated identity with the run's rules applied (see testing/ingest_staged.py's docstring).
SETTLE_REPEATS = """
CREATE TEMPORARY TABLE junit_repeat ON COMMIT DROP AS
WITH e AS (
    SELECT s.*,
           CASE WHEN s.todo THEN 'skipped' ELSE s.status END AS st,
           s.status IN ('failed', 'error') AS bad,
           min(s.seq) OVER w AS first_seq,
           max(s.seq) OVER w AS last_seq,
           min(s.seq) FILTER (WHERE s.message <> '') OVER w AS first_msg,
           max(s.rerun) OVER w AS rr
    FROM junit_stage s
    WHERE s.dup
    WINDOW w AS (PARTITION BY s.identity COLLATE "C")
), g AS (
    SELECT (e.identity COLLATE "C") COLLATE "default" AS identity,
           min(e.first_seq) AS first_seq,
           min(e.where_) FILTER (WHERE e.seq = e.first_seq) AS where_,
           min(e.suite) FILTER (WHERE e.seq = e.first_seq) AS suite,
           min(e.classname) FILTER (WHERE e.seq = e.first_seq) AS classname,
           min(e.name) FILTER (WHERE e.seq = e.first_seq) AS name,
           min(e.legacy) FILTER (WHERE e.seq = e.first_seq) AS legacy,
           min(e.suite_id) FILTER (WHERE e.seq = e.first_seq) AS suite_id,
           min(e.name_reqs) FILTER (WHERE e.seq = e.first_seq) AS name_reqs,
           max(e.rr) > 0 AS rerun,
           -- rerun dialects: the last element and whether any attempt before it was bad
           min(e.st) FILTER (WHERE e.seq = e.last_seq) AS last_status,
           nullif(min(e.duration) FILTER (WHERE e.seq = e.last_seq), -1) AS last_duration,
           bool_or(e.earlier_bad OR (e.seq < e.last_seq AND (e.bad OR (e.rr = 1 AND e.empty)))) AS rerun_bad,
           -- elsewhere: executions by status, retried skips
           count(*) FILTER (WHERE e.st = 'passed') AS n_passed,
           count(*) FILTER (WHERE e.st = 'failed') AS n_failed,
           count(*) FILTER (WHERE e.st = 'error') AS n_error,
           count(*) FILTER (WHERE e.st = 'skipped') AS n_skips,
           bool_or(e.st = 'passed' AND e.earlier_bad) AS flaky_run,
           nullif((array_agg(e.duration ORDER BY e.st <> 'skipped' DESC, e.seq DESC))[1], -1) AS duration,
           sum(e.attempts) AS attempts,
           coalesce(
               (array_agg(e.message ORDER BY e.seq DESC) FILTER (WHERE e.bad AND e.message <> ''))[1],
               min(e.message) FILTER (WHERE e.seq = e.first_msg),
               ''
           ) AS message,
           coalesce(
               (array_agg(e.details ORDER BY e.seq DESC) FILTER (
                   WHERE e.details <> '' AND (e.bad OR e.first_msg IS NULL OR e.seq <= e.first_msg)
               ))[1],
               ''
           ) AS details
    FROM e
    GROUP BY e.identity COLLATE "C"
), x AS (
    SELECT g.*,
           CASE WHEN g.rerun THEN (g.last_status = 'passed')::int ELSE g.n_passed END AS ex_passed,
           CASE WHEN g.rerun THEN (g.last_status = 'failed')::int ELSE g.n_failed END AS ex_failed,
           CASE WHEN g.rerun THEN (g.last_status = 'error')::int ELSE g.n_error END AS ex_error,
           CASE WHEN g.rerun THEN (g.last_status = 'skipped')::int
                WHEN g.n_passed + g.n_failed + g.n_error > 0 THEN 0 ELSE g.n_skips END AS ex_skipped
    FROM g
)
SELECT x.identity, x.first_seq, x.where_, x.suite, x.classname, x.name,
       left(CASE WHEN x.classname <> '' THEN x.classname || '.' || x.name ELSE x.name END, 500) AS title,
       nullif(x.legacy, '') AS legacy, x.suite_id,
       x.name_reqs, x.ex_passed, x.ex_failed, x.ex_error, x.ex_skipped,
       CASE WHEN x.ex_error > 0 THEN 'error' WHEN x.ex_failed > 0 THEN 'failed'
            WHEN x.ex_passed > 0 THEN 'passed' ELSE 'skipped' END AS status,
       CASE WHEN x.rerun THEN x.last_status = 'passed' AND x.rerun_bad
            ELSE x.flaky_run OR (x.n_skips > 0 AND x.n_passed > 0 AND x.n_failed = 0 AND x.n_error = 0)
       END AS flaky,
       CASE WHEN x.rerun THEN x.last_duration ELSE x.duration END AS duration,
       x.attempts, x.message, x.details
FROM x
"""

# The same rules for a test of one element: its own status (a todo is skipped), one execution, flaky when it
# passed after a failed attempt inside the element, its own duration, attempts, message and details.
SINGLE_CASES = """
SELECT s.identity, s.seq AS first_seq, s.where_, s.suite, s.classname, s.name,
       left(CASE WHEN s.classname <> '' THEN s.classname || '.' || s.name ELSE s.name END, 500) AS title,
       nullif(s.legacy, '') AS legacy, s.suite_id, s.name_reqs,
       (s.st = 'passed')::int AS ex_passed, (s.st = 'failed')::int AS ex_failed,
       (s.st = 'error')::int AS ex_error, (s.st = 'skipped')::int AS ex_skipped,
       s.st AS status, s.st = 'passed' AND s.earlier_bad AS flaky, nullif(s.duration, -1) AS duration,
       s.attempts::bigint AS attempts, s.message, s.details
FROM (SELECT s.*, CASE WHEN s.todo THEN 'skipped' ELSE s.status END AS st FROM junit_stage s WHERE NOT s.dup) s
"""
CASES = f"({SINGLE_CASES} UNION ALL SELECT * FROM junit_repeat)"  # noqa: S608 - built from this module's constants only

# The run's totals: the tests of one element counted from their staged rows (as SINGLE_CASES settles them).
TOTALS = """
SELECT sum(n), sum(passed), sum(failed), sum(error), sum(skipped), sum(flaky)
FROM (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.st = 'passed') AS passed,
           count(*) FILTER (WHERE s.st = 'failed') AS failed, count(*) FILTER (WHERE s.st = 'error') AS error,
           count(*) FILTER (WHERE s.st = 'skipped') AS skipped,
           count(*) FILTER (WHERE s.st = 'passed' AND s.earlier_bad) AS flaky
    FROM (SELECT CASE WHEN todo THEN 'skipped' ELSE status END AS st, earlier_bad FROM junit_stage WHERE NOT dup) s
    UNION ALL
    SELECT count(*), coalesce(sum(ex_passed), 0), coalesce(sum(ex_failed), 0), coalesce(sum(ex_error), 0),
           coalesce(sum(ex_skipped), 0), count(*) FILTER (WHERE flaky)
    FROM junit_repeat
) t
"""

# A row migrated from the old suite-based identity, named by a test the report places by file: it takes the
# file-based identity (the first test claiming it wins), so the test keeps its history (testing/ingest_cases.py).
ADOPT = f"""
UPDATE testing_testcase t
SET identity = c.identity, location = c.where_, classname = c.classname, updated_at = %(now)s
FROM (
    SELECT DISTINCT ON (c.legacy) c.legacy, c.identity, c.where_, c.classname
    FROM {CASES} c
    WHERE c.legacy IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM testing_testcase k WHERE k.project_id = %(project)s AND k.identity = c.identity
    )
    ORDER BY c.legacy, c.first_seq
) c
WHERE t.project_id = %(project)s AND t.location = '' AND t.identity = c.legacy
"""  # noqa: S608 - built from this module's constants only

CREATE_CASES = f"""
INSERT INTO testing_testcase (project_id, identity, suite, classname, location, name, title, kind, component,
                              preconditions, steps, created_at, updated_at)
SELECT %(project)s, c.identity, c.suite, c.classname, c.where_, c.name, c.title, %(kind)s, '', '', '[]'::jsonb,
       %(now)s, %(now)s
FROM {CASES} c
WHERE NOT EXISTS (SELECT 1 FROM testing_testcase t WHERE t.project_id = %(project)s AND t.identity = c.identity)
ORDER BY c.first_seq
ON CONFLICT DO NOTHING
"""  # noqa: S608 - built from this module's constants only

# The results of the tests whose first element is in [%(low)s, %(high)s) and whose case exists, a chunk at a time
# (testing/ingest_staged.py).
WRITE_RESULTS = f"""
INSERT INTO testing_testresult (run_id, release_id, test_case_id, status, duration, message, details, flaky,
                                attempts, finished_at, comment, step_results)
SELECT %(run)s, %(release)s, t.id, c.status, c.duration, c.message, c.details, c.flaky,
       least(c.attempts, 32767), %(now)s, '', '[]'::jsonb
FROM {CASES} c
JOIN testing_testcase t ON t.project_id = %(project)s AND t.identity = c.identity
WHERE c.first_seq >= %(low)s AND c.first_seq < %(high)s
"""  # noqa: S608 - built from this module's constants only
# The same for the tests whose case the first pass did not find (created since).
WRITE_NEW_RESULTS = f"""{WRITE_RESULTS}
  AND NOT EXISTS (SELECT 1 FROM testing_testresult r WHERE r.run_id = %(run)s AND r.test_case_id = t.id)
"""  # noqa: S608 - built from this module's constants only

# The (test, requirement) pairs the report names: few rows, so the link statement looks each test case up by
# its index (ANALYZE tells the planner how few).
COLLECT_LINKS = f"""
CREATE TEMPORARY TABLE junit_link ON COMMIT DROP AS
SELECT DISTINCT r.identity, r.req
FROM (
    SELECT s.identity, unnest(s.reqs) AS req FROM junit_stage s WHERE cardinality(s.reqs) > 0
    UNION ALL
    SELECT c.identity, unnest(c.name_reqs) FROM {CASES} c WHERE cardinality(c.name_reqs) > 0
    UNION ALL
    SELECT c.identity, q.req FROM {CASES} c JOIN junit_suite_req q ON q.suite_id = c.suite_id
) r
"""  # noqa: S608 - built from this module's constants only

# The links made are recorded in the link history in the same statement (testing.services.tracing does the same
# for every other writer), so metrics as of T replay them.
LINK_REQUIREMENTS = """
WITH made AS (
INSERT INTO {through} (testcase_id, requirement_id)
SELECT t.id, l.req
FROM junit_link l
JOIN testing_testcase t ON t.project_id = %(project)s AND t.identity = l.identity
ON CONFLICT DO NOTHING
RETURNING testcase_id, requirement_id
)
INSERT INTO {history} (test_case_id, requirement_id, added, at, by_id)
SELECT testcase_id, requirement_id, true, %(now)s, NULL FROM made
"""

# work_mem, and the foreign keys of the tables written in bulk (all of them, those initially deferred): they are
# checked as each statement ends while those statements run (testing/ingest_staged.py: the queue of pending
# checks stays one chunk long).
FOREIGN_KEYS = """
SELECT current_setting('work_mem'),
       coalesce(array_agg(conname ORDER BY conname), '{}'),
       coalesce(array_agg(conname ORDER BY conname) FILTER (WHERE condeferred), '{}')
FROM pg_constraint
WHERE conrelid IN ('testing_testcase'::regclass, 'testing_testresult'::regclass)
  AND contype = 'f' AND condeferrable
"""
RAISE_WORK_MEM = """
SELECT set_config('work_mem', CASE WHEN pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%(work_mem)s)
                                   THEN %(work_mem)s ELSE current_setting('work_mem') END, true)
"""
