// Included by `sql.rs` into each backend's module, where `Db` is that
// backend's sqlx database: the same code for SQLite and for PostgreSQL.
//
// Patient search on a chain of a million patients. Each query is written
// so that an index finds its rows and no more than a page's worth (or a
// bounded number) are read, sorted or looked up; BENCHMARKS.md has what
// each choice below was measured to cost on the generated chain.

/// Reading one family name's patients in name order, checking each, is
/// fast while the family is small or most of it matches. A family larger
/// than this ("Varga", 41,000 patients, searched as "Yara Varga") has its
/// matches found through the text index and sorted instead.
const FAMILY_SCAN: i64 = 2_000;

/// Family names of more words than this are not looked for.
const FAMILY_WORDS: usize = 3;

/// Whose patients a search reads.
#[derive(Clone)]
enum Scope {
    /// Every clinic there is: the caller works at all of them, so no row
    /// needs checking (an owner's search reads no patient row it does not
    /// show).
    Everyone,
    /// One clinic ($2), one of the caller's (checked before).
    Clinic,
    /// Several clinics, listed: each row checked.
    Clinics(String),
}

/// What finds a search's matches first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// No words: the list in name order.
    All,
    /// A whole birth date: the birth-date index (about fifty patients a
    /// day on a chain; through the trigram index "199" and "/19" are in
    /// every patient's text).
    BirthDate,
    /// Only words shorter than a trigram ("Da"): the start of the family
    /// name, a range of the sort-key index.
    Prefix,
    /// Words of three letters or more: the trigram index (SQLite's FTS5
    /// table, PostgreSQL's `pg_trgm` GIN index, which serves `LIKE`).
    Text,
}

struct Search {
    words: Vec<String>,
    driver: Driver,
    scope: Scope,
}

/// Part of a query: its tables, its conditions (from `WHERE`), and the
/// values they bind from `$3` on.
struct Part {
    from: String,
    conds: String,
    binds: Vec<String>,
}

impl Part {
    /// Binds a value and returns its placeholder.
    fn bind(&mut self, v: impl Into<String>) -> String {
        self.binds.push(v.into());
        format!("${}", self.binds.len() + 2)
    }
}

impl Search {
    fn new(words: Vec<String>, scope: Scope) -> Search {
        let long = |w: &String| w.chars().count() >= patient_search::INDEXED_WORD_CHARS;
        let driver = if words.is_empty() {
            Driver::All
        } else if words.iter().any(|w| patient_search::dates(w).is_some()) {
            Driver::BirthDate
        } else if words.iter().any(long) {
            Driver::Text
        } else {
            Driver::Prefix
        };
        Search {
            words,
            driver,
            scope,
        }
    }

    /// The family names the words may be (each word, and runs of words:
    /// "da silva"), for "exact family-name matches first".
    fn families(&self) -> Vec<String> {
        let mut out: Vec<String> = vec![];
        for len in 1..=FAMILY_WORDS.min(self.words.len()) {
            for run in self.words.windows(len) {
                let f = run.join(" ");
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Whether every patient of this family name matches every word: each
    /// is part of the name (a prefix search's first word its start), and
    /// none is a date.
    fn covers(&self, family: &str) -> bool {
        let prefix = self.driver != Driver::Prefix
            || self
                .words
                .first()
                .is_some_and(|w| family.starts_with(w.as_str()));
        prefix
            && self.driver != Driver::BirthDate
            && self.words.iter().all(|w| family.contains(w.as_str()))
    }
}

impl SqlStore<Db> {
    /// A search's tables and conditions. With `through_index`, the words
    /// are looked for as the search's driver says; without, each row is
    /// checked (for a range that is already narrow: one family name).
    fn matching(&self, s: &Search, through_index: bool) -> Part {
        let sqlite = self.backend() == Backend::Sqlite;
        let fts = sqlite && through_index && s.driver == Driver::Text;
        // The clinic column where another index is to drive the read: on
        // SQLite always (reading every patient of 50 clinics through the
        // clinic index and sorting them took 4 s for an owner), on
        // PostgreSQL when a family's range is read (it walked a clinic's
        // 17,000 patients in name order to reach "Ueda"). SQLite's unary
        // `+` and PostgreSQL's `+ 0` hide the column from the planner.
        let clinic = match (sqlite, through_index) {
            (true, _) => "+patients.clinic_id",
            (false, true) => "patients.clinic_id",
            (false, false) => "(patients.clinic_id + 0)",
        };
        let mut part = Part {
            // The FTS5 table drives the query (CROSS JOIN fixes SQLite's
            // join order), so "the first 1,001" stops early; one clinic's
            // rows are told apart in the small (clinic, id) index before
            // any patient row is read (41,000 row reads for "smi" in one
            // clinic took 45 ms, the index 14 ms). Named, because SQLite's
            // planner chose one or the other from one connection to the
            // next.
            from: match (&s.scope, fts) {
                (Scope::Clinic, true) => "FROM patient_search \
                    CROSS JOIN patients AS mine INDEXED BY patients_by_clinic_id \
                        ON mine.clinic_id = $2 AND mine.id = patient_search.rowid \
                    CROSS JOIN patients ON patients.id = mine.id"
                    .into(),
                (_, true) => {
                    "FROM patient_search CROSS JOIN patients ON patients.id = patient_search.rowid"
                        .into()
                }
                _ => "FROM patients".into(),
            },
            conds: match &s.scope {
                Scope::Everyone => "WHERE $1 IS NOT NULL AND $2 IS NULL".into(),
                Scope::Clinic => {
                    // The clinic's (clinic, sort key) index serves its list
                    // and a name prefix; other drivers find fewer rows.
                    let c = if through_index && matches!(s.driver, Driver::All | Driver::Prefix) {
                        "patients.clinic_id"
                    } else {
                        clinic
                    };
                    format!("WHERE {c} = $2 AND $1 IS NOT NULL")
                }
                Scope::Clinics(list) => {
                    format!("WHERE {clinic} IN ({list}) AND $1 IS NOT NULL AND $2 IS NULL")
                }
            },
            binds: vec![],
        };
        let mut words = s.words.iter();
        if s.driver == Driver::Prefix {
            // Sort keys start with the family name; U+10FFFF sorts after
            // every character, byte by byte as both databases compare.
            let p = words.next().expect("a prefix search has a word");
            let (from, to) = (part.bind(p.clone()), part.bind(format!("{p}\u{10FFFF}")));
            part.conds += &format!(" AND patients.sort_key >= {from} AND patients.sort_key < {to}");
        }
        let mut phrases = vec![];
        for w in words {
            if let Some(days) = patient_search::dates(w) {
                // Dates made by the parser, never the typed text: safe to
                // write into the query.
                let list: Vec<String> = days
                    .iter()
                    .map(|d| {
                        if sqlite {
                            format!("'{d}'")
                        } else {
                            format!("DATE '{d}'")
                        }
                    })
                    .collect();
                part.conds += &if list.is_empty() {
                    " AND 1 = 0".to_string()
                } else {
                    format!(" AND patients.date_of_birth IN ({})", list.join(", "))
                };
            } else if fts && w.chars().count() >= patient_search::INDEXED_WORD_CHARS {
                // Each word a phrase (quotes doubled): a substring to find.
                phrases.push(format!("\"{}\"", w.replace('"', "\"\"")));
            } else {
                // Checked row by row, PostgreSQL is kept off the trigram
                // index (`|| ''`): it would gather every patient with the
                // word ("yara": 41,000) to check a few hundred.
                let text = if through_index || sqlite {
                    "patients.search_text"
                } else {
                    "(patients.search_text || '')"
                };
                let p = part.bind(like_pattern(w));
                part.conds += &format!(" AND {text} LIKE {p} ESCAPE '\\'");
            }
        }
        if !phrases.is_empty() {
            let p = part.bind(phrases.join(" "));
            part.conds += &format!(" AND patient_search MATCH {p}");
        }
        part
    }

    /// Runs a part of a search (with its `$1`, `$2`, words and anything
    /// bound after) and returns its rows.
    async fn search_rows(
        &self,
        sql: &str,
        part: &Part,
        staff_id: i64,
        clinic_id: Option<i64>,
    ) -> Result<Vec<DbRow>> {
        let mut q = sqlx::query(sql).bind(staff_id).bind(clinic_id);
        for b in &part.binds {
            q = q.bind(b);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub(crate) async fn search(
        &self,
        staff_id: i64,
        clinic_id: Option<i64>,
        query: &str,
        limit: i64,
        after: Option<&Cursor>,
    ) -> Result<PatientPage> {
        let mine: Vec<i64> = sqlx::query_scalar(
            "SELECT clinic_id FROM staff_clinics WHERE staff_id = $1 ORDER BY clinic_id",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await?;
        if mine.is_empty() {
            return Ok(PatientPage::default());
        }
        let clinics: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clinics")
            .fetch_one(&self.pool)
            .await?;
        // The caller's clinics as a list of numbers (read just above), not
        // a subquery: PostgreSQL then knows how many patients they hold,
        // where "IN (SELECT … staff_id = $1)" looked like one clinic to it.
        let list = mine
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let clinic_id = match (clinic_id, mine.as_slice()) {
            (Some(c), _) => Some(c),
            (None, [only]) => Some(*only),
            (None, _) => None,
        };
        let scope = match clinic_id {
            // A clinic the caller does not work at has nothing to show them.
            Some(c) if !mine.contains(&c) => return Ok(PatientPage::default()),
            Some(_) => Scope::Clinic,
            None if mine.len() as i64 == clinics => Scope::Everyone,
            None => Scope::Clinics(list),
        };
        let s = Search::new(patient_search::words(query), scope);
        let indexed = self.matching(&s, true);
        let cols = cols_of(PATIENT_COLS, "patients");

        // One pass over the matches, up to 1,001: how many there are
        // ("more than 1,000" needs no more), and when no more than 1,000,
        // which, so that the page is cut from them here instead of being
        // looked for again.
        let found_sql = format!(
            "SELECT patients.id, patients.sort_key, patients.family_key {} {} LIMIT {}",
            indexed.from,
            indexed.conds,
            COUNT_UP_TO + 1
        );
        let mut found = sqlx::query_as::<_, (i64, String, String)>(&found_sql)
            .bind(staff_id)
            .bind(clinic_id);
        for b in &indexed.binds {
            found = found.bind(b);
        }
        let found = found.fetch_all(&self.pool).await?;
        let counted = found.len() as i64;
        let families = s.families();
        if counted <= COUNT_UP_TO {
            return self.page_of(found, &families, limit, after).await;
        }

        // More than 1,000 match. Exact family-name matches first (rank 0),
        // then the rest: in list order (rank 1), or for a substring, in the
        // order registered (rank 2): matches of a common substring ("smi")
        // cluster in name order, so a walk in that order read most of a
        // chain before finding twenty. Each rank is read in an index's
        // order or sorted from few matches (at most 1,000, or one large
        // family's matches of a rarer word), never from a whole family or
        // substring's. A page starts after its cursor's row.
        let mut rows: Vec<DbRow> = vec![];
        if !s.words.is_empty() && after.is_none_or(|c| c.rank == 0) {
            rows = self
                .exact_families(&s, &families, limit + 1, after, staff_id, clinic_id)
                .await?;
        }
        let rest = if s.driver == Driver::Text { 2 } else { 1 };
        let want = limit + 1 - rows.len() as i64;
        if want > 0 && after.is_none_or(|c| c.rank <= rest) {
            let mut part = self.matching(&s, true);
            if !families.is_empty() {
                let list: Vec<String> = families.iter().map(|f| part.bind(f.clone())).collect();
                part.conds += &format!(" AND patients.family_key NOT IN ({})", list.join(", "));
            }
            // In registration order: by the FTS5 table's own row order when
            // it drives the query (the patient's id; SQLite sorts otherwise).
            let by_id = if part.from.contains("patient_search") {
                "patient_search.rowid"
            } else {
                "patients.id"
            };
            let start = after.filter(|c| c.rank == rest);
            let order = if rest == 2 {
                if let Some(c) = start {
                    let p = part.bind(c.id.to_string());
                    part.conds += &format!(" AND {by_id} > CAST({p} AS BIGINT)");
                }
                by_id
            } else {
                if let Some(c) = start {
                    let (k, id) = (part.bind(c.sort_key.clone()), part.bind(c.id.to_string()));
                    part.conds += &format!(
                        " AND (patients.sort_key, patients.id) > ({k}, CAST({id} AS BIGINT))"
                    );
                }
                "patients.sort_key, patients.id"
            };
            let select = format!(
                "SELECT {cols}, patients.sort_key, CAST({rest} AS BIGINT) AS search_rank {} {}",
                part.from, part.conds
            );
            // In list order these are a prefix (the name range itself) or
            // the plain list, read in index order; a substring's matches
            // come in the order registered.
            let sql = format!("{select} ORDER BY {order} LIMIT {want}");
            rows.extend(self.search_rows(&sql, &part, staff_id, clinic_id).await?);
        }

        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            let last = rows.last().expect("limit is at least one");
            Some(Cursor {
                rank: last.try_get::<i64, _>("search_rank")?,
                sort_key: last.try_get("sort_key")?,
                id: last.try_get("id")?,
            })
        } else {
            None
        };
        let patients = rows.iter().map(Self::patient_from).collect::<Result<_>>()?;
        Ok(PatientPage {
            patients,
            total: COUNT_UP_TO,
            more: true,
            next,
        })
    }

    /// A page of a search's matches, all of them known (no more than
    /// 1,000, as id, sort key and family key): exact family names first,
    /// then the rest, each in list order.
    async fn page_of(
        &self,
        found: Vec<(i64, String, String)>,
        families: &[String],
        limit: i64,
        after: Option<&Cursor>,
    ) -> Result<PatientPage> {
        let total = found.len() as i64;
        let mut ranked: Vec<(i64, String, i64)> = found
            .into_iter()
            .map(|(id, key, family)| (i64::from(!families.contains(&family)), key, id))
            .collect();
        // Byte order, as both databases compare sort keys.
        ranked.sort();
        let start = after.map(|c| (c.rank, c.sort_key.clone(), c.id));
        let mut page: Vec<(i64, String, i64)> = ranked
            .into_iter()
            .filter(|r| start.as_ref().is_none_or(|s| r > s))
            .take(limit as usize + 1)
            .collect();
        let next = if page.len() as i64 > limit {
            page.truncate(limit as usize);
            page.last().map(|(rank, sort_key, id)| Cursor {
                rank: *rank,
                sort_key: sort_key.clone(),
                id: *id,
            })
        } else {
            None
        };
        let ids: Vec<i64> = page.iter().map(|r| r.2).collect();
        let mut by_id: std::collections::HashMap<i64, Patient> = self
            .patients_by_id(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(PatientPage {
            patients: ids.iter().filter_map(|id| by_id.remove(id)).collect(),
            total,
            more: false,
            next,
        })
    }

    /// The matches whose family name is one the words may be, in list
    /// order, up to `want`. Each family is read where it is cheapest: in
    /// name order through the family index when every patient of it
    /// matches or it is small; otherwise (a large family and a word that
    /// few of it match: "Yara Varga") its matches are found through the
    /// search's driver and sorted.
    async fn exact_families(
        &self,
        s: &Search,
        families: &[String],
        want: i64,
        after: Option<&Cursor>,
        staff_id: i64,
        clinic_id: Option<i64>,
    ) -> Result<Vec<DbRow>> {
        let cols = cols_of(PATIENT_COLS, "patients");
        let sqlite = self.backend() == Backend::Sqlite;
        let mut rows: Vec<DbRow> = vec![];
        for family in families {
            let through_family = s.covers(family) || {
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM patients WHERE family_key = $1 \
                     LIMIT {FAMILY_SCAN}) n"
                ))
                .bind(family)
                .fetch_one(&self.pool)
                .await?;
                if n == 0 {
                    continue;
                }
                n < FAMILY_SCAN
            };
            let mut part = if s.covers(family) {
                // Every patient of the family matches: its range is all
                // there is to read.
                self.matching(&Search::new(vec![], s.scope.clone()), false)
            } else {
                self.matching(s, !through_family)
            };
            let f = part.bind(family.clone());
            part.conds += &if through_family {
                format!(" AND patients.family_key = {f}")
            } else if sqlite {
                format!(" AND +patients.family_key = {f}")
            } else {
                // Not the family index: its 41,000 rows are what this
                // avoids reading.
                format!(" AND patients.family_key || '' = {f}")
            };
            if let Some(c) = after {
                let (k, id) = (part.bind(c.sort_key.clone()), part.bind(c.id.to_string()));
                part.conds +=
                    &format!(" AND (patients.sort_key, patients.id) > ({k}, CAST({id} AS BIGINT))");
            }
            let select = format!(
                "SELECT {cols}, patients.sort_key, CAST(0 AS BIGINT) AS search_rank {} {}",
                part.from, part.conds
            );
            let sql = if !through_family && !sqlite {
                format!(
                    "SELECT * FROM ({select} OFFSET 0) matched ORDER BY sort_key, id LIMIT {want}"
                )
            } else {
                format!("{select} ORDER BY patients.sort_key, patients.id LIMIT {want}")
            };
            rows.extend(self.search_rows(&sql, &part, staff_id, clinic_id).await?);
        }
        // Several families: merged in list order (byte order of the sort
        // key, as both databases compare it).
        let key = |r: &DbRow| -> (String, i64) {
            (
                r.try_get("sort_key").unwrap_or_default(),
                r.try_get("id").unwrap_or_default(),
            )
        };
        rows.sort_by_cached_key(key);
        rows.truncate(want as usize);
        Ok(rows)
    }
}
