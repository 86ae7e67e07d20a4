/* store/sqlite/schema.h — versioned migrations of the SQLite schema.
 * Each entry moves PRAGMA user_version from its index to index + 1; entries
 * are only ever appended, never edited once released. */
#ifndef TS_STORE_SQLITE_SCHEMA_H
#define TS_STORE_SQLITE_SCHEMA_H

static const char *const sqlite_migrations[] = {
	/* 1: the foundation */
	"CREATE TABLE orgs(code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL,"
	"  parent TEXT, seq INTEGER NOT NULL);"
	"CREATE TABLE programs(id TEXT PRIMARY KEY, spec TEXT NOT NULL, opens_at INTEGER NOT NULL,"
	"  closes_at INTEGER NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE quota_counters(program TEXT NOT NULL, category TEXT NOT NULL,"
	"  taken INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(program, category));"
	"CREATE TABLE applicants(id INTEGER PRIMARY KEY, phone_bidx TEXT NOT NULL UNIQUE,"
	"  phone_enc BLOB NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE TABLE sms_codes(id INTEGER PRIMARY KEY, phone_bidx TEXT NOT NULL, purpose TEXT NOT NULL,"
	"  code_hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	"  tries INTEGER NOT NULL DEFAULT 0, used INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sms_codes_phone ON sms_codes(phone_bidx, purpose, created_at);"
	"CREATE TABLE sessions(token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, subject INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
	"CREATE TABLE applications(id INTEGER PRIMARY KEY, program TEXT NOT NULL, category TEXT NOT NULL,"
	"  rank INTEGER NOT NULL, grp TEXT NOT NULL, series TEXT NOT NULL, year INTEGER NOT NULL,"
	"  level TEXT NOT NULL, applicant INTEGER NOT NULL REFERENCES applicants(id),"
	"  phone_bidx TEXT NOT NULL, id_bidx TEXT NOT NULL, union_code TEXT NOT NULL,"
	"  status TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, fields TEXT NOT NULL,"
	"  secret BLOB NOT NULL, receipt TEXT NOT NULL, submitted_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL, UNIQUE(program, category, rank));"
	"CREATE UNIQUE INDEX applications_grp_phone ON applications(grp, phone_bidx) WHERE active = 1;"
	"CREATE UNIQUE INDEX applications_grp_id ON applications(grp, id_bidx) WHERE active = 1;"
	"CREATE INDEX applications_applicant ON applications(applicant);"
	"CREATE INDEX applications_person ON applications(id_bidx, series);"
	"CREATE INDEX applications_union ON applications(program, union_code);"
	"CREATE TABLE application_events(id INTEGER PRIMARY KEY, application INTEGER NOT NULL,"
	"  at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL,"
	"  reason TEXT, detail TEXT);"
	"CREATE INDEX application_events_app ON application_events(application, id);"
	"CREATE TABLE ledger(seq INTEGER PRIMARY KEY, program TEXT NOT NULL, category TEXT NOT NULL,"
	"  rank INTEGER NOT NULL, at INTEGER NOT NULL, applicant TEXT NOT NULL, prev TEXT NOT NULL,"
	"  hash TEXT NOT NULL);"
	"CREATE TABLE staff(id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL,"
	"  org TEXT NOT NULL, role TEXT NOT NULL, totp_secret BLOB, failed INTEGER NOT NULL DEFAULT 0,"
	"  locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
	"CREATE TABLE drafts(applicant INTEGER NOT NULL, program TEXT NOT NULL, body TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL, PRIMARY KEY(applicant, program));",
	/* 2: review, publicity, objections, audit */
	"ALTER TABLE applications ADD COLUMN stage INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE applications ADD COLUMN returns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE applications ADD COLUMN return_deadline INTEGER;"
	"CREATE INDEX applications_review ON applications(program, stage, status);"
	"CREATE INDEX applications_returned ON applications(status, return_deadline);"
	"ALTER TABLE staff ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE publicity(id INTEGER PRIMARY KEY, program TEXT NOT NULL, stage INTEGER NOT NULL,"
	"  org TEXT NOT NULL, title TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,"
	"  status TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
	"  closed_by TEXT, closed_at INTEGER);"
	"CREATE TABLE publicity_entries(publicity INTEGER NOT NULL REFERENCES publicity(id),"
	"  application INTEGER NOT NULL REFERENCES applications(id), seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL, unit TEXT NOT NULL, category TEXT NOT NULL, category_name TEXT NOT NULL,"
	"  amount_fen INTEGER NOT NULL, id_masked TEXT NOT NULL, PRIMARY KEY(publicity, application));"
	"CREATE TABLE objections(id INTEGER PRIMARY KEY, publicity INTEGER NOT NULL REFERENCES publicity(id),"
	"  application INTEGER NOT NULL, name TEXT NOT NULL, phone_bidx TEXT NOT NULL, phone_enc BLOB NOT NULL,"
	"  text TEXT NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
	"  note TEXT, decided_by TEXT, decided_at INTEGER);"
	"CREATE INDEX objections_publicity ON objections(publicity);"
	"CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT,"
	"  org TEXT, ip TEXT, action TEXT NOT NULL, target TEXT, reason TEXT, detail TEXT,"
	"  prev TEXT NOT NULL, hash TEXT NOT NULL);",
	/* 3: indexes for the writer's duplicate check and the ledger cross-check */
	"CREATE UNIQUE INDEX applications_grp_applicant ON applications(grp, applicant) WHERE active = 1;"
	"CREATE INDEX ledger_link ON ledger(program, category, rank);"
	"CREATE INDEX applications_running ON applications(program, category, active, rank);",
	/* 4: fewer indexes for the writer to keep. One per phone per group is
	 * applications_grp_applicant (an applicant is one phone); one per person
	 * per group and the person's history share one index on the blind ID;
	 * only returned applications carry a deadline. */
	"DROP INDEX applications_grp_phone;"
	"DROP INDEX applications_grp_id;"
	"DROP INDEX applications_person;"
	"CREATE UNIQUE INDEX applications_person_grp ON applications(id_bidx, grp) WHERE active = 1;"
	"DROP INDEX applications_returned;"
	"CREATE INDEX applications_returned ON applications(return_deadline) WHERE return_deadline IS NOT NULL;",
	/* 5: no query uses (program, union_code): the review list filters the
	 * unions of a scope within the program's rows (applications_running),
	 * and each submission placed one entry at a random point of it, the
	 * writer's most expensive index (bench/writer.c: 23 347 → 27 081 jobs/s). */
	"DROP INDEX applications_union;",
	/* 6: blind indexes as their 16 bytes instead of 64 hex digits (see
	 * crypt_blind_index: the new index is the old one's first half), so
	 * the keys of the writer's random index inserts are 4 times smaller.
	 * ts_bidx_bytes() exists only while migrate() runs; it refuses
	 * anything but 64 hex digits or '' (and leaves a 16-byte blob as it
	 * is), so a value it does not know stops the migration. The declared
	 * types stay TEXT: in SQLite they are only an affinity, which leaves a
	 * BLOB stored and compared as a BLOB, and changing them would mean
	 * rebuilding four tables. The indexes on the blind IDs are made anew
	 * on the new values; the unique ones must still hold. */
	"DROP INDEX sms_codes_phone;"
	"DROP INDEX applications_person_grp;"
	"UPDATE applicants SET phone_bidx = ts_bidx_bytes(phone_bidx);"
	"UPDATE sms_codes SET phone_bidx = ts_bidx_bytes(phone_bidx);"
	"UPDATE applications SET phone_bidx = ts_bidx_bytes(phone_bidx), id_bidx = ts_bidx_bytes(id_bidx);"
	"UPDATE objections SET phone_bidx = ts_bidx_bytes(phone_bidx);"
	"REINDEX applicants;"
	"CREATE INDEX sms_codes_phone ON sms_codes(phone_bidx, purpose, created_at);"
	"CREATE UNIQUE INDEX applications_person_grp ON applications(id_bidx, grp) WHERE active = 1;",
	/* 7: a publicity entry keeps its quota standing when published: one
	 * beyond the paid cap is listed as 候补 */
	"ALTER TABLE publicity_entries ADD COLUMN quota TEXT NOT NULL DEFAULT 'queued';",
};

#endif
