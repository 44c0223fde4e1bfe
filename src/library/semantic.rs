//! The meaning side of a library: the embedder and the vector index of its vectors, always
//! together (one [`Semantic`] value, or none), and the checked embedding of passages.

use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use super::*;

/// A model and the index of the vectors it made. A library searches by meaning with both or
/// with neither, so they travel as one value: no state holds one without the other.
#[derive(Clone)]
pub(super) struct Semantic {
    pub(super) embedder: Arc<dyn Embedder>,
    /// Shared with [`Searcher`]s: written by the library, read by them.
    pub(super) vectors: Arc<RwLock<VectorIndex>>,
}

impl Semantic {
    /// Opens the vector index in `dir` for `embedder`'s vectors. `seal` is what was recorded
    /// when the file was last saved in step with the catalog; a file that does not match it is
    /// treated as damaged. Without one (a new index for a new model), the file is not checked.
    pub(super) fn open(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
        seal: Option<&Seal>,
    ) -> Result<Self> {
        let index = Self::open_index(dir, embedder.info().dim, seal)?;
        Ok(Self::with_index(embedder, index))
    }

    /// The vector index in `dir`, of vectors of `dim` dimensions, before its model is at hand.
    pub(super) fn open_index(dir: &Path, dim: usize, seal: Option<&Seal>) -> Result<VectorIndex> {
        VectorIndex::open(&dir.join("vectors.usearch"), dim, vector_storage(), seal)
    }

    /// `embedder` with the index of its vectors (opened for its dimension).
    pub(super) fn with_index(embedder: Arc<dyn Embedder>, index: VectorIndex) -> Self {
        Semantic {
            embedder,
            vectors: Arc::new(RwLock::new(index)),
        }
    }

    /// The model.
    pub(super) fn info(&self) -> &ModelInfo {
        self.embedder.info()
    }

    /// The vector index, for reading. A poisoned lock only means another thread panicked
    /// mid-search; the index itself is intact.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, VectorIndex> {
        self.vectors.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The vector index, for writing.
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, VectorIndex> {
        self.vectors.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Embeds the passages of several papers in one call, so that short papers fill batches,
    /// and returns the vectors in order. Reference lists are not embedded: they get an empty
    /// vector, which the store keeps as none.
    pub(super) fn embed_passages(
        &self,
        docs: &[(&Extracted, &Vec<crate::chunk::Passage>)],
    ) -> Result<Vec<Vec<f32>>> {
        let texts: Vec<(&str, bool)> = docs
            .iter()
            .flat_map(|(doc, passages)| {
                passages.iter().map(|p| {
                    let text = &doc.pages[p.page as usize - 1][p.start..p.end];
                    (text, !crate::chunk::is_reference_list(p.page, text))
                })
            })
            .collect();
        let semantic: Vec<&str> = texts.iter().filter(|t| t.1).map(|t| t.0).collect();
        let mut vectors = embed_unique(self.embedder.as_ref(), &semantic)?.into_iter();
        Ok(texts
            .iter()
            .map(|&(_, embed)| match embed {
                true => vectors.next().unwrap_or_default(),
                false => Vec::new(),
            })
            .collect())
    }
}

impl Library {
    /// [`Semantic::embed_passages`] with this library's model, or `None` without one.
    pub(super) fn embed_passages(
        &self,
        docs: &[(&Extracted, &Vec<crate::chunk::Passage>)],
    ) -> Result<Option<Vec<Vec<f32>>>> {
        self.semantic
            .as_ref()
            .map(|s| s.embed_passages(docs))
            .transpose()
    }
}

/// Embeds stored passages, (id, text), and pairs each id with its vector.
pub(super) fn embed_rows(
    embedder: &dyn Embedder,
    rows: &[(ChunkId, String)],
) -> Result<Vec<(ChunkId, Vec<f32>)>> {
    let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embed_unique(embedder, &texts)?;
    Ok(rows.iter().map(|(id, _)| *id).zip(vectors).collect())
}

/// Embeds each distinct text once (running heads, licence footers and repeated boilerplate
/// recur across pages and papers) and hands every text its vector, in order.
pub(super) fn embed_unique(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(texts.len());
    let mut unique = Vec::new();
    let slots: Vec<usize> = texts
        .iter()
        .map(|t| {
            *first.entry(t).or_insert_with(|| {
                unique.push(*t);
                unique.len() - 1
            })
        })
        .collect();
    if unique.len() == texts.len() {
        return checked(embedder, texts.len(), embedder.embed(texts)?);
    }
    let vectors = checked(embedder, unique.len(), embedder.embed(&unique)?)?;
    Ok(slots.into_iter().map(|i| vectors[i].clone()).collect())
}

/// A model's answer, checked: one vector per text asked, each of the model's dimensions with
/// every component finite. Anything else would store passages without vectors, or rank by NaN,
/// without a word; it fails the batch instead.
pub(super) fn checked(
    embedder: &dyn Embedder,
    asked: usize,
    vectors: Vec<Vec<f32>>,
) -> Result<Vec<Vec<f32>>> {
    let info = embedder.info();
    let problem = if vectors.len() != asked {
        Some(format!(
            "returned {} vectors for {asked} passages",
            vectors.len()
        ))
    } else {
        vectors
            .iter()
            .find(|v| v.len() != info.dim || v.iter().any(|x| !x.is_finite()))
            .map(|v| match v.len() == info.dim {
                true => "returned a vector that is not a number (NaN or infinite)".to_string(),
                false => format!(
                    "returned a vector of {} dimensions, not {}",
                    v.len(),
                    info.dim
                ),
            })
    };
    match problem {
        Some(message) => Err(Error::Model {
            path: PathBuf::from(&info.name),
            message: format!("the model {message}"),
        }),
        None => Ok(vectors),
    }
}

/// How a new vector index stores its vectors: the settings' storage
/// ([`crate::settings::Settings::vector_storage`], for measuring them against each other),
/// else [`DEFAULT_STORAGE`]. An existing index keeps the storage it was written with.
pub fn vector_storage() -> Storage {
    crate::settings::get()
        .vector_storage
        .unwrap_or(DEFAULT_STORAGE)
}

#[cfg(test)]
mod embed_unique_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts the texts it is asked to embed; a text's vector is its length.
    struct Counting(AtomicUsize, ModelInfo);

    impl Embedder for Counting {
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
        fn info(&self) -> &ModelInfo {
            &self.1
        }
        fn token_spans(&self, _: &str) -> Vec<(usize, usize)> {
            Vec::new()
        }
    }

    #[test]
    pub(super) fn each_distinct_text_is_embedded_once_and_every_text_gets_its_vector() {
        let e = Counting(
            AtomicUsize::new(0),
            ModelInfo {
                name: "count".into(),
                dim: 1,
                pooling: crate::Pooling::Mean,
                normalize: false,
                max_tokens: 256,
                device: "cpu".into(),
                precision: crate::embed::Precision::F32,
                precision_reason: String::new(),
                weights: None,
            },
        );
        let texts = ["footer", "a", "footer", "bb", "a", "footer"];
        let v = embed_unique(&e, &texts).unwrap();
        assert_eq!(e.0.load(Ordering::SeqCst), 3);
        let lens: Vec<f32> = v.iter().map(|x| x[0]).collect();
        assert_eq!(lens, vec![6.0, 1.0, 6.0, 2.0, 1.0, 6.0]);
    }
}
