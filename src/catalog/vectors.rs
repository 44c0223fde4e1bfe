//! Vectors: stored with a checksum beside their passage, the vectors of a model being switched
//! to kept apart until the swap.

use rusqlite::{params, OptionalExtension};

use super::*;

impl Catalog {
    /// Calls `f` with every stored vector of `dim` dimensions, for rebuilding the vector index
    /// without the model; `None` for one that fails its checksum (or has other dimensions).
    pub fn for_each_vector(
        &self,
        dim: usize,
        mut f: impl FnMut(ChunkId, Option<&[f32]>),
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: ChunkId = r.get(0).map_err(|e| self.err(e))?;
            let blob: Vec<u8> = r.get(1).map_err(|e| self.err(e))?;
            f(id, vector_from_bytes(&blob, dim).as_deref());
        }
        Ok(())
    }

    /// The stored vectors of these passages that pass their checksum (a passage without one,
    /// a reference list or one not embedded yet, is left out): a paper's own vectors, read
    /// exactly as embedded.
    pub fn vectors_of(&self, ids: &[ChunkId], dim: usize) -> Result<Vec<(ChunkId, Vec<f32>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT vector FROM chunks WHERE id = ?1 AND vector IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for &id in ids {
            let blob: Option<Vec<u8>> = stmt
                .query_row([id], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some(vector) = blob.and_then(|b| vector_from_bytes(&b, dim)) {
                out.push((id, vector));
            }
        }
        Ok(out)
    }

    /// Ids of the passages that carry a vector, without reading the vectors (a consistency check
    /// at open must stay cheap at a million passages).
    pub fn vector_ids(&self) -> Result<Vec<ChunkId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM chunks WHERE vector IS NOT NULL")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Stores vectors for passages that have none, in one transaction.
    pub fn set_vectors(&mut self, vectors: &[(ChunkId, Vec<f32>)]) -> Result<()> {
        self.store_vectors(
            "UPDATE chunks SET vector = ?2 WHERE id = ?1 AND vector IS NULL",
            vectors,
        )
    }

    /// Keeps these passages for keyword search only: the model could not embed them (a bug it
    /// hit on their text), so a backfill never asks for them again. They count with the
    /// reference lists in the status.
    pub fn set_keyword_only(&mut self, ids: &[ChunkId]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut stmt = tx
                .prepare("UPDATE chunks SET semantic = 0 WHERE id = ?1 AND vector IS NULL")
                .map_err(e)?;
            for id in ids {
                stmt.execute(params![id]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Runs `sql` with (id, vector) for each pair, in one transaction.
    pub(super) fn store_vectors(
        &mut self,
        statement: &str,
        vectors: &[(ChunkId, Vec<f32>)],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut stmt = tx.prepare(statement).map_err(e)?;
            for (id, v) in vectors {
                stmt.execute(params![id, vector_bytes(v)]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)
    }

    /// Forgets the stored vectors of these passages (damaged ones), in one transaction: the
    /// next index run embeds them again.
    pub fn clear_vectors(&mut self, ids: &[ChunkId]) -> Result<()> {
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        for id in ids {
            tx.execute("UPDATE chunks SET vector = NULL WHERE id = ?1", [id])
                .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    /// Up to `limit` passages without a vector from the model being switched to, lowest id first.
    pub fn chunks_without_next_vector(&self, limit: usize) -> Result<Vec<(ChunkId, String)>> {
        self.id_texts(
            "SELECT c.id, c.text FROM chunks c LEFT JOIN next_vectors n ON n.chunk_id = c.id
             WHERE n.chunk_id IS NULL AND c.semantic = 1 ORDER BY c.id LIMIT ?1",
            limit,
        )
    }

    /// Stores vectors from the model being switched to, in one transaction.
    pub fn set_next_vectors(&mut self, vectors: &[(ChunkId, Vec<f32>)]) -> Result<()> {
        self.store_vectors(
            "INSERT OR REPLACE INTO next_vectors (chunk_id, vector) VALUES (?1, ?2)",
            vectors,
        )
    }

    /// How many passages have a vector from the model being switched to.
    pub fn next_vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM next_vectors")
    }

    /// Forgets the vectors of an abandoned switch.
    pub fn clear_next_vectors(&self) -> Result<()> {
        self.conn
            .execute("DELETE FROM next_vectors", [])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Completes a switch in one transaction: the new model's vectors replace the old ones
    /// (a passage without one is left without, for the next backfill), and `model` records the
    /// new model. Until this commits, every reader sees the old model and its vectors only.
    pub fn swap_next_vectors(&mut self, model: &ModelRecord) -> Result<()> {
        let model = serde_json::to_string(model).expect("a model record serialises");
        let path = self.path.clone();
        let e = |err| sql(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute_batch(
            "UPDATE chunks SET vector = (SELECT n.vector FROM next_vectors n WHERE n.chunk_id = chunks.id);
             DELETE FROM next_vectors;",
        )
        .map_err(e)?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [ModelSlot::Next.key()])
            .map_err(e)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![ModelSlot::InUse.key(), model],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    /// How many passages that should carry a vector carry none.
    pub fn missing_vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunks WHERE vector IS NULL AND semantic = 1")
    }

    /// How many papers have a passage searched by meaning still without its vector.
    pub fn papers_missing_vectors(&self) -> Result<u64> {
        self.count(
            "SELECT COUNT(DISTINCT document_id) FROM chunks WHERE vector IS NULL AND semantic = 1",
        )
    }

    /// How many passages carry a vector.
    pub fn vector_count(&self) -> Result<u64> {
        self.count("SELECT COUNT(*) FROM chunks WHERE vector IS NOT NULL")
    }
}

/// Vectors are stored as little-endian f32s followed by the CRC-32 of those bytes, so that a
/// vector damaged on disk is told from a good one before it is indexed.
pub(super) fn vector_bytes(v: &[f32]) -> Vec<u8> {
    let mut bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// A stored vector of `dim` dimensions, or `None` where its checksum fails (or its size fits
/// no vector of `dim`). Vectors stored before checksums were (schema 4 and older) carry none.
pub(super) fn vector_from_bytes(b: &[u8], dim: usize) -> Option<Vec<f32>> {
    let values = match b.len() {
        n if n == dim * 4 => b,
        n if n == dim * 4 + 4 => {
            let (values, crc) = b.split_at(dim * 4);
            if crc32fast::hash(values).to_le_bytes() != crc {
                return None;
            }
            values
        }
        _ => return None,
    };
    Some(
        values
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}
