/* store/pg/schema.h — versioned migrations of the PostgreSQL schema.
 *
 * Entries are only appended. `program` is on every table a national platform
 * would shard (applications, ledger, quota_counters, publicity): with Citus
 * these are distributed by program (see docs/deploy.md). */
#ifndef TS_STORE_PG_SCHEMA_H
#define TS_STORE_PG_SCHEMA_H

static const char *const pg_migrations[] = {
	/* 1: the foundation, review, publicity, objections, audit */
	"CREATE TABLE orgs(code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL, parent TEXT,"
	"  seq BIGSERIAL NOT NULL);"
	"CREATE TABLE programs(id TEXT PRIMARY KEY, spec TEXT NOT NULL, opens_at BIGINT NOT NULL,"
	"  closes_at BIGINT NOT NULL, version BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
	"CREATE TABLE quota_counters(program TEXT NOT NULL, category TEXT NOT NULL,"
	"  taken BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(program, category));"
	"CREATE TABLE applicants(id BIGSERIAL PRIMARY KEY, phone_bidx TEXT NOT NULL UNIQUE,"
	"  phone_enc BYTEA NOT NULL, created_at BIGINT NOT NULL);"
	"CREATE TABLE sms_codes(id BIGSERIAL PRIMARY KEY, phone_bidx TEXT NOT NULL, purpose TEXT NOT NULL,"
	"  code_hash TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
	"  tries INT NOT NULL DEFAULT 0, used INT NOT NULL DEFAULT 0);"
	"CREATE INDEX sms_codes_phone ON sms_codes(phone_bidx, purpose, created_at);"
	"CREATE TABLE sessions(token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, subject BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
	"CREATE TABLE applications(id BIGSERIAL PRIMARY KEY, program TEXT NOT NULL, category TEXT NOT NULL,"
	"  rank BIGINT NOT NULL, grp TEXT NOT NULL, series TEXT NOT NULL, year INT NOT NULL,"
	"  level TEXT NOT NULL, applicant BIGINT NOT NULL REFERENCES applicants(id),"
	"  phone_bidx TEXT NOT NULL, id_bidx TEXT NOT NULL, union_code TEXT NOT NULL,"
	"  status TEXT NOT NULL, active INT NOT NULL DEFAULT 1, fields TEXT NOT NULL,"
	"  secret BYTEA NOT NULL, receipt TEXT NOT NULL, submitted_at BIGINT NOT NULL,"
	"  updated_at BIGINT NOT NULL, stage INT NOT NULL DEFAULT 0, returns INT NOT NULL DEFAULT 0,"
	"  return_deadline BIGINT, UNIQUE(program, category, rank));"
	"CREATE UNIQUE INDEX applications_grp_applicant ON applications(grp, applicant) WHERE active = 1;"
	"CREATE UNIQUE INDEX applications_grp_id ON applications(grp, id_bidx) WHERE active = 1;"
	"CREATE INDEX applications_applicant ON applications(applicant);"
	"CREATE INDEX applications_person ON applications(id_bidx, series);"
	"CREATE INDEX applications_union ON applications(program, union_code);"
	"CREATE INDEX applications_review ON applications(program, stage, status);"
	"CREATE INDEX applications_returned ON applications(status, return_deadline);"
	"CREATE INDEX applications_running ON applications(program, category, active, rank);"
	"CREATE TABLE application_events(id BIGSERIAL PRIMARY KEY, application BIGINT NOT NULL,"
	"  at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL,"
	"  reason TEXT, detail TEXT);"
	"CREATE INDEX application_events_app ON application_events(application, id);"
	"CREATE TABLE ledger(seq BIGSERIAL PRIMARY KEY, program TEXT NOT NULL, category TEXT NOT NULL,"
	"  rank BIGINT NOT NULL, at BIGINT NOT NULL, applicant TEXT NOT NULL, prev TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE INDEX ledger_link ON ledger(program, category, rank);"
	"CREATE TABLE staff(id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL,"
	"  org TEXT NOT NULL, role TEXT NOT NULL, totp_secret BYTEA, totp_enabled INT NOT NULL DEFAULT 0,"
	"  failed INT NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
	"CREATE TABLE drafts(applicant BIGINT NOT NULL, program TEXT NOT NULL, body TEXT NOT NULL,"
	"  updated_at BIGINT NOT NULL, PRIMARY KEY(applicant, program));"
	"CREATE TABLE publicity(id BIGSERIAL PRIMARY KEY, program TEXT NOT NULL, stage INT NOT NULL,"
	"  org TEXT NOT NULL, title TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL,"
	"  status TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL,"
	"  closed_by TEXT, closed_at BIGINT);"
	"CREATE TABLE publicity_entries(publicity BIGINT NOT NULL REFERENCES publicity(id),"
	"  application BIGINT NOT NULL REFERENCES applications(id), seq INT NOT NULL,"
	"  name TEXT NOT NULL, unit TEXT NOT NULL, category TEXT NOT NULL, category_name TEXT NOT NULL,"
	"  amount_fen BIGINT NOT NULL, id_masked TEXT NOT NULL, PRIMARY KEY(publicity, application));"
	"CREATE TABLE objections(id BIGSERIAL PRIMARY KEY, publicity BIGINT NOT NULL REFERENCES publicity(id),"
	"  application BIGINT NOT NULL, name TEXT NOT NULL, phone_bidx TEXT NOT NULL, phone_enc BYTEA NOT NULL,"
	"  text TEXT NOT NULL, created_at BIGINT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
	"  note TEXT, decided_by TEXT, decided_at BIGINT);"
	"CREATE INDEX objections_publicity ON objections(publicity);"
	"CREATE TABLE audit(seq BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, role TEXT,"
	"  org TEXT, ip TEXT, action TEXT NOT NULL, target TEXT, reason TEXT, detail TEXT,"
	"  prev TEXT NOT NULL, hash TEXT NOT NULL);",
	/* 2: fewer indexes for the writer to keep (as SQLite's migration 4): one
	 * per person per group and the person's history share one index on the
	 * blind ID; only returned applications carry a deadline. The selective
	 * column comes first in both unique indexes of the duplicate check: with
	 * `grp` first, a group the statistics do not know yet (every new program
	 * on its opening day) made the planner scan the whole group with the
	 * other index (5–6 ms a check, growing with the group). */
	"DROP INDEX applications_grp_applicant;"
	"CREATE UNIQUE INDEX applications_applicant_grp ON applications(applicant, grp) WHERE active = 1;"
	"DROP INDEX applications_grp_id;"
	"DROP INDEX applications_person;"
	"CREATE UNIQUE INDEX applications_person_grp ON applications(id_bidx, grp) WHERE active = 1;"
	"DROP INDEX applications_returned;"
	"CREATE INDEX applications_returned ON applications(return_deadline) WHERE return_deadline IS NOT NULL;",
	/* 3: blind indexes as their 16 bytes instead of 64 hex digits (as
	 * SQLite's migration 6; see crypt_blind_index: the new index is the old
	 * one's first half). A value that is not 64 hex digits (or ''
	 * for an ID) becomes NULL and stops the migration (NOT NULL). Changing
	 * a column's type rewrites its table and rebuilds the indexes on it, on
	 * the new values; the unique ones must still hold. The checks keep the
	 * old hex form out for good, the writer's JSON rows included. Every
	 * node must run the new code: an older one would send text. */
	"ALTER TABLE applicants ALTER COLUMN phone_bidx TYPE BYTEA USING decode(CASE WHEN phone_bidx ~ '^[0-9a-fA-F]{64}$'"
	"  THEN substr(phone_bidx, 1, 32) END, 'hex'),"
	"  ADD CONSTRAINT applicants_phone_bidx_len CHECK (octet_length(phone_bidx) = 16);"
	"ALTER TABLE sms_codes ALTER COLUMN phone_bidx TYPE BYTEA USING decode(CASE WHEN phone_bidx ~ '^[0-9a-fA-F]{64}$'"
	"  THEN substr(phone_bidx, 1, 32) END, 'hex'),"
	"  ADD CONSTRAINT sms_codes_phone_bidx_len CHECK (octet_length(phone_bidx) = 16);"
	"ALTER TABLE applications ALTER COLUMN phone_bidx TYPE BYTEA USING decode(CASE WHEN phone_bidx ~ '^[0-9a-fA-F]{64}$'"
	"  THEN substr(phone_bidx, 1, 32) END, 'hex'),"
	"  ALTER COLUMN id_bidx TYPE BYTEA USING decode(CASE WHEN id_bidx ~ '^([0-9a-fA-F]{64})?$'"
	"  THEN substr(id_bidx, 1, 32) END, 'hex'),"
	"  ADD CONSTRAINT applications_phone_bidx_len CHECK (octet_length(phone_bidx) = 16),"
	"  ADD CONSTRAINT applications_id_bidx_len CHECK (octet_length(id_bidx) IN (0, 16));"
	"ALTER TABLE objections ALTER COLUMN phone_bidx TYPE BYTEA USING decode(CASE WHEN phone_bidx ~ '^[0-9a-fA-F]{64}$'"
	"  THEN substr(phone_bidx, 1, 32) END, 'hex'),"
	"  ADD CONSTRAINT objections_phone_bidx_len CHECK (octet_length(phone_bidx) = 16);",
	/* 4: a publicity entry keeps its quota standing when published (候补) */
	"ALTER TABLE publicity_entries ADD COLUMN quota TEXT NOT NULL DEFAULT 'queued';",
};

#endif
