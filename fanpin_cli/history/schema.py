"""The history file's tables (DuckDB DDL), created on first use.

Every table is keyed by `run_id` (one row of `runs` per recorded run: a run's rows count only
once `runs` names them; `staged_runs` lists those written but not yet named, and `placed_runs`
what such a run is putting in place just before its outputs are swapped in — a table of its
own, so that `staged_runs` stays as older fanpin versions write it) or by `record_key`
(the stable key of a link, flag, issue or review item). No column ever holds a full ID:
persons are `person_key` (a keyed hash), `masked_id` and `person_name`.

>>> "CREATE TABLE IF NOT EXISTS runs" in DDL
True
"""

from __future__ import annotations

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, county VARCHAR NOT NULL, period VARCHAR NOT NULL,
    reference_date DATE NOT NULL, version VARCHAR, recorded_at TIMESTAMP NOT NULL,
    config_file VARCHAR, out_dir VARCHAR, params VARCHAR, counts VARCHAR
);
CREATE TABLE IF NOT EXISTS run_inputs (
    run_id INTEGER NOT NULL, file VARCHAR, sector VARCHAR, sha256 VARCHAR, rows_read BIGINT
);
CREATE TABLE IF NOT EXISTS links (
    run_id INTEGER NOT NULL, record_key VARCHAR, sector VARCHAR, source_file VARCHAR,
    source_row BIGINT, person_key VARCHAR, household_id VARCHAR, match_method VARCHAR,
    match_status VARCHAR, match_score DOUBLE, reason VARCHAR, person_name VARCHAR, masked_id VARCHAR
);
CREATE TABLE IF NOT EXISTS flags (
    run_id INTEGER NOT NULL, record_key VARCHAR NOT NULL, rule_id VARCHAR, level VARCHAR,
    household_id VARCHAR, township VARCHAR, village VARCHAR, person_key VARCHAR,
    person_name VARCHAR, masked_id VARCHAR, sector VARCHAR, detail VARCHAR,
    evidence_key VARCHAR, evidence_status VARCHAR, status VARCHAR, first_flagged VARCHAR,
    last_verdict VARCHAR, overdue BOOLEAN, shown BOOLEAN, roster_row BIGINT, source_file VARCHAR,
    source_row BIGINT, title VARCHAR
);
CREATE TABLE IF NOT EXISTS resolved (
    run_id INTEGER NOT NULL, record_key VARCHAR NOT NULL, rule_id VARCHAR, household_id VARCHAR,
    person_key VARCHAR, person_name VARCHAR, resolved_reason VARCHAR
);
CREATE TABLE IF NOT EXISTS exempted (
    run_id INTEGER NOT NULL, record_key VARCHAR NOT NULL, rule_id VARCHAR, household_id VARCHAR,
    person_key VARCHAR, person_name VARCHAR, evidence_key VARCHAR, verdict VARCHAR,
    verdict_date DATE, verdict_file VARCHAR, exempt_until DATE
);
CREATE TABLE IF NOT EXISTS issues (
    run_id INTEGER NOT NULL, record_key VARCHAR, check_id VARCHAR, source_file VARCHAR,
    source_row BIGINT, household_id VARCHAR, township VARCHAR, village VARCHAR,
    person_key VARCHAR, person_name VARCHAR, message VARCHAR
);
CREATE TABLE IF NOT EXISTS review (
    run_id INTEGER NOT NULL, record_key VARCHAR NOT NULL, sector VARCHAR, source_file VARCHAR,
    source_row BIGINT, household_id VARCHAR, person_key VARCHAR, extract_name VARCHAR,
    extract_masked_id VARCHAR, roster_name VARCHAR, roster_masked_id VARCHAR, match_score DOUBLE,
    reason VARCHAR, row_key VARCHAR
);
CREATE TABLE IF NOT EXISTS staged_runs (run_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS placed_runs (run_id INTEGER PRIMARY KEY, placed VARCHAR);
CREATE TABLE IF NOT EXISTS verdicts (
    record_key VARCHAR NOT NULL, kind VARCHAR NOT NULL, verdict VARCHAR, in_vocabulary BOOLEAN,
    remark VARCHAR, verdict_date DATE, file VARCHAR, sheet VARCHAR, row_number BIGINT,
    file_sha256 VARCHAR, imported_at TIMESTAMP, county VARCHAR, rule_id VARCHAR,
    person_key VARCHAR, evidence_key VARCHAR, sent_run_id INTEGER, row_key VARCHAR
);
"""

# Tables whose rows belong to one run (removed together when a run is replaced).
RUN_TABLES = ("run_inputs", "links", "flags", "resolved", "exempted", "issues", "review")
