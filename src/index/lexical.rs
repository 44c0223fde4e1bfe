//! The keyword index: BM25 over passage text and document titles, in tantivy, with the
//! analyzer of [`super::analysis`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TokenStream;
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

pub use super::analysis::{analyze, analyzer, CompoundTokenStream, CompoundTokenizer};
use crate::catalog::{ChunkId, DocumentId};
use crate::error::Result;

const ANALYZER: &str = "medshelf";

/// How much a title match counts against a passage match. Titles repeat on every passage of a
/// paper, so they lift the paper without deciding which of its passages comes first.
pub(super) const TITLE_BOOST: f32 = 0.25;
/// The weight of an abbreviation's long form beside the abbreviation typed (the better of the
/// two counts): a phrase's BM25 sums its words' weights and would otherwise lift papers that
/// spell a term out above those that use the abbreviation asked for. Measured on SciFact
/// (hybrid nDCG@10 0.7288 as typed: 0.7252 at 1.0, 0.7276 at 0.5, 0.7282 at 0.3) and on the
/// shorthand set (docs/EVALUATION.md).
const ALTERNATIVE_WEIGHT: f32 = 0.3;
/// The weight of an abbreviation added to a query that spelled its term out, beside the
/// query's own words (which still count in full).
const ADDED_ABBREVIATION_WEIGHT: f32 = 0.25;

/// `MEDSHELF_NO_MAXSCORE` set: keyword searches are pruned by tantivy's own block-max WAND
/// instead of MaxScore, to measure one against the other (docs/PERFORMANCE.md). Both give
/// the same passages.
static WAND_ONLY: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("MEDSHELF_NO_MAXSCORE").is_some());

/// The index's fields.
struct Fields {
    chunk_id: Field,
    doc_id: Field,
    text: Field,
    title: Field,
}

/// The index's schema: a passage's id (stored and fast, for looking hits up), its paper's id
/// (for deleting a paper's passages), its text and its paper's title.
fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id_options = NumericOptions::default().set_indexed().set_fast();
    let chunk_id = builder.add_u64_field("chunk_id", id_options.clone().set_stored());
    let doc_id = builder.add_u64_field("doc_id", id_options);
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let text = builder.add_text_field("text", text_options.clone());
    let title = builder.add_text_field("title", text_options);
    let fields = Fields {
        chunk_id,
        doc_id,
        text,
        title,
    };
    (builder.build(), fields)
}

/// An index file as it was last seen whole: its name, size and modification time. tantivy
/// never rewrites a segment file, so one that changed size or time since was damaged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SeenFile {
    /// The file's name in the index folder.
    pub name: String,
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// The keyword index of a library.
pub struct LexicalIndex {
    dir: std::path::PathBuf,
    pub(super) index: Index,
    pub(super) reader: IndexReader,
    writer: Option<IndexWriter>,
    chunk_id: Field,
    doc_id: Field,
    text: Field,
    title: Field,
}

impl LexicalIndex {
    /// Opens (creating where absent) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
        }
        let (schema, fields) = schema();
        let directory =
            tantivy::directory::MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        let index = if crate::paths::writable(dir) {
            Index::open_or_create(directory, schema)?
        } else {
            Index::open_or_create(super::read_only::ReadOnlyDirectory(directory), schema)?
        };
        Self::with_index(dir.to_path_buf(), index, fields)
    }

    /// An empty index in memory: a placeholder while a damaged index folder is moved aside.
    pub fn open_in_ram() -> Result<Self> {
        let (schema, fields) = schema();
        Self::with_index(
            std::path::PathBuf::new(),
            Index::create_in_ram(schema),
            fields,
        )
    }

    fn with_index(dir: std::path::PathBuf, mut index: Index, fields: Fields) -> Result<Self> {
        // A search looks at the segments side by side, one thread each (index/segments.rs).
        let threads = super::segments::search_threads();
        if threads > 1 {
            index.set_multithread_executor(threads)?;
        }
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(LexicalIndex {
            dir,
            index,
            reader,
            writer: None,
            chunk_id: fields.chunk_id,
            doc_id: fields.doc_id,
            text: fields.text,
            title: fields.title,
        })
    }

    pub(super) fn writer(&mut self) -> Result<&mut IndexWriter> {
        if self.writer.is_none() {
            // One thread: the machine's cores are better spent embedding.
            self.writer = Some(self.index.writer_with_num_threads(1, 64 * 1024 * 1024)?);
        }
        Ok(self.writer.as_mut().expect("writer was just created"))
    }

    /// Adds one passage.
    pub fn add(
        &mut self,
        chunk: ChunkId,
        document: DocumentId,
        text: &str,
        title: Option<&str>,
    ) -> Result<()> {
        let (c, d, t, ti) = (self.chunk_id, self.doc_id, self.text, self.title);
        self.writer()?.add_document(doc!(
            c => chunk as u64,
            d => document as u64,
            t => text,
            ti => title.unwrap_or(""),
        ))?;
        Ok(())
    }

    /// Removes every passage of a document.
    pub fn delete_document(&mut self, document: DocumentId) -> Result<()> {
        let term = Term::from_field_u64(self.doc_id, document as u64);
        self.writer()?.delete_term(term);
        Ok(())
    }

    /// Removes one passage.
    pub fn delete_chunk(&mut self, chunk: ChunkId) -> Result<()> {
        let term = Term::from_field_u64(self.chunk_id, chunk as u64);
        self.writer()?.delete_term(term);
        Ok(())
    }

    /// Makes every change since the last commit durable and visible to searches.
    pub fn commit(&mut self) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Picks up commits made by another process.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// How many passages the index holds, as of the last commit it has seen.
    pub fn len(&self) -> Result<u64> {
        self.reader().len()
    }

    /// Whether the index holds no passage.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The ids of every passage in the index, for checking it against the catalog.
    pub fn chunk_ids(&self) -> Result<HashSet<ChunkId>> {
        let searcher = self.reader.searcher();
        let mut ids = HashSet::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("chunk_id")?;
            for doc in segment.doc_ids_alive() {
                if let Some(id) = column.first(doc) {
                    ids.insert(id as ChunkId);
                }
            }
        }
        Ok(ids)
    }

    /// The best `limit` passages for `query` by BM25, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<(ChunkId, f32)>> {
        self.reader().search(query, limit)
    }

    /// Checks the files of the segments in use against their checksums, all but those in
    /// `verified` that kept their size and time. Returns every file in use, each now known
    /// whole, or why the index is damaged (a file that fails its checksum or cannot be read).
    /// Files that are missing altogether already fail [`LexicalIndex::open`].
    pub fn verify(&self, verified: &HashSet<SeenFile>) -> Result<Result<Vec<SeenFile>, String>> {
        let segments: Vec<String> = self
            .index
            .searchable_segment_metas()?
            .iter()
            .map(|m| m.id().uuid_string())
            .collect();
        let mut seen = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| crate::Error::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| crate::Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !segments.iter().any(|id| name.starts_with(id.as_str())) {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| crate::Error::io(entry.path(), e))?;
            let file = SeenFile {
                name,
                len: meta.len(),
                mtime_ns: meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i64),
            };
            if !verified.contains(&file) {
                match self
                    .index
                    .directory()
                    .validate_checksum(Path::new(&file.name))
                {
                    Ok(true) => {}
                    Ok(false) => return Ok(Err(format!("{} fails its checksum", file.name))),
                    Err(e) => return Ok(Err(format!("{} cannot be read: {e}", file.name))),
                }
            }
            seen.push(file);
        }
        Ok(Ok(seen))
    }

    /// Moves a damaged index folder aside (to `lexical.damaged`, replacing an older one), so
    /// that a new index can be built in its place from the catalog.
    pub fn set_aside(dir: &Path) -> Result<()> {
        let aside = dir.with_extension("damaged");
        if aside.exists() {
            std::fs::remove_dir_all(&aside).map_err(|e| crate::Error::io(&aside, e))?;
        }
        if dir.exists() {
            std::fs::rename(dir, &aside).map_err(|e| crate::Error::io(dir, e))?;
        }
        Ok(())
    }

    /// A read-only handle for searching from another thread while this one writes.
    pub fn reader(&self) -> LexicalReader {
        LexicalReader {
            reader: self.reader.clone(),
            text: self.text,
            title: self.title,
            doc_id: self.doc_id,
        }
    }
}

/// Searches the keyword index; sees every commit, from this process or another.
#[derive(Clone)]
pub struct LexicalReader {
    pub(super) reader: IndexReader,
    pub(super) text: Field,
    pub(super) title: Field,
    pub(super) doc_id: Field,
}

impl LexicalReader {
    /// Picks up the latest commit.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// Passages in the index as of the latest commit.
    pub fn len(&self) -> Result<u64> {
        self.reader.reload()?;
        Ok(self.reader.searcher().num_docs())
    }

    /// Whether the index holds no passage.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The query's distinct terms, each weighed by its inverse document frequency over the
    /// passages (BM25's form, so that a term in every passage weighs almost nothing): what
    /// scores the short windows a page is chosen by ([`crate::search::TermWeights`]).
    pub fn term_weights(&self, query: &str) -> Result<crate::search::TermWeights> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as f32;
        let mut weights = Vec::new();
        let mut seen = HashSet::new();
        for (t, _, _) in analyze(query) {
            if !seen.insert(t.clone()) {
                continue;
            }
            let df = searcher.doc_freq(&Term::from_field_text(self.text, &t))? as f32;
            weights.push((t, (1.0 + (n - df + 0.5) / (df + 0.5)).ln()));
        }
        Ok(crate::search::TermWeights::new(weights))
    }

    /// The best `limit` passages for `query` by BM25, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<(ChunkId, f32)>> {
        self.search_within(query, &[], limit, None)
    }

    /// How many passages hold `phrase` (its words in order; a single word alone): whether
    /// the library uses an abbreviation's sense at all.
    pub fn phrase_passages(&self, phrase: &str) -> Result<usize> {
        let Some(query) = self.phrase(phrase, self.text) else {
            return Ok(0);
        };
        Ok(self.reader.searcher().search(query.as_ref(), &Count)?)
    }

    /// A query for `phrase` in `field`: its analysed terms at their positions (a term alone
    /// where it has one).
    fn phrase(&self, phrase: &str, field: Field) -> Option<Box<dyn Query>> {
        self.phrase_with_terms(phrase, field).map(|(q, _)| q)
    }

    /// [`LexicalReader::phrase`], with the terms it asks for (what bounds its score).
    fn phrase_with_terms(&self, phrase: &str, field: Field) -> Option<(Box<dyn Query>, Vec<Term>)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(phrase);
        let mut terms: Vec<(usize, Term)> = Vec::new();
        while let Some(t) = stream.next() {
            // A compound ("il-6") and its parts share positions: the first token of each
            // position stands for it.
            if terms.last().is_none_or(|(p, _)| *p != t.position) {
                terms.push((t.position, Term::from_field_text(field, &t.text)));
            }
            if terms.len() > 16 {
                return None;
            }
        }
        let plain: Vec<Term> = terms.iter().map(|(_, t)| t.clone()).collect();
        match terms.len() {
            0 => None,
            1 => Some((
                Box::new(TermQuery::new(
                    terms.remove(0).1,
                    IndexRecordOption::WithFreqs,
                )),
                plain,
            )),
            _ => {
                let first = terms[0].0;
                let terms = terms.into_iter().map(|(p, t)| (p - first, t)).collect();
                Some((Box::new(PhraseQuery::new_with_offset(terms)), plain))
            }
        }
    }

    /// [`LexicalReader::search`] among the passages of `documents` only, where given (a
    /// search filtered by year, author or venue): the filter is part of the query, so the
    /// best `limit` of those papers come back however far down the whole ranking they are.
    ///
    /// `alternatives` widen the query: each is a word or words of the query and what else
    /// may stand for them (an abbreviation typed and its long form; a term spelled out and its
    /// abbreviation). A word typed and its alternative are one term: a passage scores by the
    /// better of the two (a paper that writes both counts once, so expansion finds the papers
    /// that spell a term out without lifting those that define it); an alternative of several
    /// typed words adds its own, lighter clause.
    pub fn search_within(
        &self,
        query: &str,
        alternatives: &[(String, String)],
        limit: usize,
        documents: Option<&[DocumentId]>,
    ) -> Result<Vec<(ChunkId, f32)>> {
        if documents.is_some_and(<[DocumentId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut seen = HashSet::new();
        let terms: Vec<String> = analyze(query)
            .into_iter()
            .map(|(t, _, _)| t)
            .filter(|t| seen.insert(t.clone()))
            .collect();
        // A typed word with an alternative: its term, by the typed word's single term.
        let mut alternative_of: HashMap<String, Vec<&str>> = HashMap::new();
        let mut extra: Vec<&str> = Vec::new();
        for (typed, added) in alternatives {
            let typed_terms = analyze(typed);
            match typed_terms.as_slice() {
                [(t, _, _)] if terms.contains(t) => {
                    alternative_of.entry(t.clone()).or_default().push(added)
                }
                _ => extra.push(added),
            }
        }
        if (terms.is_empty() && extra.is_empty()) || limit == 0 {
            return Ok(Vec::new());
        }
        // Each clause with the most it can add to a passage's score (its BM25 bound times its
        // boosts), which MaxScore prunes by.
        let searcher = self.reader.searcher();
        let bound = |terms: &[Term]| -> Result<f32> {
            Ok(tantivy::query::Bm25Weight::for_terms(&searcher, terms)?.max_score())
        };
        let mut clauses: Vec<(Box<dyn Query>, f32)> = Vec::new();
        for (field, boost) in [(self.text, 1.0), (self.title, TITLE_BOOST)] {
            for t in &terms {
                let term = Term::from_field_text(field, t);
                let mut most = bound(std::slice::from_ref(&term))?;
                let mut either: Vec<Box<dyn Query>> =
                    vec![Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))];
                for added in alternative_of.get(t).into_iter().flatten() {
                    if let Some((q, terms)) = self.phrase_with_terms(added, field) {
                        most = most.max(ALTERNATIVE_WEIGHT * bound(&terms)?);
                        either.push(Box::new(BoostQuery::new(q, ALTERNATIVE_WEIGHT)));
                    }
                }
                let one: Box<dyn Query> = if either.len() == 1 {
                    either.remove(0)
                } else {
                    Box::new(DisjunctionMaxQuery::new(either))
                };
                clauses.push((Box::new(BoostQuery::new(one, boost)), boost * most));
            }
            for added in &extra {
                if let Some((q, terms)) = self.phrase_with_terms(added, field) {
                    let weight = boost * ADDED_ABBREVIATION_WEIGHT;
                    clauses.push((
                        Box::new(BoostQuery::new(q, weight)),
                        weight * bound(&terms)?,
                    ));
                }
            }
        }
        if documents.is_none() && !*WAND_ONLY {
            // MaxScore prunes a question's many words better than tantivy's block-max WAND,
            // and an abbreviation's alternatives too, which WAND cannot take (see `maxscore`).
            let limit = limit.min(searcher.num_docs() as usize);
            let top = super::maxscore::top_k(&searcher, &clauses, limit)?;
            return self.ids_of(&searcher, top);
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = clauses
            .into_iter()
            .map(|(q, _)| (Occur::Should, q))
            .collect();
        let mut query: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
        if let Some(documents) = documents {
            // Scored 0: the filter selects, BM25 alone ranks (the page choice compares scores).
            let within = TermSetQuery::new(
                documents
                    .iter()
                    .map(|&d| Term::from_field_u64(self.doc_id, d as u64)),
            );
            query = Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(Box::new(within), 0.0)),
                ),
            ]));
        }
        self.top_passages(query.as_ref(), limit)
    }

    /// The best `limit` passages for a built query, best first, by their ids.
    pub(super) fn top_passages(
        &self,
        query: &dyn Query,
        limit: usize,
    ) -> Result<Vec<(ChunkId, f32)>> {
        let searcher = self.reader.searcher();
        // Never ask for more than the index holds: the collector sizes its heap by the limit.
        let limit = limit.min(searcher.num_docs() as usize);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = searcher.search(query, &TopDocs::with_limit(limit).order_by_score())?;
        self.ids_of(&searcher, top)
    }

    /// The passages' ids of a search's hits, in their order.
    fn ids_of(
        &self,
        searcher: &tantivy::Searcher,
        top: Vec<(f32, tantivy::DocAddress)>,
    ) -> Result<Vec<(ChunkId, f32)>> {
        let mut out = Vec::with_capacity(top.len());
        // Ids come from the fast field, not the document store: no block to decompress per
        // hit, and a damaged store cannot break a search.
        let mut columns = HashMap::new();
        for (score, address) in top {
            if !score.is_finite() {
                continue;
            }
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(c) => c.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("chunk_id")?,
                ),
            };
            if let Some(id) = column.first(address.doc_id) {
                out.push((id as ChunkId, score));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_the_compound_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = LexicalIndex::open(dir.path()).unwrap();
        index
            .add(
                1,
                10,
                "Serum IL-6 predicted mortality in sepsis.",
                Some("Sepsis"),
            )
            .unwrap();
        index
            .add(2, 11, "Six patients had IL 2 therapy and 6 had none.", None)
            .unwrap();
        index
            .add(3, 11, "HbA1c fell after metformin.", None)
            .unwrap();
        index.commit().unwrap();
        let hits = index.search("IL-6", 10).unwrap();
        assert_eq!(hits[0].0, 1);
        assert_eq!(index.search("hba1c", 10).unwrap()[0].0, 3);
        index.delete_document(11).unwrap();
        index.commit().unwrap();
        assert_eq!(index.chunk_ids().unwrap(), HashSet::from([1]));
        assert!(index.search("the of", 10).unwrap().is_empty());
    }
}
